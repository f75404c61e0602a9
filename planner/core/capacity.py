"""Requests/s one replica sustains, from a profile, and the highest of them that meets a latency SLO.

Model (engine-time accounting for a continuous-batching server at concurrency c):
  each request costs the engine n_in / prefill_tok_s of prefill plus n_out / aggregate_decode_tok_s(c)
  of shared decode steps, so   rps(c) = 1 / (n_in / pp + n_out / agg(c)).
  Little's law gives e2e(c) = c / rps(c); TTFT(c) ≈ own prefill + one decode step;
  ITL(c) = (e2e − TTFT) / (n_out − 1), its p95 scaled from the measured step-latency p95.
Aggregate decode speed at the request's mean context is scaled from the concurrency sweep's depth by the
measured decode-vs-depth curve. A serving profile (load generator) needs no model: it measured goodput.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from planner.core.errors import InputError, MeasurementError
from planner.core.records import EngineProfile, Profile, ServingProfile


def _interp(x: float, xs: list[float], ys: list[float]) -> float:
    order = np.argsort(xs)
    return float(np.interp(x, np.asarray(xs, float)[order], np.asarray(ys, float)[order]))


def capacity_table(profile: Profile, tokens_in: float, tokens_out: float, *, bound: str = "mean") -> pd.DataFrame:
    """One row per measured concurrency level: rps, TTFT, ITL (mean, p95), e2e, aggregate tok/s.

    `bound` picks the point estimate ('mean') or an end of the 95% CI ('low' = pessimistic, 'high').
    """
    if tokens_in < 0 or tokens_out < 1:
        raise InputError("--tokens-in / --tokens-out: need tokens_in >= 0 and tokens_out >= 1")
    if not isinstance(profile, EngineProfile):
        raise MeasurementError("this is a serving profile; use serving_capacity_table() for it")
    pick = {"mean": lambda s: s.mean, "low": lambda s: s.ci95_low if s.ci95_low is not None else s.mean,
            "high": lambda s: s.ci95_high if s.ci95_high is not None else s.mean}[bound]
    if not profile.prefill or not profile.decode:
        raise MeasurementError(f"profile of {profile.model.file_name} lacks prefill/decode tests; re-run `llm-planner profile`")
    pp = _interp(tokens_in, [p.prompt_tokens for p in profile.prefill], [pick(p.tok_s) for p in profile.prefill])
    depths = [d.context_depth for d in profile.decode]
    decode_at = lambda depth: _interp(depth, depths, [pick(d.tok_s) for d in profile.decode])  # noqa: E731
    mean_ctx = tokens_in + tokens_out / 2

    if profile.concurrency_sweep:
        points = profile.concurrency_sweep
        scale = decode_at(mean_ctx) / decode_at(points[0].context_depth)
        conc = np.array([p.concurrency for p in points], float)
        agg = np.array([pick(p.aggregate_decode_tok_s) for p in points]) * scale
        step_mean = np.array([p.step_latency_ms.mean for p in points]) / 1000 / scale
        step_p95 = np.array([p.step_latency_ms.p95 for p in points]) / 1000 / scale
    else:
        conc = np.array([1.0])
        agg = np.array([decode_at(mean_ctx)])
        step_mean = 1.0 / agg
        lat = profile.latency[0].itl_ms if profile.latency else None
        step_p95 = step_mean * (lat.p95 / lat.mean if lat else 1.0)

    prefill_s = tokens_in / pp
    rps = 1.0 / (prefill_s + tokens_out / agg)
    e2e = conc / rps
    ttft = prefill_s + step_mean
    itl_mean = np.where(tokens_out > 1, (e2e - ttft) / max(tokens_out - 1, 1), 0.0)
    itl_mean = np.maximum(itl_mean, step_mean)
    itl_p95 = itl_mean * step_p95 / step_mean
    return pd.DataFrame({
        "concurrency": conc.astype(int), "requests_per_s": rps, "ttft_s": ttft, "itl_mean_s": itl_mean,
        "itl_p95_s": itl_p95, "e2e_s": e2e, "aggregate_decode_tok_s": agg, "output_tok_s": rps * tokens_out,
    })


def serving_capacity_table(profile: Profile) -> pd.DataFrame:
    """Measured load levels of a serving profile (OpenAI-compatible server under load)."""
    if not isinstance(profile, ServingProfile) or not profile.serving:
        raise MeasurementError(f"profile of {profile.model.file_name} has no serving measurements")
    rows = []
    for lvl in profile.serving:
        rows.append({
            "concurrency": lvl.target if lvl.mode == "concurrency" else np.nan,
            "offered_rate": lvl.target if lvl.mode == "rate" else np.nan,
            "requests_per_s": lvl.request_s,
            "goodput_requests_per_s": lvl.goodput_request_s if lvl.goodput_request_s is not None else np.nan,
            "ttft_s": lvl.ttft_ms.p95 / 1000 if lvl.ttft_ms else np.nan,
            "itl_p95_s": lvl.itl_ms.p95 / 1000 if lvl.itl_ms else np.nan,
            "e2e_s": lvl.e2e_ms.p95 / 1000 if lvl.e2e_ms else np.nan,
            "error_rate": (lvl.failed + lvl.timed_out) / lvl.sent if lvl.sent else np.nan,
            "output_tok_s": lvl.output_tok_s,
        })
    return pd.DataFrame(rows)


def level_rate(table: pd.DataFrame) -> pd.Series:
    """What a load level counts for at an SLO: a serving level's measured goodput where it has one (the requests that
    met the profiling SLO), else its requests/s."""
    if "goodput_requests_per_s" in table:
        return table["goodput_requests_per_s"].fillna(table["requests_per_s"])
    return table["requests_per_s"]


def capacity_at_slo(table: pd.DataFrame, ttft_slo_s=np.inf, itl_slo_s=np.inf, *, ttft_col: str = "ttft_s",
                    itl_col: str = "itl_p95_s") -> tuple[np.ndarray, np.ndarray]:
    """Highest rate (`level_rate`) among levels meeting both limits (vectorised over SLO arrays); 0 where none does.

    Returns (rps, concurrency) arrays shaped like the broadcast SLOs.
    """
    ttft_slo = np.asarray(ttft_slo_s, float)
    itl_slo = np.asarray(itl_slo_s, float)
    if np.any(ttft_slo <= 0) or np.any(itl_slo <= 0) or np.any(np.isnan(ttft_slo)) or np.any(np.isnan(itl_slo)):
        raise MeasurementError("ttft_slo_s / itl_slo_s: latency limits must be positive seconds")
    shape = np.broadcast(ttft_slo, itl_slo).shape
    ttft = table[ttft_col].to_numpy()
    itl = table[itl_col].to_numpy()
    rps = level_rate(table).to_numpy(dtype=float)
    conc = table["concurrency"].to_numpy(dtype=float)
    t = np.broadcast_to(ttft_slo, shape)[..., None]
    i = np.broadcast_to(itl_slo, shape)[..., None]
    ok = (ttft <= t) & (itl <= i)
    masked = np.where(ok, rps, -np.inf)
    best = masked.argmax(axis=-1)
    best_rps = np.take_along_axis(masked, best[..., None], axis=-1)[..., 0]
    found = np.isfinite(best_rps)
    return np.where(found, best_rps, 0.0), np.where(found, conc[best], np.nan)


def engine_comparison(profiles: list[ServingProfile], workload) -> pd.DataFrame:
    """Requests/s each served engine sustains at the workload's SLO (goodput, measured), one row per serving profile,
    best first. Profiles measured at other token shapes are marked: their figures answer a different question."""
    rows = []
    for p in profiles:
        table = serving_capacity_table(p)
        rps, conc = capacity_at_slo(table, workload.ttft_slo_s, workload.itl_slo_s)
        best = table.loc[table["requests_per_s"].idxmax()]
        shape = p.serving[0]
        rows.append({
            "engine": p.engine.backend, "model": f"{p.model.name} {p.model.quant_label or ''}".strip(),
            "requests_per_s_at_slo": float(rps), "at_concurrency": float(conc) if float(rps) > 0 else np.nan,
            "max_requests_per_s": float(best["requests_per_s"]), "ttft_p95_s_at_max": float(best["ttft_s"]),
            "tokens": f"{shape.prompt_tokens_mean or 0:.0f} → {shape.output_tokens_mean or 0:.0f}",
            "same_workload": bool(shape.output_tokens_mean and abs(shape.output_tokens_mean - workload.tokens_out) <= 0.1 * workload.tokens_out),
        })
    frame = pd.DataFrame(rows)
    return frame.sort_values("requests_per_s_at_slo", ascending=False).reset_index(drop=True) if rows else frame
