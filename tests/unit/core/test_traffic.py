"""planner/core/traffic.py: a usage log summarised into a workload, on logs small enough to check by hand."""
import numpy as np
import pytest

from planner.core.errors import InputError
from planner.core.traffic import TrafficRecords, summarize, workload_fields

DAY = 86400.0


def records(tokens_in, tokens_out, times, *, requests=None, cached=None, per_request=True):
    n = len(tokens_in)
    return TrafficRecords(np.asarray(tokens_in, float), np.asarray(tokens_out, float), np.ones(n) if requests is None else np.asarray(requests, float),
                          np.full(n, np.nan) if cached is None else np.asarray(cached, float), np.asarray(times, float), ("m",) * n,
                          per_request, "test")


def test_a_two_day_log_by_hand():
    # 10 requests: 6 in hour 9 of day 0, 1 in hour 10, 3 in hour 9 of day 1; the last at t = 1 day + 9 h + 30 min
    times = [9 * 3600 + 60 * k for k in range(6)] + [10 * 3600] + [DAY + 9 * 3600 + 60 * k for k in range(2)] + [DAY + 9.5 * 3600]
    rec = records([100] * 9 + [1000], [10] * 9 + [100], times, cached=[50] * 5 + [np.nan] * 5)
    s = summarize(rec)
    span = DAY + 0.5 * 3600  # 09:00 on day 0 to 09:30 on day 1
    assert s.n_requests == 10 and s.span_s == pytest.approx(span)
    assert s.requests_per_month == pytest.approx(10 / span * 2_628_000)
    # hours from 09:00 day 0 to 09:30 day 1: 25 clock hours; the busiest holds 6 → 6 / (10 / 25) = 15
    assert s.peak_to_avg == pytest.approx(6 / (10 / 25))
    assert s.cached_fraction == pytest.approx(250 / 500)  # of the five rows that say: 5 × 50 of 5 × 100
    assert any("cached share from the 5 requests" in n for n in s.notes)
    assert s.tokens_in.mean == pytest.approx(190) and s.tokens_in.p50 == 100 and s.tokens_in.p95 == 1000 and s.tokens_in.max == 1000
    assert s.hour_of_day[9] == pytest.approx(0.9) and s.hour_of_day[10] == pytest.approx(0.1) and s.hour_of_day.sum() == pytest.approx(1)
    fields = workload_fields(s)
    assert fields.pop("hour_of_day") == pytest.approx(s.hour_of_day.tolist())  # two days of hourly timestamps: the day's shape
    assert fields == pytest.approx({"tokens_in": 190, "tokens_out": 19, "requests_per_month": s.requests_per_month,
                                    "cached_fraction": 0.5, "peak_to_avg": 15})


def test_what_a_log_does_not_say_stays_unknown():
    s = summarize(records([100, 200], [10, 20], [np.nan, np.nan]))
    assert s.requests_per_month is None and s.peak_to_avg is None and s.hour_of_day is None and s.cached_fraction is None
    assert workload_fields(s) == {"tokens_in": 150, "tokens_out": 15}  # no volume, cache share or peak invented
    short = summarize(records([100, 200], [10, 20], [0.0, 7200.0]))  # two hours: a volume, but no daily peak
    assert short.requests_per_month == pytest.approx(2 / 7200 * 2_628_000) and short.peak_to_avg is None
    assert any("under a day" in n for n in short.notes)
    with pytest.raises(InputError, match="no requests"):
        summarize(records([], [], []))


def test_bucketed_logs_weigh_each_bucket_by_its_requests():
    # hourly buckets over two days: 100 requests at 500 → 50 in hour 0, 10 requests at 100 → 5 in every other hour
    starts = np.arange(48) * 3600.0
    requests = [100] + [10] * 47
    s = summarize(records([500] + [100] * 47, [50] + [5] * 47, starts, requests=requests, cached=[250] + [0] * 47, per_request=False))
    total = 100 + 470
    assert s.n_requests == total and s.span_s == pytest.approx(48 * 3600)
    assert s.tokens_in.mean == pytest.approx((100 * 500 + 470 * 100) / total)
    assert s.cached_fraction == pytest.approx(100 * 250 / (100 * 500 + 470 * 100))
    assert s.peak_to_avg == pytest.approx(100 / (total / 48))
    assert "bucket means" in s.notes[0]
    daily = summarize(records([500, 100], [50, 5], [0.0, DAY], requests=[100, 10], per_request=False))
    assert daily.peak_to_avg is None and daily.hour_of_day is None and any("buckets of 24 hours" in n for n in daily.notes)


def test_the_log_becomes_the_distribution_a_plan_simulates():
    from planner.core.plan import Workload
    from planner.core.traffic import request_mix
    # 4 rows: one says 50 of its 100 prompt tokens were cached, one does not say (it takes the log's share: 50 of the
    # 700 prompt tokens of the rows that say, 1/14 of its 200 → 14), one is a 0-token error row (counted as 1 → 1)
    # that says 0 cached, one a bucket of 2 requests of 300 tokens, none cached
    rec = records([100, 200, 0, 300], [10, 20, 0, 30], [0.0, 60.0, 120.0, 180.0], requests=[1, 1, 1, 2], cached=[50, np.nan, 0, 0])
    s = summarize(rec)
    mix = request_mix(rec, s)
    assert s.cached_fraction == pytest.approx(50 / 700)
    assert dict(zip(zip(mix.tokens_in, mix.tokens_out, mix.cached_in, strict=True), mix.weights, strict=True)) == pytest.approx(
        {(1, 1, 0): 0.2, (100, 10, 50): 0.2, (200, 20, 14): 0.2, (300, 30, 0): 0.4})
    fields = workload_fields(s, rec)
    w = Workload(**fields)
    assert w.tokens_in == pytest.approx((1 + 100 + 200 + 600) / 5) and w.tokens_out == pytest.approx((1 + 10 + 20 + 60) / 5)
    assert w.cached_fraction == pytest.approx(64 / 901) and w.request_mix() == mix
    assert w.lengths.source == "test" and "requests_per_month" not in fields  # 3 minutes of log: no monthly volume
