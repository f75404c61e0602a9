"""planner/core/validation.py: when an open-loop run has reached its steady state (the benchmark's early stop)."""
import numpy as np
import pytest

from planner.core.validation import STEADY_TOLERANCE, slo_crossing, steady_state


def test_a_flat_run_is_steady_and_a_growing_queue_is_not():
    flat = np.tile([0.2, 0.3, 0.25], 20)  # 60 requests, the same TTFTs throughout
    assert steady_state(flat, 60)
    assert not steady_state(flat, 61)  # fewer requests than asked for: not yet
    growing = 0.2 + 0.05 * np.arange(60)  # a rate over capacity: each request waits longer than the one before
    # middle third's median 0.2 + 0.05 × 29.5, last third's 0.2 + 0.05 × 49.5: 2.675 > 1.25 × 1.675
    assert not steady_state(growing, 60)


def test_the_tolerance_is_on_the_last_third_against_the_middle():
    base = np.ones(60)
    at = np.concatenate([base[:40], np.full(20, 1 + STEADY_TOLERANCE)])
    over = np.concatenate([base[:40], np.full(20, 1 + STEADY_TOLERANCE + 1e-9)])
    assert steady_state(at, 60) and not steady_state(over, 60)
    # the first third is the warm-up: a cold start's long TTFTs do not count against it
    cold = np.concatenate([np.full(20, 50.0), base[20:]])
    assert steady_state(cold, 60)


@pytest.mark.parametrize("n", [0, 1, 2])
def test_too_few_requests_are_never_steady(n):
    assert not steady_state(np.ones(n), 0)


def test_slo_crossing_interpolates_the_first_rise_through_one_in_log_load():
    """Between loads 4 and 16 the worse ratio goes 0.8 → 1.6: a quarter of the way in log load, 4^1.25 (by hand)."""
    assert slo_crossing([1, 4, 16], [0.5, 0.8, 1.6]) == pytest.approx(4 ** 1.25, rel=1e-12)
    assert slo_crossing([1, 2, 4, 8], [0.5, 1.5, 0.9, 2.0]) == pytest.approx(2 ** 0.5, rel=1e-12)  # the first crossing, not a later one
    assert slo_crossing([1, 2], [1.0, 3.0]) == 1.0  # a point exactly at the limit meets it
    assert slo_crossing([1, 2, 4], [0.1, 0.5, 1.0]) is None  # every point meets it
    assert slo_crossing([1, 2, 4], [1.1, 1.5, 2.0]) is None  # none does
