"""Profile files: two kinds (engine, serving); version 3 types the engine's scheduler limits; version 1 and 2 files still
read (migrated); unknown is None, not 0. Unphysical values are refused on read and never written, and random mutations
of a profile give one DataError or a profile that plans (those marked `fault` are of the fault suite)."""
import json
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner.core.errors import DataError, MeasurementError, PlannerError
from planner.core.plan import PriceChoice, Workload, plan
from planner.core.records import SCHEMA_VERSION, EngineProfile, ServingProfile
from planner.core.rows import Provenance
from planner.formats.profiles import load_profile, save_profile
from tests.factories import make_profile, make_serving_profile
from tests.unit.conftest import REF


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


@pytest.mark.fault
@pytest.mark.parametrize("value,why", [(-5.0, "cannot be negative"), (1e308, "beyond any hardware"), (0.0, "measures nothing")])
def test_unphysical_measurements_are_refused_on_read(value, why, tmp_path):
    raw = json.loads(save_profile(make_profile(), tmp_path / "ok.json").read_text())
    raw["decode"][0]["tok_s"]["mean"] = value
    (tmp_path / "bad.json").write_text(json.dumps(raw))
    with pytest.raises(DataError, match=why):
        load_profile(tmp_path / "bad.json")


@pytest.mark.fault
def test_infinity_in_a_profile_is_refused_and_never_written(tmp_path):
    text = save_profile(make_profile(), tmp_path / "ok.json").read_text().replace('"mean": 50.0', '"mean": Infinity', 1)
    (tmp_path / "inf.json").write_text(text)
    with pytest.raises(DataError):
        load_profile(tmp_path / "inf.json")
    profile = make_profile()
    profile.decode[0].tok_s.mean = -1.0  # assignment skips validation: the writer must catch it
    with pytest.raises(MeasurementError, match="refusing to write"):
        save_profile(profile, tmp_path / "never.json")
    assert not (tmp_path / "never.json").exists()


def _leaves(obj, path=()):
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _leaves(v, (*path, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _leaves(v, (*path, i))
    else:
        yield path


BASE = json.loads(make_profile(concurrency={1: 50.0, 4: 150.0}).model_dump_json())
LEAVES = list(_leaves(BASE))
PROV = Provenance("test", "row", "test", "2026-01-01")
PRICES = PriceChoice(1.0, "r", PROV, 1e-6, 4e-6, None, "api", PROV)


@pytest.mark.fault
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(where=st.sampled_from(LEAVES),
       value=st.one_of(st.none(), st.booleans(), st.text(max_size=5), st.integers(-10**6, 10**6),
                       st.floats(allow_nan=False, allow_infinity=False), st.sampled_from([0, -1, 1e308, -1e308])),
       drop=st.booleans())
def test_fuzz_profile_mutations_give_one_error_or_a_valid_plan(where, value, drop, tmp_path_factory):
    raw = json.loads(json.dumps(BASE))
    node = raw
    for key in where[:-1]:
        node = node[key]
    if drop and isinstance(node, dict):
        del node[where[-1]]
    else:
        node[where[-1]] = value
    path = tmp_path_factory.mktemp("fuzz") / "p.json"
    path.write_text(json.dumps(raw))
    try:
        profile = load_profile(path)
    except DataError:
        return  # one line, naming the file and the field
    try:
        r = plan(profile, PRICES, Workload(tokens_in=64, tokens_out=8, ttft_slo_s=60, itl_slo_s=10))
    except PlannerError:
        return
    assert r.capacity_rps > 0 and math.isfinite(r.capacity_rps)
    assert math.isfinite(r.at_target.selfhost_usd_per_month) and r.at_target.selfhost_usd_per_month > 0
    assert load_profile(save_profile(profile, path)).model == profile.model  # what the tool writes, it reads back
