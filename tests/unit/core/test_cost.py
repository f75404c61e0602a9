import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.core import cost as cm
from planner.core.errors import InputError


def test_api_cost_hand_computed():
    # 1000 in at $2.50/M, 200 out at $10/M, 40% cached at $1.25/M
    cost = cm.api_cost_per_request(1000, 200, 2.5e-6, 10e-6, cached_fraction=0.4, usd_per_cached_input_token=1.25e-6)
    assert cost == pytest.approx(600 * 2.5e-6 + 400 * 1.25e-6 + 200 * 10e-6)  # = 0.004


def test_replicas_staircase_hand_computed():
    # 1 req/s per replica, 80% max utilisation, peak 2x: a replica absorbs 1*0.8*730*3600/2 = 1,051,200 req/month
    per = cm.monthly_capacity_requests(1.0, peak_to_avg=2, max_utilisation=0.8)
    assert per == pytest.approx(1_051_200)
    reps = cm.replicas_needed([1, 1_051_200, 1_051_201, 3 * 1_051_200], 1.0, 2, 0.8)
    assert reps.tolist() == [1, 1, 2, 3]


def test_onprem_hand_computed():
    # $30,000 over 3 years + 700 W x PUE 1.5 x 730 h x $0.10/kWh
    assert cm.onprem_replica_monthly_usd(30_000, 3, 700, 1.5, 0.10) == pytest.approx(30_000 / 36 + 0.7 * 1.5 * 730 * 0.10)


def test_usd_per_million_tokens():
    assert cm.usd_per_million_tokens(3.6, 1000) == pytest.approx(1.0)


def test_break_even_hand_computed():
    # replica $730/month ($1/h), capacity 1 req/s -> K = 2,628,000 req/month (peak 1, util 1); API $0.001/request
    first, always = cm.break_even(1.0, 730.0, 0.001)
    assert first == pytest.approx(730_000)  # C / a
    # k* = ceil(730 / (2628 - 730)) = 1 -> always = max(1, k*) · C / a: the second replica is paid for from 1.46 M up
    assert always == pytest.approx(730_000)
    # API $0.0005/request: a·K = 1314 < 2C, so the second step (from 2.628 M) loses until 2 · C / a = 2.92 M
    first, always = cm.break_even(1.0, 730.0, 0.0005)
    assert first == pytest.approx(1_460_000) and always == pytest.approx(2_920_000)


def test_break_even_absent_when_api_always_cheaper():
    first, always = cm.break_even(0.001, 730.0, 0.0001)  # a*K = 0.2628 < C
    assert np.isnan(first) and np.isnan(always)


def selfhost(volume, cap, C, peak, util, m):
    """The staircase the break-even is computed from: replicas needed × a replica's monthly cost."""
    return cm.replicas_needed(volume, cap, peak, util, m) * C


@settings(max_examples=200, deadline=None)
@given(cap=st.floats(0.01, 50), hourly=st.floats(0.05, 50), a=st.floats(1e-6, 0.05), peak=st.floats(1, 5), util=st.floats(0.3, 1),
       m=st.integers(1, 3))
def test_break_even_is_where_curves_cross(cap, hourly, a, peak, util, m):
    C = float(cm.replica_monthly_usd(hourly))
    first, always = cm.break_even(cap, C, a, peak, util, m)
    K = float(cm.monthly_capacity_requests(cap, peak, util))
    if np.isnan(first):
        v = np.geomspace(1, 1000 * K, 2000)
        assert np.all(selfhost(v, cap, C, peak, util, m) > a * v * (1 - 1e-9))
        return
    self_cost = lambda v: selfhost(v, cap, C, peak, util, m)  # noqa: E731
    # at the first break-even the curves are equal; just below it the API is cheaper
    assert float(self_cost(first)) == pytest.approx(a * first, rel=1e-9)
    assert float(self_cost(first * 0.999)) > a * first * 0.999
    # above `always`, self-hosting never costs more than the API ...
    v = always * np.geomspace(1, 100, 500)
    assert np.all(self_cost(v) <= a * v * (1 + 1e-9))
    # ... and `always` is the last volume where it does: a brute-force scan of every replica step finds the same
    steps = np.arange(1, int(np.ceil(always / K)) + 3)
    edges = np.concatenate([[first], steps * K])  # self-hosting can only lose just after a step boundary
    probe = np.concatenate([edges * (1 + 1e-9), edges * (1 - 1e-9)])
    probe = probe[probe >= first]
    losing = probe[self_cost(probe) > a * probe * (1 + 1e-12)]
    last_loss = losing.max() if losing.size else first
    assert always >= last_loss * (1 - 1e-6)
    assert always == pytest.approx(max(first, max(m, np.ceil(C / (a * K - C))) * C / a), rel=1e-9)
    if always > first * (1 + 1e-9):
        # just below `always`, inside its replica step (which may begin less than 1e-7 below it), self-hosting loses
        step_start = (np.ceil(always / K) - 1) * K
        if always - step_start > 1e-9 * always:  # a losing stretch narrower than float resolution cannot be probed
            below = always - min(always * 1e-7, (always - step_start) / 2)
            assert float(self_cost(below)) > a * below


@pytest.mark.parametrize("field,kwargs", [
    ("capacity_rps", dict(capacity_rps=0)),
    ("capacity_rps", dict(capacity_rps=float("nan"))),
    ("usd_per_hour", dict(usd_per_hour=-1)),
    ("peak_to_avg", dict(peak_to_avg=0.5)),
    ("max_utilisation", dict(max_utilisation=1.5)),
])
def test_bad_inputs_name_the_field(field, kwargs):
    args = dict(capacity_rps=1.0, peak_to_avg=1.0, max_utilisation=1.0)
    if "usd_per_hour" in kwargs:
        with pytest.raises(InputError, match=field):
            cm.replica_monthly_usd(kwargs["usd_per_hour"])
        return
    args.update(kwargs)
    with pytest.raises(InputError, match=field):
        cm.monthly_capacity_requests(**args)


def test_cached_fraction_bounds():
    with pytest.raises(InputError, match="cached_fraction"):
        cm.api_cost_per_request(10, 10, 1e-6, 1e-6, cached_fraction=1.5)


def test_autoscaling_by_hand_and_flat_equals_always_on():
    from planner.core.cost import autoscaled_monthly_usd, diurnal_shape
    # two half-days: 1.5× and 0.5× the average of 2,628,000 requests a month (730 h × 3600 s: 1 req/s on average) on 1 req/s replicas at 100 %
    shape = np.array([1.5, 0.5])
    usd = autoscaled_monthly_usd(2_628_000, 1.0, 10.0, shape, 1.0, 1)
    assert usd == pytest.approx((2 + 1) / 2 * 10.0 * 730)  # ceil(1.5) = 2 replicas half the time, 1 the other half
    assert autoscaled_monthly_usd(2_628_000, 1.0, 10.0, shape, 1.0, 3) == pytest.approx(3 * 10.0 * 730)  # the floor wins
    flat = autoscaled_monthly_usd([1e6, 5e7], 0.7, 3.0, diurnal_shape(1.0), 0.8, 1)
    always = cm.replicas_needed([1e6, 5e7], 0.7, 1.0, 0.8) * 3.0 * 730
    np.testing.assert_allclose(flat, always)
    for p in (1.5, 2.0, 4.0):
        s = diurnal_shape(p)
        assert s.mean() == pytest.approx(1.0) and s.max() == pytest.approx(p) and s.min() >= 0
        assert autoscaled_monthly_usd(5e7, 0.7, 3.0, s, 0.8, 1) <= cm.replicas_needed(5e7, 0.7, p, 0.8) * 3.0 * 730  # never above peak sizing
    with pytest.raises(InputError, match="average 1"):
        autoscaled_monthly_usd(1e6, 1.0, 1.0, np.array([2.0, 2.0]))
    with pytest.raises(InputError, match="cannot peak"):
        diurnal_shape(50)
