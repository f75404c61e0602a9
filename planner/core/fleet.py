"""Fleet planning: every instance × TP/PP/DP layout × weight precision for one model and workload, ranked by cost at
the SLO. Pure: instances, devices and the GPU efficiency come in typed; the money goes through `plan.evaluate`.

An n-GPU instance is never priced as one replica with one GPU's capacity: it runs n ÷ (TP·PP) engines side by side,
and its capacity is their sum. A layout that does not fit (weights, runtime and one request's KV per GPU) is listed
apart with the reason and never ranked.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

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
from planner.core.simulate import meets_slo, saturation_rate
from planner.core.units import HOURS_PER_MONTH


@dataclass(frozen=True)
class FleetResult:
    ranked: pd.DataFrame  # the cheapest feasible deployments at the workload's volume (pareto: no cheaper one has a lower ITL)
    considered: pd.DataFrame  # every deployment the search simulated (a superset of `ranked`, every layout of every instance)
    infeasible: pd.DataFrame  # layouts that do not fit or cannot meet the SLO, with why
    n_candidates: int  # instance × layout × precision combinations considered
    n_engines_simulated: int  # distinct (device, TP, PP, precision) engines simulated
    n_fitting: int  # candidates whose memory fits (bounded; simulated until the bound proves the rest cannot rank)
    efficiency: GpuEfficiency


@dataclass(frozen=True)
class ApiLine:
    """An API's cost at the fleet's workload: a line on the fleet chart and one verdict against the best deployment."""

    label: str
    usd_per_month: float
    verdict: str  # `fleet_verdict` against this API

    @property
    def decided(self) -> bool:
        """Whether the verdict names a winner (self-host or the API), not a toss-up or "none" (no measured error)."""
        return self.verdict.startswith(("verdict: self-host", "verdict: the API"))


class _Layout(NamedTuple):
    """One fitting (instance, layout, precision): the engine it runs, how many side by side, and its price."""

    engine: tuple  # (device, tp, pp, precision): engines are simulated once per key, shared by every instance with it
    replicas: int  # engines per instance
    usd_per_hour: float
    columns: dict  # what every output row of this layout shows (instance, layout, memory per GPU, ...)


def rank_fleet(card: ModelCard, candidates: list[tuple[InstanceRow, Device]], eff: GpuEfficiency, workload: Workload, *,
               precisions: tuple[str, ...] = ("bf16",), price_kind: PriceKind = "on_demand", api_usd_per_request: float = 0.0,
               serve_name: str | None = None, top: int = 15, distinct_instances: bool = True) -> FleetResult:
    """The `top` cheapest deployments at the SLO, exactly (see the module docstring). With `distinct_instances` each
    instance appears once, as its cheapest layout (ties: the lower ITL) — fifteen layouts of one machine at one price
    are one choice, not fifteen; its other layouts stay in `considered`.

    Branch and bound: an engine never sustains more than its saturation rate (the capacity search only counts rates up
    to it), so every layout's cost at that rate is a lower bound on its real cost. Layouts are simulated in order of
    that bound, and the search stops when the next bound exceeds the `top`-th cost found — no unsimulated layout can
    enter the list. Engines are simulated once per (device, TP, PP, precision) and shared by every instance with it.
    """
    for p in precisions:
        if p not in PRECISION_BITS:
            raise InputError(f"one of {', '.join(PRECISION_BITS)} (got {p!r})", field="precision")
    if not candidates:
        raise InputError("no GPU instance in the catalog matches; see `llm-planner catalog instances`", field="hardware")
    fitting, infeasible, saturation, n = _fitting_layouts(card, candidates, eff, workload, precisions, price_kind)
    found, engines = _search(card, fitting, saturation, eff, workload, api_usd_per_request, serve_name, top, infeasible, distinct_instances)
    return FleetResult(_ranked(found, top, distinct_instances), _ranked(found, len(found), False), pd.DataFrame(infeasible), n, engines,
                       len(fitting), eff)


def _fitting_layouts(card: ModelCard, candidates: list[tuple[InstanceRow, Device]], eff: GpuEfficiency, workload: Workload,
                     precisions: tuple[str, ...], price_kind: PriceKind) -> tuple[list[_Layout], list[dict], dict[tuple, float], int]:
    """Every instance × layout × precision: the ones whose memory fits and whose engine has a saturation rate, each
    engine's saturation rate (requests/s of one engine), the rest with why, and how many were considered."""
    tin, tout = workload.tokens_in, workload.tokens_out
    mix, longest = workload.request_mix(), workload.longest_tokens()
    mems: dict[tuple, MemoryPlan] = {}
    saturation: dict[tuple, float | str] = {}  # str: why the engine cannot be modelled
    fitting: list[_Layout] = []
    infeasible: list[dict] = []
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
                    mems[key] = memory_plan(card, prec, dev, lay.tp, lay.pp, longest)
                mem = mems[key]
                columns = {"instance": inst.instance, "provider": inst.provider, "gpus": inst.accelerator_count, "device": dev.name,
                           "layout": lay.describe(), "tp": lay.tp, "pp": lay.pp, "engines": lay.replicas, "precision": prec,
                           "weights_gib_per_gpu": mem.weights_gib, "runtime_gib_per_gpu": mem.runtime_gib, "kv_gib_per_gpu": mem.kv_gib,
                           "device_gib": dev.memory_gib}
                if not mem.fits:
                    infeasible.append({**columns, "why": mem.why})
                    continue
                if key not in saturation:
                    try:
                        step, sched = step_model(card, prec, dev, eff, lay.tp, lay.pp, mem)
                        saturation[key] = saturation_rate(step, sched, tin, tout, mix) * lay.pp
                    except InputError as exc:  # a multi-GPU layout on a link the catalog has no latency for
                        saturation[key] = str(exc)
                if isinstance(saturation[key], str):
                    infeasible.append({**columns, "why": saturation[key]})
                    continue
                fitting.append(_Layout(key, lay.replicas, usd_per_hour, columns))
    return fitting, infeasible, saturation, n


def _search(card: ModelCard, fitting: list[_Layout], saturation: dict[tuple, float], eff: GpuEfficiency, workload: Workload,
            api_usd_per_request: float, serve_name: str | None, top: int, infeasible: list[dict],
            distinct_instances: bool) -> tuple[list[dict], int]:
    """Branch and bound over the fitting layouts, cheapest lower bound first; returns the rows found (at least the
    `top` cheapest, of distinct instances when asked) and how many engines were simulated. Layouts that cannot meet
    the SLO go to `infeasible`.

    Engines are first simulated on short runs, whose capacity is an upper estimate (a short run near saturation meets
    the SLO before its queue builds); only the engines of the current top entries are confirmed on runs long enough
    for the steady state (`simulate._steady_state`, which only lowers a capacity), the limit is recomputed from the
    confirmed costs, and the search resumes until every top entry is confirmed. A short-run cost is never above the
    confirmed one, so a layout it excludes stays excluded: the answer is the exact top of the confirmed costs."""
    if not fitting:
        return [], 0
    bound = _evaluate(workload, np.array([saturation[f.engine] * f.replicas for f in fitting]),
                      np.array([f.usd_per_hour for f in fitting]), api_usd_per_request).selfhost_usd_per_month
    short: dict[tuple, EngineEstimate] = {}
    steady: dict[tuple, EngineEstimate] = {}
    mix = workload.request_mix()

    def estimate(engine: tuple, *, converged: bool) -> EngineEstimate:
        cache = steady if converged else short
        if engine not in cache:
            dev, tp, pp, prec = engine
            cache[engine] = engine_estimate(card, prec, dev, eff, tp, pp, workload.tokens_in, workload.tokens_out,
                                            workload.ttft_slo_s, workload.itl_slo_s, steady=converged, itl_metric=workload.itl_metric,
                                            mix=mix)
        return cache[engine]

    def refused(lay: _Layout, est: EngineEstimate) -> None:
        alone = est.capacity.alone
        why = (f"SLO not met even one request at a time (TTFT p95 {alone.ttft_p95_s:.3g} s, ITL p95 {alone.itl_p95_s * 1e3:.3g} ms)"
               if not meets_slo(alone, workload.ttft_slo_s, workload.itl_slo_s, workload.itl_metric) else
               "SLO met on short simulated runs only: no rate meets it once the queue reaches its steady state")
        infeasible.append({**lay.columns, "why": why})

    rows: dict[int, dict] = {}  # layout index → its row, at the best estimate known (confirmed where it was)

    def leaders() -> list[int]:
        """The layouts of the current top entries (ties: lower ITL), one per instance when distinct_instances."""
        ordered = sorted(rows, key=lambda j: (rows[j]["usd_per_month"], rows[j]["itl_p95_s"], j))
        if distinct_instances:
            seen: set = set()
            ordered = [j for j in ordered if not (rows[j]["instance"] in seen or seen.add(rows[j]["instance"]))]
        return ordered[:top]

    order, pos, limit = np.argsort(bound, kind="stable"), 0, np.inf
    while True:
        while pos < len(order) and bound[order[pos]] <= limit:
            j = int(order[pos])
            pos += 1
            lay = fitting[j]
            est = steady.get(lay.engine) or estimate(lay.engine, converged=False)
            if est.requests_per_s <= 0:
                refused(lay, est)
                continue
            rows[j] = _row(card, lay, est, workload, api_usd_per_request, serve_name)
            lead = leaders()
            if len(lead) >= top:
                limit = rows[lead[-1]]["usd_per_month"]
        pending = [j for j in leaders() if fitting[j].engine not in steady]
        if not pending:
            break
        for engine in {fitting[j].engine for j in pending}:
            est = estimate(engine, converged=True)
            for j in [j for j in rows if fitting[j].engine == engine]:
                if est.requests_per_s <= 0:
                    refused(fitting[j], est)
                    del rows[j]
                else:
                    rows[j] = _row(card, fitting[j], est, workload, api_usd_per_request, serve_name)
        lead = leaders()
        limit = rows[lead[-1]]["usd_per_month"] if len(lead) >= top else np.inf
    return [rows[j] for j in sorted(rows)], len(short)


def _row(card: ModelCard, lay: _Layout, est: EngineEstimate, workload: Workload, api_usd_per_request: float,
         serve_name: str | None) -> dict:
    """One ranked deployment: the layout's columns, the engine's capacity and latencies at the SLO, the money."""
    dev, tp, pp, prec = lay.engine
    ev = _evaluate(workload, est.requests_per_s * lay.replicas, lay.usd_per_hour, api_usd_per_request)
    return {**lay.columns, "kv_tokens_per_engine": est.memory.kv_tokens, "max_concurrency_by_kv": est.memory.max_seqs_by_kv * lay.replicas,
            "engine_requests_per_s": est.requests_per_s, "instance_requests_per_s": est.requests_per_s * lay.replicas,
            "ttft_p95_s": est.capacity.at.ttft_p95_s, "itl_p95_s": est.capacity.at.itl_p95_s, "usd_per_hour": lay.usd_per_hour,
            "instances": float(ev.replicas), "usd_per_month": float(ev.selfhost_usd_per_month),
            "usd_per_request": float(ev.selfhost_usd_per_request), "utilisation": float(ev.utilisation),
            "vllm_command": vllm_command(serve_name or card.hf_repo or card.name, tp, pp, int(workload.longest_tokens()), precision=prec)}


def _ranked(found: list[dict], top: int, distinct_instances: bool) -> pd.DataFrame:
    """The `top` cheapest (ties: lower ITL first; one row per instance when `distinct_instances`), each marked Pareto
    when no cheaper one has a lower ITL."""
    ranked = pd.DataFrame(found)
    if ranked.empty:
        return ranked
    ranked = ranked.sort_values(["usd_per_month", "itl_p95_s"], kind="stable")
    if distinct_instances:
        ranked = ranked.drop_duplicates("instance")
    ranked = ranked.head(top).reset_index(drop=True)
    ranked["pareto"] = _faster_than_every_cheaper(ranked["itl_p95_s"].to_numpy(float))
    return ranked


def _faster_than_every_cheaper(itl_by_cost: np.ndarray) -> np.ndarray:
    """Deployments in cost order (ties: lower ITL first): True where the ITL beats every cheaper one's — the cost/ITL
    Pareto front."""
    return itl_by_cost < np.concatenate([[np.inf], np.minimum.accumulate(itl_by_cost)[:-1]])


def pareto_front(frame: pd.DataFrame) -> pd.DataFrame:
    """The deployments no other beats on both cost and ITL, cheapest first."""
    if frame.empty:
        return frame
    ordered = frame.sort_values(["usd_per_month", "itl_p95_s"], kind="stable")
    return ordered[_faster_than_every_cheaper(ordered["itl_p95_s"].to_numpy(float))]


def _evaluate(workload: Workload, capacity_rps, usd_per_hour, api_usd_per_request: float):
    """`plan.evaluate` of instances at the workload's volume, peak and utilisation (the bound and the ranking alike)."""
    return evaluate(workload.requests_per_month, capacity_rps=capacity_rps, replica_usd_per_month=np.asarray(usd_per_hour) * HOURS_PER_MONTH,
                    api_usd_per_request=api_usd_per_request, peak_to_avg=workload.peak_to_avg, max_utilisation=workload.max_utilisation,
                    min_replicas=workload.min_replicas)


def cost_range(usd_per_month: float, error_pct: float) -> tuple[float, float]:
    """The cost a capacity model with a median |error| of e % allows: the capacity may be off by a factor of up to 1 + e
    either way, so the cost runs from cost ÷ (1 + e) to cost × (1 + e). A factor, not ± e % of the cost: an error of
    100 % or more (a prediction at twice the measurement) must not give a cost at or below zero."""
    f = 1 + error_pct / 100
    return usd_per_month / f, usd_per_month * f


def fleet_verdict(ranked: pd.DataFrame, api_label: str, api_usd_per_month: float, error_pct: float | None) -> str:
    """One line naming the winner at the workload's volume: the cheapest deployment against the API, with the cost range
    the capacity model's held-out error allows (`cost_range`). Inside that range
    it is a toss-up, not a win; without a measured error there is no range to state, and it says so."""
    if ranked.empty:
        return f"verdict: the API ({api_label}, ${api_usd_per_month:,.0f}/month) — no deployment fits and meets the SLO"
    best = ranked.iloc[0]
    cost = float(best["usd_per_month"])
    what = f"{best['instances']:.0f} × {best['instance']} as {best['layout']} at {best['precision']}"
    if error_pct is None:
        return (f"verdict: none — {what} costs ${cost:,.0f}/month vs {api_label} ${api_usd_per_month:,.0f}/month, but the capacity "
                "model has no measured error to say how sure that is")
    lo, hi = cost_range(cost, error_pct)
    span = f"${cost:,.0f}/month (${lo:,.0f}–${hi:,.0f} within the capacity model's {error_pct:.0f}% median error)"
    if api_usd_per_month < lo:
        return f"verdict: the API ({api_label}) at ${api_usd_per_month:,.0f}/month — cheaper than the best deployment, {what}: {span}"
    if api_usd_per_month > hi:
        return f"verdict: self-host — {what}: {span}, vs {api_label} ${api_usd_per_month:,.0f}/month"
    return (f"verdict: toss-up — {what}: {span} vs {api_label} ${api_usd_per_month:,.0f}/month, inside the model's error; "
            "measure the deployment before deciding")
