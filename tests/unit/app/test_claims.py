"""Notebook 04's verdicts are computed from the committed H100 clones, and the words follow the numbers."""
import pytest

from planner.app.claims import full_depth_moe_prediction, held_out_verdict, load_profiles, moe_speed_table, moe_verdict
from tests.conftest import REPO


def test_moe_verdict_follows_the_measured_speeds():
    table = moe_speed_table(load_profiles(REPO / "profiles/reference/h100"))
    v = moe_verdict(table)
    assert v["holds_one_stream"] and not v["holds_under_load"]
    assert "**holds**" in v["text"] and "**breaks** under load" in v["text"]
    # flip the measurement: a MoE as slow as its total size under one stream makes the claim break
    slow = table.copy()
    moe = slow["clone"] == "Mixtral-8x7B-v0.1"
    slow.loc[moe, "decode tok/s (1 stream)"] = slow.loc[slow["clone"].str.contains("total"), "decode tok/s (1 stream)"].iloc[0]
    assert not moe_verdict(slow)["holds_one_stream"]


def test_held_out_check_is_the_prediction_error():
    h100 = load_profiles(REPO / "profiles/reference/h100")
    full = full_depth_moe_prediction([p for p in h100 if "Mistral-7B" not in p.model.name], reference_bandwidth_bytes_s=3.35e12)
    v = held_out_verdict(full, "Mistral-7B-v0.1", 100.0)
    predicted = float(full.loc[full["model"] == "Mistral-7B-v0.1", "predicted_decode_tok_s"].iloc[0])
    # (predicted − 100) / 100 × 100 in floating point: equal to the last bits, not exactly (it differs between CPUs)
    assert v["error_pct"] == pytest.approx(predicted - 100.0, rel=1e-12) and v["holds"] is (abs(predicted - 100.0) <= 10)
