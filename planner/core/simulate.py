"""A discrete-event simulation of one continuous-batching server, and the capacity at an SLO it implies.

Why simulate: a closed form misses what decides p95 latency on a batching server — a request's TTFT waits behind
the queue and behind other prompts' prefill, and every decoding request's inter-token gap stretches whenever a step
also carries someone else's prompt. The simulator replays the server's scheduler step by step:

- vLLM-style (`kind="vllm"`, after vLLM V1's scheduler): each step first gives every running request its next token
  (decoding: 1 token; still prefilling: the next chunk of its prompt), then admits waiting requests first-come
  first-served while the step's token budget, the sequence limit and the KV cache allow (chunked prefill). When the
  KV cache cannot hold the next tokens, the most recently admitted request is preempted: its KV is freed and it
  goes back to the front of the queue to recompute its prompt and what it had generated.
- llama-server-style (`kind="slots"`): `max_seqs` slots, each with its own share of the context; a request waits
  for a free slot; prompt tokens of prefilling slots fill the batch after the decode tokens (n_batch); no preemption.

A step lasts `StepModel.step_s(B, K, P)` — fitted on the engine profile, never on serving measurements. A request's
first token leaves at the end of the step that completes its prompt; one token per step after that. Stretches of
pure decoding with no event in between are advanced in one vectorised jump, which keeps a 400-request run at tens of
milliseconds. Arrivals are open-loop Poisson (or gamma, for burstiness) from a seeded generator, so every result is
deterministic and rates share their random numbers (common random numbers: the latency-vs-rate curve is smooth).
"""
from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np

from planner.core.errors import InputError
from planner.core.stepmodel import StepModel


@dataclass(frozen=True)
class Scheduler:
    """The server's scheduling limits, and its own per-request overhead outside the engine steps."""

    kind: Literal["vllm", "slots"] = "vllm"
    max_seqs: int = 256
    token_budget: int = 2048
    kv_capacity_tokens: int | None = None  # vllm: the KV cache the engine allocated (None: unbounded)
    block_size: int = 16  # vllm allocates KV in blocks of this many tokens
    ttft_overhead_s: float = 0.0  # HTTP, tokenising, first chunk: calibrated on single requests through the server

    def __post_init__(self) -> None:
        if self.kind not in ("vllm", "slots"):
            raise InputError(f"scheduler kind: use 'vllm' or 'slots' (got {self.kind!r})")
        if self.max_seqs < 1 or self.token_budget < 1 or self.block_size < 1 or self.ttft_overhead_s < 0:
            raise InputError("scheduler: max_seqs, token_budget and block_size must be positive, the overhead non-negative")


@dataclass
class SimResult:
    """Per-request TTFT and end-to-end latency, every inter-token gap (values × how many requests saw it)."""

    arrivals_s: np.ndarray
    ttft_s: np.ndarray
    e2e_s: np.ndarray
    itl_values_s: np.ndarray
    itl_weights: np.ndarray
    duration_s: float
    preemptions: int
    mean_running: float  # time-averaged number of running requests

    def ttft_pct(self, q: float = 95) -> float:
        return float(np.percentile(self.ttft_s, q))

    def e2e_pct(self, q: float = 95) -> float:
        return float(np.percentile(self.e2e_s, q))

    def itl_pct(self, q: float = 95) -> float:
        """Weighted percentile of all gaps pooled over requests (what `vllm bench serve` and our load generator report)."""
        if self.itl_values_s.size == 0:
            return float("nan")
        order = np.argsort(self.itl_values_s, kind="stable")
        cum = np.cumsum(self.itl_weights[order])
        return float(self.itl_values_s[order][np.searchsorted(cum, q / 100 * cum[-1])])


def simulate(step: StepModel, sched: Scheduler, arrivals_s, tokens_in, tokens_out) -> SimResult:
    """Run every request to completion; arrays of arrival times (sorted), prompt and output tokens per request."""
    arr = [float(x) for x in np.asarray(arrivals_s, float)]
    n_in = [int(x) for x in np.broadcast_to(np.asarray(tokens_in, int), (len(arr),))]
    n_out = [int(x) for x in np.broadcast_to(np.asarray(tokens_out, int), (len(arr),))]
    n = len(arr)
    if n == 0 or any(b < a for a, b in zip(arr, arr[1:])) or min(n_out) < 1 or min(n_in) < 1:
        raise InputError("simulate: need sorted arrivals, prompts of at least 1 token and outputs of at least 1 token")
    a0, b0, c0, d0, e0, r0 = (step.overhead_s, step.per_seq_s, step.per_kv_token_s, step.per_prefill_token_s, step.per_prefill_pair_s,
                              step.per_request_s)
    moe = (lambda tokens: float(step.experts_s(tokens))) if step.expert_read_s else (lambda tokens: 0.0)
    budget, max_seqs, block = sched.token_budget, sched.max_seqs, sched.block_size
    paged = sched.kind == "vllm" and sched.kv_capacity_tokens is not None
    cap_blocks = (sched.kv_capacity_tokens // block) if paged else 0
    if paged and max(math.ceil((i + o) / block) for i, o in zip(n_in, n_out)) > cap_blocks:
        raise InputError(f"simulate: a request of {max(n_in)}+{max(n_out)} tokens does not fit the {sched.kv_capacity_tokens:,}-token KV cache")

    prompt_left = list(n_in)  # tokens still to prefill (grows again after a preemption: recompute)
    computed = [0] * n  # tokens in the KV cache
    gen = [0] * n
    first = [math.nan] * n
    last_tok = [0.0] * n
    finish = [math.nan] * n
    waiting: deque[int] = deque()
    running: list[int] = []
    itl_vals: list[np.ndarray] = []
    itl_batch: list[int] = []
    slow_gaps: list[float] = []
    t = 0.0
    nxt = 0
    done = 0
    preemptions = 0
    used_blocks = 0
    area = 0.0  # ∫ running dt

    def blocks(tokens: int) -> int:
        return -(-tokens // block)

    while done < n:
        while nxt < n and arr[nxt] <= t:
            waiting.append(nxt)
            nxt += 1
        if not running and not waiting:
            t = arr[nxt]
            continue
        all_decoding = all(prompt_left[i] == 0 for i in running)
        if running and all_decoding and (not waiting or len(running) >= max_seqs):
            # fast path: B requests decode together until the first finishes, an arrival could be admitted, or KV runs out
            bsz = len(running)
            steps = min(n_out[i] - gen[i] for i in running)
            kv0 = sum(computed[i] for i in running)
            if paged:  # no request may need a block the cache does not have: within min slack nobody needs one, and past
                # it each needs at most one block per `block` steps
                min_slack = min(blocks(computed[i]) * block - computed[i] for i in running)
                steps = min(steps, min_slack + block * ((cap_blocks - used_blocks) // bsz))
            if steps >= 1:
                dts = (a0 + b0 * bsz + c0 * kv0 + moe(bsz)) + (c0 * bsz) * np.arange(steps)
                if nxt < n and len(running) < max_seqs:
                    ends = t + np.cumsum(dts)
                    steps = min(steps, int(np.searchsorted(ends, arr[nxt])) + 1)
                    dts = dts[:steps]
                dur = float(dts.sum())
                t += dur
                area += bsz * dur
                itl_vals.append(dts)
                itl_batch.append(bsz)  # every gap of this stretch was seen by bsz requests (weights built once, at the end)
                still = []
                for i in running:
                    gen[i] += steps
                    computed[i] += steps
                    last_tok[i] = t
                    if gen[i] >= n_out[i]:
                        finish[i] = t
                        done += 1
                    else:
                        still.append(i)
                if paged:
                    used_blocks = sum(blocks(computed[i]) for i in still)
                running = still
                continue

        # one ordinary step: running requests first, then admissions
        room = budget
        plan: list[tuple[int, int]] = []  # (request, tokens this step)
        k = 0
        while k < len(running) and room > 0:
            i = running[k]
            want = min(prompt_left[i], room) if prompt_left[i] else 1
            if paged:
                need = blocks(computed[i] + want) - blocks(computed[i])
                while need > cap_blocks - used_blocks and len(running) - 1 > k:
                    victim = running.pop()  # the most recently admitted request gives its KV back
                    used_blocks -= blocks(computed[victim])
                    prompt_left[victim] = n_in[victim] + gen[victim]
                    computed[victim] = 0
                    waiting.appendleft(victim)
                    preemptions += 1
                if need > cap_blocks - used_blocks:
                    break
                used_blocks += need
            plan.append((i, want))
            room -= want
            k += 1
        while waiting and room > 0 and len(running) < max_seqs:
            i = waiting[0]
            want = min(prompt_left[i], room)
            if paged:
                need = blocks(want)
                if need > cap_blocks - used_blocks:
                    break
                used_blocks += need
            waiting.popleft()
            running.append(i)
            plan.append((i, want))
            room -= want
        if not plan:  # nothing schedulable (cannot happen with the fit check above); wait for the next arrival
            if nxt >= n:
                raise InputError("simulate: the KV cache cannot hold even one request")
            t = max(t, arr[nxt])
            continue
        decoding = [i for i, w in plan if prompt_left[i] == 0]
        kv = sum(computed[i] for i in decoding)
        prefill = sum(w for i, w in plan if prompt_left[i])
        pairs = sum(w * (computed[i] + w / 2) for i, w in plan if prompt_left[i]) if e0 else 0.0
        starting = sum(1 for i, w in plan if prompt_left[i] and computed[i] == 0)
        dt = a0 + b0 * len(decoding) + c0 * kv + d0 * prefill + e0 * pairs + r0 * starting + moe(len(decoding) + prefill)
        t += dt
        area += len(running) * dt
        finished = set()
        for i, w in plan:
            computed[i] += w
            if prompt_left[i]:
                prompt_left[i] -= w
                if prompt_left[i]:
                    continue
                if gen[i] == 0:
                    first[i] = t
                else:  # resumed after preemption: the gap since its last token
                    slow_gaps.append(t - last_tok[i])
                gen[i] += 1
            else:
                slow_gaps.append(t - last_tok[i])
                gen[i] += 1
            last_tok[i] = t
            if gen[i] >= n_out[i]:
                finish[i] = t
                done += 1
                finished.add(i)
                if paged:
                    used_blocks -= blocks(computed[i])
        if finished:
            running = [i for i in running if i not in finished]

    arr_a = np.asarray(arr)
    weights = np.repeat(np.asarray(itl_batch, float), [len(v) for v in itl_vals]) if itl_vals else np.empty(0)
    if slow_gaps:
        itl_vals.append(np.asarray(slow_gaps))
        weights = np.concatenate([weights, np.ones(len(slow_gaps))])
    values = np.concatenate(itl_vals) if itl_vals else np.empty(0)
    return SimResult(arrivals_s=arr_a, ttft_s=np.asarray(first) - arr_a + sched.ttft_overhead_s,
                     e2e_s=np.asarray(finish) - arr_a + sched.ttft_overhead_s, itl_values_s=values, itl_weights=weights,
                     duration_s=t, preemptions=preemptions, mean_running=area / t if t > 0 else 0.0)


# --------------------------------------------------------------------------------------------------- arrivals

def poisson_arrivals(rate_per_s: float, n: int, *, seed: int = 0, burstiness: float = 1.0) -> np.ndarray:
    """Open-loop arrival times: gamma inter-arrival gaps with mean 1/rate (burstiness 1 = Poisson; < 1 burstier).

    The same seed gives the same unit-rate draws at every rate (common random numbers), as `vllm bench serve` does.
    """
    if rate_per_s <= 0 or n < 1 or burstiness <= 0:
        raise InputError("arrivals: rate, request count and burstiness must be positive")
    rng = np.random.default_rng(seed)
    gaps = rng.exponential(1.0, n) if burstiness == 1.0 else rng.gamma(burstiness, 1.0 / burstiness, n)
    return np.cumsum(gaps) / rate_per_s


# --------------------------------------------------------------------------------------------------- capacity at an SLO

@dataclass(frozen=True)
class RatePoint:
    """Latency percentiles of a simulated run at one offered rate."""

    rate_per_s: float
    ttft_p95_s: float
    itl_p95_s: float
    e2e_p95_s: float
    ttft_p50_s: float
    itl_p50_s: float
    mean_running: float
    throughput_per_s: float
    preemptions: int


N_REQUESTS = 400  # per simulated run: p95 from 360 requests after the warm-up tenth
WARMUP_FRACTION = 0.1


@lru_cache(maxsize=65536)
def _rate_point(step: StepModel, sched: Scheduler, tokens_in: int, tokens_out: int, rate: float, n_requests: int, seed: int,
                burstiness: float, q: float, warmup: float) -> RatePoint:
    arrivals = poisson_arrivals(rate, n_requests, seed=seed, burstiness=burstiness)
    res = simulate(step, sched, arrivals, tokens_in, tokens_out)
    keep = slice(int(warmup * n_requests), None)  # the empty-server start is not steady state
    ttft, e2e = res.ttft_s[keep], res.e2e_s[keep]
    return RatePoint(rate_per_s=rate, ttft_p95_s=float(np.percentile(ttft, q)), itl_p95_s=res.itl_pct(q) if tokens_out > 1 else 0.0,
                     e2e_p95_s=float(np.percentile(e2e, q)), ttft_p50_s=float(np.percentile(ttft, 50)),
                     itl_p50_s=res.itl_pct(50) if tokens_out > 1 else 0.0, mean_running=res.mean_running,
                     throughput_per_s=n_requests / res.duration_s, preemptions=res.preemptions)


def rate_point(step: StepModel, sched: Scheduler, tokens_in: float, tokens_out: float, rate: float, *, n_requests: int = N_REQUESTS,
               seed: int = 0, burstiness: float = 1.0, q: float = 95, warmup: float = WARMUP_FRACTION) -> RatePoint:
    """Percentiles at one offered rate (cached: the dashboard asks the same questions again). `warmup`: the share of
    first requests left out of the percentiles (0 counts every request, as a finite load test does)."""
    return _rate_point(step, sched, max(1, round(tokens_in)), max(1, round(tokens_out)), float(rate), int(n_requests), int(seed),
                       float(burstiness), float(q), float(warmup))


def saturation_rate(step: StepModel, sched: Scheduler, tokens_in: float, tokens_out: float) -> float:
    """Requests/s at full batch (an upper bound for the search): the largest batch the sequence limit and the KV
    cache allow, each request paying its prompt's prefill and its share of the decode steps."""
    ctx = tokens_in + tokens_out / 2
    batch = sched.max_seqs
    if sched.kind == "vllm" and sched.kv_capacity_tokens:
        batch = max(1, min(batch, sched.kv_capacity_tokens // max(1, int(tokens_in + tokens_out))))
    per_request = (step.per_request_s + tokens_in * step.per_prefill_token_s + step.per_prefill_pair_s * tokens_in ** 2 / 2
                   + tokens_out * step.step_s(batch, batch * ctx, 0) / batch)
    per_request += (step.overhead_s + float(step.experts_s(sched.token_budget))) * tokens_in / sched.token_budget
    return 1.0 / per_request


@dataclass(frozen=True)
class SloCapacity:
    """The highest offered rate whose p95 TTFT and ITL meet the SLO (0 when none does), and the latencies there."""

    requests_per_s: float
    at: RatePoint | None  # the simulated point at that rate (None when infeasible)
    alone: RatePoint  # one request at a time (the best latencies this server can give this workload)
    curve: tuple[RatePoint, ...]  # every rate simulated, ascending


def _meets(p: RatePoint, ttft_slo_s: float, itl_slo_s: float) -> bool:
    return p.ttft_p95_s <= ttft_slo_s and p.itl_p95_s <= itl_slo_s


def capacity_at_slo_sim(step: StepModel, sched: Scheduler, tokens_in: float, tokens_out: float, ttft_slo_s: float, itl_slo_s: float, *,
                        q: float = 95, grid_points: int = 16, refine: int = 5, n_requests: int = N_REQUESTS, seed: int = 0,
                        burstiness: float = 1.0, warmup: float = WARMUP_FRACTION, sustained: bool = True) -> SloCapacity:
    """Bracket the SLO on a geometric grid of rates up to saturation, then bisect `refine` times inside the bracket.

    Every run is cached, so other SLOs at the same workload reuse the grid (`refine=0`: interpolate, no new runs).
    `sustained=False` predicts one finite run of `n_requests` as a load test makes it: a short run offered more than
    the server can sustain may still meet the SLO before its queue builds, so rates above saturation count too.
    """
    if not (ttft_slo_s > 0 and itl_slo_s > 0):
        raise InputError("ttft_slo_s / itl_slo_s: latency limits must be positive seconds")
    sat = saturation_rate(step, sched, tokens_in, tokens_out)
    kw = dict(n_requests=n_requests, seed=seed, burstiness=burstiness, q=q, warmup=warmup)
    alone = rate_point(step, sched, tokens_in, tokens_out, sat * 1e-4, **kw)
    rates = sat * np.geomspace(0.02, 1.05 if sustained else 4.0, grid_points)
    curve = [rate_point(step, sched, tokens_in, tokens_out, r, **kw) for r in rates]
    if not _meets(alone, ttft_slo_s, itl_slo_s):
        return SloCapacity(0.0, None, alone, tuple(curve))

    def fine(p: RatePoint) -> bool:  # a finite run above saturation can still look fine; no such rate is sustainable
        return (p.rate_per_s <= sat or not sustained) and _meets(p, ttft_slo_s, itl_slo_s)
    ok = [fine(p) for p in curve]
    if all(ok):  # a finite run that meets the SLO at 4 × saturation: report the top of the grid
        return SloCapacity(curve[-1].rate_per_s, curve[-1], alone, tuple(curve))
    bad = ok.index(False)
    lo = curve[bad - 1] if bad else alone
    hi = curve[bad]
    extra = []
    for _ in range(refine):
        mid = math.sqrt(lo.rate_per_s * hi.rate_per_s)
        p = rate_point(step, sched, tokens_in, tokens_out, mid, **kw)
        extra.append(p)
        lo, hi = (p, hi) if fine(p) else (lo, p)
    if not refine:  # interpolate the crossing of the worse of the two latency ratios, in log rate
        def worst(p):
            return max(p.ttft_p95_s / ttft_slo_s, p.itl_p95_s / itl_slo_s)
        w0, w1 = worst(lo), worst(hi)
        f = min(1.0, max(0.0, (1 - w0) / (w1 - w0))) if w1 > w0 else 0.0
        rate = min(sat, float(np.exp(np.log(lo.rate_per_s) + f * (np.log(hi.rate_per_s) - np.log(lo.rate_per_s)))))
        return SloCapacity(rate, lo, alone, tuple(sorted(curve + extra, key=lambda p: p.rate_per_s)))
    return SloCapacity(lo.rate_per_s, lo, alone, tuple(sorted(curve + extra, key=lambda p: p.rate_per_s)))
