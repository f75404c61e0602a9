"""Hybrid routing: a share of requests to a self-hosted small model, the rest to a frontier API.

Pure and vectorised over shares × volumes; the best split is the cheapest share at each volume.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from planner.core.errors import InputError
from planner.core.plan import evaluate


def hybrid_costs(volumes, shares, *, capacity_rps, replica_usd_per_month, selfhost_api_equivalent_usd_per_request,
                 frontier_usd_per_request, peak_to_avg=1.0, max_utilisation=1.0, min_replicas=1) -> pd.DataFrame:
    """Monthly cost of routing `share` of `volume` to the self-hosted model and the rest to the frontier API.

    `selfhost_api_equivalent_usd_per_request` prices the routed share on the small model's own API (for the
    "all API" comparison line); with share 0 no replica runs.
    """
    v = np.asarray(volumes, float)[None, :]
    s = np.asarray(shares, float)[:, None]
    if np.any((s < 0) | (s > 1)):
        raise InputError("shares: must lie in [0, 1]")
    routed = s * v
    e = evaluate(np.maximum(routed, 1e-12), capacity_rps=capacity_rps, replica_usd_per_month=replica_usd_per_month,
                 api_usd_per_request=selfhost_api_equivalent_usd_per_request, peak_to_avg=peak_to_avg,
                 max_utilisation=max_utilisation, min_replicas=min_replicas)
    replicas = np.where(routed > 0, e.replicas, 0.0)
    self_cost = np.where(routed > 0, e.selfhost_usd_per_month, 0.0)
    api_cost = (1 - s) * v * float(frontier_usd_per_request)
    frame = pd.DataFrame({
        "share_selfhosted": np.broadcast_to(s, routed.shape).ravel(),
        "requests_per_month": np.broadcast_to(v, routed.shape).ravel(),
        "replicas": replicas.ravel(),
        "selfhost_usd_per_month": self_cost.ravel(),
        "frontier_usd_per_month": api_cost.ravel(),
        "total_usd_per_month": (self_cost + api_cost).ravel(),
        "all_api_usd_per_month": (np.where(routed > 0, e.api_usd_per_month, 0.0) + api_cost).ravel(),
    })
    return frame


def best_split(frame: pd.DataFrame, max_share: float = 1.0) -> pd.DataFrame:
    """Cheapest share per volume, among shares the workload allows (only the routable fraction can move)."""
    allowed = frame[frame["share_selfhosted"] <= max_share + 1e-12]
    idx = allowed.groupby("requests_per_month")["total_usd_per_month"].idxmin()
    best = allowed.loc[idx].reset_index(drop=True)
    all_frontier = frame[frame["share_selfhosted"] == 0].set_index("requests_per_month")["total_usd_per_month"]
    best["saving_vs_all_frontier_usd"] = best["requests_per_month"].map(all_frontier) - best["total_usd_per_month"]
    return best
