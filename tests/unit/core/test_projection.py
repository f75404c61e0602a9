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
    assert total / 2**30 == pytest.approx(mix.n_params() * 4.5 / 8 / 2**30)
    assert 0.2 < per_step / total < 0.35  # 2 of 8 experts plus attention: about 27% of the bytes
    assert mix.n_params() == pytest.approx(46.7e9, rel=0.01) and mistral.n_params() == pytest.approx(7.24e9, rel=0.01)


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
