import numpy as np
import pytest

from planner.core.capacity import capacity_at_slo, capacity_table
from planner.core.errors import PlannerError
from tests.factories import make_profile


def test_single_stream_capacity_hand_computed():
    # 500 prompt tokens at 1000 tok/s = 0.5 s; 100 output tokens at 50 tok/s = 2 s -> 0.4 req/s
    table = capacity_table(make_profile(1000, 50), 500, 100)
    row = table.iloc[0]
    assert row.requests_per_s == pytest.approx(0.4)
    assert row.e2e_s == pytest.approx(2.5)
    assert row.ttft_s == pytest.approx(0.5 + 0.02)  # prefill + one decode step
    assert row.itl_mean_s == pytest.approx((2.5 - 0.52) / 99)


def test_concurrency_raises_capacity_and_latency():
    prof = make_profile(1000, 50, {1: 50, 4: 160, 16: 400})
    t = capacity_table(prof, 500, 100)
    # c=4: 1 / (0.5 + 100/160) = 0.888...
    assert t.requests_per_s.tolist() == pytest.approx([1 / (0.5 + 2), 1 / (0.5 + 100 / 160), 1 / (0.5 + 100 / 400)])
    assert np.all(np.diff(t.itl_mean_s) > 0) and np.all(np.diff(t.requests_per_s) > 0)


def test_slo_picks_highest_level_that_meets_both_limits():
    t = capacity_table(make_profile(1000, 50, {1: 50, 4: 160, 16: 400}), 500, 100)
    rps, conc = capacity_at_slo(t, 2.0, t.itl_p95_s.iloc[1] * 1.0001)
    assert conc == 4 and rps == pytest.approx(t.requests_per_s.iloc[1])
    rps, conc = capacity_at_slo(t, 2.0, 1e-6)
    assert rps == 0 and np.isnan(conc)
    # vectorised over SLO grids
    rps, conc = capacity_at_slo(t, np.array([[2.0], [2.0]]), np.array([1e-6, 10.0]))
    assert rps.shape == (2, 2) and rps[0, 1] == pytest.approx(t.requests_per_s.max())


def test_ci_bounds_bracket_the_estimate():
    from tests.factories import spread
    p = make_profile(1000, 50)
    p.decode[0].tok_s = spread(50, 5)
    p.decode[1].tok_s = spread(50, 5)
    low, mid, high = (capacity_table(p, 500, 100, bound=b).requests_per_s.iloc[0] for b in ("low", "mean", "high"))
    assert low < mid < high


def test_bad_workload_rejected():
    with pytest.raises(PlannerError, match="tokens_out"):
        capacity_table(make_profile(), 10, 0)
    with pytest.raises(PlannerError, match="slo"):
        capacity_at_slo(capacity_table(make_profile(), 10, 10), 0, 1)


def test_engine_comparison_ranks_by_goodput_at_the_slo():
    from planner.core.capacity import engine_comparison
    from planner.core.plan import Workload
    from tests.factories import make_serving_profile
    batching = make_serving_profile({1: 1.0, 4: 3.0, 8: 5.0})
    batching.engine.backend = "llama-server"
    queued = make_serving_profile({1: 1.2, 4: 1.3})
    queued.engine.backend = "llama_cpp.server"
    for level in queued.serving[1:]:
        level.ttft_ms = level.ttft_ms.model_copy(update={"p95": 4000.0})  # queueing: TTFT p95 4 s at concurrency 4
    table = engine_comparison([queued, batching], Workload(tokens_in=3, tokens_out=16, ttft_slo_s=2, itl_slo_s=0.2))
    assert table["engine"].tolist() == ["llama-server", "llama_cpp.server"]
    assert table["requests_per_s_at_slo"].tolist() == [5.0, 1.2]  # the queued server's 1.3 at c=4 misses the TTFT SLO
    assert table["max_requests_per_s"].tolist() == [5.0, 1.3]
