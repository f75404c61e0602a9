"""Profile files: two kinds (engine, serving); version 3 types the engine's scheduler limits; version 1 and 2 files still
read (migrated); unknown is None, not 0."""
import json

import pytest

from planner.core.errors import DataError
from planner.core.records import SCHEMA_VERSION, EngineProfile, ServingProfile
from planner.formats.profiles import load_profile, save_profile
from tests.conftest import REPO
from tests.factories import make_profile, make_serving_profile

REF = REPO / "profiles" / "reference"


def test_committed_version_1_files_read_as_their_kind():
    serving = load_profile(next((REF / "serving").glob("*.json")))
    engine = load_profile(next((REF / "cpu").glob("SmolLM2-135M-Instruct.Q4_1__*.json")))
    assert json.loads(serving.saved_path.read_text())["schema_version"] == 1
    assert isinstance(serving, ServingProfile) and serving.serving and not hasattr(serving, "decode")
    assert isinstance(engine, EngineProfile) and engine.decode and not hasattr(engine, "serving")


def test_version_1_zeros_for_unknown_become_none(tmp_path):
    raw = json.loads(next((REF / "serving").glob("*.json")).read_text())
    raw["model"].update(sha256="", size_bytes=0, n_params=0, tensor_bytes=0, bits_per_weight=0.0, architecture="unknown", quant_label="unknown")
    path = tmp_path / "v1.json"
    path.write_text(json.dumps(raw))
    m = load_profile(path).model
    assert (m.sha256, m.size_bytes, m.n_params, m.tensor_bytes, m.bits_per_weight, m.architecture, m.quant_label) == (None,) * 7


@pytest.mark.parametrize("make", [make_profile, make_serving_profile])
def test_round_trip_keeps_the_kind_and_none(make, tmp_path):
    original = make()
    path = save_profile(original, tmp_path / "p.json")
    assert json.loads(path.read_text())["schema_version"] == SCHEMA_VERSION == 3
    loaded = load_profile(path)
    assert type(loaded) is type(original) and loaded.model == original.model


def test_other_versions_and_wrong_kinds_are_refused_with_the_fix(tmp_path):
    raw = json.loads(save_profile(make_profile(), tmp_path / "p.json").read_text())
    (tmp_path / "v4.json").write_text(json.dumps({**raw, "schema_version": 4}))
    with pytest.raises(DataError, match="schema_version 4; this llm-planner reads versions 1 to 3 — re-run"):
        load_profile(tmp_path / "v4.json")
    (tmp_path / "mixed.json").write_text(json.dumps({**raw, "profile_type": "serving"}))  # engine fields in a serving profile
    with pytest.raises(DataError, match="mixed.json: field"):
        load_profile(tmp_path / "mixed.json")
    (tmp_path / "zero.json").write_text(json.dumps({**raw, "model": {**raw["model"], "n_params": 0}}))
    with pytest.raises(DataError, match="model.n_params"):
        load_profile(tmp_path / "zero.json")  # 0 parameters is not "unknown": that is None


def test_version_2_files_read_with_typed_scheduler_limits():
    """v2 kept vLLM's scheduler limits, llama.cpp's n_batch and the sweep's output length in `settings.extra`, read by
    the capacity model with silent fallbacks (`or 256`); v3 types them, and the committed v2 files migrate on read."""
    vllm_path = next((REF / "vllm-cpu").glob("*.json"))
    raw = json.loads(vllm_path.read_text())
    assert raw["schema_version"] == 2
    v = load_profile(vllm_path)
    extra = raw["settings"]["extra"]
    assert v.engine.scheduler.max_num_seqs == extra["max_num_seqs"] and v.engine.scheduler.max_num_batched_tokens == extra["max_num_batched_tokens"]
    assert v.engine.scheduler.block_size == extra["block_size"] and v.engine.scheduler.chunked_prefill is extra["chunked_prefill"]
    assert v.settings.concurrency_gen_tokens == extra["gen_tokens"]
    llama_path = next((REF / "cpu").glob("SmolLM2-135M-Instruct.Q4_1__*.json"))
    raw = json.loads(llama_path.read_text())
    ll = load_profile(llama_path)
    assert ll.engine.scheduler is None and ll.engine.n_batch == raw["settings"]["extra"]["n_batch"]
    assert ll.settings.concurrency_gen_tokens == raw["settings"]["extra"]["concurrency_gen_tokens"]


def test_a_vllm_profile_without_its_scheduler_limits_is_refused_not_defaulted(tmp_path):
    from planner.core.capacity import scheduler_for
    from planner.core.errors import MeasurementError
    raw = json.loads(next((REF / "vllm-cpu").glob("*.json")).read_text())
    for key in ("max_num_seqs", "block_size"):
        raw["settings"]["extra"].pop(key)
    path = tmp_path / "v.json"
    path.write_text(json.dumps(raw))
    with pytest.raises(MeasurementError, match="vLLM's max_num_seqs, block_size not recorded"):
        scheduler_for(load_profile(path))
