"""Shared fixtures. The engine is real: llama.cpp on the embedded SmolLM2-135M model, short runs."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
# the vLLM engine profile the hand-computed plan figures in the tests come from (the folder holds a newer one since
# 2026-12-04, measured after the VM got faster: see README, issue-23 suite); named, never "the first file a glob returns"
VLLM_VALIDATION_PROFILE = REPO / "profiles/reference/validation/SmolLM2-135M-Instruct__vllm__20261126T194313695049Z-p27868.json"


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory):
    """Derived models (ladder, clones) go to a per-session folder, never the user's cache."""
    os.environ["LLM_PLANNER_CACHE"] = str(tmp_path_factory.mktemp("llm-planner-cache"))
    os.environ.pop("LLM_PLANNER_DATA", None)


@pytest.fixture(scope="session")
def embedded_path():
    from planner.measure.gguf.embedded import embedded_model_path
    return embedded_model_path()


TINY = dict(prompt_lengths=(32, 64), decode_depths=(0, 64), gen_tokens=8, latency_prompt_tokens=32, latency_output_tokens=6,
            concurrency=(1, 4), concurrency_prompt_tokens=16, concurrency_gen_tokens=8, threads=(1,), min_reps=2, max_reps=3,
            time_budget_s=1.0)


@pytest.fixture(scope="session")
def tiny_profile(tmp_path_factory, embedded_path):
    """One short real profile of the embedded model (about 15 s on two cores), shared by the tests."""
    from planner.measure.profiling.llama_cpp import ProfileConfig, profile_model
    out = tmp_path_factory.mktemp("profiles") / "tiny.json"
    profile = profile_model(embedded_path, ProfileConfig(**TINY), out_path=out, progress=False)
    return profile, out
