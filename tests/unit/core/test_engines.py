"""The engine table: one row per engine, read by the CLI, the capacity model and the validation lookup."""
import pytest

from planner.core.engines import ENGINES, PROFILE_NAMES, SIMULATED_AS, engine, simulated_engine
from planner.core.errors import InputError
from planner.formats.validation import engine_key, validations
from tests.factories import make_profile


def test_every_offline_profile_is_planned_as_a_server_of_the_table():
    for row in ENGINES.values():
        if row.profile_name:
            assert row.profile_name in PROFILE_NAMES and simulated_engine(row.profile_name).server_name in {e.server_name for e in ENGINES.values()}
    assert simulated_engine("openai-http") is None  # a serving profile is measured, not simulated
    assert set(SIMULATED_AS) <= set(PROFILE_NAMES)


def test_validation_keys_are_those_of_the_committed_result():
    keys = {e.validation_key for e in ENGINES.values() if e.validation_key}
    validated = {c.engine for result, _ in validations() for c in result.calibrations}
    assert keys == {"vllm", "llama-server"} and keys <= validated
    assert engine_key(make_profile()) == "llama-server"  # a llama.cpp profile is validated as llama-server


def test_choices_come_from_the_table():
    assert engine("vllm", needs="profile").scheduler == "vllm" and engine("llama-server", needs="server").scheduler == "slots"
    with pytest.raises(InputError, match=r"engine: one of vllm, llama-cpp \(got 'llama-server'\)"):
        engine("llama-server", needs="profile")  # it has a server, no offline profiler
    with pytest.raises(InputError, match=r"engine: one of llama-server, vllm, llama-cpp \(got 'sglang'\)"):
        engine("sglang", needs="server")
