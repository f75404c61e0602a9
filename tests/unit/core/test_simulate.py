"""The continuous-batching simulator and the step model against cases computable by hand."""
import numpy as np
import pytest

from planner.core.errors import InputError
from planner.core.records import ConcurrencyPoint, DecodePoint, PrefillPoint
from planner.core.simulate import Scheduler, capacity_at_slo_sim, poisson_arrivals, simulate
from planner.core.stepmodel import StepModel, fit_step_model
from tests.factories import flat, make_profile


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


def test_step_model_recovers_known_coefficients():
    a, b, c, d, e, r = 0.004, 0.002, 2e-6, 5e-4, 1e-7, 0.01  # s, s/seq, s/KV token, s/prompt token, s/attention pair, s/request
    prof = make_profile()
    prof.settings.concurrency_gen_tokens, prof.engine.n_batch = 32, 4096  # typed fields (profile schema v3), not `extra`
    prof.decode = [DecodePoint(context_depth=depth, gen_tokens=64, tok_s=flat(1 / (a + b + c * (depth + 32)))) for depth in (0, 1024, 4096)]
    prof.prefill = [PrefillPoint(prompt_tokens=n, tok_s=flat(n / (a + d * n + e * n * n / 2 + r))) for n in (128, 512, 2048)]
    prof.concurrency_sweep = [ConcurrencyPoint(
        concurrency=k, context_depth=128, aggregate_decode_tok_s=flat(k / (a + b * k + c * k * 144)), per_stream_decode_tok_s=flat(1.0),
        step_latency_ms=flat(1.0, "ms"), prefill_ms=flat(1000 * (a + d * 128 * k + e * k * 128 ** 2 / 2 + r * k), "ms")) for k in (1, 4, 16)]
    m = fit_step_model(prof)
    assert (m.overhead_s, m.per_seq_s, m.per_kv_token_s, m.per_prefill_token_s, m.per_prefill_pair_s, m.per_request_s) == pytest.approx(
        (a, b, c, d, e, r), rel=1e-6)
    assert m.fit_rms_pct < 1e-6 and m.measured_batch == 16 and m.measured_prompt == 2048
    assert m.outside_range(4096, 128) == ["prompt 4,096 tokens > longest measured prefill 2,048",
                                          "context 4,224 tokens > deepest measured decode 4,160"]


def test_a_short_load_test_can_pass_above_saturation_but_a_plan_never_counts_it():
    from planner.core.simulate import saturation_rate
    sm = steps(overhead=0.02, per_seq=5e-4, per_prefill=3e-4)
    sched = Scheduler(kind="vllm", max_seqs=8, token_budget=2048)
    sat = saturation_rate(sm, sched, 256, 256)
    plan = capacity_at_slo_sim(sm, sched, 256, 256, 30.0, 1.0)
    short = capacity_at_slo_sim(sm, sched, 256, 256, 30.0, 1.0, n_requests=20, warmup=0.0, sustained=False)
    assert plan.requests_per_s <= sat < short.requests_per_s
