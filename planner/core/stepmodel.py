"""Time of one engine step, fitted on an engine profile's own measurements.

A continuous-batching engine (vLLM, llama-server, llama.cpp's batched decode) runs steps: every running sequence
that is decoding adds one token, and prompt tokens of requests still prefilling fill the rest of the step's token
budget (chunked prefill). One step reads the weights once, the KV cache of every decoding sequence, and computes
over every token in it, so its time is, to first order (the roofline form: bytes moved and FLOPs done are linear in
these counts — see `../shared/anchors.md`, "The physics"):

    step_s = overhead_s + per_seq_s · B + per_kv_token_s · K + per_prefill_token_s · P + per_prefill_pair_s · A
             + per_request_s · R

B = decoding sequences, K = context tokens they attend over, P = prompt tokens prefilled in the step, A = the
attention pairs of that prefill (a chunk of c tokens after d already computed: c·(d + c/2) — the L² term of the
prefill FLOPs, 2·n_layers·d_model·L²; it makes a 2048-token prompt cost more than 4 × a 512-token one), R = requests
starting their prefill in the step (the engine's per-request work: input processing, sampling state, first output;
vLLM on 2 CPU cores spends ~35 ms on it, which bounds how many tiny requests a second it can take). The six
coefficients are fitted by non-negative least squares on relative error to every timing the engine profile holds
(single-stream decode at several depths, batched decode at several batch sizes, prefill at several lengths, batched
prefill). Outside the measured ranges the same linear form extrapolates — the roofline's own shape — and
`outside_range()` says so, so a plan can flag it instead of silently clamping.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from scipy.optimize import nnls

from planner.core.errors import MeasurementError
from planner.core.records import EngineProfile


@dataclass(frozen=True)
class StepModel:
    overhead_s: float
    per_seq_s: float
    per_kv_token_s: float
    per_prefill_token_s: float
    per_prefill_pair_s: float
    per_request_s: float
    token_budget: int  # tokens one step may hold (vLLM max_num_batched_tokens, llama.cpp n_batch)
    max_seqs: int  # sequences one step may hold (vLLM max_num_seqs, llama.cpp n_seq_max / slots)
    measured_batch: int | None  # largest batch, context and prompt measured: the fit's range (None: a step model derived
    measured_context: int | None  # from a model card and a GPU efficiency, not fitted at any shape: no range to leave)
    measured_prompt: int | None
    fit_rms_pct: float  # root-mean-square relative residual of the fit on its own points (not a validation error)
    n_points: int
    # mixture-of-experts: seconds to read every routed expert once, and the share k/E one token routes to; a step of n
    # tokens reads 1 − (1 − k/E)^n of them (`deploy` sets these; a fitted profile's experts are in its overhead)
    expert_read_s: float = 0.0
    expert_share: float = 0.0
    # sliding-window attention: the share of the pair cost in layers that attend to at most `window` earlier tokens
    # (Gemma 3: 52 of 62 layers at 1,024; Mistral-7B: all at 4,096); `deploy` sets these from the card
    window: int | None = None
    windowed_share: float = 0.0
    # the engine's fixed cost of one forward pass when a step takes several (llama-server's per-slot KV streams:
    # `Scheduler.slot_passes`); None: `overhead_s` (a server calibration's offset is per step, not per pass)
    pass_s: float | None = None

    def attention_pairs(self, computed, chunk):
        """Token pairs a prefill chunk of `chunk` tokens attends after `computed` are cached (vectorised): c·(d + c/2) in a
        full-attention layer; in a windowed one each token sees at most `window` earlier tokens, Σ min(position, W)."""
        d, c = np.asarray(computed, float), np.asarray(chunk, float)
        full = c * (d + c / 2)
        if not self.window or not self.windowed_share:
            return full
        w = float(self.window)
        below = np.clip(np.minimum(d + c, w) - d, 0.0, None)  # tokens of the chunk whose position is still inside the window
        windowed = below * (d + below / 2) + (c - below) * w
        return (1.0 - self.windowed_share) * full + self.windowed_share * windowed

    def experts_s(self, tokens):
        """Expert weights read by a step of `tokens` tokens (vectorised; 0 for a dense model)."""
        if not self.expert_read_s:
            return 0.0
        return self.expert_read_s * (1.0 - (1.0 - self.expert_share) ** np.asarray(tokens, float))

    def step_s(self, batch, kv_tokens, prefill_tokens, prefill_pairs=0.0, new_requests=0):
        """Seconds of one step (vectorised)."""
        return (self.overhead_s + self.per_seq_s * batch + self.per_kv_token_s * kv_tokens + self.per_prefill_token_s * prefill_tokens
                + self.per_prefill_pair_s * prefill_pairs + self.per_request_s * new_requests
                + self.experts_s(np.asarray(batch, float) + np.asarray(prefill_tokens, float)))

    def outside_range(self, tokens_in: float, tokens_out: float, batch: float | None = None) -> list[str]:
        """Where a workload asks the model to extrapolate beyond what the profile measured."""
        notes = []
        if self.measured_prompt is not None and tokens_in > self.measured_prompt:
            notes.append(f"prompt {tokens_in:,.0f} tokens > longest measured prefill {self.measured_prompt:,}")
        if self.measured_context is not None and tokens_in + tokens_out > self.measured_context:
            notes.append(f"context {tokens_in + tokens_out:,.0f} tokens > deepest measured decode {self.measured_context:,}")
        if batch is not None and self.measured_batch is not None and batch > self.measured_batch:
            notes.append(f"batch {batch:.3g} > largest measured batch {self.measured_batch}")
        return notes


class StepCounts(NamedTuple):
    """What an engine's steps do, counted: one row of the step model's design, read by name everywhere (the fit here,
    the GPU efficiency's features in `deploy`, the projection). Each field's cost is one coefficient of `StepModel`."""

    steps: float = 0.0  # engine steps (each pays the per-step overhead)            → overhead_s
    batch: float = 0.0  # sequences decoding in them                                → per_seq_s
    kv_tokens: float = 0.0  # KV-cache tokens those sequences read                 → per_kv_token_s
    prefill_tokens: float = 0.0  # prompt tokens prefilled                         → per_prefill_token_s
    prefill_pairs: float = 0.0  # prompt token pairs attended (Σ n²/2)             → per_prefill_pair_s
    requests: float = 0.0  # new requests admitted                                 → per_request_s


def token_budget(profile: EngineProfile) -> int:
    """Tokens one engine step held when the profile was measured: vLLM's max_num_batched_tokens, llama.cpp's n_batch."""
    sched = profile.engine.scheduler
    budget = sched.max_num_batched_tokens if sched is not None else profile.engine.n_batch
    if not budget:
        raise MeasurementError(f"profile of {profile.model.file_name}: the engine's token budget per step (vLLM max_num_batched_tokens, "
                               "llama.cpp n_batch) was not recorded; re-run `llm-planner profile`")
    return int(budget)


def max_sequences(profile: EngineProfile) -> int:
    """Sequences one step may hold: vLLM's max_num_seqs; for llama.cpp, the most streams the profile decoded together."""
    sched = profile.engine.scheduler
    if sched is not None and sched.max_num_seqs:
        return int(sched.max_num_seqs)
    return max([c.concurrency for c in profile.concurrency_sweep] or [1])


def _pick(summary, bound: str, *, is_time: bool) -> float:
    """The mean, or the CI end that is slow ('low') or fast ('high'): a slow rate is the CI's low end, a slow time its high end."""
    if bound == "mean":
        return summary.mean
    if bound not in ("low", "high"):
        raise MeasurementError(f"bound: 'low', 'mean' or 'high' (got {bound!r})")
    end = summary.ci95_high if (bound == "low") == is_time else summary.ci95_low
    return end if end is not None and end > 0 else summary.mean


def measured_steps(profile: EngineProfile, *, bound: str = "mean") -> tuple[np.ndarray, np.ndarray, int, int]:
    """Every timing of an engine profile as a row of step counts (`StepCounts`) and its measured seconds.

    Rows: decode at depth d (B=1, K≈d+g/2); batched decode of c streams at depth p (B=c, K≈c·(p+g/2)); prefill of n
    tokens (one request: P=n, in ⌈n/budget⌉ steps); batched prefill of c prompts (P=c·p). Returns (rows, seconds,
    token budget, max sequences). The fit and the GPU efficiency's validation both read the profile through this.
    """
    if not isinstance(profile, EngineProfile) or not profile.decode or not profile.prefill:
        raise MeasurementError("the step model needs an engine profile with prefill and decode tests; run `llm-planner profile`")
    budget = token_budget(profile)
    max_seqs = max_sequences(profile)
    conc_gen = profile.settings.concurrency_gen_tokens
    if profile.concurrency_sweep and conc_gen is None:
        raise MeasurementError(f"profile of {profile.model.file_name}: the batched-decode sweep's output length was not recorded; "
                               "re-run `llm-planner profile`")
    rows, times = [], []

    def add(row: StepCounts, seconds: float) -> None:
        if seconds > 0 and math.isfinite(seconds):
            rows.append(row)
            times.append(seconds)

    for d in profile.decode:
        add(decode_counts(1, d.context_depth, d.gen_tokens), 1 / _pick(d.tok_s, bound, is_time=False))
    for c in profile.concurrency_sweep:
        add(decode_counts(c.concurrency, c.context_depth, conc_gen or 0), c.concurrency / _pick(c.aggregate_decode_tok_s, bound, is_time=False))
        if c.prefill_ms is not None:
            add(prefill_counts(c.concurrency * c.context_depth, budget, c.concurrency), _pick(c.prefill_ms, bound, is_time=True) / 1000)
    for p in profile.prefill:
        add(prefill_counts(p.prompt_tokens, budget), p.prompt_tokens / _pick(p.tok_s, bound, is_time=False))
    return np.asarray(rows, float), np.asarray(times, float), int(budget), int(max_seqs)


def decode_counts(streams: float, depth: float, gen_tokens: float) -> StepCounts:
    """One decode step of `streams` sequences at `depth`, averaged over `gen_tokens` generated (their KV grows)."""
    return StepCounts(steps=1, batch=streams, kv_tokens=streams * (depth + gen_tokens / 2))


def prefill_counts(tokens: float, budget: float | None, prompts: float = 1) -> StepCounts:
    """Prefill of `tokens` prompt tokens split evenly over `prompts` prompts, in token-budget steps."""
    return StepCounts(steps=math.ceil(tokens / budget) if budget else 1, prefill_tokens=tokens, prefill_pairs=tokens * tokens / prompts / 2,
                      requests=prompts)


def fit_step_model(profile: EngineProfile, *, bound: str = "mean") -> StepModel:
    """Fit the step model on the engine profile (see the module docstring for the terms and `measured_steps` for the
    rows). Each row is divided by its measured time, so the fit minimises relative error and short steps weigh as
    much as long prefills.
    """
    a, t, budget, max_seqs = measured_steps(profile, bound=bound)
    coef, _ = nnls(a / t[:, None], np.ones_like(t))
    rel = a @ coef / t - 1
    c = StepCounts(*(float(v) for v in coef))  # each coefficient is the cost of one counted thing
    return StepModel(
        overhead_s=c.steps, per_seq_s=c.batch, per_kv_token_s=c.kv_tokens, per_prefill_token_s=c.prefill_tokens,
        per_prefill_pair_s=c.prefill_pairs, per_request_s=c.requests, token_budget=int(budget), max_seqs=int(max_seqs),
        measured_batch=max([c.concurrency for c in profile.concurrency_sweep] or [1]),
        measured_context=max([d.context_depth + d.gen_tokens for d in profile.decode]),
        measured_prompt=max(p.prompt_tokens for p in profile.prefill),
        fit_rms_pct=float(100 * np.sqrt(np.mean(rel ** 2))), n_points=len(t),
    )
