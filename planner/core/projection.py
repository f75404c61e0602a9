"""Roofline projection: calibrate on measured profiles, predict decode tok/s for models and machines not measured.

Decode step time is modelled as  t = a · n_layers + bytes_per_step / B_eff + c · n_layers · context :  a fixed cost
per layer (kernel launches, thread synchronisation, the small matmuls that do not saturate memory), the bytes that
must stream from memory at an effective bandwidth, and attention work that grows with the context. Both constants are fitted (least squares) on profiles measured on one
machine — e.g. the quant ladder of one model, whose rungs move different bytes through the same layers — and the
fit predicts other architectures and quant types on that machine. Efficiency = B_eff ÷ measured (or datasheet)
bandwidth says how close to the roofline the engine runs.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import nnls

from planner.core.deploy import STATE_PASSES, GpuEfficiency, card_params, recurrent_state_bytes, time_ratio
from planner.core.deploy import kv_bytes_per_token as card_kv_bytes_per_token
from planner.core.errors import DataError, FitError, InputError, MeasurementError
from planner.core.quant import nominal_bits_per_weight
from planner.core.records import EngineProfile, GpuInfo, Profile
from planner.core.roofline import (
    active_params,
    active_weight_bytes,
    decode_ceiling_tok_s,
    decode_efficiency,
    footprint,
    model_kv_bytes_per_token,
    prefill_flops,
)
from planner.core.rows import HardwareRow
from planner.core.stepmodel import decode_counts, prefill_counts, token_budget
from planner.core.units import GIB


@dataclass(frozen=True)
class DecodeCalibration:
    per_layer_s: float
    effective_bandwidth_bytes_s: float
    per_layer_context_token_s: float
    reference_bandwidth_bytes_s: float | None
    n_points: int
    rms_relative_error: float

    @property
    def bandwidth_efficiency(self) -> float | None:
        if not self.reference_bandwidth_bytes_s:
            return None
        return self.effective_bandwidth_bytes_s / self.reference_bandwidth_bytes_s


def decode_points(profiles: list[Profile]) -> pd.DataFrame:
    """Every measured decode point as (layers, bytes per step, tok/s): the calibration data."""
    rows = []
    for p in profiles:
        kv = model_kv_bytes_per_token(p.model)
        for d in p.decode:
            rows.append({"profile": p.label, "n_layers": p.model.n_layers, "context": d.context_depth,
                         "bytes_per_step": active_weight_bytes(p.model) + kv * d.context_depth, "tok_s": d.tok_s.mean})
    return pd.DataFrame(rows)


def _features(n_layers, bytes_per_step, context) -> np.ndarray:
    L = np.asarray(n_layers, float)
    return np.column_stack(np.broadcast_arrays(L, np.asarray(bytes_per_step, float), L * np.asarray(context, float)))


def same_quant(profiles: list[Profile], quant: str) -> list[Profile]:
    """Calibration profiles of the target's quant type when there are any: kernels differ per type (a Q4_0 byte and
    an F32 byte cost the CPU very different work), so a per-type fit predicts that type better."""
    matching = [p for p in profiles if p.model.quant_label == quant]
    return matching if len({p.model.tensor_bytes for p in matching}) >= 2 else profiles


def calibrate_decode(profiles: list[Profile], reference_bandwidth_bytes_s: float | None = None) -> DecodeCalibration:
    """Fit t = a·L + bytes/B + c·L·ctx on single-stream decode points, minimising relative error (non-negative terms).

    Needs points of at least two different sizes (e.g. two quant-ladder rungs); with a single context depth the
    context term is left at zero.
    """
    pts = decode_points(profiles)
    sizes = {active_weight_bytes(p.model) for p in profiles}
    if len(pts) < 2 or len(sizes) < 2:
        raise FitError(f"the fit needs profiles of at least two different model sizes (e.g. two quant-ladder rungs); "
                       f"got {len(profiles)} profile(s) of {len(sizes)} size(s) — one model at several depths cannot separate "
                       f"per-layer cost from bandwidth", field="calibrate")
    X = _features(pts["n_layers"], pts["bytes_per_step"], pts["context"])
    t = 1.0 / pts["tok_s"].to_numpy(float)
    scale = X.max(axis=0)
    scale[scale == 0] = 1.0
    coef, _ = nnls(X / scale / t[:, None], np.ones_like(t))  # relative least squares, every term >= 0
    a, inv_b, c = coef / scale
    pred_t = X @ np.array([a, inv_b, c])
    rms = float(np.sqrt(np.mean((t / pred_t - 1) ** 2)))
    cal = DecodeCalibration(float(a), 1.0 / max(float(inv_b), 1e-18), float(c), reference_bandwidth_bytes_s, len(pts), rms)
    if cal.bandwidth_efficiency is not None and cal.bandwidth_efficiency > 1.0:
        raise FitError(f"the fit reads bytes at {cal.effective_bandwidth_bytes_s / 1e9:,.0f} GB/s, "
                       f"{cal.bandwidth_efficiency:.0%} of the reference {reference_bandwidth_bytes_s / 1e9:,.0f} GB/s — above the "
                       "memory-bandwidth roofline, which no engine can do: the reference is the wrong device (name the calibration machine's hardware) "
                       "or the profiles are not what they say", field="calibrate")
    return cal


def predict_decode_tok_s(cal: DecodeCalibration, n_layers, bytes_per_step, context=0):
    X = _features(n_layers, bytes_per_step, context)
    return 1.0 / (X @ np.array([cal.per_layer_s, 1.0 / cal.effective_bandwidth_bytes_s, cal.per_layer_context_token_s]))


def efficiency_table(profile: Profile, bandwidth_bytes_s: float | None = None, peak_flops: float | None = None) -> pd.DataFrame:
    """How close each measurement runs to the roofline: decode vs the memory ceiling, prefill vs the FLOP ceiling."""
    if not isinstance(profile, EngineProfile):
        raise MeasurementError("a serving profile holds no engine tests to compare with the roofline")
    bw = bandwidth_bytes_s or ((profile.hardware.memory_bandwidth_gb_s or 0) * 1e9) or None
    w = active_weight_bytes(profile.model)
    kv = model_kv_bytes_per_token(profile.model)
    rows = []
    for d in profile.decode:
        ceiling = float(decode_ceiling_tok_s(bw, w, kv, d.context_depth)) if bw else np.nan
        rows.append({"test": f"decode at depth {d.context_depth}", "measured": d.tok_s.mean, "unit": "tok/s",
                     "roofline_ceiling": ceiling, "efficiency": float(decode_efficiency(d.tok_s.mean, bw, w, kv, d.context_depth)) if bw else np.nan,
                     "bound": "memory bandwidth"})
    for c in profile.concurrency_sweep:
        ceiling = float(decode_ceiling_tok_s(bw, w, kv, c.context_depth, c.concurrency)) if bw else np.nan
        rows.append({"test": f"decode, {c.concurrency} streams", "measured": c.aggregate_decode_tok_s.mean, "unit": "tok/s",
                     "roofline_ceiling": ceiling,
                     "efficiency": float(decode_efficiency(c.aggregate_decode_tok_s.mean, bw, w, kv, c.context_depth, c.concurrency)) if bw else np.nan,
                     "bound": "memory bandwidth"})
    m = profile.model
    for p in profile.prefill:
        flops_per_token = float(prefill_flops(active_params(m), m.n_layers or 0, m.d_model or 0, p.prompt_tokens)) / p.prompt_tokens
        achieved = p.tok_s.mean * flops_per_token
        rows.append({"test": f"prefill {p.prompt_tokens} tokens", "measured": achieved / 1e9, "unit": "GFLOP/s",
                     "roofline_ceiling": peak_flops / 1e9 if peak_flops else np.nan,
                     "efficiency": achieved / peak_flops if peak_flops else np.nan, "bound": "compute"})
    return pd.DataFrame(rows)


def _scale_summary(s, factor: float):
    """A speed summary scaled by `factor` (samples too); times scale by 1/factor via `factor` < 1."""
    up = lambda v: None if v is None else v * factor  # noqa: E731
    lo, hi = sorted([up(s.ci95_low), up(s.ci95_high)]) if s.ci95_low is not None else (None, None)
    return s.model_copy(update={"mean": s.mean * factor, "std": s.std * abs(factor), "ci95_low": lo, "ci95_high": hi,
                                "median": s.median * factor, "p95": s.p95 * factor, "p99": s.p99 * factor,
                                "min": min(s.min * factor, s.max * factor), "max": max(s.min * factor, s.max * factor),
                                "samples": [v * factor for v in s.samples]})


def project_profile(profile: Profile, source: HardwareRow, target: HardwareRow, efficiency: GpuEfficiency | None = None) -> Profile:
    """The same model on other hardware, assuming the engine keeps the efficiency measured on `source`.

    With the GPU `efficiency` (`deploy.fit_gpu_efficiency` on profiles of the source device) every timing is split
    into fixed time, bytes and FLOPs and only the last two are rescaled (`deploy.time_ratio`): a batched step far
    from the bandwidth roofline is not projected as if it were memory-bound, and per-layer launch costs do not shrink
    with a faster memory. Without it (CPU profiles), decode and latencies scale with memory bandwidth and prefill with
    dense FP16 throughput. `source`/`target` are rows of data/hardware.csv. The result is marked as a projection.
    """
    for row in (source, target):
        if not (row.memory_bandwidth_gb_s and row.fp16_tflops_dense and row.memory_gib):
            raise DataError(f"hardware: row '{row.name}' lacks memory_bandwidth_gb_s / fp16_tflops_dense / memory_gib; projection needs all three")
    bw = target.memory_bandwidth_gb_s / source.memory_bandwidth_gb_s
    fl = target.fp16_tflops_dense / source.fp16_tflops_dense
    p = profile.model_copy(deep=True)
    src, dst = (source.memory_bandwidth_gb_s * 1e9, source.fp16_tflops_dense * 1e12), (target.memory_bandwidth_gb_s * 1e9, target.fp16_tflops_dense * 1e12)
    budget = token_budget(profile) if isinstance(profile, EngineProfile) else None

    def slower(rows, fallback: float) -> float:
        """Time on the target ÷ time on the source for these step counts (`StepCounts`)."""
        return float(time_ratio(profile.model, rows, efficiency, src, dst)[0]) if efficiency else fallback

    for pt in p.prefill:
        pt.tok_s = _scale_summary(pt.tok_s, 1 / slower(prefill_counts(pt.prompt_tokens, budget), 1 / fl))
    for d in p.decode:
        d.tok_s = _scale_summary(d.tok_s, 1 / slower(decode_counts(1, d.context_depth, d.gen_tokens), 1 / bw))
    for lat in p.latency:
        rp = slower(prefill_counts(lat.prompt_tokens, budget), 1 / fl)
        rd = slower(decode_counts(1, lat.prompt_tokens, lat.output_tokens), 1 / bw)
        e2e = (lat.ttft_ms.mean * rp + (lat.e2e_ms.mean - lat.ttft_ms.mean) * rd) / lat.e2e_ms.mean
        lat.ttft_ms, lat.itl_ms, lat.e2e_ms = _scale_summary(lat.ttft_ms, rp), _scale_summary(lat.itl_ms, rd), _scale_summary(lat.e2e_ms, e2e)
    gen = (profile.settings.concurrency_gen_tokens or 0) if isinstance(profile, EngineProfile) else 0  # no sweep: unused
    for c in p.concurrency_sweep:
        rc = slower(decode_counts(c.concurrency, c.context_depth, gen), 1 / bw)
        c.aggregate_decode_tok_s = _scale_summary(c.aggregate_decode_tok_s, 1 / rc)
        c.per_stream_decode_tok_s = _scale_summary(c.per_stream_decode_tok_s, 1 / rc)
        c.step_latency_ms = _scale_summary(c.step_latency_ms, rc)
        if c.prefill_ms is not None:
            c.prefill_ms = _scale_summary(c.prefill_ms, slower(prefill_counts(c.concurrency * c.context_depth, budget, c.concurrency), 1 / fl))
    p.threads_sweep, p.gpu_layers_sweep, p.energy = [], [], None
    p.hardware = p.hardware.model_copy(update={"gpus": [GpuInfo(index=0, name=target.name,
                                                               memory_total_bytes=int(target.memory_gib * GIB))],
                                               "memory_bandwidth_gb_s": target.memory_bandwidth_gb_s,
                                               "memory_bandwidth_method": f"datasheet ({target.provenance.source}, {target.provenance.as_of})"})
    how = (f"fixed costs kept, bytes × {1 / bw:.3f} and FLOPs × {1 / fl:.3f} in time (the roofline split of the efficiency fitted on "
           f"{efficiency.source}, held-out error {efficiency.median_abs_error_pct:.0f} % median)" if efficiency else
           f"decode × {bw:.3f} (memory bandwidth ratio), prefill × {fl:.3f} (FP16 throughput ratio)")
    p.projection = f"projected from a measured profile on {source.name} to {target.name}: {how}, assuming the efficiency measured on {source.name}; not a measurement"
    p.notes = [*p.notes, p.projection]
    if p.model.tensor_bytes and p.model.tensor_bytes > target.memory_gib * GIB:
        raise InputError(f"{p.model.file_name} ({p.model.tensor_bytes / GIB:.1f} GiB of weights) does not fit "
                         f"{target.name} ({target.memory_gib:g} GiB)", field="hardware")
    return p


def card_weight_bytes(card, quant: str) -> tuple[float, float]:
    """(all weight bytes, bytes read per decode step) of a card at a quant type's nominal bits per weight.

    Parameters are the card's published total and active counts (`deploy.card_params`; the llama-only formula where
    none is published), so a MoE's routed experts and an MLA model's attention are what their authors count. Nominal =
    the main ggml type's block size (gguf's GGML_QUANT_SIZES): K-quant "_M" mixes keep some tensors at higher precision,
    so real files run a few percent larger. Per step: every parameter but the idle experts (a batch-1 step routes to k of E)
    and the input
    embedding, a row lookup — unless it is tied to the LM head, which every step reads whole.
    """
    bpw = nominal_bits_per_weight(quant)
    total, _, experts = card_params(card)
    lookup = 0.0 if card.tied_embeddings else float(card.vocab_size * card.d_model)
    idle = experts * (1 - card.n_experts_active / card.n_experts) if experts else 0.0  # experts no token of the step routes to
    return total * bpw / 8, (total - idle - lookup) * bpw / 8


def predict_card(cal: DecodeCalibration, card, quant: str, *, target_bandwidth_bytes_s: float | None = None,
                 context: int = 0, n_ctx: int = 4096) -> dict:
    """Decode tok/s and memory of (card, quant) on the calibrated machine, or on another one by bandwidth ratio. A
    hybrid's linear-attention layers (`deploy.recurrent_state_bytes`) hold one sequence's fixed state, read and written
    back every step, and do not attend over the context (the calibration's context term counts attending layers)."""
    total, per_step = card_weight_bytes(card, quant)
    kv, kv_ctx = card_kv_bytes_per_token(card, n_ctx), card_kv_bytes_per_token(card, max(context, 1))  # MLA, sliding windows
    state = recurrent_state_bytes(card)
    c = cal
    if target_bandwidth_bytes_s is not None:
        if not cal.reference_bandwidth_bytes_s:
            raise FitError("the calibration has no reference bandwidth to scale from; name the calibration machine's hardware", field="hardware")
        scale = target_bandwidth_bytes_s / cal.reference_bandwidth_bytes_s
        c = DecodeCalibration(cal.per_layer_s, cal.effective_bandwidth_bytes_s * scale, cal.per_layer_context_token_s,
                              target_bandwidth_bytes_s, cal.n_points, cal.rms_relative_error)
    attended = context * card.full_attention_layers / card.n_layers  # the context term is c · n_layers · context
    tok_s = float(predict_decode_tok_s(c, card.n_layers, per_step + kv_ctx * context + STATE_PASSES * state, attended)[0])
    memory = footprint(total, kv, n_ctx).total_bytes + state
    sizes = {"weights": total, "bytes per step": per_step, "KV per token": kv, "decode tok/s": tok_s, "memory": memory}
    if bad := [f"{k} {v:.4g}" for k, v in sizes.items() if not (np.isfinite(v) and v > 0)]:  # physics first: never printed
        raise DataError(f"model_cards: row '{card.name}' gives {', '.join(bad)} — its parameter counts or dimensions contradict each other")
    return {"model": card.name, "quant": quant, "layers": card.n_layers, "weights_gib": total / 2**30,
            "decode_bytes_per_token_gib": per_step / 2**30, "kv_bytes_per_token": kv, "memory_needed_gib": memory / 2**30,
            "predicted_decode_tok_s": tok_s, "effective_bandwidth_gb_s": c.effective_bandwidth_bytes_s / 1e9}
