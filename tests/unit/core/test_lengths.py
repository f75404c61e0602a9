"""planner/core/lengths.py: request shapes as a distribution, checked on mixes small enough to count by hand."""
import numpy as np
import pytest

from planner.core.errors import InputError
from planner.core.lengths import NO_PREFIX, UNSHARED, RequestMix


def test_points_merge_and_their_moments_are_the_weighted_ones():
    mix = RequestMix.from_arrays([100, 1000, 100], [10, 2, 10], weights=[1, 2, 1], cached_in=[50, 0, 50], n_prefixes=2)
    assert mix.tokens_in == (100, 1000) and mix.tokens_out == (10, 2) and mix.weights == (0.5, 0.5)
    assert mix.mean_in == 550 and mix.mean_out == 6 and mix.max_tokens == 1002
    assert mix.cached_fraction == pytest.approx(25 / 550)  # 0.5 × 50 cached of 550 prompt tokens a request
    assert mix.quantile("in", 0.5) == 100 and mix.quantile("in", 0.95) == 1000
    assert mix.expected_cacheable_tokens() == 25 and mix.expected_cacheable_tokens(64) == 0  # 50-token spans under a 64 minimum
    assert RequestMix.fixed(99.6, 0.2) == RequestMix.from_arrays([100], [1]) and RequestMix.fixed(100, 1).is_fixed
    assert hash(mix) == hash(RequestMix.from_arrays([1000, 100], [2, 10], weights=[2, 2], cached_in=[0, 50], n_prefixes=2))
    assert "2 shapes: prompt mean 550" in mix.describe() and "(2 distinct)" in mix.describe()


@pytest.mark.parametrize(("kwargs", "field"), [
    (dict(tokens_in=[0], tokens_out=[1]), "lengths"),
    (dict(tokens_in=[5], tokens_out=[0]), "lengths"),
    (dict(tokens_in=[5, 6], tokens_out=[1]), "lengths"),
    (dict(tokens_in=[5], tokens_out=[1], cached_in=[6]), "lengths.cached_in"),
    (dict(tokens_in=[5], tokens_out=[1], weights=[0]), "lengths.weights"),
    (dict(tokens_in=[5], tokens_out=[1], weights=[np.nan]), "lengths.weights"),
    (dict(tokens_in=[5], tokens_out=[1], n_prefixes=0), "lengths.n_prefixes"),
])
def test_bad_lengths_name_their_field(kwargs, field):
    with pytest.raises(InputError) as exc:
        RequestMix.from_arrays(**kwargs)
    assert exc.value.field == field


def test_draws_are_reproducible_follow_the_weights_and_give_prefix_ids():
    mix = RequestMix.from_arrays([100, 1000], [10, 2], weights=[0.75, 0.25], cached_in=[60, 0], n_prefixes=3)
    a, b = mix.draw(4000, seed=1), mix.draw(4000, seed=1)
    for x, y in zip(a, b, strict=True):
        assert x.tolist() == y.tolist()
    t_in, t_out, cached, pid = a
    assert np.mean(t_in == 100) == pytest.approx(0.75, abs=0.03)
    assert np.all((t_in == 100) == (t_out == 10)) and np.all((t_in == 100) == (cached == 60))  # pairs drawn together
    assert set(pid[cached > 0].tolist()) == {0, 1, 2} and set(pid[cached == 0].tolist()) == {NO_PREFIX}
    unknown = RequestMix.from_arrays([100], [10], cached_in=[60]).draw(5, seed=0)[3]
    assert unknown.tolist() == [UNSHARED] * 5


def test_replayed_arrivals_by_hand():
    mix = RequestMix.from_arrays([100], [10], arrival_gaps=[2.0, 6.0] * 10)  # mean 4 → gaps 0.5, 1.5, …
    assert mix.arrival_gaps[:2] == (0.5, 1.5) and mix.gap_cv == pytest.approx(0.5)
    # seed 0 starts at the log's first gap; the window's gaps at rate 2/s: cumsum([0.5, 1.5, 0.5, 1.5]) / 2
    assert mix.arrivals(2.0, 4, 0).tolist() == pytest.approx([0.25, 1.0, 1.25, 2.0])
    # a window of 3 (0.5, 1.5, 0.5: mean 5/6) is scaled to arrive at exactly the offered rate on average
    assert mix.arrivals(1.0, 3, 0)[-1] == pytest.approx(3.0)
    assert RequestMix.fixed(100, 10).arrivals(1.0, 3) is None  # no log: the caller draws Poisson
    assert "arrivals replayed from 20 logged gaps (their CV 0.50" in mix.describe()
    assert mix.scaled(2.0, 1.0).arrival_gaps == mix.arrival_gaps and mix.scaled(2.0, 1.0).tokens_in == (200,)
    assert mix != RequestMix.from_arrays([100], [10]) and hash(mix) != hash(RequestMix.from_arrays([100], [10]))


@pytest.mark.parametrize("gaps", [[1.0] * 5, [1.0] * 19 + [-1.0], [0.0] * 30, [1.0] * 19 + [float("nan")]])
def test_unusable_gaps_are_refused_naming_the_field(gaps):
    with pytest.raises(InputError, match="lengths.arrival_gaps"):
        RequestMix.from_arrays([100], [10], arrival_gaps=gaps)


def test_a_bursty_replay_queues_more_than_poisson_at_the_same_rate():
    from planner.core.simulate import Scheduler, simulate_mix
    from planner.core.stepmodel import StepModel

    step = StepModel(0.01, 0.001, 0.0, 0.0005, 0.0, 0.0, token_budget=2048, max_seqs=8, measured_batch=8, measured_context=10_000,
                     measured_prompt=10_000, fit_rms_pct=0.0, n_points=0)
    sched = Scheduler(kind="vllm", max_seqs=8, token_budget=2048)
    poisson = RequestMix.from_arrays([200], [20])
    bursts = RequestMix.from_arrays([200], [20], arrival_gaps=([0.0] * 9 + [10.0]) * 40)  # ten at once, then a lull
    res_b, _ = simulate_mix(step, sched, bursts, 2.0, 400)
    res_p, _ = simulate_mix(step, sched, poisson, 2.0, 400)
    assert res_b.arrivals_s.tolist() == pytest.approx(bursts.arrivals(2.0, 400).tolist())  # the replay is what was simulated
    assert res_b.ttft_pct(95) > 1.5 * res_p.ttft_pct(95)


def test_the_fixed_mix_is_built_once():
    assert RequestMix.fixed(512.4, 128) is RequestMix.fixed(512, 128.2)
