"""Roofline projection on the committed reference profiles (measured data, deterministic)."""
import dataclasses

import numpy as np
import pytest

from planner.core.errors import FitError, InputError
from planner.core.projection import (
    calibrate_decode,
    card_weight_bytes,
    efficiency_table,
    predict_card,
    predict_decode_tok_s,
    project_profile,
    same_quant,
)
from planner.core.roofline import active_weight_bytes
from planner.formats.catalog import load_card, record
from planner.formats.profiles import load_profile
from tests.unit.conftest import REF


def _profiles(folder):
    return [load_profile(f) for f in sorted((REF / folder).rglob("*.json"))]


def _held_out_error(folder: str, held_out: str, bandwidth: float, quant: str | None = None):
    profiles = _profiles(folder)
    target = next(p for p in profiles if p.model.clone_of == held_out)
    calib = [p for p in profiles if p.model.clone_of != held_out]
    cal = calibrate_decode(same_quant(calib, quant) if quant else calib, bandwidth)
    pred = float(predict_decode_tok_s(cal, target.model.n_layers, active_weight_bytes(target.model), 0)[0])
    return pred / target.decode_tok_s - 1, cal


def test_gpu_fit_predicts_the_held_out_mistral_clone():
    err, cal = _held_out_error("h100", "Mistral-7B-v0.1", 3.35e12)
    assert abs(err) < 0.15
    assert 0.3 < cal.bandwidth_efficiency < 1.0  # llama.cpp CUDA runs below the HBM datasheet bandwidth


def test_cpu_fit_with_same_quant_predicts_the_held_out_mistral_clone():
    err, _ = _held_out_error("cpu", "Mistral-7B-v0.1", 38e9, quant="Q4_K_M")
    assert abs(err) < 0.15


def test_calibration_needs_two_sizes():
    one = _profiles("cpu")[:1]
    with pytest.raises(FitError, match="two different model sizes"):
        calibrate_decode([p.model_copy(update={"decode": p.decode[:1]}) for p in one])
    # one model at several depths (the same file passed twice) determines no bandwidth: refused, not "fitted"
    deep = next(p for p in _profiles("cpu") if len(p.decode) >= 2)
    with pytest.raises(FitError, match="one model at several depths"):
        calibrate_decode([deep, deep])


def test_card_bytes_and_moe_active_share():
    mix, mistral = load_card("Mixtral-8x7B-v0.1"), load_card("Mistral-7B-v0.1")
    total, per_step = card_weight_bytes(mix, "Q4_K_M")
    assert total == pytest.approx(46.7e9 * 4.5 / 8)  # the published total at Q4_K_M's nominal 4.5 bits
    experts = 32 * 8 * 3 * 4096 * 14336  # layers × experts × SwiGLU's three matrices
    assert per_step == pytest.approx((46.7e9 - experts * 6 / 8 - 32000 * 4096) * 4.5 / 8)  # idle experts and the embedding lookup left out
    assert per_step * 8 / 4.5 == pytest.approx(12.9e9 - 32000 * 4096, rel=0.01)  # ≈ the published 12.9 B active
    assert mix.n_params() == pytest.approx(46.7e9, rel=0.01) and mistral.n_params() == pytest.approx(7.24e9, rel=0.01)


def test_moe_and_mla_cards_by_hand():
    """Issue 22 #5: experts were sized with ffn_dim and DeepSeek's KV with 128 heads: −98 GiB a step for Qwen3-30B-A3B."""
    qwen = load_card("Qwen3-30B-A3B")
    total, per_step = card_weight_bytes(qwen, "Q8_0")  # 8.5 bits per weight
    experts = 48 * 128 * 3 * 2048 * 768
    assert total == pytest.approx(30.5e9 * 8.5 / 8) and per_step == pytest.approx((30.5e9 - experts * 120 / 128 - 151936 * 2048) * 8.5 / 8)
    gemma = load_card("Gemma-3-27B")  # tied embeddings: the table is the LM head too, read every step
    assert card_weight_bytes(gemma, "F16")[1] == pytest.approx(27.432063e9 * 2)
    cal = calibrate_decode(_profiles("h100"), 3.35e12)
    ds = predict_card(cal, load_card("DeepSeek-V3"), "Q4_K_M")
    assert ds["kv_bytes_per_token"] == (512 + 64) * 2 * 61  # MLA: one latent and the rope key per layer, bf16


def test_a_hybrid_card_caches_its_full_attention_layers_and_holds_one_recurrent_state():
    from planner.core.roofline import footprint
    qwen = load_card("Qwen3.5-397B-A17B")  # 15 full-attention layers of 60; 45 Gated DeltaNet layers of 4,268,032 B state
    row = predict_card(calibrate_decode(_profiles("h100"), 3.35e12), qwen, "Q4_K_M", n_ctx=4096)
    assert row["kv_bytes_per_token"] == 15 * 2 * 2 * 256 * 2
    total, _ = card_weight_bytes(qwen, "Q4_K_M")
    assert row["memory_needed_gib"] * 2**30 == pytest.approx(footprint(total, 30_720, 4096).total_bytes + 45 * 4_268_032)


def test_a_reduced_depth_card_keeps_its_embeddings_and_scales_its_layers():
    full, half = load_card("Llama-3.1-8B"), load_card("Llama-3.1-8B").with_layers(16)
    outside = 128256 * 4096 * 2 + 4096  # input embedding, untied LM head, final norm
    assert half.params_b * 1e9 == pytest.approx(outside + (8.03e9 - outside) / 2)
    assert full.with_layers(32) is full


def test_every_committed_card_projects_to_positive_finite_sizes_and_speeds():
    """Physics first: `project` never prints a negative or non-finite size or speed, at full depth or as a clone."""
    from planner.formats.catalog import records
    cal = calibrate_decode(_profiles("h100"), 3.35e12)
    cards = [load_card(r.name) for r in records("model_cards")]
    assert len(cards) >= 30
    for card in cards + [c.with_layers(max(1, c.n_layers // 4)) for c in cards]:
        for quant in ("Q4_K_M", "F16"):
            row = predict_card(cal, card, quant, context=2048, target_bandwidth_bytes_s=8e12)
            values = [v for v in row.values() if isinstance(v, float | int)]
            assert all(np.isfinite(v) and v > 0 for v in values), (card.name, card.n_layers, quant, row)
            assert row["decode_bytes_per_token_gib"] <= row["weights_gib"], card.name


def test_projection_to_other_hardware_scales_by_the_datasheets():
    mistral = next(p for p in _profiles("h100") if p.model.clone_of == "Mistral-7B-v0.1")
    src, dst = record("hardware", "NVIDIA H100 SXM 80GB"), record("hardware", "NVIDIA A10")
    a10 = project_profile(mistral, src, dst)
    assert a10.projection and "not a measurement" in a10.projection and "projected to NVIDIA A10" in a10.label
    assert a10.decode_tok_s == pytest.approx(mistral.decode_tok_s * dst.memory_bandwidth_gb_s / src.memory_bandwidth_gb_s)
    assert a10.prefill_tok_s == pytest.approx(mistral.prefill_tok_s * dst.fp16_tflops_dense / src.fp16_tflops_dense)
    assert mistral.projection is None  # the measured profile is untouched
    tiny_gpu = dataclasses.replace(record("hardware", "NVIDIA L4"), memory_gib=2)
    with pytest.raises(InputError, match="does not fit"):
        project_profile(mistral, src, tiny_gpu)


def test_prediction_on_other_hardware_and_efficiency_table():
    cal = calibrate_decode(_profiles("h100"), 3.35e12)
    here = predict_card(cal, load_card("Mistral-7B-v0.1"), "Q4_K_M")
    a10 = predict_card(cal, load_card("Mistral-7B-v0.1"), "Q4_K_M", target_bandwidth_bytes_s=600e9)
    assert a10["predicted_decode_tok_s"] < here["predicted_decode_tok_s"] and here["memory_needed_gib"] > here["weights_gib"]
    table = efficiency_table(_profiles("cpu")[0])
    assert set(table["bound"]) == {"memory bandwidth", "compute"}
    mem = table[table["bound"] == "memory bandwidth"]["efficiency"]
    assert np.all((mem > 0) & (mem < 1.5))
