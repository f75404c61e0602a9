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


def test_the_prefill_scale_is_read_off_two_prompts_by_hand():
    # engine: 30 ms without prefill at both lengths, +35 ms and +1,508 ms of prefill at 80 and 2,560 tokens; the server
    # measured 57.5 and 1,044.8 ms → scale (1014.8 − 27.5) / (1508 − 35) = 0.67027, intercept 27.5 − 0.67027 · 35
    from planner.core.validation import fit_prefill_scale
    scale, intercept = fit_prefill_scale([0.0575, 1.0448], [0.030, 0.030], [0.065, 1.538])
    assert scale == pytest.approx(987.3 / 1473)
    assert intercept == pytest.approx(0.0275 - 987.3 / 1473 * 0.035)


@pytest.mark.parametrize("measured, why", [([0.2, 0.1], "does not grow"), ([0.1, 0.1], "does not grow")])
def test_a_server_whose_ttft_does_not_grow_with_the_prompt_is_refused(measured, why):
    from planner.core.validation import fit_prefill_scale
    with pytest.raises(ValueError, match=why):
        fit_prefill_scale(measured, [0.0, 0.0], [0.05, 0.5])
    with pytest.raises(ValueError, match="two or more"):
        fit_prefill_scale([0.1], [0.0], [0.05])


def test_the_prefill_scale_multiplies_both_prefill_terms_and_nothing_else():
    from planner.core.simulate import Scheduler
    from planner.core.stepmodel import StepModel
    from planner.core.validation import ServerCalibration
    engine = StepModel(overhead_s=0.04, per_seq_s=0.001, per_kv_token_s=1e-6, per_prefill_token_s=2e-4, per_prefill_pair_s=1e-8,
                       per_request_s=0.002, token_budget=2048, max_seqs=8, measured_batch=None, measured_context=None,
                       measured_prompt=None, fit_rms_pct=0.0, n_points=0)
    step, sched = ServerCalibration(-0.01, 0.005, prefill_scale=0.5).apply(engine, Scheduler(kind="vllm"))
    assert (step.per_prefill_token_s, step.per_prefill_pair_s) == (pytest.approx(1e-4), pytest.approx(5e-9))
    assert (step.overhead_s, step.per_seq_s, step.per_kv_token_s, step.per_request_s) == (pytest.approx(0.03), 0.001, 1e-6, 0.002)
    assert sched.ttft_overhead_s == 0.005
    # a 1,000-token prompt alone: the prefill part of the step halves, the rest stays
    assert step.step_s(1, 0, 1000, 500_000, 1) - step.step_s(1, 0, 0, 0, 1) == pytest.approx(0.5 * (0.2 + 0.005))
