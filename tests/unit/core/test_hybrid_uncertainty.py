import numpy as np
import pytest

from planner.core import cost as cm
from planner.core.hybrid import best_split, hybrid_costs
from planner.core.plan import Workload
from planner.core.uncertainty import Ranges, capacity_interval, plan_interval, tornado
from tests.factories import make_profile, spread


def test_hybrid_hand_computed():
    # 1 req/s replica at $730/month (K = 2,628,000 req/month), frontier $0.01/request
    f = hybrid_costs([1e6], [0.0, 0.5, 1.0], capacity_rps=1.0, replica_usd_per_month=730.0,
                     selfhost_api_equivalent_usd_per_request=0.001, frontier_usd_per_request=0.01)
    assert f["total_usd_per_month"].tolist() == pytest.approx([10_000, 730 + 5_000, 730])
    assert f["replicas"].tolist() == [0, 1, 1]
    best = best_split(f)
    assert best["share_selfhosted"].iloc[0] == 1.0 and best["saving_vs_all_frontier_usd"].iloc[0] == pytest.approx(9_270)
    assert best_split(f, max_share=0.5)["share_selfhosted"].iloc[0] == 0.5


def test_hybrid_never_worse_than_all_frontier():
    shares = np.linspace(0, 1, 21)
    f = hybrid_costs(np.geomspace(1e3, 1e8, 30), shares, capacity_rps=0.5, replica_usd_per_month=500.0,
                     selfhost_api_equivalent_usd_per_request=0.0005, frontier_usd_per_request=0.003)
    best = best_split(f)
    assert np.all(best["saving_vs_all_frontier_usd"] >= 0)


def test_uncertainty_interval_brackets_point_estimate():
    prof = make_profile(1000, 50)
    prof.decode[0].tok_s = spread(50, 10)
    prof.decode[1].tok_s = spread(50, 10)
    w = Workload(tokens_in=500, tokens_out=100, requests_per_month=5e6, peak_to_avg=1, max_utilisation=1, ttft_slo_s=10, itl_slo_s=10)
    low, mid, high = capacity_interval(prof, w)
    assert low < mid < high
    ranges = Ranges(replica_usd_per_hour=(0.5, 1.0), api_usd_per_input_token=(1e-6, 1e-6), api_usd_per_output_token=(4e-6, 4e-6))
    box = plan_interval(prof, w, ranges).set_index("quantity")
    point = cm.replicas_needed(5e6, mid, 1, 1) * cm.replica_monthly_usd(0.75)
    assert box.loc["selfhost_usd_per_month", "low"] <= point <= box.loc["selfhost_usd_per_month", "high"]
    t = tornado(prof, w, ranges)
    assert t["swing_usd"].is_monotonic_decreasing and set(t["input"]) >= {"capacity_rps", "usd_per_hour", "tokens_out"}
    assert t.loc[t.input == "p_in", "swing_usd"].iloc[0] == 0  # no range on the input price
