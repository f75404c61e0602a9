"""planner/core/fleet.py: ranking instances × layouts × precisions for a model card (the layouts' memory and
communication are in test_deploy.py)."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from planner.core.deploy import Device, GpuEfficiency
from planner.core.fleet import fleet_verdict, rank_fleet
from planner.core.plan import Workload
from planner.core.rows import InstanceRow, Provenance
from tests.unit.core.conftest import BIG, CARD, NVLINK

EFF = GpuEfficiency(bandwidth_eff=0.6, flops_eff=0.3, decode_flops_eff=0.3, attention_flops_eff=0.1, per_layer_s=20e-6, per_seq_s=50e-6,
                    per_token_s=10e-6, per_request_s=1e-3, source="test")
PROV = Provenance("instances", "x", "test", "2026-11-26")


def _instances(*counts: int, usd_per_gpu_hour: float = 4.0) -> list[tuple[InstanceRow, Device]]:
    return [(InstanceRow(f"x{n}", "test", "r", "H100-like", n, 8 * n, 80.0 * n, usd_per_gpu_hour * n, None, None, PROV), NVLINK) for n in counts]


def test_fleet_never_ranks_what_does_not_fit_and_splits_big_instances():
    w = Workload(tokens_in=1000, tokens_out=300, ttft_slo_s=2, itl_slo_s=0.1, requests_per_month=5e6)
    result = rank_fleet(BIG, _instances(1, 2, 8), EFF, w, top=100)
    ranked = result.ranked
    assert not ranked.empty and (ranked["tp"] * ranked["pp"] >= 2).all()  # 140 GB of bf16 weights never on one GPU
    assert not ((result.infeasible["tp"] == 1) & (result.infeasible["pp"] == 1)).empty
    assert set(result.infeasible.loc[(result.infeasible["tp"] == 1) & (result.infeasible["pp"] == 1), "instance"]) >= {"x1", "x2", "x8"}
    eight = ranked[ranked["instance"] == "x8"]
    assert (eight["engines"] * eight["tp"] * eight["pp"] == 8).all()  # all 8 GPUs serve
    np.testing.assert_allclose(eight["instance_requests_per_s"], eight["engines"] * eight["engine_requests_per_s"])
    assert ranked["usd_per_month"].is_monotonic_increasing
    best = ranked.iloc[0]
    assert math.isclose(best["usd_per_month"], best["instances"] * best["usd_per_hour"] * 730)


def test_branch_and_bound_finds_the_same_top_as_brute_force():
    w = Workload(tokens_in=1000, tokens_out=200, ttft_slo_s=2, itl_slo_s=0.05, requests_per_month=2e7)
    inst = _instances(1, 2, 4, 8)
    brute = rank_fleet(CARD, inst, EFF, w, precisions=("bf16", "fp8"), top=10_000)
    quick = rank_fleet(CARD, inst, EFF, w, precisions=("bf16", "fp8"), top=3)
    assert quick.n_engines_simulated <= brute.n_engines_simulated
    np.testing.assert_allclose(quick.ranked["usd_per_month"], brute.ranked["usd_per_month"].head(3))


def test_the_fleet_verdict_names_a_winner_only_outside_the_models_error():
    ranked = pd.DataFrame([{"usd_per_month": 1000.0, "instances": 2.0, "instance": "g5.xlarge", "layout": "1 × TP1", "precision": "bf16"}])
    assert fleet_verdict(ranked, "gpt-4o", 1500.0, 30.0) == (
        "verdict: self-host — 2 × g5.xlarge as 1 × TP1 at bf16: $1,000/month ($769–$1,300 within the capacity model's 30% median "
        "error), vs gpt-4o $1,500/month")  # 1000 / 1.3 = 769.2, 1000 × 1.3
    assert fleet_verdict(ranked, "gpt-4o", 760.0, 30.0).startswith("verdict: the API (gpt-4o) at $760/month — cheaper")
    assert fleet_verdict(ranked, "gpt-4o", 780.0, 30.0).startswith("verdict: toss-up")  # above 769: inside the range
    assert fleet_verdict(ranked, "gpt-4o", 1200.0, 30.0).startswith("verdict: toss-up — 2 × g5.xlarge")  # inside 30 %
    assert fleet_verdict(ranked, "gpt-4o", 1200.0, 10.0).startswith("verdict: self-host")  # a tighter model decides it
    # an error over 100 % (a prediction at 2.56 × the measurement) is a factor: 1000 / 2.56 = 390.6, never $0 or below
    assert "($391–$2,560 within the capacity model's 156% median error)" in fleet_verdict(ranked, "gpt-4o", 5000.0, 156.0)
    assert fleet_verdict(ranked, "gpt-4o", 1200.0, None).startswith("verdict: none —")
    assert fleet_verdict(ranked.iloc[:0], "gpt-4o", 1200.0, 30.0).startswith("verdict: the API (gpt-4o, $1,200/month) — no deployment")


def test_distinct_instances_rank_each_instance_once_as_its_cheapest_layout():
    """Brute force: every layout of every instance (distinct_instances=False, no bound), then one row per instance —
    the bounded search with distinct instances must give the same instances at the same costs."""
    w = Workload(tokens_in=1000, tokens_out=200, ttft_slo_s=2, itl_slo_s=0.05, requests_per_month=2e7)
    inst = _instances(1, 2, 4, 8)
    every = rank_fleet(CARD, inst, EFF, w, precisions=("bf16", "fp8"), top=10_000, distinct_instances=False).ranked
    assert every["instance"].duplicated().any()  # several layouts of one instance: what the distinct ranking collapses
    brute = every.drop_duplicates("instance").head(3).reset_index(drop=True)
    quick = rank_fleet(CARD, inst, EFF, w, precisions=("bf16", "fp8"), top=3)
    assert not quick.ranked["instance"].duplicated().any()
    pd.testing.assert_series_equal(quick.ranked["instance"], brute["instance"])
    np.testing.assert_allclose(quick.ranked["usd_per_month"], brute["usd_per_month"])
    assert set(quick.ranked["instance"]) <= set(quick.considered["instance"]) and len(quick.considered) >= len(quick.ranked)
