"""Uncertainty of a plan: measurement CIs and price ranges carried into cost and break-even intervals,
and a sensitivity (tornado) table of which input moves the answer most. Pure, vectorised over scenarios."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from planner.core.capacity import PricedMemory, engine_capacity
from planner.core.errors import PlannerError
from planner.core.plan import PriceChoice, Workload, evaluate_plan, profile_capacity
from planner.core.records import EngineProfile, Profile
from planner.core.validation import ServerCalibration


@dataclass(frozen=True)
class Ranges:
    """Low/high values of the uncertain inputs (a price range might be spot…on-demand)."""

    replica_usd_per_hour: tuple[float, float]
    api_usd_per_input_token: tuple[float, float]
    api_usd_per_output_token: tuple[float, float]
    api_usd_per_cached_input_token: tuple[float, float] | None = None  # None: cached input billed as plain input

    @classmethod
    def from_prices(cls, prices: PriceChoice, replica_usd_per_hour: tuple[float, float] | None = None) -> Ranges:
        """A point range at the chosen prices (widen the replica price with e.g. spot…on-demand)."""
        point = lambda v: (v, v)  # noqa: E731
        cached = prices.api_usd_per_cached_input_token
        return cls(replica_usd_per_hour or point(prices.replica_usd_per_hour), point(prices.api_usd_per_input_token),
                   point(prices.api_usd_per_output_token), None if cached is None else point(cached))


def capacity_interval(profile: Profile, workload: Workload, model_error_pct: float | None = None,
                      calibration: ServerCalibration | None = None, priced: PricedMemory | None = None) -> tuple[float, float, float]:
    """Capacity at the SLO from the CI's low end, the mean and the high end of every measured speed, widened by the
    capacity model's own validation error (median |error| on the rate at the SLO, in percent) when it is known. The
    mean is the plan's own capacity (same calibration, same priced memory)."""
    if isinstance(profile, EngineProfile):
        low, mid, high = (engine_capacity(profile, workload.tokens_in, workload.tokens_out, workload.ttft_slo_s, workload.itl_slo_s,
                                          bound=b, calibration=calibration, priced=priced,
                                          itl_metric=workload.itl_metric).requests_per_s for b in ("low", "mean", "high"))
    else:
        low = mid = high = profile_capacity(profile, workload).requests_per_s
    e = (model_error_pct or 0.0) / 100
    return (max(0.0, low * (1 - e)), mid, high * (1 + e))


def _evaluate(w: dict[str, np.ndarray], workload: Workload) -> dict[str, np.ndarray]:
    """The plan's own `evaluate_plan()` over arrays of scenarios, at the workload's volume."""
    e = evaluate_plan(workload.requests_per_month, w["capacity_rps"], workload, replica_usd_per_hour=w["usd_per_hour"],
                      tokens_in=w["tokens_in"], tokens_out=w["tokens_out"], usd_per_input_token=w["p_in"], usd_per_output_token=w["p_out"],
                      usd_per_cached_input_token=w.get("p_cache"), peak_to_avg=w["peak_to_avg"], max_utilisation=w["max_utilisation"])
    return {"selfhost_usd_per_month": e.selfhost_usd_per_month, "api_usd_per_month": e.api_usd_per_month, "break_even": e.break_even_first}


def plan_interval(profile: Profile, workload: Workload, ranges: Ranges, *, model_error_pct: float | None = None,
                  calibration: ServerCalibration | None = None, priced: PricedMemory | None = None) -> pd.DataFrame:
    """Cost and break-even at the corners of the uncertainty box (the model is monotone in each input): measurement
    CIs, price ranges and the capacity model's validation error."""
    caps = capacity_interval(profile, workload, model_error_pct, calibration, priced)
    axes = [[caps[0], caps[2]], ranges.replica_usd_per_hour, ranges.api_usd_per_input_token, ranges.api_usd_per_output_token]
    if ranges.api_usd_per_cached_input_token is not None:
        axes.append(ranges.api_usd_per_cached_input_token)
    grid = np.array(np.meshgrid(*axes, indexing="ij")).reshape(len(axes), -1)
    n = grid.shape[1]
    w = {"capacity_rps": grid[0], "usd_per_hour": grid[1], "p_in": grid[2], "p_out": grid[3],
         "tokens_in": np.full(n, workload.tokens_in), "tokens_out": np.full(n, workload.tokens_out),
         "peak_to_avg": np.full(n, workload.peak_to_avg), "max_utilisation": np.full(n, workload.max_utilisation)}
    if ranges.api_usd_per_cached_input_token is not None:
        w["p_cache"] = grid[4]
    r = _evaluate(w, workload)
    rows = []
    for key in r:
        vals = r[key]
        finite = vals[np.isfinite(vals)]
        rows.append({"quantity": key, "low": finite.min() if finite.size else np.nan, "high": finite.max() if finite.size else np.nan,
                     "scenarios_without_value": int((~np.isfinite(vals)).sum())})
    return pd.DataFrame(rows)


def _capacity_at(profile: Profile, workload: Workload, calibration, priced) -> float:
    """The plan's capacity at another token shape; NaN where that shape cannot meet the SLO (no saving to show)."""
    try:
        return profile_capacity(profile, workload, calibration, priced).requests_per_s
    except PlannerError:
        return float("nan")


def tornado(profile: Profile, workload: Workload, ranges: Ranges, *, relative_swing: float = 0.25,
            model_error_pct: float | None = None, calibration: ServerCalibration | None = None,
            priced: PricedMemory | None = None) -> pd.DataFrame:
    """Swing of the monthly saving (API − self-hosted) at the target volume when one input moves to its low/high.

    Inputs with a measured or catalogued range use it; workload inputs move ±`relative_swing`. A token count changes
    the capacity too (longer requests, fewer of them at the SLO): those rows re-run the capacity model at the moved
    count, so each bar equals the plan re-run there.
    """
    caps = capacity_interval(profile, workload, model_error_pct, calibration, priced)
    base = {"capacity_rps": caps[1], "usd_per_hour": float(np.mean(ranges.replica_usd_per_hour)),
            "p_in": float(np.mean(ranges.api_usd_per_input_token)), "p_out": float(np.mean(ranges.api_usd_per_output_token)),
            "tokens_in": workload.tokens_in, "tokens_out": workload.tokens_out, "peak_to_avg": workload.peak_to_avg,
            "max_utilisation": workload.max_utilisation}
    if ranges.api_usd_per_cached_input_token is not None:
        base["p_cache"] = float(np.mean(ranges.api_usd_per_cached_input_token))
    swings = {"capacity_rps": (caps[0], caps[2]), "usd_per_hour": ranges.replica_usd_per_hour,
              "p_in": ranges.api_usd_per_input_token, "p_out": ranges.api_usd_per_output_token,
              "tokens_in": (workload.tokens_in * (1 - relative_swing), workload.tokens_in * (1 + relative_swing)),
              "tokens_out": (max(1.0, workload.tokens_out * (1 - relative_swing)), workload.tokens_out * (1 + relative_swing)),
              "peak_to_avg": (max(1.0, workload.peak_to_avg * (1 - relative_swing)), workload.peak_to_avg * (1 + relative_swing)),
              "max_utilisation": (workload.max_utilisation * (1 - relative_swing), min(1.0, workload.max_utilisation * (1 + relative_swing)))}
    names = list(swings)
    n = 2 * len(names) + 1
    w = {k: np.full(n, float(v)) for k, v in base.items()}
    for i, name in enumerate(names):
        w[name][2 * i], w[name][2 * i + 1] = swings[name]
        if name in ("tokens_in", "tokens_out"):
            for j, value in ((2 * i, swings[name][0]), (2 * i + 1, swings[name][1])):
                w["capacity_rps"][j] = _capacity_at(profile, workload.model_copy(update={name: value}), calibration, priced)
    r = _evaluate(w, workload)
    saving = r["api_usd_per_month"] - r["selfhost_usd_per_month"]
    table = pd.DataFrame({
        "input": names,
        "low_value": [swings[k][0] for k in names], "high_value": [swings[k][1] for k in names],
        "saving_at_low": saving[0:-1:2], "saving_at_high": saving[1:-1:2],
    })
    table["swing_usd"] = (table["saving_at_high"] - table["saving_at_low"]).abs()
    table.attrs["base_saving_usd"] = float(saving[-1])
    return table.sort_values("swing_usd", ascending=False).reset_index(drop=True)
