"""planner/core/records.py: what a profile record accepts."""
import pytest


def test_a_profile_of_an_engine_not_in_the_table_is_refused(tmp_path):
    from planner.core.records import EngineInfo
    with pytest.raises(ValueError, match="must be one of llama-cpp-python, openai-http, vllm"):
        EngineInfo(name="sglang", version="x", backend="cuda")
