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
milliseconds. Arrivals are open-loop Poisson (or gamma, for burstiness; or a log's gaps replayed, `RequestMix.arrivals`)
from a seeded generator, so every result is
deterministic and rates share their random numbers (common random numbers: the latency-vs-rate curve is smooth).
"""
from __future__ import annotations

import math
from collections import OrderedDict, deque
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np

from planner.core.errors import InputError
from planner.core.lengths import NO_PREFIX, UNSHARED, RequestMix
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
    ram_prompt_cache: bool = True  # slots: llama-server's RAM prompt cache (`--cache-ram`, on by default: 8192 MiB)
    # slots: one KV stream per slot (`-np N` given, so not unified): llama_decode splits a step's batch into one forward
    # pass per run of consecutive busy slot ids (`split_equal`, llama-batch.cpp), each paying the step's fixed cost
    slot_passes: bool = True
    ubatch_tokens: int = 512  # slots: llama.cpp's -ub default; a prompt's tokens beyond it take further passes

    def __post_init__(self) -> None:
        if self.kind not in ("vllm", "slots"):
            raise InputError(f"scheduler kind: use 'vllm' or 'slots' (got {self.kind!r})")
        if self.max_seqs < 1 or self.token_budget < 1 or self.block_size < 1 or self.ubatch_tokens < 1 or self.ttft_overhead_s < 0:
            raise InputError("scheduler: max_seqs, token_budget, block_size and ubatch_tokens must be positive, the overhead non-negative")


@dataclass
class SimResult:
    """Per-request TTFT and end-to-end latency, every inter-token gap (values × how many requests saw it)."""

    arrivals_s: np.ndarray
    ttft_s: np.ndarray
    e2e_s: np.ndarray
    itl_values_s: np.ndarray
    itl_weights: np.ndarray
    itl_end_s: np.ndarray  # when each gap ended (its token left): the measurement window selects gaps by it
    duration_s: float
    preemptions: int
    mean_running: float  # time-averaged number of running requests
    cached_tokens: int = 0  # prompt tokens the last admissions took from the prompt cache (their prefill skipped)

    def ttft_pct(self, q: float = 95) -> float:
        return float(np.percentile(self.ttft_s, q))

    def e2e_pct(self, q: float = 95) -> float:
        return float(np.percentile(self.e2e_s, q))

    def itl_pct(self, q: float = 95) -> float:
        """Weighted percentile of all gaps pooled over requests (what `vllm bench serve` and our load generator report)."""
        return self.itl_pcts(q)[0]

    def itl_pcts(self, *qs: float, window: tuple[float, float] = (-np.inf, np.inf)) -> list[float]:
        """Several pooled-gap percentiles from one sort, of the gaps that ended inside `window` (seconds)."""
        inside = (self.itl_end_s >= window[0]) & (self.itl_end_s <= window[1])
        values, weights = self.itl_values_s[inside], self.itl_weights[inside]
        if values.size == 0:
            return [float("nan")] * len(qs)
        order = np.argsort(values, kind="stable")
        cum = np.cumsum(weights[order])
        values = values[order]
        return [float(values[np.searchsorted(cum, q / 100 * cum[-1])]) for q in qs]


def simulate(step: StepModel, sched: Scheduler, arrivals_s, tokens_in, tokens_out, cached_in=0, prefix_id=None) -> SimResult:
    """Run every request to completion; arrays of arrival times (sorted), prompt and output tokens per request, and
    (shared prefixes, `lengths.RequestMix.draw`) each request's cached span and prefix id (`_Server.admit_hit` says
    when a prefix is served from the cache).

    The loop, one event at a time: queue the requests that have arrived; if the server is idle, jump to the next
    arrival; if every running request is decoding and nothing can be admitted, jump over the whole stretch of pure
    decoding at once (`_Server.decode_stretch`); otherwise take one ordinary step (`_Server.schedule`, then
    `_Server.take_step`).
    """
    arr, n_in, n_out = _requests(arrivals_s, tokens_in, tokens_out)
    srv = _Server(step, sched, arr, n_in, n_out, _prefixes(len(arr), n_in, cached_in, prefix_id))
    n = len(arr)
    while srv.done < n:
        srv.queue_arrivals()
        if not srv.running and not srv.waiting:
            srv.t = arr[srv.nxt]  # idle: the next arrival
            continue
        if srv.prefilling == 0 and srv.running and (not srv.waiting or len(srv.running) >= srv.max_seqs) and srv.decode_stretch():
            continue
        plan = srv.schedule()
        if plan:
            srv.take_step(plan)
        elif srv.nxt < n:  # nothing schedulable (cannot happen after the fit check in _Server); wait for an arrival
            srv.t = max(srv.t, arr[srv.nxt])
        else:
            raise InputError("simulate: the KV cache cannot hold even one request")
    return srv.result()


def _requests(arrivals_s, tokens_in, tokens_out) -> tuple[list[float], list[int], list[int]]:
    """Arrival times, prompt and output tokens as Python lists (a step touches a few requests: lists beat arrays)."""
    arr = [float(x) for x in np.asarray(arrivals_s, float)]
    n_in = [int(x) for x in np.broadcast_to(np.asarray(tokens_in, int), (len(arr),))]
    n_out = [int(x) for x in np.broadcast_to(np.asarray(tokens_out, int), (len(arr),))]
    if not arr or any(b < a for a, b in zip(arr, arr[1:])) or min(n_out) < 1 or min(n_in) < 1:
        raise InputError("simulate: need sorted arrivals, prompts of at least 1 token and outputs of at least 1 token")
    return arr, n_in, n_out


def _prefixes(n: int, n_in: list[int], cached_in, prefix_id) -> tuple[list[int], list[int]] | None:
    """Per request its cached span (at most its prompt) and prefix id (`lengths.NO_PREFIX` / `UNSHARED` / 0…); None when
    no request has one (the server then skips the prefix bookkeeping)."""
    cached = np.broadcast_to(np.asarray(cached_in, np.int64), (n,))
    if not cached.any():
        return None
    pid = np.broadcast_to(np.asarray(UNSHARED if prefix_id is None else prefix_id, np.int64), (n,))
    if cached.min() < 0 or np.any(cached > np.asarray(n_in)):
        raise InputError("simulate: a cached span must be between 0 and its request's prompt length")
    return [int(x) for x in cached], [int(p) if c > 0 else NO_PREFIX for p, c in zip(pid, cached, strict=True)]


class _Server:
    """One server's state while `simulate` runs: the clock, the queue, the running batch, the KV blocks in use, and
    per request (indexed lists) its prompt still to prefill, tokens in the KV cache, tokens generated and times."""

    def __init__(self, step: StepModel, sched: Scheduler, arr: list[float], n_in: list[int], n_out: list[int],
                 prefixes: tuple[list[int], list[int]] | None = None) -> None:
        self.step, self.arr, self.n_in, self.n_out = step, arr, n_in, n_out
        self.slots = sched.kind == "slots"
        self.slot_passes = self.slots and sched.slot_passes
        self.ubatch = sched.ubatch_tokens
        self.budget, self.max_seqs, self.block = sched.token_budget, sched.max_seqs, sched.block_size
        self.ttft_overhead_s = sched.ttft_overhead_s
        self.paged = sched.kind == "vllm" and sched.kv_capacity_tokens is not None
        self.cap_blocks = (sched.kv_capacity_tokens // self.block) if self.paged else 0
        if self.paged and max(self.blocks(i + o) for i, o in zip(n_in, n_out)) > self.cap_blocks:
            raise InputError(f"simulate: a request of {max(n_in)}+{max(n_out)} tokens does not fit the "
                             f"{sched.kv_capacity_tokens:,}-token KV cache")
        n = len(arr)
        self.prompt_left = list(n_in)  # tokens still to prefill (grows again after a preemption: recompute)
        self.computed = [0] * n  # tokens in the KV cache
        self.gen = [0] * n  # tokens generated
        self.first = [math.nan] * n  # time of the first token
        self.last_tok = [0.0] * n
        self.finish = [math.nan] * n
        self.waiting: deque[int] = deque()
        self.running: list[int] = []  # in admission order (the last is preempted first)
        self.prefilling = 0  # running requests whose prompt is not yet in the KV cache
        self.skipped = False  # the last step left a running request without a token (budget or KV ran out before it)
        self.t = 0.0
        self.nxt = 0  # the next request to arrive
        self.done = 0
        self.preemptions = 0
        self.used_blocks = 0
        self.area = 0.0  # ∫ running dt, for the mean batch
        # the gaps of decode stretches, as arithmetic runs (start time, first step, increment, first k, end k, requests):
        # gap k lasts a + b·k and ends at start + S(k + 1), S(m) = m·a + b·m(m − 1)/2 (`_stretch_gaps` expands them)
        self.stretches: list[tuple[float, float, float, int, int, int]] = []
        self.step_gaps: list[float] = []  # the gaps that ended in an ordinary step, one request each
        self.step_gap_t: list[float] = []  # ... and when they ended
        # shared prefixes (None: no request has one)
        self.prefixes = prefixes is not None
        self.cached, self.pid = prefixes if prefixes is not None else ([], [])
        self.base = [0] * n  # prompt tokens a request's current admission took from the cache (its prefill starts there)
        self.shared = [0] * n  # of those, the tokens it references in a cached prefix's blocks (counted once for all)
        self.ref: dict[int, int] = {}  # vllm: cached prefix → requests referencing its blocks
        self.pref_tokens: dict[int, int] = {}  # vllm: cached prefix → its tokens in the cache (whole blocks)
        self.free_cached: OrderedDict[int, int] = OrderedDict()  # vllm: unreferenced cached prefixes → blocks, LRU first
        self.free_cached_blocks = 0
        self.ref_blocks = 0  # blocks of referenced prefixes (in `used_blocks` once)
        # llama-server's idle slots: (prefix, span, tokens kept, slot id), LRU first; no more than the run's requests can
        # ever use one. Never-used slots go highest id first (`get_available_slot`: on `t_last_used` ties the last wins)
        m = min(sched.max_seqs, n) if self.slots else 0
        self.idle_slots: deque[tuple[int, int, int, int]] = deque((NO_PREFIX, 0, 0, sched.max_seqs - 1 - k) for k in range(m))
        self.slot_of = [-1] * n  # slots: the slot each running request holds
        self.ram: dict[int, tuple[int, int]] | None = {} if self.slots and sched.ram_prompt_cache else None  # prefix → (span, tokens)

    def blocks(self, tokens: int) -> int:
        return -(-tokens // self.block)

    def queue_arrivals(self) -> None:
        arr, n = self.arr, len(self.arr)
        while self.nxt < n and arr[self.nxt] <= self.t:
            self.waiting.append(self.nxt)
            self.nxt += 1

    def decode_stretch(self) -> bool:
        """B requests decode together until the first finishes, an arrival could be admitted, or the KV cache runs
        out: all those steps at once, vectorised. False when not even one step fits (an ordinary step preempts)."""
        running, gen, computed, n_out = self.running, self.gen, self.computed, self.n_out
        bsz = len(running)
        steps = min(n_out[i] - gen[i] for i in running)
        kv0 = sum(computed[i] for i in running)
        if self.paged:  # no request may need a block the cache does not have: within the smallest slack to a block
            # boundary nobody needs one, and past it each needs at most one block per `block` steps
            block = self.block
            min_slack = min(-computed[i] % block for i in running)
            steps = min(steps, min_slack + block * ((self.cap_blocks - self.used_blocks) // bsz))
        if steps < 1:
            return False
        s = self.step
        c0 = s.per_kv_token_s
        a = s.overhead_s + s.per_seq_s * bsz + c0 * kv0 + self.moe_s(bsz)  # the first step ...
        if self.slot_passes:
            a += self.pass_cost(sorted((self.slot_of[i], 0) for i in running))
        b = c0 * bsz  # ... and each later one reads one more KV token per sequence
        if self.nxt < len(self.arr) and bsz < self.max_seqs:  # stop at the step that ends after the next arrival
            steps = min(steps, _steps_to_reach(a, b, self.arr[self.nxt] - self.t))
        dur = steps * a + b * steps * (steps - 1) / 2
        t0, t = self.t, self.t + dur
        self.t = t
        self.area += bsz * dur
        lagging = [i for i in running if self.last_tok[i] < t0] if self.skipped else []
        k0 = 0
        if lagging:  # a request the last step passed over waited two steps (or more) for this stretch's first token
            self.step_gaps.extend(t0 + a - self.last_tok[i] for i in lagging)
            self.step_gap_t.extend([t0 + a] * len(lagging))
            if bsz > len(lagging):
                self.stretches.append((t0, a, b, 0, 1, bsz - len(lagging)))
            k0 = 1
        self.skipped = False
        if steps > k0:
            self.stretches.append((t0, a, b, k0, steps, bsz))
        still, leaving = [], []
        last_tok, finish = self.last_tok, self.finish
        for i in running:
            gen[i] += steps
            computed[i] += steps
            last_tok[i] = t
            if gen[i] >= n_out[i]:
                finish[i] = t
                leaving.append(i)
            else:
                still.append(i)
        self.done += len(leaving)
        if self.paged:  # the last step's blocks were taken before anyone left: cached prefixes are evicted for them first
            block, shared = self.block, self.shared
            self.used_blocks = sum(-(-computed[i] // block) - shared[i] // block for i in running) + self.ref_blocks
            self.evict()
        if self.paged or self.prefixes or self.slots:
            for i in leaving:
                self.release(i)
        self.running = still
        return True

    def schedule(self) -> list[tuple[int, int]]:
        """One ordinary step's work, vLLM V1's order: every running request its next token (or the next chunk of its
        prompt) while the token budget lasts, preempting the newest when the KV cache is full; then admissions, first
        come first served. Returns (request, tokens this step) pairs."""
        room = self.budget
        plan: list[tuple[int, int]] = []
        running, prompt_left, computed, block, paged = self.running, self.prompt_left, self.computed, self.block, self.paged
        k = 0
        while k < len(running) and room > 0:
            i = running[k]
            left = prompt_left[i]
            want = (left if left < room else room) if left else 1
            if paged:
                c = computed[i]
                need = (c + want + block - 1) // block - (c + block - 1) // block
                # no new block and nothing over capacity: `reserve(0)` would change nothing (the common decode step)
                if (need or self.used_blocks + self.free_cached_blocks > self.cap_blocks) and not self.reserve(need, keep=k):
                    break
            plan.append((i, want))
            room -= want
            k += 1
        self.skipped = k < len(running)
        waiting = self.waiting
        while waiting and room > 0 and len(running) < self.max_seqs:
            i = waiting[0]
            if self.prefixes:
                self.admit_hit(i)
            elif self.slots:
                self.slot_of[i] = self.idle_slots.popleft()[3]
            want = min(prompt_left[i], room)
            c = self.computed[i]
            if self.paged and not self.reserve(self.blocks(c + want) - self.shared[i] // self.block, keep=len(running)):
                if self.prefixes:
                    self.unadmit(i)
                break
            waiting.popleft()
            running.append(i)
            self.prefilling += 1
            plan.append((i, want))
            room -= want
        return plan

    def reserve(self, need: int, *, keep: int) -> bool:
        """Take `need` KV blocks, preempting the most recently admitted requests beyond the first `keep` + 1 running
        ones when the cache is full: a victim gives its KV back and re-queues at the front to recompute its prompt
        and what it had generated. False when even that leaves too few blocks."""
        running = self.running
        while need > self.cap_blocks - self.used_blocks and len(running) - 1 > keep:
            victim = running.pop()
            self.release(victim)
            if self.prompt_left[victim]:
                self.prefilling -= 1
            self.prompt_left[victim] = self.n_in[victim] + self.gen[victim]
            self.computed[victim] = self.base[victim] = 0
            self.waiting.appendleft(victim)
            self.preemptions += 1
        if need > self.cap_blocks - self.used_blocks:
            return False
        self.used_blocks += need
        self.evict()
        return True

    # -- shared prefixes -------------------------------------------------------------------------------------------
    def admit_hit(self, i: int) -> None:
        """What a request takes from the prompt cache as it is admitted; its prefill starts after it.

        vLLM (automatic prefix caching, on by default in V1): whole blocks of the prefix whose KV is cached — computed
        by an earlier request, referenced by a running one or freed but not yet evicted — and never the prompt's last
        token (it is always computed: the first output token needs its logits). llama-server (`get_available_slot`
        in tools/server/server-context.cpp, llama.cpp b0.3.36's source): the idle slot whose kept prompt shares the
        longest prefix when that is over 10 % of the prompt (`--slot-prompt-similarity` 0.1), else the least recently
        used slot; the prefix it shares with that slot's prompt is reused. With the RAM prompt cache (`--cache-ram`,
        on by default; `server_prompt_cache::load` in server-task.cpp), a slot taken by LRU — or by similarity while
        keeping under half its prompt — first saves its prompt to RAM, then takes out (moves, as `load` erases it) the
        cached prompt sharing the most with the request if that is at least a quarter of the cached prompt and more
        than the slot kept. The cache is taken to hold every prompt saved (its 8 GiB default holds ~360,000 tokens of a 135M
        model's KV, ~65,000 of an 8B's: past that it drops its oldest, not modelled), and a restore to cost nothing
        (a copy of the prefix's KV in RAM). `UNSHARED` spans (distinct prefixes unknown) are hits, as the provider's
        log saw them."""
        c = min(self.cached[i], self.n_in[i] - 1)
        p = self.pid[i]
        skip = shared = 0
        if self.slots:
            best, pick = 0, None
            for k, (q, span, _, _) in enumerate(self.idle_slots):
                lcp = c if p == UNSHARED else min(c, span) if p != NO_PREFIX and q == p else 0
                if lcp > best and lcp > 0.1 * self.n_in[i]:
                    best, pick = lcp, k
            q, span, tokens, self.slot_of[i] = self.idle_slots[0 if pick is None else pick]  # by similarity, else LRU
            del self.idle_slots[0 if pick is None else pick]
            skip = c if p == UNSHARED else min(c, span) if p != NO_PREFIX and q == p else 0
            if self.ram is not None and (pick is None or skip < 0.5 * tokens):  # llama.cpp's `update_cache`
                if q >= 0:  # the slot's prompt is saved before it is overwritten (per prefix, the longest span kept)
                    kept = self.ram.get(q)
                    if kept is None or (span, -tokens) > (kept[0], -kept[1]):
                        self.ram[q] = (span, tokens)
                if p >= 0 and p in self.ram:  # the cached prompt sharing more than the slot is moved into it
                    span_r, tokens_r = self.ram[p]
                    lcp = min(c, span_r)
                    if lcp >= 0.25 * tokens_r and lcp > skip and (tokens == 0 or lcp / tokens_r > skip / tokens):
                        skip = lcp
                        del self.ram[p]
        elif (full := c // self.block * self.block) and p != NO_PREFIX:
            if p == UNSHARED:
                skip = full
            else:
                if p in self.ref:
                    self.ref[p] += 1
                elif p in self.free_cached:
                    pb = self.free_cached.pop(p)
                    self.free_cached_blocks -= pb
                    self.ref[p] = 1
                    if self.paged:
                        self.used_blocks += pb
                        self.ref_blocks += pb
                if p in self.ref:
                    skip = shared = min(full, self.pref_tokens[p])
        self.base[i] = self.computed[i] = skip
        self.shared[i] = shared
        self.prompt_left[i] -= skip

    def unadmit(self, i: int) -> None:
        """Undo `admit_hit` for a request the KV cache could not take after all (it stays first in the queue)."""
        self.release(i, blocks=False)
        self.prompt_left[i] += self.base[i]
        self.computed[i] = self.base[i] = 0

    def register(self, i: int) -> None:
        """vLLM caches a prompt's full blocks as they are computed: once a request has computed its prefix (and no
        other copy of that prefix is cached), later requests share those blocks."""
        p = self.pid[i]
        if p < 0 or p in self.ref or p in self.free_cached:
            return
        full = min(self.cached[i], self.n_in[i] - 1) // self.block * self.block
        if full and self.computed[i] >= full:
            self.ref[p], self.pref_tokens[p], self.shared[i] = 1, full, full
            if self.paged:  # the blocks move from this request's own to the prefix's (counted once, in `used_blocks`)
                self.ref_blocks += full // self.block

    def release(self, i: int, *, blocks: bool = True) -> None:
        """A request leaves the batch (finished or preempted): its own blocks are freed and its prefix reference
        dropped — an unreferenced prefix stays cached, least recently used first out, until its blocks are needed
        (`evict`); a llama-server slot keeps its prompt for the next request."""
        if self.paged and blocks:
            self.used_blocks -= self.blocks(self.computed[i]) - self.shared[i] // self.block
        if self.slots:
            p = self.pid[i] if self.prefixes else NO_PREFIX
            self.idle_slots.append((p, self.cached[i] if self.prefixes else 0, self.n_in[i] + self.gen[i], self.slot_of[i]))
            return
        if not self.prefixes:
            return
        if self.shared[i]:
            p = self.pid[i]
            self.ref[p] -= 1
            if not self.ref[p]:
                del self.ref[p]
                pb = self.blocks(self.pref_tokens[p])
                self.free_cached[p] = pb
                self.free_cached_blocks += pb
                if self.paged:
                    self.used_blocks -= pb
                    self.ref_blocks -= pb
            self.shared[i] = 0

    def evict(self) -> None:
        """Free cached prefixes' blocks, least recently used first, while the cache holds more than it has."""
        while self.free_cached and self.used_blocks + self.free_cached_blocks > self.cap_blocks:
            p, pb = self.free_cached.popitem(last=False)
            self.free_cached_blocks -= pb
            del self.pref_tokens[p]

    def moe_s(self, tokens: int) -> float:
        return float(self.step.experts_s(tokens)) if self.step.expert_read_s else 0.0

    def pass_cost(self, slots: list[tuple[int, int]]) -> float:
        """Seconds of the forward passes a step takes beyond one (`Scheduler.slot_passes`), from its (slot id, prompt
        tokens this step) sorted by id: `split_equal` makes one ubatch per run of consecutive ids, taking the same count
        of tokens from each — so a prompt sharing its run gives it one token and needs ⌈(w − 1) / ub⌉ more passes, one
        alone ⌈w / ub⌉ − 1 more. (llama.cpp scans the batch in its order, decode tokens first: sorting by id is the
        approximation.)"""
        ub, extra = self.ubatch, 0
        for k, (slot, w) in enumerate(slots):
            joined_prev = k > 0 and slots[k - 1][0] == slot - 1
            joined_next = k + 1 < len(slots) and slots[k + 1][0] == slot + 1
            extra += k > 0 and not joined_prev  # a new run
            if w > 1:
                extra += (w - 1 + ub - 1) // ub if joined_prev or joined_next else (w + ub - 1) // ub - 1
        s = self.step
        return extra * (s.overhead_s if s.pass_s is None else s.pass_s)

    def step_s(self, plan: list[tuple[int, int]]) -> float:
        """The step's duration from its named features (see `StepModel.step_s`); with `Scheduler.slot_passes`, the
        fixed cost again for every further forward pass (`pass_cost`)."""
        computed, prompt_left = self.computed, self.prompt_left
        decoding = kv = prefill = starting = 0
        pairs = 0.0
        for i, w in plan:
            if prompt_left[i]:
                prefill += w
                pairs += w * (computed[i] + w / 2) if not self.step.window else float(self.step.attention_pairs(computed[i], w))
                starting += computed[i] == self.base[i]
            else:
                decoding += 1
                kv += computed[i]
        s = self.step
        extra = 0.0
        if self.slot_passes:
            extra = self.pass_cost(sorted((self.slot_of[i], w if prompt_left[i] else 0) for i, w in plan))
        return (extra + s.overhead_s + s.per_seq_s * decoding + s.per_kv_token_s * kv + s.per_prefill_token_s * prefill
                + s.per_prefill_pair_s * pairs + s.per_request_s * starting + self.moe_s(decoding + prefill))

    def take_step(self, plan: list[tuple[int, int]]) -> None:
        """Advance the clock by the step and hand out its tokens: a finished prompt gives its first token (or, after a
        preemption, its next one), a decoding request its next; finished requests leave and free their KV."""
        dt = self.step_s(plan)
        t = self.t = self.t + dt
        self.area += len(self.running) * dt
        computed, prompt_left, gen, last_tok = self.computed, self.prompt_left, self.gen, self.last_tok
        finished = set()
        for i, w in plan:
            computed[i] += w
            if prompt_left[i]:
                prompt_left[i] -= w
                if self.prefixes and not self.slots and not self.shared[i]:
                    self.register(i)
                if prompt_left[i]:
                    continue
                self.prefilling -= 1
                if gen[i] == 0:
                    self.first[i] = t
                else:  # resumed after preemption: the gap since its last token
                    self.step_gaps.append(t - last_tok[i])
                    self.step_gap_t.append(t)
            else:
                self.step_gaps.append(t - last_tok[i])
                self.step_gap_t.append(t)
            gen[i] += 1
            last_tok[i] = t
            if gen[i] >= self.n_out[i]:
                self.finish[i] = t
                self.done += 1
                finished.add(i)
                if self.paged or self.prefixes or self.slots:
                    self.release(i)
        if finished:
            self.running = [i for i in self.running if i not in finished]

    def result(self) -> SimResult:
        arr = np.asarray(self.arr)
        vals, weights, ends = _stretch_gaps(self.stretches)
        vals, ends = [vals], [ends]
        if self.step_gaps:
            vals = [*vals, np.asarray(self.step_gaps)]
            weights = np.concatenate([weights, np.ones(len(self.step_gaps))])
            ends = [*ends, np.asarray(self.step_gap_t)]
        t = self.t
        return SimResult(arrivals_s=arr, ttft_s=np.asarray(self.first) - arr + self.ttft_overhead_s,
                         e2e_s=np.asarray(self.finish) - arr + self.ttft_overhead_s,
                         itl_values_s=np.concatenate(vals) if vals else np.empty(0), itl_weights=weights,
                         itl_end_s=np.concatenate(ends) if ends else np.empty(0),
                         duration_s=t, preemptions=self.preemptions, mean_running=self.area / t if t > 0 else 0.0,
                         cached_tokens=sum(self.base))


def _steps_to_reach(a: float, b: float, d: float) -> int:
    """The fewest steps m ≥ 1 of lengths a, a + b, a + 2b, … whose sum S(m) = m·a + b·m(m − 1)/2 reaches d: a decode
    stretch runs to the step that ends at or after the next arrival. The quadratic's root, made exact in integers;
    where floating point cannot give it (absurdly small increments), a doubling and bisection on S, which only grows.
    2**62 means "not within any stretch": its other limits (requests finishing, the KV cache) bound it."""
    never = 2 ** 62

    def total(m: int) -> float:
        return m * a + b * m * (m - 1) / 2
    if d <= a:
        return 1
    if not math.isfinite(d) or (a <= 0 and b <= 0):
        return never
    if b <= 0:
        guess = d / a
    else:
        h = a - b / 2  # the root of b/2·m² + h·m − d, in the form that does not cancel when b·d ≪ h²
        root = math.sqrt(h * h + 2 * b * d)
        guess = 2 * d / (h + root) if h > 0 else (root - h) / b
    if not guess < never:  # also NaN and infinity
        return never
    m = max(1, math.ceil(guess))
    if m >= never:
        return never
    for _ in range(4):
        if m > 1 and total(m - 1) >= d:
            m -= 1
        elif total(m) < d:
            m += 1
        else:
            return m
    hi = 2  # the estimate was off by more than rounding: search S itself
    while total(hi) < d:
        hi *= 2
        if hi >= never:
            return never
    lo = hi // 2
    while lo + 1 < hi:  # S(lo) < d ≤ S(hi)
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if total(mid) < d else (lo, mid)
    return hi


def _stretch_gaps(stretches: list[tuple[float, float, float, int, int, int]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(gap values, requests that saw each, end times) of every decode stretch at once: gap k of a stretch lasts
    a + b·k and ends at its start + S(k + 1)."""
    if not stretches:
        return np.empty(0), np.empty(0), np.empty(0)
    t0, a, b, k0, k1, w = (np.asarray(c) for c in zip(*stretches, strict=True))
    counts = (k1 - k0).astype(int)
    row = np.repeat(np.arange(counts.size), counts)
    k = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts) + k0[row]
    m = k + 1.0
    return a[row] + b[row] * k, w[row].astype(float), t0[row] + m * a[row] + b[row] * m * k / 2


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
    n_requests: int = 0  # requests in the run (its length)
    tpot_p95_s: float = 0.0  # per request: (end-to-end − TTFT) ÷ (output tokens − 1), its mean inter-token time
    tpot_p50_s: float = 0.0

    def inter_token_p95(self, metric: ItlMetric) -> float:
        """The figure an ITL SLO limits (`ITL_METRICS`)."""
        return self.tpot_p95_s if metric == "tpot" else self.itl_p95_s


# What an inter-token SLO limits — the two definitions users meet: "itl", the p95 of every gap pooled over requests
# (what `vllm bench serve` reports as ITL, and the project's load generator); "tpot", the p95 over requests of each
# request's mean time per output token (vLLM's TPOT, MLPerf's TPOT limit). A prefill stall is one gap of a pooled p95
# but a small share of one request's mean: pooled ITL capacity moves in steps where ~5 % of the gaps carry a stall.
ItlMetric = Literal["itl", "tpot"]
ITL_METRICS: tuple[str, ...] = ("itl", "tpot")


N_REQUESTS = 400  # per simulated run: p95 from 320 requests between the warm-up and the drain tenths
WARMUP_FRACTION = 0.1  # the empty-server start is not steady state ...
DRAIN_FRACTION = 0.1  # ... nor the end, when arrivals stop and the last requests decode in an emptying batch
STEADY_GROWTH = 4  # each steady-state confirmation run is this many times longer than the last
STEADY_MAX_REQUESTS = STEADY_GROWTH * N_REQUESTS  # one confirmation level: each 4× longer run costs 4× (see `_steady_state`)


def measurement_window(arrivals_s: np.ndarray, warmup: float, drain: float) -> tuple[slice, tuple[float, float]]:
    """The requests a run's latencies are taken from (arrivals after the warm-up share, before the drain share) and
    the same stretch of time for the inter-token gaps: TTFT and ITL leave out warm-up and drain the same way. (0, 0)
    keeps every request and every gap, as a finite load test counts them."""
    n = len(arrivals_s)
    k0, k1 = int(warmup * n), n - int(drain * n)
    lo = float(arrivals_s[k0]) if warmup else -np.inf
    hi = float(arrivals_s[k1 - 1]) if drain else np.inf
    return slice(k0, k1), (lo, hi)


def simulate_mix(step: StepModel, sched: Scheduler, mix: RequestMix, rate: float, n_requests: int, *, seed: int = 0,
                 burstiness: float = 1.0) -> tuple[SimResult, np.ndarray]:
    """One run of `n_requests` arrivals — Poisson (gamma with `burstiness`), or the mix's logged gaps replayed
    (`RequestMix.arrivals`; `burstiness` then does not apply) — whose shapes are drawn from `mix` (the same seed draws
    the same requests at every rate); returns the run and each request's output tokens."""
    arrivals = mix.arrivals(rate, n_requests, seed)
    if arrivals is None:
        arrivals = poisson_arrivals(rate, n_requests, seed=seed, burstiness=burstiness)
    n_in, n_out, cached, pid = mix.draw(n_requests, seed)
    return simulate(step, sched, arrivals, n_in, n_out, cached, pid), n_out


@lru_cache(maxsize=65536)
def _rate_point(step: StepModel, sched: Scheduler, mix: RequestMix, rate: float, n_requests: int, seed: int,
                burstiness: float, q: float, warmup: float, drain: float) -> RatePoint:
    res, n_out = simulate_mix(step, sched, mix, rate, n_requests, seed=seed, burstiness=burstiness)
    keep, window = measurement_window(res.arrivals_s, warmup, drain)
    ttft, e2e, out = res.ttft_s[keep], res.e2e_s[keep], n_out[keep]
    many = out > 1  # a request of one output token has no inter-token time
    itl_q, itl_50 = res.itl_pcts(q, 50, window=window) if many.any() else (0.0, 0.0)
    tpot = (e2e[many] - ttft[many]) / (out[many] - 1) if many.any() else np.zeros(1)
    return RatePoint(rate_per_s=rate, ttft_p95_s=float(np.percentile(ttft, q)), itl_p95_s=itl_q,
                     e2e_p95_s=float(np.percentile(e2e, q)), ttft_p50_s=float(np.percentile(ttft, 50)),
                     itl_p50_s=itl_50, mean_running=res.mean_running,
                     throughput_per_s=n_requests / res.duration_s, preemptions=res.preemptions, n_requests=n_requests,
                     tpot_p95_s=float(np.percentile(tpot, q)), tpot_p50_s=float(np.percentile(tpot, 50)))


def rate_point(step: StepModel, sched: Scheduler, tokens_in: float, tokens_out: float, rate: float, *, n_requests: int = N_REQUESTS,
               seed: int = 0, burstiness: float = 1.0, q: float = 95, warmup: float = WARMUP_FRACTION,
               drain: float = DRAIN_FRACTION, mix: RequestMix | None = None) -> RatePoint:
    """Percentiles at one offered rate (cached: the dashboard asks the same questions again). `warmup` / `drain`: the
    shares of first and last requests left out (`measurement_window`; 0 and 0 count everything, as a load test does).
    `mix`: draw each request's shape from this distribution (`tokens_in`/`tokens_out` are then unused)."""
    return _rate_point(step, sched, mix or RequestMix.fixed(tokens_in, tokens_out), float(rate), int(n_requests), int(seed),
                       float(burstiness), float(q), float(warmup), float(drain))


CDF_PCT = np.linspace(0.0, 100.0, 101)  # the percent levels a latency distribution is kept at (every percent)


@dataclass(frozen=True)
class LatencyCdf:
    """TTFT and inter-token gap distributions at one offered rate, as quantile curves on `CDF_PCT`: what the anchors
    (vLLM's benchmark, GenAI-Perf) plot as a CDF. TTFT is per request; the gaps are pooled over requests, as
    `itl_pcts` and `vllm bench serve` count them. `basis` says whether it was simulated or measured, and how."""

    rate_per_s: float
    pct: np.ndarray
    ttft_s: np.ndarray
    itl_s: np.ndarray
    n_requests: int
    basis: str

    def at(self, q: float) -> tuple[float, float]:
        """(TTFT, ITL) at percentile q, interpolated between the kept levels."""
        return float(np.interp(q, self.pct, self.ttft_s)), float(np.interp(q, self.pct, self.itl_s))


def latency_cdf(step: StepModel, sched: Scheduler, tokens_in: float, tokens_out: float, rate: float, *, n_requests: int = N_REQUESTS,
                seed: int = 0, warmup: float = WARMUP_FRACTION, drain: float = DRAIN_FRACTION, mix: RequestMix | None = None) -> LatencyCdf:
    """The whole distribution of one simulated run — the same run (seed, requests, window) whose p95 the capacity
    table holds at that rate, so the curve passes through the table's percentiles."""
    mix = mix or RequestMix.fixed(tokens_in, tokens_out)
    res, n_out = simulate_mix(step, sched, mix, rate, n_requests, seed=seed)
    keep, window = measurement_window(res.arrivals_s, warmup, drain)
    ttft = res.ttft_s[keep]
    itl = np.asarray(res.itl_pcts(*CDF_PCT, window=window)) if n_out.max() > 1 else np.zeros_like(CDF_PCT)
    return LatencyCdf(float(rate), CDF_PCT.copy(), np.percentile(ttft, CDF_PCT), itl, int(ttft.size),
                      f"simulated: {ttft.size} of {n_requests} requests (the first {warmup:.0%} and last {drain:.0%} left out), "
                      f"{arrivals_basis(mix)}")


def arrivals_basis(mix: RequestMix | None) -> str:
    """How a run's requests arrive, in words."""
    return "Poisson arrivals" if mix is None or mix.arrival_gaps is None else "arrivals replaying a log's gaps"


def saturation_rate(step: StepModel, sched: Scheduler, tokens_in: float, tokens_out: float, mix: RequestMix | None = None) -> float:
    """Requests/s at full batch (an upper bound for the search): the largest batch the sequence limit and the KV
    cache allow, each request paying its prompt's prefill (less a cached prefix: every one taken as a hit, which
    keeps it an upper bound) and its share of the decode steps — in expectation over the mix's shapes."""
    mix = mix or RequestMix.fixed(tokens_in, tokens_out)
    t_in, t_out, cached, w = (np.asarray(v, float) for v in (mix.tokens_in, mix.tokens_out, mix.cached_in, mix.weights))
    ctx = float((t_in + t_out / 2) @ w)
    batch = sched.max_seqs
    if sched.kind == "vllm" and sched.kv_capacity_tokens:
        batch = max(1, min(batch, sched.kv_capacity_tokens // max(1, int((t_in + t_out) @ w))))
    new = t_in - np.minimum(cached, t_in - 1)
    per_request = (step.per_request_s + new * step.per_prefill_token_s + step.per_prefill_pair_s * step.attention_pairs(t_in - new, new)
                   + t_out * step.step_s(batch, batch * ctx, 0) / batch
                   + (step.overhead_s + float(step.experts_s(sched.token_budget))) * new / sched.token_budget)
    return 1.0 / float(per_request @ w)


@dataclass(frozen=True)
class SloCapacity:
    """The highest offered rate whose p95 TTFT and ITL meet the SLO (0 when none does), and the latencies there."""

    requests_per_s: float
    at: RatePoint | None  # the simulated point at that rate (None when infeasible)
    alone: RatePoint  # one request at a time (the best latencies this server can give this workload)
    curve: tuple[RatePoint, ...]  # every rate simulated, ascending


def meets_slo(p: RatePoint, ttft_slo_s: float, itl_slo_s: float, metric: ItlMetric = "itl") -> bool:
    """Whether a run's p95 TTFT and its p95 inter-token figure (`metric`) are within the SLO."""
    return p.ttft_p95_s <= ttft_slo_s and p.inter_token_p95(metric) <= itl_slo_s


def capacity_at_slo_sim(step: StepModel, sched: Scheduler, tokens_in: float, tokens_out: float, ttft_slo_s: float, itl_slo_s: float, *,
                        q: float = 95, grid_points: int = 16, refine: int = 5, n_requests: int = N_REQUESTS, seed: int = 0,
                        burstiness: float = 1.0, warmup: float = WARMUP_FRACTION, drain: float = DRAIN_FRACTION,
                        sustained: bool = True, steady: bool = True, max_requests: int = STEADY_MAX_REQUESTS,
                        itl_metric: ItlMetric = "itl", full_curve: bool = True, mix: RequestMix | None = None) -> SloCapacity:
    """Bracket the SLO on a geometric grid of rates up to saturation, bisect `refine` times inside the bracket, then
    (`steady`, for a sustained capacity) confirm the answer on longer runs until it stops moving (`_steady_state`).

    Every run is cached, so other SLOs at the same workload reuse the grid (`refine=0`: interpolate, no new runs, no
    confirmation). `sustained=False` predicts one finite run of `n_requests` as a load test makes it: a short run
    offered more than the server can sustain may still meet the SLO before its queue builds, so rates above
    saturation count too. `itl_metric`: which inter-token figure `itl_slo_s` limits (`ITL_METRICS`).
    `full_curve=False` bisects the grid for its first rate that misses the SLO instead of running every rate (for a
    search that needs the capacity, not the latency-vs-load curve): 2–4 runs of the 8-rate grid instead of up to 8, and
    the top rate, above saturation, is never run. The same answer wherever meeting the SLO is monotone in the rate
    (a brute-force test compares the two). `mix`: requests' shapes drawn from this distribution, shared prefixes
    included (`lengths.RequestMix`; `tokens_in`/`tokens_out` then unused).
    """
    if not (ttft_slo_s > 0 and itl_slo_s > 0):
        raise InputError("ttft_slo_s / itl_slo_s: latency limits must be positive seconds")
    if itl_metric not in ITL_METRICS:
        raise InputError(f"must be {' or '.join(ITL_METRICS)} (got {itl_metric!r})", field="itl_metric")
    mix = mix or RequestMix.fixed(tokens_in, tokens_out)
    sat = saturation_rate(step, sched, tokens_in, tokens_out, mix)
    kw = dict(seed=seed, burstiness=burstiness, q=q, warmup=warmup, drain=drain)

    def at(rate: float, n: int = n_requests, draw: int = 0) -> RatePoint:  # draw: another, independent arrival sequence
        return rate_point(step, sched, tokens_in, tokens_out, rate, n_requests=n, mix=mix, **{**kw, "seed": seed + draw})

    alone = at(sat * 1e-4)
    rates = sat * np.geomspace(0.02, 1.05 if sustained else 4.0, grid_points)

    def fine(p: RatePoint) -> bool:  # a finite run above saturation can still look fine; no such rate is sustainable
        return (p.rate_per_s <= sat or not sustained) and meets_slo(p, ttft_slo_s, itl_slo_s, itl_metric)
    if not meets_slo(alone, ttft_slo_s, itl_slo_s, itl_metric):
        return SloCapacity(0.0, None, alone, tuple(at(r) for r in rates) if full_curve else ())
    if full_curve:
        curve = [at(r) for r in rates]
        ok = [fine(p) for p in curve]
        bad = ok.index(False) if not all(ok) else None
    else:  # bisect the grid for its first failing rate (the top one, above saturation, fails unsimulated), first
        # probing two below the top: capacities at a p95 SLO mostly lie in the grid's top rates (0.3–0.9 × saturation)
        curve, good, bad = [], -1, len(rates) - 1 if sustained and refine else len(rates)
        while bad - good > 1:
            m = bad - 2 if not curve and bad - 2 > good else (good + bad) // 2
            curve.append(at(rates[m]))
            good, bad = (m, bad) if fine(curve[-1]) else (good, m)
        bad = bad if bad < len(rates) else None
    if bad is None:  # a finite run that meets the SLO at 4 × saturation: report the top of the grid
        return SloCapacity(float(rates[-1]), at(rates[-1]), alone, tuple(sorted(curve, key=lambda p: p.rate_per_s)))
    lo = at(rates[bad - 1]) if bad else alone  # cached: simulated above
    hi_rate = float(rates[bad])
    extra = []
    for _ in range(refine):
        p = at(math.sqrt(lo.rate_per_s * hi_rate))
        extra.append(p)
        lo, hi_rate = (p, hi_rate) if fine(p) else (lo, p.rate_per_s)
    if not refine:  # interpolate the crossing of the worse of the two latency ratios, in log rate
        def worst(p):
            return max(p.ttft_p95_s / ttft_slo_s, p.inter_token_p95(itl_metric) / itl_slo_s)
        w0, w1 = worst(lo), worst(at(hi_rate))  # refine 0: the grid's failing rate was simulated
        f = min(1.0, max(0.0, (1 - w0) / (w1 - w0))) if w1 > w0 else 0.0
        rate = min(sat, float(np.exp(np.log(lo.rate_per_s) + f * (np.log(hi_rate) - np.log(lo.rate_per_s)))))
        return SloCapacity(rate, lo, alone, tuple(sorted(curve + extra, key=lambda p: p.rate_per_s)))
    if steady and sustained and lo is not alone:
        lo, longer = _steady_state(lo, at, fine, n_requests, max_requests, refine, float(rates[1] / rates[0]))
        extra += longer
    if lo is None:
        return SloCapacity(0.0, None, alone, tuple(sorted(curve + extra, key=lambda p: p.rate_per_s)))
    by_rate = {p.rate_per_s: p for p in curve + extra}  # a longer run at a rate replaces the shorter one (it came later)
    return SloCapacity(lo.rate_per_s, lo, alone, tuple(sorted(by_rate.values(), key=lambda p: p.rate_per_s)))


def _steady_state(found: RatePoint, at, fine, n_requests: int, max_requests: int, refine: int,
                  grid_ratio: float) -> tuple[RatePoint | None, list[RatePoint]]:
    """The convergence rule: a short run near saturation can meet the SLO before its queue has grown (issue 22: a 70B
    engine passed at 1.449 req/s with 200 requests; 3,000 requests at that rate give a p95 ITL of 217 ms against a
    100 ms limit). Run the answer again with `STEADY_GROWTH` × as many requests, on an arrival sequence of its own
    (another seed: near a p95 cliff — when about 5 % of the gaps hold a prefill stall, the pooled p95 jumps from a
    decode step to a stall — an answer only one sequence passes is not a capacity); when it still meets the SLO the
    answer has stopped moving. Otherwise step down the rate grid until a rate passes at the longer length, bisect
    `refine` times there, and check again, up to `max_requests`. Each grid step is bisected before its bottom rate
    is run, which is run only when no rate inside passed: wherever passing is monotone in the rate the answer is the
    same, one run sooner in the usual case of an answer one grid step down. Only ever lowers the answer. (None: no
    rate above the grid's first passes at the longer length.)"""
    runs: list[RatePoint] = []
    lo, n, draw = found, n_requests, 0
    while n * STEADY_GROWTH <= max_requests:
        n, draw = n * STEADY_GROWTH, draw + 1

        def run(rate: float, n: int = n, draw: int = draw) -> RatePoint:
            p = at(rate, n, draw)
            runs.append(p)
            return p
        p = run(lo.rate_per_s)
        if fine(p):
            return p, runs
        passed, hi_rate = None, lo.rate_per_s
        for _ in range(8):  # the grid's step down at the longer length, one grid step at a time:
            bottom = hi_rate / grid_ratio
            low, high = bottom, hi_rate
            for _ in range(refine):  # bisect the step (a rate inside that passes means its bottom passes too) ...
                q = run(math.sqrt(low * high))
                passed, low, high = (q, q.rate_per_s, high) if fine(q) else (passed, low, q.rate_per_s)
            if passed is not None:
                break
            q = run(bottom)  # ... and run its bottom only when no rate inside passed
            if fine(q):
                passed = q
                break
            hi_rate = bottom
        if passed is None:
            return None, runs
        lo = passed
    return lo, runs
