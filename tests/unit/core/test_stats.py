import math

import pytest

from planner.core.errors import MeasurementError
from planner.core.stats import summarize


def test_summary_hand_computed():
    s = summarize([1.0, 2.0, 3.0, 4.0], "ms")
    assert s.mean == 2.5 and s.median == 2.5 and s.min == 1 and s.max == 4
    assert s.std == pytest.approx(math.sqrt(5 / 3))
    # t(0.975, 3) = 3.182446305284263, on the log scale: sd of ln(1..4) = 0.60118, half = 3.1824 × 0.60118 / 2 = 0.95659
    logs = [math.log(x) for x in (1, 2, 3, 4)]
    m = sum(logs) / 4
    half = 3.182446305284263 * math.sqrt(sum((x - m) ** 2 for x in logs) / 3) / 2
    assert half == pytest.approx(0.95659, abs=1e-5)
    assert s.ci95_low == pytest.approx(2.5 * math.exp(-half)) and s.ci95_high == pytest.approx(2.5 * math.exp(half))
    assert s.samples == [1.0, 2.0, 3.0, 4.0]
    assert s.p95 == pytest.approx(3.85)


def test_a_noisy_positive_interval_never_crosses_zero():
    # the samples behind "decode 54.8 tok/s, 95% CI [−27.5, 249.3]" on a busy machine: a linear t-interval goes negative
    s = summarize([20.0, 30.0, 114.4], "tok/s")
    assert 0 < s.ci95_low < s.mean < s.ci95_high


def test_single_sample_has_no_interval():
    s = summarize([5.0], "tok/s")
    assert s.ci95_low is None and s.ci95_high is None and math.isinf(s.ci95_half_width_pct)


@pytest.mark.parametrize("bad", [[], [1.0, float("nan")], [float("inf")]])
def test_bad_samples_rejected(bad):
    with pytest.raises(MeasurementError, match="samples"):
        summarize(bad, "ms")
