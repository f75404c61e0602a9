"""The GPU step model fitted on serving measurements: the fit recovers known parameters from measurements the step
model itself generated (a brute-force cross-check of the linear design), efficiencies stay under the datasheet, and
`predict_load` reproduces hand-computed single-request figures."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from planner.core.deploy import GpuEfficiency, memory_plan, step_model
from planner.core.errors import FitError, InputError
from planner.core.gpufit import THETA, ServingPoint, design_rows, error_pct, fit_efficiency, predict, predict_load
from tests.unit.core.conftest import BIG, CARD, NVLINK

TRUE = GpuEfficiency(bandwidth_eff=0.7, flops_eff=0.5, decode_flops_eff=0.25, attention_flops_eff=0.4, per_layer_s=30e-6,
                     per_seq_s=20e-6, per_token_s=2e-6, per_request_s=1e-3, per_step_s=2e-3, server_ttft_s=0.05, source="test",
                     engine="vLLM", per_moe_layer_s=40e-6, per_tp_rank_s=0.5e-3)
# a mixture-of-experts card of CARD's shape: 8 experts of its FFN, 2 active, the first 4 layers dense
MOE = dataclasses.replace(CARD, name="test-8x8b", params_b=47.0, active_params_b=13.0, moe_ffn_dim=14336, n_experts=8,
                          n_experts_active=2, first_dense_layers=4)


def _point(card, tp, n, isl, osl, kind="concurrency", i=0) -> ServingPoint:
    return ServingPoint(id=f"p{i}", engine="vLLM", card=card, device=NVLINK, tp=tp, precision="bf16", tokens_in=isl, tokens_out=osl,
                        kind=kind, concurrency=n, output_tok_s=None, ttft_p50_s=1.0 if kind == "concurrency" else None,
                        tpot_p50_s=1.0, source="synthetic")


def _theta(eff: GpuEfficiency) -> np.ndarray:
    return np.array([eff.per_step_s, eff.per_layer_s, 1 / eff.bandwidth_eff, eff.per_seq_s, 1 / eff.decode_flops_eff, eff.per_token_s,
                     1 / eff.flops_eff, 1 / eff.attention_flops_eff, eff.per_request_s, eff.per_moe_layer_s, eff.per_tp_rank_s,
                     eff.server_ttft_s])


def _measured(points, eff):
    """Each point's TPOT and TTFT as the step model with `eff` gives them through the design rows (exact)."""
    out = []
    for p in points:
        vals = {what: comm + g @ _theta(eff) for g, comm, _, what in design_rows(p)}
        out.append(dataclasses.replace(p, tpot_p50_s=vals["tpot"], ttft_p50_s=vals.get("ttft")))
    return out


def test_fit_recovers_the_parameters_that_generated_the_measurements():
    grid = [(c, tp, n, isl) for c in (CARD, BIG, MOE) for tp in (1, 2, 4, 8) for n in (1, 8, 64) for isl in (128, 2048, 16384)]
    points = _measured([_point(c, tp, n, isl, 128, i=i) for i, (c, tp, n, isl) in enumerate(grid)], TRUE)
    fit = fit_efficiency(points, "vLLM")
    assert _theta(fit) == pytest.approx(_theta(TRUE), rel=1e-6)
    assert fit.engine == "vLLM" and "3 models" in fit.source


def test_a_moe_layer_costs_its_routing_on_top_of_a_layer():
    """`per_moe_layer_s` is paid once per step by each of a MoE card's 28 routed layers (32 less its 4 dense ones) and
    never by a dense card: the step's fixed part differs from the same card's without it by exactly 28 × 40 µs."""
    assert (MOE.moe_layers, CARD.moe_layers) == (28, 0)
    without = dataclasses.replace(TRUE, per_moe_layer_s=0.0)
    for card, extra in ((MOE, 28 * 40e-6), (CARD, 0.0)):
        mem = memory_plan(card, "bf16", NVLINK, 8, 1, 1000)
        a, _ = step_model(card, "bf16", NVLINK, TRUE, 8, 1, mem)
        b, _ = step_model(card, "bf16", NVLINK, without, 8, 1, mem)
        assert a.overhead_s - b.overhead_s == pytest.approx(extra, abs=1e-15)


def test_each_worker_beyond_the_first_adds_its_cost_to_every_step():
    """`per_tp_rank_s` (the executor's broadcast to and gather from each further worker) is paid once per step per worker
    beyond the first, TP × PP of them, whatever the card: 0 at TP 1, 3 × 0.5 ms at TP 4 and at TP 2 × PP 2, 7 × 0.5 ms
    at TP 8 — and nothing else moves."""
    without = dataclasses.replace(TRUE, per_tp_rank_s=0.0)
    for card in (CARD, MOE):
        for tp, pp, extra in ((1, 1, 0.0), (4, 1, 1.5e-3), (2, 2, 1.5e-3), (8, 1, 3.5e-3)):
            mem = memory_plan(card, "bf16", NVLINK, tp, pp, 1000)
            a, _ = step_model(card, "bf16", NVLINK, TRUE, tp, pp, mem)
            b, _ = step_model(card, "bf16", NVLINK, without, tp, pp, mem)
            assert a.overhead_s - b.overhead_s == pytest.approx(extra, abs=1e-15)
            assert (a.per_seq_s, a.per_prefill_token_s, a.per_kv_token_s) == (b.per_seq_s, b.per_prefill_token_s, b.per_kv_token_s)


def test_design_columns_are_the_step_model_itself():
    """T = comm + g·θ must equal the deploy step model's own step time at the same counts (one model, not two)."""
    p = _point(BIG, 4, 16, 1000, 200)
    (g, comm, _, what), _ = design_rows(p)
    assert what == "tpot"
    mem = memory_plan(BIG, "bf16", NVLINK, 4, 1, 1200)
    sm, _ = step_model(BIG, "bf16", NVLINK, TRUE, 4, 1, mem)
    assert comm + g @ _theta(TRUE) == pytest.approx(float(sm.step_s(16, 16 * (1000 + 100), 0)), rel=1e-12)
    assert comm > 0  # TP4: the all-reduces are physics, outside θ


def test_ttft_row_counts_half_the_wave_plus_the_server():
    """N = 7 at once: the median (4th) request's first token follows 4 prompts of 3,000 tokens = 12,000 tokens in
    ⌈12,000 / 8,192⌉ = 2 steps, plus the server's own time."""
    p = _point(CARD, 1, 7, 3000, 64)
    _, (g, comm, _, what) = design_rows(p)
    assert what == "ttft" and g[THETA.index("server_ttft")] == 1.0
    assert g[THETA.index("steps")] == 2 and g[THETA.index("requests")] == 4 and g[THETA.index("prefill_tokens")] == 12000


def test_efficiency_never_exceeds_the_datasheet():
    """Measurements faster than the roofline cannot make η > 100 %: the fit floors every 1/η at 1."""
    points = _measured([_point(CARD, 1, n, 512, 128, i=n) for n in (1, 4, 16, 64)], TRUE)
    fast = [dataclasses.replace(p, tpot_p50_s=p.tpot_p50_s / 10, ttft_p50_s=p.ttft_p50_s / 10) for p in points]
    fit = fit_efficiency(fast, "vLLM")
    assert fit.bandwidth_eff <= 1 and fit.flops_eff <= 1 and fit.decode_flops_eff <= 1 and fit.attention_flops_eff <= 1
    with pytest.raises(FitError, match="no vLLM measurements"):
        fit_efficiency([], "vLLM")


def test_predict_decode_figure_is_one_step():
    p = _point(CARD, 2, 2, 512, 256, kind="decode")
    mem = memory_plan(CARD, "bf16", NVLINK, 2, 1, 768)
    sm, _ = step_model(CARD, "bf16", NVLINK, TRUE, 2, 1, mem)
    pr = predict(p, TRUE)
    assert pr.tpot_p50_s == pytest.approx(float(sm.step_s(2, 2 * (512 + 128), 0)))
    assert pr.output_tok_s == pytest.approx(2 / pr.tpot_p50_s)


def test_predict_load_single_request_by_hand():
    """One request alone, 100 → 2 tokens: TTFT = one prefill step + the server's time; its one gap = one decode step."""
    pred = predict_load(CARD, "bf16", NVLINK, TRUE, 1, 1, 100, 2, concurrency=1)
    mem = memory_plan(CARD, "bf16", NVLINK, 1, 1, 102)
    sm, _ = step_model(CARD, "bf16", NVLINK, TRUE, 1, 1, mem)
    prefill = float(sm.step_s(0, 0, 100, float(sm.attention_pairs(0, 100)), 1))
    assert pred.ttft_s[50] == pytest.approx(prefill + TRUE.server_ttft_s)
    assert float(sm.step_s(1, 100, 0)) <= pred.tpot_s[50] <= float(sm.step_s(1, 102, 0))
    assert pred.requests_per_s == pytest.approx(1 / (prefill + pred.tpot_s[50]))
    assert pred.kv_max_requests == mem.max_seqs_by_kv


def test_a_burst_one_at_a_time_is_five_single_requests_in_a_row():
    """Every request at once, but the server runs one at a time (max_num_seqs 1): each of the 5 takes the time a lone
    request takes (`predict_load` at concurrency 1), so output tok/s is a lone request's, and the median (3rd) request's
    first token comes two whole requests after the start, plus its own prefill and the server's time."""
    single = predict_load(CARD, "bf16", NVLINK, TRUE, 1, 1, 100, 10, concurrency=1)
    burst = dataclasses.replace(_point(CARD, 1, 5, 100, 10), kind="burst", max_num_seqs=1, max_num_batched_tokens=8192)
    pr = predict(burst, TRUE)
    assert pr.output_tok_s == pytest.approx(10 * single.requests_per_s, rel=1e-9)
    assert pr.ttft_p50_s == pytest.approx(2 / single.requests_per_s + single.ttft_s[50], rel=1e-9)


def _burst(card, tp, n, isl, osl, seqs, i=0) -> ServingPoint:
    return dataclasses.replace(_point(card, tp, n, isl, osl, i=i), kind="burst", max_num_seqs=seqs, max_num_batched_tokens=2048,
                               output_tok_s=1.0, ttft_p50_s=1.0, tpot_p50_s=None)


def test_a_bursts_equations_are_its_simulation_exactly():
    """All arrivals at t = 0: the schedule never depends on time, so the burst's median TTFT and its duration are linear
    in θ — the design rows give exactly what `predict_burst` simulates, for parameters they were not read at, through
    chunked prefill (2,048 tokens a step), a sequence limit below the burst and a MoE card."""
    for p in (_burst(CARD, 1, 40, 900, 30, 16), _burst(MOE, 4, 25, 3000, 12, 64, i=1), _burst(CARD, 2, 5, 100, 1, 1, i=2)):
        pr = predict(p, TRUE)
        rows = {what: comm + g @ _theta(TRUE) for g, comm, _, what in design_rows(p)}
        assert rows["ttft"] == pytest.approx(pr.ttft_p50_s, rel=1e-12)
        assert rows["duration"] == pytest.approx(p.concurrency * p.tokens_out / pr.output_tok_s, rel=1e-12)


def test_fit_recovers_the_parameters_from_bursts_and_sweeps_together():
    """Bursts enter the fit beside closed-loop sweeps: measurements generated by TRUE give TRUE back."""
    sweeps = _measured([_point(c, tp, n, isl, 128, i=i) for i, (c, tp, n, isl) in
                        enumerate((c, tp, n, isl) for c in (CARD, BIG, MOE) for tp in (1, 8) for n in (1, 64) for isl in (128, 16384))], TRUE)
    bursts = []
    for i, (c, n, isl, osl) in enumerate((c, n, isl, osl) for c in (CARD, MOE) for n in (8, 200) for isl, osl in ((128, 4), (2000, 100))):
        p = _burst(c, 2, n, isl, osl, 64, i=100 + i)
        pr = predict(p, TRUE)
        bursts.append(dataclasses.replace(p, output_tok_s=pr.output_tok_s, ttft_p50_s=pr.ttft_p50_s))
    fit = fit_efficiency(sweeps + bursts, "vLLM")
    assert _theta(fit) == pytest.approx(_theta(TRUE), rel=1e-6)
    wrong = [dataclasses.replace(b, ttft_p50_s=2 * b.ttft_p50_s) for b in bursts]  # the bursts do weigh in the fit
    assert _theta(fit_efficiency(sweeps + wrong, "vLLM")) != pytest.approx(_theta(TRUE), rel=1e-3)


def test_predict_load_refuses_bad_loads():
    with pytest.raises(InputError, match="one load"):
        predict_load(CARD, "bf16", NVLINK, TRUE, 1, 1, 100, 10)
    with pytest.raises(InputError, match="one load"):
        predict_load(CARD, "bf16", NVLINK, TRUE, 1, 1, 100, 10, concurrency=1, rate_per_s=1.0)
    with pytest.raises(InputError, match="exceed"):
        predict_load(CARD, "bf16", NVLINK, TRUE, 1, 1, 100_000, 10, concurrency=256)
    with pytest.raises(InputError, match="exceed 90%"):
        predict_load(BIG, "bf16", NVLINK, TRUE, 1, 1, 100, 10, concurrency=1)


def test_overloaded_rate_is_called_unstable():
    sat = predict_load(CARD, "bf16", NVLINK, TRUE, 1, 1, 2000, 200, rate_per_s=1e4)
    assert "UNSTABLE" in sat.basis and sat.requests_per_s < 1e4


def test_error_pct():
    assert error_pct(110, 100) == pytest.approx(10.0)
    assert error_pct(None, 100) is None and error_pct(1.0, None) is None and error_pct(1.0, 0.0) is None
