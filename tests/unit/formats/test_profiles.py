"""Profile files: version 2 has two kinds (engine, serving); version 1 files still read; unknown is None, not 0."""
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
    assert json.loads(path.read_text())["schema_version"] == SCHEMA_VERSION == 2
    loaded = load_profile(path)
    assert type(loaded) is type(original) and loaded.model == original.model


def test_other_versions_and_wrong_kinds_are_refused_with_the_fix(tmp_path):
    raw = json.loads(save_profile(make_profile(), tmp_path / "p.json").read_text())
    (tmp_path / "v3.json").write_text(json.dumps({**raw, "schema_version": 3}))
    with pytest.raises(DataError, match="schema_version 3; this llm-planner reads versions 1 and 2 — re-run"):
        load_profile(tmp_path / "v3.json")
    (tmp_path / "mixed.json").write_text(json.dumps({**raw, "profile_type": "serving"}))  # engine fields in a serving profile
    with pytest.raises(DataError, match="mixed.json: field"):
        load_profile(tmp_path / "mixed.json")
    (tmp_path / "zero.json").write_text(json.dumps({**raw, "model": {**raw["model"], "n_params": 0}}))
    with pytest.raises(DataError, match="model.n_params"):
        load_profile(tmp_path / "zero.json")  # 0 parameters is not "unknown": that is None
