"""The continuous-batching simulator against cases computable by hand (the step model it runs on is in
test_stepmodel.py)."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner.core.errors import InputError
from planner.core.lengths import UNSHARED, RequestMix
from planner.core.simulate import Scheduler, _Server, capacity_at_slo_sim, poisson_arrivals, rate_point, simulate, simulate_mix
from planner.core.stepmodel import StepModel


def steps(overhead=0.0, per_seq=0.0, per_kv=0.0, per_prefill=0.0, per_pair=0.0, per_request=0.0) -> StepModel:
    return StepModel(overhead, per_seq, per_kv, per_prefill, per_pair, per_request, token_budget=4096, max_seqs=256, measured_batch=64,
                     measured_context=100_000, measured_prompt=100_000, fit_rms_pct=0.0, n_points=0)


def test_one_slot_with_fixed_service_is_md1():
    # one request at a time, each one step of 100 prompt tokens × 1 ms = 0.1 s, Poisson arrivals at 6/s (ρ = 0.6):
    # M/D/1 mean time in system = 1/μ + ρ / (2 μ (1 − ρ)) = 0.1 + 0.6 / (2·10·0.4) = 0.175 s; P(no wait) = 1 − ρ
    res = simulate(steps(per_prefill=1e-3), Scheduler(kind="slots", max_seqs=1), poisson_arrivals(6.0, 100_000, seed=3), 100, 1)
    assert res.ttft_s.mean() == pytest.approx(0.175, rel=0.02)
    assert np.mean(res.ttft_s <= 0.1 + 1e-12) == pytest.approx(0.4, abs=0.01)


def test_saturated_closed_batch_finishes_in_waves():
    # 8 requests at t=0, 4 slots, every step 10 ms: the first wave takes its first token at 10 ms and its 10th at 100 ms,
    # the second wave starts at step 11
    res = simulate(steps(overhead=0.01), Scheduler(kind="slots", max_seqs=4), np.zeros(8), 1, 10)
    assert res.ttft_s.tolist() == pytest.approx([0.01] * 4 + [0.11] * 4)
    assert res.e2e_s.tolist() == pytest.approx([0.10] * 4 + [0.20] * 4)
    assert res.itl_pct(50) == pytest.approx(0.01) and res.itl_pct(99) == pytest.approx(0.01)
    assert res.itl_weights.sum() == 8 * 9  # every gap of every request counted once


def test_other_requests_prefill_stalls_the_decoders():
    # request 0 decodes alone at 10 ms a step; request 1 arrives at 0.055 s with 1000 prompt tokens (1 ms each):
    # the step that carries its prompt takes 10 ms + 1 s, and request 0's gap in that step is that long
    sm = steps(overhead=0.01, per_prefill=1e-3)
    res = simulate(sm, Scheduler(kind="vllm", max_seqs=8, token_budget=4096), np.array([0.0, 0.055]), [1, 1000], [20, 2])
    gaps = np.repeat(res.itl_values_s, res.itl_weights.astype(int))
    assert gaps.max() == pytest.approx(0.01 + 1.0)  # step overhead + 1000 prompt tokens (a decoding sequence costs 0 here)
    # request 0's steps end at 11 ms (its 1-token prompt), 21, 31, 41, 51, 61 ms: request 1 is admitted at the boundary
    # after its arrival, 61 ms, and its first token leaves with its 1.01 s prefill step
    assert res.ttft_s[1] == pytest.approx(0.061 - 0.055 + 1.01)
    # a chunked budget of 100 tokens spreads the prompt over 10 steps: the stall per gap shrinks tenfold
    res = simulate(sm, Scheduler(kind="vllm", max_seqs=8, token_budget=100), np.array([0.0, 0.055]), [1, 1000], [20, 2])
    assert np.repeat(res.itl_values_s, res.itl_weights.astype(int)).max() == pytest.approx(0.01 + 0.099, rel=1e-6)


def test_kv_exhaustion_preempts_and_everything_still_finishes():
    sm = steps(overhead=0.01)
    roomy = Scheduler(kind="vllm", max_seqs=8, token_budget=4096, kv_capacity_tokens=60, block_size=1)
    tight = Scheduler(kind="vllm", max_seqs=8, token_budget=4096, kv_capacity_tokens=30, block_size=1)
    a = simulate(sm, roomy, np.zeros(2), 10, 15)  # 2 × 25 tokens fit in 60
    b = simulate(sm, tight, np.zeros(2), 10, 15)  # they do not fit in 30: the later one is preempted
    assert a.preemptions == 0 and b.preemptions >= 1
    assert np.all(np.isfinite(b.e2e_s)) and b.e2e_s.max() > a.e2e_s.max()
    assert b.e2e_s[0] == pytest.approx(a.e2e_s[0])  # the first admitted keeps its place
    with pytest.raises(InputError, match="does not fit"):
        simulate(sm, tight, np.zeros(1), 20, 15)


def test_capacity_search_is_deterministic_monotone_and_says_infeasible():
    sm = steps(overhead=0.02, per_seq=5e-4, per_kv=1e-6, per_prefill=3e-4)
    sched = Scheduler(kind="vllm", max_seqs=64, token_budget=2048, kv_capacity_tokens=50_000, block_size=16)
    loose = capacity_at_slo_sim(sm, sched, 512, 64, 5.0, 0.5)
    tight = capacity_at_slo_sim(sm, sched, 512, 64, 1.0, 0.1)
    assert loose.requests_per_s > tight.requests_per_s > 0
    assert capacity_at_slo_sim(sm, sched, 512, 64, 1.0, 0.1).requests_per_s == tight.requests_per_s
    assert tight.at.ttft_p95_s <= 1.0 and tight.at.itl_p95_s <= 0.1
    never = capacity_at_slo_sim(sm, sched, 512, 64, 0.05, 0.1)  # the prefill alone takes 0.17 s
    assert never.requests_per_s == 0 and never.at is None and never.alone.ttft_p95_s == pytest.approx(0.02 + 512 * 3e-4)


def test_a_short_load_test_can_pass_above_saturation_but_a_plan_never_counts_it():
    from planner.core.simulate import saturation_rate
    sm = steps(overhead=0.02, per_seq=5e-4, per_prefill=3e-4)
    sched = Scheduler(kind="vllm", max_seqs=8, token_budget=2048)
    sat = saturation_rate(sm, sched, 256, 256)
    plan = capacity_at_slo_sim(sm, sched, 256, 256, 30.0, 1.0)
    short = capacity_at_slo_sim(sm, sched, 256, 256, 30.0, 1.0, n_requests=20, warmup=0.0, sustained=False)
    assert plan.requests_per_s <= sat < short.requests_per_s


@pytest.mark.parametrize("slo", [(5.0, 0.5), (1.0, 0.1), (0.4, 0.05), (2.0, 0.03), (30.0, 2.0)])
@pytest.mark.parametrize("steady", [False, True])
def test_bisecting_the_rate_grid_finds_the_rate_walking_it_finds(slo, steady):
    """`full_curve=False` (the fleet search) bisects the grid for its first failing rate; on these monotone cases it
    must land on the capacity the full walk of every rate finds, from fewer runs, never simulating the top rate."""
    from planner.core.simulate import _rate_point, saturation_rate
    sm = steps(overhead=0.02, per_seq=5e-4, per_kv=1e-6, per_prefill=3e-4)
    sched = Scheduler(kind="vllm", max_seqs=64, token_budget=2048, kv_capacity_tokens=50_000, block_size=16)
    kw = dict(grid_points=8, refine=3, n_requests=200, steady=steady, max_requests=800)
    walked = capacity_at_slo_sim(sm, sched, 512, 64, *slo, **kw)
    _rate_point.cache_clear()
    bisected = capacity_at_slo_sim(sm, sched, 512, 64, *slo, full_curve=False, **kw)
    runs = _rate_point.cache_info().misses
    assert bisected.requests_per_s == walked.requests_per_s and bisected.at == walked.at
    assert runs <= 1 + 4 + 3 + (5 if steady else 0)  # alone + at most 4 grid rates of 8 + 3 bisections (+ a confirmation)
    sat = saturation_rate(sm, sched, 512, 64)
    assert max(p.rate_per_s for p in bisected.curve) < 1.05 * sat  # the rate above saturation fails unsimulated


def _steady_state_walking_down(found, at, fine, n_requests, max_requests, refine, grid_ratio):
    """The convergence rule as first written: walk the grid down at the longer length until a rate passes, then bisect
    between it and the failing rate above (the reference the faster rule must agree with)."""
    import math
    lo, n, draw = found, n_requests, 0
    while n * 4 <= max_requests:
        n, draw = n * 4, draw + 1
        p = at(lo.rate_per_s, n, draw)
        if fine(p):
            return p
        hi, below, rate = p, None, lo.rate_per_s
        for _ in range(8):
            rate /= grid_ratio
            q = at(rate, n, draw)
            if fine(q):
                below = q
                break
            hi = q
        if below is None:
            return None
        lo = below
        for _ in range(refine):
            q = at(math.sqrt(lo.rate_per_s * hi.rate_per_s), n, draw)
            lo, hi = (q, hi) if fine(q) else (lo, q)
    return lo


@pytest.mark.parametrize("slo", [(1.0, 0.1), (5.0, 0.5), (3.0, 0.2), (0.3, 1.0), (0.4, 1.0)])  # the last: two grid steps down
def test_the_steady_state_rule_lands_where_walking_the_grid_down_lands(slo):
    from planner.core.simulate import _rate_point, _steady_state, meets_slo, saturation_rate
    sm = steps(overhead=0.02, per_seq=5e-4, per_kv=1e-6, per_prefill=3e-4)
    sched = Scheduler(kind="vllm", max_seqs=64, token_budget=2048, kv_capacity_tokens=50_000, block_size=16)
    sat = saturation_rate(sm, sched, 512, 64)
    short = capacity_at_slo_sim(sm, sched, 512, 64, *slo, grid_points=8, refine=3, n_requests=200, steady=False)

    def at(rate, n=200, draw=0):
        return rate_point(sm, sched, 512, 64, rate, n_requests=n, seed=draw)

    def fine(p):
        return p.rate_per_s <= sat and meets_slo(p, *slo)
    ratio = float(np.geomspace(0.02, 1.05, 8)[1] / 0.02)
    want = _steady_state_walking_down(short.at, at, fine, 200, 800, 3, ratio)
    _rate_point.cache_clear()
    got, runs = _steady_state(short.at, at, fine, 200, 800, 3, ratio)
    assert got == want and fine(got) and got.rate_per_s < short.requests_per_s  # each case steps down
    assert len(runs) == _rate_point.cache_info().misses  # every run it reports, it made


def _gaps(res) -> np.ndarray:
    """Every inter-token gap, once per request that saw it, sorted."""
    return np.sort(np.repeat(res.itl_values_s, res.itl_weights.astype(int)))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**31), kind=st.sampled_from(["vllm", "slots"]), kv=st.sampled_from([None, 100, 300, 3000]),
       block=st.sampled_from([1, 16]), budget=st.sampled_from([32, 512]), max_seqs=st.integers(1, 12))
def test_the_decode_jump_equals_stepping_one_token_at_a_time(seed, kind, kv, block, budget, max_seqs):
    # brute force: the same run with the vectorised stretch of pure decoding turned off, every step taken one by one
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 40))
    arrivals = np.sort(rng.uniform(0, rng.choice([0.1, 2.0]), n))
    tin, tout = rng.integers(1, 60, n), rng.integers(1, 30, n)
    sm = steps(overhead=1e-3, per_seq=2e-4, per_kv=3e-6, per_prefill=5e-5, per_pair=1e-8, per_request=2e-4)
    sched = Scheduler(kind=kind, max_seqs=max_seqs, token_budget=budget, kv_capacity_tokens=kv, block_size=block)
    fast = simulate(sm, sched, arrivals, tin, tout)
    with pytest.MonkeyPatch.context() as m:
        m.setattr(_Server, "decode_stretch", lambda self: False)
        slow = simulate(sm, sched, arrivals, tin, tout)
    assert fast.preemptions == slow.preemptions
    assert fast.ttft_s == pytest.approx(slow.ttft_s, rel=1e-9) and fast.e2e_s == pytest.approx(slow.e2e_s, rel=1e-9)
    assert _gaps(fast) == pytest.approx(_gaps(slow), rel=1e-9)
    assert fast.duration_s == pytest.approx(slow.duration_s, rel=1e-9) and fast.mean_running == pytest.approx(slow.mean_running, rel=1e-9)


def test_several_percentiles_from_one_sort_equal_one_at_a_time():
    res = simulate(steps(overhead=0.01, per_prefill=1e-3), Scheduler(kind="vllm", max_seqs=8), poisson_arrivals(20.0, 300, seed=1), 50, 20)
    assert res.itl_pcts(50, 95, 99) == [res.itl_pct(50), res.itl_pct(95), res.itl_pct(99)]
    assert res.itl_pct(50) < res.itl_pct(99)


def test_the_latency_distribution_is_the_run_behind_the_capacity_tables_percentiles():
    """The CDF at a rate is the same simulated run (seed, requests, warm-up) whose p50/p95 the capacity table holds:
    its 50th and 95th percentiles are those numbers exactly, and it is a distribution (non-decreasing, 0…100 %)."""
    from planner.core.simulate import CDF_PCT, latency_cdf, rate_point
    sm = steps(overhead=0.02, per_seq=5e-4, per_kv=1e-6, per_prefill=3e-4)
    sched = Scheduler(kind="vllm", max_seqs=64, token_budget=2048, kv_capacity_tokens=50_000, block_size=16)
    point = rate_point(sm, sched, 512, 64, 3.0)
    cdf = latency_cdf(sm, sched, 512, 64, 3.0)
    assert cdf.at(95) == (pytest.approx(point.ttft_p95_s, rel=1e-12), pytest.approx(point.itl_p95_s, rel=1e-12))
    assert cdf.at(50) == (pytest.approx(point.ttft_p50_s, rel=1e-12), pytest.approx(point.itl_p50_s, rel=1e-12))
    assert list(cdf.pct) == list(CDF_PCT) and cdf.pct[0] == 0 and cdf.pct[-1] == 100
    assert np.all(np.diff(cdf.ttft_s) >= 0) and np.all(np.diff(cdf.itl_s) >= 0)
    assert cdf.n_requests == 320 and cdf.basis.startswith("simulated: 320 of 400 requests")
    busier = latency_cdf(sm, sched, 512, 64, 6.0)  # common random numbers: more load, no request faster at any percentile
    assert np.all(busier.ttft_s >= cdf.ttft_s - 1e-12)


def test_ttft_and_itl_leave_out_warm_up_and_drain_the_same_way():
    """Brute force: the percentiles of a run are those of the requests arriving inside the window and of the gaps
    (each repeated by how many requests saw it) that ended inside the same stretch of time."""
    from planner.core.simulate import measurement_window, rate_point
    sm = steps(overhead=0.02, per_seq=5e-4, per_kv=1e-6, per_prefill=3e-4)
    sched = Scheduler(kind="vllm", max_seqs=16, token_budget=512, kv_capacity_tokens=50_000, block_size=16)
    res = simulate(sm, sched, poisson_arrivals(8.0, 400, seed=0), 300, 40)
    keep, (t0, t1) = measurement_window(res.arrivals_s, 0.1, 0.1)
    assert (keep.start, keep.stop) == (40, 360) and (t0, t1) == (res.arrivals_s[40], res.arrivals_s[359])
    gaps = np.repeat(res.itl_values_s, res.itl_weights.astype(int))
    ends = np.repeat(res.itl_end_s, res.itl_weights.astype(int))
    inside = np.sort(gaps[(ends >= t0) & (ends <= t1)])
    point = rate_point(sm, sched, 300, 40, 8.0)
    assert point.itl_p95_s == inside[np.searchsorted(np.arange(1, inside.size + 1), 0.95 * inside.size)]
    assert point.ttft_p95_s == pytest.approx(np.percentile(res.ttft_s[40:360], 95))
    everything = rate_point(sm, sched, 300, 40, 8.0, warmup=0.0, drain=0.0)  # a load test's count: every request, every gap
    assert everything.ttft_p95_s == pytest.approx(np.percentile(res.ttft_s, 95)) and everything.itl_p95_s == res.itl_pct(95)
    assert res.itl_end_s.size == res.itl_values_s.size and np.all(np.diff(np.sort(res.itl_end_s)) >= 0)
    assert res.itl_end_s.max() == pytest.approx((res.arrivals_s + res.e2e_s).max(), rel=1e-12)  # the last gap ends the last request


def test_the_capacity_holds_on_runs_long_enough_for_the_steady_state():
    """A short run near saturation meets the SLO before its queue builds: 400 requests pass at 1.63 req/s, 6,400 there
    give a p95 ITL of 177 ms. The answer is confirmed on a run 4× as long with arrivals of its own (another seed); it
    only ever moves down, and the run it rests on is that longer one."""
    from planner.core.simulate import rate_point
    sm = steps(overhead=0.02, per_seq=5e-4, per_kv=1e-6, per_prefill=3e-4)
    sched = Scheduler(kind="vllm", max_seqs=64, token_budget=2048, kv_capacity_tokens=50_000, block_size=16)
    short = capacity_at_slo_sim(sm, sched, 512, 64, 1.0, 0.1, steady=False)
    steady = capacity_at_slo_sim(sm, sched, 512, 64, 1.0, 0.1)
    assert rate_point(sm, sched, 512, 64, short.requests_per_s, n_requests=6400).itl_p95_s > 0.1
    assert steady.requests_per_s < short.requests_per_s and steady.at.n_requests == 1600
    check = rate_point(sm, sched, 512, 64, steady.requests_per_s, n_requests=1600, seed=1)  # the confirming run
    assert steady.at == check and steady.at in steady.curve and check.ttft_p95_s <= 1.0 and check.itl_p95_s <= 0.1
    assert capacity_at_slo_sim(sm, sched, 512, 64, 1.0, 0.1, max_requests=400).requests_per_s == short.requests_per_s


def test_tpot_is_each_requests_mean_gap_and_an_slo_can_limit_either_figure():
    from planner.core.simulate import rate_point
    sm = steps(overhead=0.02, per_seq=5e-4, per_kv=1e-6, per_prefill=3e-4)
    sched = Scheduler(kind="vllm", max_seqs=16, token_budget=512, kv_capacity_tokens=50_000, block_size=16)
    res = simulate(sm, sched, poisson_arrivals(8.0, 400, seed=0), 300, 40)
    tpot = (res.e2e_s - res.ttft_s) / 39
    point = rate_point(sm, sched, 300, 40, 8.0, warmup=0.0, drain=0.0)
    assert point.tpot_p95_s == pytest.approx(np.percentile(tpot, 95)) and point.tpot_p50_s == pytest.approx(np.median(tpot))
    assert point.tpot_p95_s < point.itl_p95_s  # a stall is one gap of the pooled p95, a 39th of one request's mean
    by_itl = capacity_at_slo_sim(sm, sched, 300, 40, 5.0, 0.05)
    by_tpot = capacity_at_slo_sim(sm, sched, 300, 40, 5.0, 0.05, itl_metric="tpot")
    assert by_tpot.at.tpot_p95_s <= 0.05 and by_itl.at.itl_p95_s <= 0.05
    assert by_tpot.requests_per_s != by_itl.requests_per_s
    with pytest.raises(InputError, match="itl or tpot"):
        capacity_at_slo_sim(sm, sched, 300, 40, 5.0, 0.05, itl_metric="p99")  # type: ignore[arg-type]


@given(a=st.floats(0.0, 0.1), b=st.floats(0.0, 1e-3) | st.floats(1e-300, 1e-12), d=st.floats(-1.0, 50.0))
@settings(max_examples=300, deadline=None)
def test_a_decode_stretch_stops_at_the_first_step_ending_at_or_after_the_next_arrival(a, b, d):
    """The closed form (a quadratic's root, made exact in integers) against the cumulative sum it replaced, including
    increments so small the textbook root cancels to nothing (a run away of the integer search, once)."""
    from planner.core.simulate import _steps_to_reach
    if a == 0 and b == 0:
        return
    m = _steps_to_reach(a, b, d)
    if m > 2 ** 40:  # a stretch this long is bounded by its other limits (requests finishing, the KV cache)
        return
    total = lambda k: k * a + b * k * (k - 1) / 2  # noqa: E731
    assert m >= 1 and (total(m) >= d or m == 1) and (m == 1 or total(m - 1) < d)
    if m <= 10_000:
        # the cumulative sum rounds as it adds: where a step ends within rounding of d, either side is the same answer
        near = min(abs(total(m) - d), abs(total(m - 1) - d)) < 1e-12 * max(1.0, d)
        assert m == int(np.searchsorted(np.cumsum(a + b * np.arange(m + 1)), d)) + 1 or near


# ------------------------------------------------------------------------------------------ length mixes, shared prefixes

def test_a_two_point_length_mix_against_the_hand_computed_latencies():
    # one slot, requests far apart (never overlapping): each request's TTFT is one step of its whole prompt,
    # 10 ms + n_in × 1 ms (a 1,000-token prompt takes two 512-token ubatches: one more 10 ms pass), and each later
    # token one 10 ms step. Mix: 80 % 100 → 5 tokens, 20 % 1,000 → 2 tokens.
    sm = steps(overhead=0.01, per_prefill=1e-3)
    sched = Scheduler(kind="slots", max_seqs=1)
    mix = RequestMix.from_arrays([100, 1000], [5, 2], weights=[0.8, 0.2])
    n_in, n_out, _, _ = mix.draw(400, seed=5)
    res = simulate(sm, sched, np.arange(400) * 100.0, n_in, n_out)
    ttft = 0.01 + n_in * 1e-3 + 0.01 * (n_in > 512)
    assert res.ttft_s == pytest.approx(ttft)
    assert res.e2e_s == pytest.approx(ttft + (n_out - 1) * 0.01)
    assert np.mean(n_in == 1000) == pytest.approx(0.2, abs=0.05)  # drawn with the mix's weights
    same, drawn_out = simulate_mix(sm, sched, mix, 1e-3, 400, seed=5)  # the run a rate point makes draws the same requests
    assert drawn_out.tolist() == n_out.tolist()
    p = rate_point(sm, sched, 0, 0, 1e-3, mix=mix, seed=5)
    assert p.ttft_p50_s == pytest.approx(0.11) and p.ttft_p95_s == pytest.approx(1.02)
    assert p.tpot_p95_s == pytest.approx(0.01)
    # the mean shape (280 → 3 tokens) meets a 0.5 s TTFT at p95; the mix, whose long fifth takes 1.01 s, never does
    assert capacity_at_slo_sim(sm, sched, mix.mean_in, mix.mean_out, 0.5, 1.0).requests_per_s > 0
    assert capacity_at_slo_sim(sm, sched, 0, 0, 0.5, 1.0, mix=mix).requests_per_s == 0
    # a one-point mix is the fixed shape, run for run
    one = RequestMix.fixed(100, 5)
    assert rate_point(sm, sched, 100, 5, 2.0) == rate_point(sm, sched, 7, 7, 2.0, mix=one)


@pytest.mark.parametrize("kind", ["vllm", "slots"])
def test_a_cached_prefix_skips_its_prefill_and_ttft_drops_by_the_computed_share(kind):
    # 1,000-token prompts whose first 810 tokens are one shared prefix; 1 ms a prompt token, 10 ms a step, requests far
    # apart. vLLM reuses whole 16-token blocks: 800 tokens, leaving 200 to prefill; llama-server's one slot keeps the
    # last prompt and reuses the common prefix, all 810. The first request computes the prefix itself.
    sm = steps(overhead=0.01, per_prefill=1e-3)
    sched = Scheduler(kind=kind, max_seqs=1 if kind == "slots" else 8, block_size=16)
    n = 6
    arrivals = np.arange(n) * 100.0
    res = simulate(sm, sched, arrivals, 1000, 3, 810, 0)
    reused = 800 if kind == "vllm" else 810
    cold_ttft = 0.01 + 1.0 + (0.01 if kind == "slots" else 0.0)  # llama-server: 1,000 tokens are two 512-token ubatches
    assert res.ttft_s[0] == pytest.approx(cold_ttft)
    assert res.ttft_s[1:] == pytest.approx(np.full(n - 1, 0.01 + (1000 - reused) * 1e-3))
    assert res.cached_tokens == reused * (n - 1)  # the prefill load drops by exactly the cached tokens
    cold = simulate(sm, sched, arrivals, 1000, 3)
    assert cold.ttft_s == pytest.approx(np.full(n, cold_ttft)) and cold.cached_tokens == 0
    # distinct prefixes unknown (UNSHARED): every cached span is a hit, the first request's too
    unshared = simulate(sm, sched, arrivals, 1000, 3, 810, UNSHARED)
    assert unshared.ttft_s == pytest.approx(np.full(n, 0.01 + (1000 - reused) * 1e-3))


def test_llama_server_slots_reuse_only_the_prompt_a_slot_kept():
    sm = steps(overhead=0.01, per_prefill=1e-3)
    arrivals = np.arange(8) * 100.0
    alternating = np.arange(8) % 2  # prefixes 0, 1, 0, 1, …
    one_slot = simulate(sm, Scheduler(kind="slots", max_seqs=1, ram_prompt_cache=False), arrivals, 1000, 3, 810, alternating)
    assert one_slot.cached_tokens == 0  # the one slot always holds the other prefix
    two_slots = simulate(sm, Scheduler(kind="slots", max_seqs=2, ram_prompt_cache=False), arrivals, 1000, 3, 810, alternating)
    assert two_slots.cached_tokens == 810 * 6  # each prefix keeps a slot: only the first of each misses
    # with the RAM prompt cache (llama-server's default) the one slot saves each prompt before it takes the other and
    # restores it from RAM: 810 of a saved 1,003 tokens is over a quarter, so again only the first of each prefix misses
    ram = simulate(sm, Scheduler(kind="slots", max_seqs=1), arrivals, 1000, 3, 810, alternating)
    assert ram.cached_tokens == 810 * 6
    # a restore needs the shared prefix to be at least a quarter of the saved prompt: 200 of 1,003 tokens is not
    short = simulate(sm, Scheduler(kind="slots", max_seqs=1), arrivals, 1000, 3, 200, alternating)
    assert short.cached_tokens == 0


@pytest.mark.parametrize(("kv_tokens", "hits"), [(2048, 2), (1200, 0)])
def test_vllm_evicts_unreferenced_prefixes_least_recently_used_first_under_kv_pressure(kv_tokens, hits):
    # prefixes 0, 1, 0, 1 of 800 tokens (50 blocks) in 1,010-token requests (64 blocks), one at a time. 128 blocks hold
    # both freed prefixes beside a running request: requests 3 and 4 hit. 75 blocks cannot: each request evicts the
    # other prefix (the least recently used), and every request misses.
    sched = Scheduler(kind="vllm", max_seqs=8, block_size=16, kv_capacity_tokens=kv_tokens)
    res = simulate(steps(overhead=0.01, per_prefill=1e-3), sched, np.arange(4) * 100.0, 1000, 10, 800, [0, 1, 0, 1])
    assert res.cached_tokens == 800 * hits


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**31), kind=st.sampled_from(["vllm", "slots"]), kv=st.sampled_from([None, 150, 400, 3000]),
       block=st.sampled_from([1, 16]), budget=st.sampled_from([32, 512]), max_seqs=st.integers(1, 12),
       n_prefixes=st.sampled_from([1, 3, None]))
def test_with_shared_prefixes_the_decode_jump_still_equals_stepping_and_the_kv_books_balance(seed, kind, kv, block, budget, max_seqs,
                                                                                            n_prefixes):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 40))
    arrivals = np.sort(rng.uniform(0, rng.choice([0.1, 2.0]), n))
    tin, tout = rng.integers(20, 80, n), rng.integers(1, 30, n)
    cached = np.where(rng.random(n) < 0.7, rng.integers(0, 20, n), 0)
    pid = rng.integers(0, n_prefixes, n) if n_prefixes else UNSHARED
    sm = steps(overhead=1e-3, per_seq=2e-4, per_kv=3e-6, per_prefill=5e-5, per_pair=1e-8, per_request=2e-4)
    sched = Scheduler(kind=kind, max_seqs=max_seqs, token_budget=budget, kv_capacity_tokens=kv, block_size=block)
    ends = []
    real_result = _Server.result

    def result(self):  # every request has left: no block may still be counted in use
        ends.append((self.used_blocks, self.ref_blocks, self.free_cached_blocks, self.cap_blocks, dict(self.ref)))
        return real_result(self)
    with pytest.MonkeyPatch.context() as m:
        m.setattr(_Server, "result", result)
        fast = simulate(sm, sched, arrivals, tin, tout, cached, pid)
        m.setattr(_Server, "decode_stretch", lambda self: False)
        slow = simulate(sm, sched, arrivals, tin, tout, cached, pid)
    assert fast.preemptions == slow.preemptions and fast.cached_tokens == slow.cached_tokens
    assert fast.ttft_s == pytest.approx(slow.ttft_s, rel=1e-9) and fast.e2e_s == pytest.approx(slow.e2e_s, rel=1e-9)
    assert _gaps(fast) == pytest.approx(_gaps(slow), rel=1e-9)
    for used, ref_blocks, free_cached, cap, ref in ends:
        assert used == 0 and ref_blocks == 0 and ref == {}
        assert kv is None or kind == "slots" or free_cached <= cap
    # a hit never makes a request slower than the same run without any cache
    cold = simulate(sm, sched, arrivals, tin, tout)
    assert fast.cached_tokens <= int(np.minimum(cached, tin - 1).sum()) * (1 + fast.preemptions)
    assert cold.cached_tokens == 0


def test_a_request_reuses_no_more_of_a_prefix_than_the_cache_holds():
    # the first request of prefix 0 cached 320 of its tokens; the second would share 640, but only 320 are cached
    sm = steps(overhead=0.01, per_prefill=1e-3)
    sched = Scheduler(kind="vllm", max_seqs=8, block_size=16)
    res = simulate(sm, sched, [0.0, 100.0], 1000, 3, [320, 640], 0)
    assert res.cached_tokens == 320
    assert res.ttft_s[1] == pytest.approx(0.01 + (1000 - 320) * 1e-3)


def test_llama_server_slots_are_not_allocated_beyond_the_runs_requests():
    # a profile can state billions of slots (a fuzzed profile did: 7.3e9, a MemoryError); only n requests ever use one
    res = simulate(steps(overhead=0.01, per_prefill=0.001), Scheduler(kind="slots", max_seqs=7_284_609_390), np.array([0.0, 0.0]), 100, 4)
    assert np.isfinite(res.ttft_s).all() and res.ttft_s[0] == res.ttft_s[1]


def test_llama_server_pays_a_forward_pass_per_run_of_consecutive_busy_slots():
    # llama-server with one KV stream per slot splits a step into a pass per run of consecutive busy slot ids
    # (split_equal). Three 1-token prompts at t=0 take slots 2, 1, 0 (never-used slots: the highest id first) and
    # decode together at 10 ms a step; the middle one leaves after its 5th token (50 ms): slots 2 and 0 are no longer
    # consecutive, every later step is two passes, 20 ms, and the first request's other 25 tokens take 0.5 s
    sm = steps(overhead=0.01)
    split = simulate(sm, Scheduler(kind="slots", max_seqs=3), np.zeros(3), 1, [30, 5, 30])
    assert split.e2e_s.tolist() == pytest.approx([0.05 + 25 * 0.02, 0.05, 0.05 + 25 * 0.02])
    one_pass = simulate(sm, Scheduler(kind="slots", max_seqs=3, slot_passes=False), np.zeros(3), 1, [30, 5, 30])
    assert one_pass.e2e_s.tolist() == pytest.approx([0.3, 0.05, 0.3])
    # a server calibration's step offset is per step, the extra pass costs the engine's own fixed cost (`pass_s`)
    from dataclasses import replace
    calibrated = simulate(replace(sm, overhead_s=0.013, pass_s=0.01), Scheduler(kind="slots", max_seqs=3), np.zeros(3), 1, [30, 5, 30])
    assert calibrated.e2e_s[0] == pytest.approx(5 * 0.013 + 25 * (0.013 + 0.01))


def test_llama_server_prompt_tokens_past_a_ubatch_take_further_passes():
    # 1,200 prompt tokens at 1 ms each with -ub 512: ⌈1200/512⌉ = 3 passes, so two more fixed costs in the TTFT
    sm = steps(overhead=0.01, per_prefill=1e-3)
    res = simulate(sm, Scheduler(kind="slots", max_seqs=2), np.zeros(1), 1200, 2)
    assert res.ttft_s[0] == pytest.approx(3 * 0.01 + 1.2)
    assert simulate(sm, Scheduler(kind="slots", max_seqs=2, ubatch_tokens=2048), np.zeros(1), 1200, 2).ttft_s[0] == pytest.approx(0.01 + 1.2)


def test_a_server_calibration_adds_its_offset_per_step_and_keeps_the_engines_pass_cost():
    from planner.core.validation import ServerCalibration
    step, _ = ServerCalibration(0.003, 0.0).apply(steps(overhead=0.01), Scheduler(kind="slots"))
    assert step.overhead_s == pytest.approx(0.013) and step.pass_s == 0.01
    again, _ = ServerCalibration(0.003, 0.0).apply(step, Scheduler(kind="slots"))  # applied twice: still the engine's
    assert again.pass_s == 0.01


def test_a_prompt_beside_a_decoding_slot_takes_one_token_in_its_pass_and_the_rest_after():
    # slot 1 decodes (its 1-token prompt ends at 11 ms, then 10 ms steps); a 600-token prompt arrives at 25 ms and is
    # admitted at 31 ms into slot 0, next to it: split_equal gives it one token in the shared pass and ⌈599 / 512⌉ = 2
    # passes more, so its step is 10 ms × 3 + 600 × 1 ms
    sm = steps(overhead=0.01, per_prefill=1e-3)
    res = simulate(sm, Scheduler(kind="slots", max_seqs=2), np.array([0.0, 0.025]), [1, 600], [50, 2])
    assert res.ttft_s[1] == pytest.approx(0.031 + 3 * 0.01 + 0.6 - 0.025)
