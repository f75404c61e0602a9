"""planner/core/hybrid.py: splitting traffic between self-hosting and a frontier API, on hand-computed numbers."""
import numpy as np
import pytest

from planner.core.hybrid import best_split, hybrid_costs


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


def test_hybrid_uses_the_same_evaluation():
    f = hybrid_costs([1e6], [1.0], capacity_rps=0.4, replica_usd_per_month=730.0, selfhost_api_equivalent_usd_per_request=4.14e-3,
                     frontier_usd_per_request=0.01, min_replicas=3)
    assert f["selfhost_usd_per_month"].iloc[0] == pytest.approx(2190.0)
    assert f["all_api_usd_per_month"].iloc[0] == pytest.approx(4140.0)
