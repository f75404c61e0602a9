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


def test_a_per_request_logs_gaps_are_replayed_and_an_aggregated_logs_are_not():
    from planner.core.lengths import MIN_REPLAY_GAPS
    from planner.core.traffic import arrival_gaps, request_mix

    # out of order in the file, two at the same instant: gaps are between sorted times, 0 for the pair
    times = [5.0, 0.0, 1.0, 1.0, *(1.0 + 2.0 * k for k in range(2, MIN_REPLAY_GAPS + 2))]
    rec = records([100] * len(times), [10] * len(times), times)
    gaps = arrival_gaps(rec)
    mean = 43 / 23  # all in the log's first hour: each gap relative to their mean, 43 s over 23 gaps
    assert gaps[:4].tolist() == pytest.approx([1 / mean, 0.0, 4 / mean, 0.0]) and gaps.size == len(times) - 1
    s = summarize(rec)
    assert s.gap_cv == pytest.approx(0.396, abs=1e-3)  # gaps 1, 0, 4, 0 and nineteen 2s: mean 43/23, sd 0.740
    assert "arrivals replayed" in s.describe() and ("arrivals", f"replayed: inter-arrival gaps' CV {s.gap_cv:.2f} (Poisson 1.00)") == s.rows()[-2][:2]
    mix = request_mix(rec, s)
    assert mix.arrival_gaps is not None and np.mean(mix.arrival_gaps) == pytest.approx(1.0)
    # too few timed requests, or a bucketed log: Poisson, and the summary says unknown
    short = records([100] * 5, [10] * 5, [0.0, 1, 2, 3, 4])
    assert arrival_gaps(short) is None and summarize(short).gap_cv is None and request_mix(short, summarize(short)).arrival_gaps is None
    bucketed = records([100] * 30, [10] * 30, [3600.0 * k for k in range(30)], requests=[5] * 30, per_request=False)
    assert arrival_gaps(bucketed) is None
    coarse = records([100] * 30, [10] * 30, [60.0 * (k // 3) for k in range(30)])  # three to a minute's tick: 2 of 3 gaps are 0
    assert arrival_gaps(coarse) is None and any("too coarse a clock to replay" in n for n in summarize(coarse).notes)


def test_the_replay_keeps_the_bursts_within_an_hour_not_the_swing_between_hours():
    from planner.core.traffic import arrival_gaps

    # hour 0: a request every 60 s; hour 1: every 600 s — each gap is its hour's mean: no burst left to replay (the
    # hour-to-hour swing is the peak-to-average's); then within hour 2, pairs 10 s apart every 300 s
    quiet = [3540.0 + 600 * k for k in range(1, 6)]  # 4,140 … 6,540 s: hour 1
    pairs = [7200.0 + 300 * k + d for k in range(12) for d in (0.0, 10.0)]
    times = [60.0 * k for k in range(60)] + quiet + pairs
    rec = records([100] * len(times), [10] * len(times), times)
    gaps = arrival_gaps(rec)  # a gap belongs to the hour its later request arrives in
    assert gaps[:64] == pytest.approx(np.ones(64))  # hour 0's 59 gaps of 60 s, hour 1's 5 of 600 s
    mean = (660 + 12 * 10 + 11 * 290) / 24  # hour 2: 6,540 → 7,200 s, then 12 pairs 10 s apart, 290 s between pairs
    assert gaps[64:67] == pytest.approx([660 / mean, 10 / mean, 290 / mean]) and gaps.size == len(times) - 1


def test_under_a_day_of_log_gives_no_hour_of_day_shape():
    rec = records([100] * 30, [10] * 30, [60.0 * k for k in range(30)])
    s = summarize(rec)
    assert s.hour_of_day is None and s.peak_to_avg is None and "hour_of_day" not in workload_fields(s, rec)
    assert any("no peak-to-average or hour-of-day shape" in n for n in s.notes)
    assert "over 0.5 hours" in s.describe()
