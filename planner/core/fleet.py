"""Fleet planning: every instance × TP/PP/DP layout × weight precision for one model and workload, ranked by cost at
the SLO. Pure: instances, devices and the GPU efficiency come in typed; the money goes through `plan.evaluate`.

An n-GPU instance is never priced as one replica with one GPU's capacity: it runs n ÷ (TP·PP) engines side by side,
and its capacity is their sum. A layout that does not fit (weights, runtime and one request's KV per GPU) is listed
apart with the reason and never ranked.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from planner.core.cards import ModelCard
from planner.core.deploy import (
    PRECISION_BITS,
    Device,
    EngineEstimate,
    GpuEfficiency,
    MemoryPlan,
    engine_estimate,
    layouts,
    memory_plan,
    step_model,
    vllm_command,
)
from planner.core.errors import InputError
from planner.core.plan import Workload, evaluate
from planner.core.rows import InstanceRow, PriceKind
from planner.core.simulate import saturation_rate
from planner.core.units import HOURS_PER_MONTH


@dataclass(frozen=True)
class FleetResult:
    ranked: pd.DataFrame  # the cheapest feasible deployments at the workload's volume (pareto: no cheaper one has a lower ITL)
    infeasible: pd.DataFrame  # layouts that do not fit or cannot meet the SLO, with why
    n_candidates: int  # instance × layout × precision combinations considered
    n_engines_simulated: int  # distinct (device, TP, PP, precision) engines simulated
    n_fitting: int  # candidates whose memory fits (bounded; simulated until the bound proves the rest cannot rank)
    efficiency: GpuEfficiency


def rank_fleet(card: ModelCard, candidates: list[tuple[InstanceRow, Device]], eff: GpuEfficiency, workload: Workload, *,
               precisions: tuple[str, ...] = ("bf16",), price_kind: PriceKind = "on_demand", api_usd_per_request: float = 0.0,
               serve_name: str | None = None, top: int = 15) -> FleetResult:
    """The `top` cheapest deployments at the SLO, exactly (see the module docstring).

    Branch and bound: an engine never sustains more than its saturation rate (the capacity search only counts rates up
    to it), so every layout's cost at that rate is a lower bound on its real cost. Layouts are simulated in order of
    that bound, and the search stops when the next bound exceeds the `top`-th cost found — no unsimulated layout can
    enter the list. Engines are simulated once per (device, TP, PP, precision) and shared by every instance with it.
    """
    for p in precisions:
        if p not in PRECISION_BITS:
            raise InputError(f"--precision: one of {', '.join(PRECISION_BITS)} (got {p!r})")
    if not candidates:
        raise InputError("--hardware/--instance: no GPU instance in the catalog matches; see `llm-planner catalog instances`")
    tin, tout = workload.tokens_in, workload.tokens_out
    mems: dict[tuple, MemoryPlan] = {}
    sats: dict[tuple, float | str] = {}
    rows, infeasible = [], []
    n = 0
    for inst, dev in candidates:
        try:
            usd_per_hour = inst.usd_per_hour(price_kind)
        except InputError:
            continue  # no spot/reserved price for this instance
        for lay in layouts(int(inst.accelerator_count or 1), card):
            for prec in precisions:
                n += 1
                key = (dev, lay.tp, lay.pp, prec)
                if key not in mems:
                    mems[key] = memory_plan(card, prec, dev, lay.tp, lay.pp, tin + tout)
                mem = mems[key]
                base = {"instance": inst.instance, "provider": inst.provider, "gpus": inst.accelerator_count, "device": dev.name,
                        "layout": lay.describe(), "tp": lay.tp, "pp": lay.pp, "engines": lay.replicas, "precision": prec,
                        "weights_gib_per_gpu": mem.weights_gib, "runtime_gib_per_gpu": mem.runtime_gib, "kv_gib_per_gpu": mem.kv_gib,
                        "device_gib": dev.memory_gib}
                if not mem.fits:
                    infeasible.append({**base, "why": mem.why})
                    continue
                if key not in sats:
                    try:
                        step, sched = step_model(card, prec, dev, eff, lay.tp, lay.pp, mem)
                        sats[key] = saturation_rate(step, sched, tin, tout) * lay.pp
                    except InputError as exc:  # a multi-GPU layout on a link the catalog has no latency for
                        sats[key] = str(exc)
                if isinstance(sats[key], str):
                    infeasible.append({**base, "why": sats[key]})
                    continue
                rows.append((key, lay.replicas, usd_per_hour, base))
    bound = (_evaluate(workload, np.array([sats[k] * r for k, r, _, _ in rows]), np.array([u for _, _, u, _ in rows]), api_usd_per_request)
             .selfhost_usd_per_month if rows else np.empty(0))
    engines: dict[tuple, EngineEstimate] = {}
    found: list[dict] = []
    for j in np.argsort(bound, kind="stable"):
        costs = sorted(f["usd_per_month"] for f in found)
        if len(costs) >= top and bound[j] > costs[top - 1]:
            break
        key, replicas, usd_per_hour, base = rows[j]
        dev, tp, pp, prec = key
        if key not in engines:
            engines[key] = engine_estimate(card, prec, dev, eff, tp, pp, tin, tout, workload.ttft_slo_s, workload.itl_slo_s)
        est = engines[key]
        if est.requests_per_s <= 0:
            best = est.capacity.alone
            infeasible.append({**base, "why": f"SLO not met even one request at a time (TTFT p95 {best.ttft_p95_s:.3g} s, "
                                              f"ITL p95 {best.itl_p95_s * 1e3:.3g} ms)"})
            continue
        cap = est.capacity.at
        ev = _evaluate(workload, est.requests_per_s * replicas, usd_per_hour, api_usd_per_request)
        found.append({**base, "kv_tokens_per_engine": est.memory.kv_tokens, "max_concurrency_by_kv": est.memory.max_seqs_by_kv * replicas,
                      "engine_requests_per_s": est.requests_per_s, "instance_requests_per_s": est.requests_per_s * replicas,
                      "ttft_p95_s": cap.ttft_p95_s, "itl_p95_s": cap.itl_p95_s, "usd_per_hour": usd_per_hour,
                      "instances": float(ev.replicas), "usd_per_month": float(ev.selfhost_usd_per_month),
                      "usd_per_request": float(ev.selfhost_usd_per_request), "utilisation": float(ev.utilisation),
                      "vllm_command": vllm_command(serve_name or card.hf_repo or card.name, tp, pp, int(tin + tout), precision=prec)})
    ranked = pd.DataFrame(found)
    if not ranked.empty:
        ranked = ranked.sort_values(["usd_per_month", "itl_p95_s"], kind="stable").head(top).reset_index(drop=True)
        best_itl = np.minimum.accumulate(ranked["itl_p95_s"].to_numpy(float))  # cost ascending: Pareto = a new best ITL
        ranked["pareto"] = ranked["itl_p95_s"].to_numpy(float) < np.concatenate([[np.inf], best_itl[:-1]])
    return FleetResult(ranked, pd.DataFrame(infeasible), n, len(engines), len(rows), eff)


def _evaluate(workload: Workload, capacity_rps, usd_per_hour, api_usd_per_request: float):
    """`plan.evaluate` of instances at the workload's volume, peak and utilisation (the bound and the ranking alike)."""
    return evaluate(workload.requests_per_month, capacity_rps=capacity_rps, replica_usd_per_month=np.asarray(usd_per_hour) * HOURS_PER_MONTH,
                    api_usd_per_request=api_usd_per_request, peak_to_avg=workload.peak_to_avg, max_utilisation=workload.max_utilisation,
                    min_replicas=workload.min_replicas)
