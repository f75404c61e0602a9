import math

import pytest

from planner.core.errors import InputError, MeasurementError
from planner.core.stats import relative_ci_half_width, repeat_until_stable, summarize


def test_summary_hand_computed():
    s = summarize([1.0, 2.0, 3.0, 4.0], "ms")
    assert s.mean == 2.5 and s.median == 2.5 and s.min == 1 and s.max == 4
    assert s.std == pytest.approx(math.sqrt(5 / 3))
    # t(0.975, 3) = 3.182446305284263
    half = 3.182446305284263 * math.sqrt(5 / 3) / 2
    assert s.ci95_low == pytest.approx(2.5 - half) and s.ci95_high == pytest.approx(2.5 + half)
    assert s.samples == [1.0, 2.0, 3.0, 4.0]
    assert s.p95 == pytest.approx(3.85)


def test_single_sample_has_no_interval():
    s = summarize([5.0], "tok/s")
    assert s.ci95_low is None and s.ci95_high is None and math.isinf(s.ci95_half_width_pct)


@pytest.mark.parametrize("bad", [[], [1.0, float("nan")], [float("inf")]])
def test_bad_samples_rejected(bad):
    with pytest.raises(MeasurementError, match="samples"):
        summarize(bad, "ms")


def test_repeat_stops_when_stable():
    values = iter([100.0, 100.5, 99.5, 100.0] + [1.0] * 100)
    samples = repeat_until_stable(lambda: next(values), min_reps=3, max_reps=50, target_rel_ci=0.03, time_budget_s=1e9)
    assert len(samples) == 3 and relative_ci_half_width(samples) <= 0.03


def test_repeat_respects_budget_and_max():
    ticks = iter(range(1000))
    noisy = iter([1.0, 10.0] * 100)
    samples = repeat_until_stable(lambda: next(noisy), min_reps=3, max_reps=8, target_rel_ci=0.01, time_budget_s=5,
                                  clock=lambda: float(next(ticks)))
    # the clock reads 0 at the start, then 1, 2, … after each sample from the third on: the budget (5) is spent at sample 7
    assert len(samples) == 7
    ticks = iter(range(1000))
    assert len(repeat_until_stable(lambda: next(noisy), min_reps=3, max_reps=8, target_rel_ci=0.01, time_budget_s=1e9,
                                   clock=lambda: float(next(ticks)))) == 8  # no budget limit: max_reps stops it
    assert len(repeat_until_stable(lambda: next(noisy), min_reps=2, max_reps=4, target_rel_ci=1e-9, time_budget_s=1e9)) == 4


def test_repeat_rejects_bad_limits():
    with pytest.raises(InputError, match="min_reps"):
        repeat_until_stable(lambda: 1.0, min_reps=1)
    with pytest.raises(InputError, match="max_reps"):
        repeat_until_stable(lambda: 1.0, min_reps=3, max_reps=2)
