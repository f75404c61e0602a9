"""planner/core/uncertainty.py: the capacity and cost intervals bracket the point estimate, and use the same evaluation
as plan() (at point ranges they equal it exactly); the tornado ranks the inputs by swing."""
import pytest

from planner.core import cost as cm
from planner.core.plan import Workload, plan
from planner.core.uncertainty import Ranges, capacity_interval, plan_interval, tornado
from tests.factories import make_profile, spread
from tests.unit.core.conftest import PRICES, WORKLOAD, measured


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


def test_interval_brackets_the_point_estimate_for_cache_and_minimum_replicas():
    """The interval's corners use the same evaluation as plan(): at point ranges they equal it exactly."""
    prof = measured()
    r = plan(prof, PRICES, WORKLOAD)
    box = plan_interval(prof, WORKLOAD, Ranges.from_prices(PRICES)).set_index("quantity")
    assert box.loc["api_usd_per_month", "low"] == pytest.approx(4140.0) == box.loc["api_usd_per_month", "high"]
    assert box.loc["selfhost_usd_per_month", "low"] == pytest.approx(r.at_target.selfhost_usd_per_month)
    assert box.loc["break_even", "low"] == pytest.approx(r.break_even_first) == box.loc["break_even", "high"]
    wide = plan_interval(prof, WORKLOAD, Ranges.from_prices(PRICES, replica_usd_per_hour=(0.5, 2.0))).set_index("quantity")
    assert wide.loc["selfhost_usd_per_month", "low"] == pytest.approx(1095.0)
    assert wide.loc["selfhost_usd_per_month", "high"] == pytest.approx(4380.0)
    assert wide.loc["break_even", "low"] <= r.break_even_first <= wide.loc["break_even", "high"]
