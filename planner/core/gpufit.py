"""The GPU step model fitted on published serving measurements, one engine at a time, and its held-out predictions. Pure.

Why: the fleet's capacity rests on how far an engine runs from the roofline on a GPU. No GPU with vLLM is lent to
this project, so the efficiency is fitted on what others measured (`benchmarks/data/gpu_serving_corpus.csv`,
`published_vllm_decode.csv`) and checked on rows the fit never saw (leave one model out, leave one GPU out).

The fitted parameters are `GpuEfficiency`'s — a per-step overhead, a per-layer cost and a further one per
mixture-of-experts layer (routing, expert dispatch and combine: without it the corpus's MoE sweeps gave every dense
model their per-layer cost — Qwen3-8B's TPOT predicted ~70 % too long with its model held out), bytes read at η_bw of the
datasheet bandwidth, decode and prefill matmul FLOPs at η of the datasheet peak (the 8-bit peak for fp8 weights,
`Device.compute_tflops`), prefill attention at η_attn of the 16-bit peak, a cost per decoding sequence, per prompt
token and per new request, and a cost per step for each GPU worker beyond the first (vLLM's executor broadcasts every
step's scheduler output to each worker and gathers back: without it the fit took TP's cost as bandwidth and per-layer
time, and gpt-oss-120b's TP 1 → 2 → 4 slowdown was predicted as a speed-up) — so the fleet plans with exactly what was
validated. The interconnect's time (TP all-reduces, `deploy.comm_per_step`) is physics from the hardware rows, not fitted.

**Fit (linear).** Each measurement gives linear equations in the parameters θ of the step model
(`deploy.assemble_step_model`, the one that plans; its columns are read off that same function, so the fitted
model is the planning model): its TPOT p50 = one decode step of its N requests at their mean context (a closed-loop
sweep with fixed lengths runs in waves — all prompts, then all decoding — so its median TPOT holds few prefill
stalls: the MiniMax-M2.5 sweep's TPOT stays near 20 ms while its TTFT grows with N·ISL), and its TTFT p50 = the
prompts of the first ⌈(N + 1)/2⌉ requests in ⌈m·ISL/budget⌉ steps plus the server's own time; a burst (every
request at t = 0, the server's own batch limits) gives its TTFT p50 and its duration, read exactly off the simulator
(`burst_rows`) — the only rows that load the prefill at saturation. θ is found by
non-negative least squares on relative error, with every efficiency bounded by the datasheet (1/η ≥ 1: never faster
than the roofline). A batch-1/2 decode figure is the TPOT equation alone.

**Predict (simulated).** A held-out row is predicted by the planner's own simulator on the fitted step model: a
closed-loop sweep (`--max-concurrency N`, every request the same length, `--ignore-eos`: the benchmark starts N at
once and they stay in waves) as one wave of N simultaneous requests; a burst as it ran (`predict_burst`); a
single-stream decode figure as one step.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np
from scipy.optimize import nnls

from planner.core.cards import ModelCard
from planner.core.deploy import Device, GpuEfficiency, GpuFeatures, assemble_step_model, memory_plan, step_model
from planner.core.errors import FitError, InputError
from planner.core.lengths import RequestMix
from planner.core.simulate import arrivals_basis, measurement_window, simulate, simulate_mix

PointKind = Literal["decode", "concurrency", "burst"]
# θ entries that are 1/η (bounded below by 1: the datasheet is the ceiling); the rest are seconds per unit
INVERSE_EFFICIENCY = ("bytes_read", "decode_flops", "prefill_flops", "attention_flops")
TOKEN_BUDGET = 8192  # vLLM's max_num_batched_tokens as the fleet plans it (`deploy.step_model`)


@dataclass(frozen=True)
class ServingPoint:
    """One published measurement of one engine (a TP group): its deployment, its load and what was measured. Rates
    are per engine (per-GPU figures × TP); times in seconds; None where the source does not give it."""

    id: str
    engine: str
    card: ModelCard
    device: Device
    tp: int
    precision: str
    tokens_in: float
    tokens_out: float
    kind: PointKind
    concurrency: float  # requests in flight: the closed-loop cap, the decode batch, or (burst) every request, sent at once
    output_tok_s: float | None  # measured output tokens/s of the engine
    ttft_p50_s: float | None
    tpot_p50_s: float | None  # the measured time per output token (for `decode`, the step time)
    source: str
    max_num_seqs: int | None = None  # the server's batch limits (burst: what bounds its batch); None: the planner's own
    max_num_batched_tokens: int | None = None

    @property
    def gpu(self) -> str:
        return self.device.name

    @property
    def model(self) -> str:
        return self.card.name


def _scales(p: ServingPoint) -> np.ndarray:
    """θ → seconds per feature on this engine (`deploy.coefficients` with η = 1/θ): bytes over TP × bandwidth, matmul
    FLOPs over TP × the precision's peak, attention over TP × the 16-bit peak; fixed costs as they are."""
    bw = p.device.bandwidth_gb_s * 1e9 * p.tp
    f = p.device.compute_tflops(p.precision) * 1e12 * p.tp
    f16 = p.device.tflops * 1e12 * p.tp
    return np.array(GpuFeatures(steps=1.0, layer_steps=1.0, bytes_read=1 / bw, decode_seqs=1.0, decode_flops=1 / f,
                                prefill_tokens=1.0, prefill_flops=1 / f, attention_flops=1 / f16, requests=1.0, moe_layer_steps=1.0,
                                rank_steps=1.0))


def decode_step_counts(p: ServingPoint) -> tuple[float, float, float, float]:
    """(decoding sequences, KV tokens read, prompt tokens, new requests) of the step a TPOT p50 measures: N requests
    decoding at their mean context (see the module docstring)."""
    d = p.concurrency
    return d, d * (p.tokens_in + p.tokens_out / 2), 0.0, 0.0


THETA = (*GpuFeatures._fields, "server_ttft")  # the fitted parameters: the step model's, and the server's own TTFT time


def _columns(p: ServingPoint, counts, steps: float = 1.0) -> tuple[np.ndarray, float]:
    """(g, comm): the time of `steps` steps that together hold `counts` = (decoding, KV tokens, prompt tokens, requests),
    as comm + g·θ, each column read off `deploy.assemble_step_model` with one parameter set."""
    mem = memory_plan(p.card, p.precision, p.device, p.tp, 1, p.tokens_in + p.tokens_out)
    d, k, pt, r = (x / steps for x in counts)
    scale = _scales(p)
    n = len(GpuFeatures._fields)

    def t(c: np.ndarray) -> float:
        sm, _ = assemble_step_model(p.card, p.precision, p.device, c, p.tp, 1, mem)
        return steps * float(sm.step_s(d, k, pt, r * float(sm.attention_pairs(0, p.tokens_in)), r))
    comm = t(np.zeros(n))
    return np.array([t(scale * np.eye(n)[j]) - comm for j in range(n)] + [0.0]), comm


def design_rows(p: ServingPoint, token_budget: int = TOKEN_BUDGET) -> list[tuple[np.ndarray, float, float, str]]:
    """The measurement as linear equations (g, comm, measured seconds, what): its mean step (= TPOT p50) and, for a
    closed-loop wave, its TTFT p50 — the median request's first token comes after the prompts of the first
    m = ⌈(N + 1)/2⌉ requests, in ⌈m·ISL/budget⌉ steps, plus the server's own time (the `server_ttft` parameter)."""
    if p.kind == "burst":
        return burst_rows(p)
    out = []
    if p.tpot_p50_s:
        g, comm = _columns(p, decode_step_counts(p))
        out.append((g, comm, p.tpot_p50_s, "tpot"))
    if p.kind == "concurrency" and p.ttft_p50_s:
        m = math.ceil((p.concurrency + 1) / 2)
        g, comm = _columns(p, (0.0, 0.0, m * p.tokens_in, m), steps=math.ceil(m * p.tokens_in / token_budget))
        g[-1] = 1.0
        out.append((g, comm, p.ttft_p50_s, "ttft"))
    return out


def _burst_run(p: ServingPoint, c: np.ndarray, mem) -> tuple[float, float]:
    """(median TTFT without the server's time, duration) of the burst simulated on coefficients `c`."""
    n, n_in, n_out = _burst_shape(p)
    sm, sched = assemble_step_model(p.card, p.precision, p.device, c, p.tp, 1, mem, max_num_seqs=p.max_num_seqs or 256,
                                    max_num_batched_tokens=p.max_num_batched_tokens or TOKEN_BUDGET)
    res = simulate(sm, sched, np.zeros(n), np.full(n, n_in), np.full(n, n_out))
    return float(np.median(res.ttft_s)), res.duration_s


def _burst_shape(p: ServingPoint) -> tuple[int, int, int]:
    return int(p.concurrency), max(1, round(p.tokens_in)), max(1, round(p.tokens_out))


@lru_cache(maxsize=1024)
def burst_rows(p: ServingPoint) -> list[tuple[np.ndarray, float, float, str]]:
    """A burst (every request at t = 0) as exact linear equations: with no arrival after t = 0, the vLLM scheduler's
    choices (who runs, which chunk, who is preempted) depend on token counts and limits, never on time, so every
    step's work is fixed and each step's time is linear in θ; the median request's first token (its rank among first
    tokens is fixed too) and the run's end are sums of steps. Read off the simulator itself — one run on the
    interconnect's time alone and one per θ entry — so the equation is the very prediction `predict_burst` makes:
    TTFT p50 (plus the server's own time) and the duration N · OSL ÷ measured output tokens/s."""
    n, n_in, n_out = _burst_shape(p)
    mem = memory_plan(p.card, p.precision, p.device, p.tp, 1, n_in + n_out)
    if not mem.fits:
        return []
    k = len(GpuFeatures._fields)
    ttft0, dur0 = _burst_run(p, np.zeros(k), mem)
    scale = _scales(p)
    runs = np.array([_burst_run(p, scale * np.eye(k)[j], mem) for j in range(k)])
    out = []
    if p.ttft_p50_s:
        out.append((np.append(runs[:, 0] - ttft0, 1.0), ttft0, p.ttft_p50_s, "ttft"))
    if p.output_tok_s:
        out.append((np.append(runs[:, 1] - dur0, 0.0), dur0, n * n_out / p.output_tok_s, "duration"))
    return out


def fit_efficiency(points: list[ServingPoint], engine: str) -> GpuEfficiency:
    """θ by NNLS on relative error over `points` (one engine), 1/η ≥ 1; see the module docstring."""
    rows = [row for p in points for row in design_rows(p)]
    if not rows:
        raise FitError(f"no {engine} measurements to fit on", field="engine")
    g = np.array([r[0] for r in rows])
    comm = np.array([r[1] for r in rows])
    t = np.array([r[2] for r in rows])
    inv = np.array([f in INVERSE_EFFICIENCY for f in THETA])
    base = g[:, inv].sum(axis=1)  # the roofline at 100 % of the datasheet: θ = 1 + θ' on the efficiency terms
    target = (t - comm - base) / t
    a = g / t[:, None]
    col = np.abs(a).max(axis=0)
    col[col == 0] = 1.0
    theta_prime, _ = nnls(a / col, target)
    theta = theta_prime / col + inv
    v = dict(zip(THETA, (float(x) for x in theta)))
    return GpuEfficiency(
        per_step_s=v["steps"], per_layer_s=v["layer_steps"], bandwidth_eff=1 / v["bytes_read"], per_seq_s=v["decode_seqs"],
        decode_flops_eff=1 / v["decode_flops"], per_token_s=v["prefill_tokens"], flops_eff=1 / v["prefill_flops"],
        attention_flops_eff=1 / v["attention_flops"], per_request_s=v["requests"], server_ttft_s=v["server_ttft"], engine=engine,
        per_moe_layer_s=v["moe_layer_steps"], per_tp_rank_s=v["rank_steps"],
        source=f"{len(points)} published {engine} measurements on {len({p.gpu for p in points})} GPUs, "
               f"{len({p.model for p in points})} models", device=", ".join(sorted({p.gpu for p in points})))


def above_roofline(p: ServingPoint) -> bool:
    """Whether the measurement is faster than the step model allows at 100 % of the datasheet (every fixed cost zero):
    a row the model cannot reach, flagged rather than fitted around."""
    inv = np.array([f in INVERSE_EFFICIENCY for f in THETA])
    return any(comm + g[inv].sum() > t for g, comm, t, _ in design_rows(p))


@dataclass(frozen=True)
class Prediction:
    """What the fitted model predicts for one measurement's deployment and load (None: not predicted, `why` says)."""

    output_tok_s: float | None
    ttft_p50_s: float | None
    tpot_p50_s: float | None
    why: str = ""


def predict(p: ServingPoint, eff: GpuEfficiency) -> Prediction:
    """The measurement's load on the fitted step model (see the module docstring, "Predict"): a closed-loop sweep
    through `predict_load`, the same prediction `llm-planner predict` prints; a decode figure as one step."""
    if p.kind == "burst":
        return predict_burst(p, eff)
    if p.kind == "concurrency":
        try:
            load = predict_load(p.card, p.precision, p.device, eff, p.tp, 1, p.tokens_in, p.tokens_out, concurrency=int(p.concurrency))
        except InputError as exc:
            return Prediction(None, None, None, str(exc))
        return Prediction(load.output_tok_s, load.ttft_s[50], load.tpot_s[50])
    mem = memory_plan(p.card, p.precision, p.device, p.tp, 1, p.tokens_in + p.tokens_out)
    if not mem.fits:
        return Prediction(None, None, None, f"does not fit: {mem.why}")
    sm, _ = step_model(p.card, p.precision, p.device, eff, p.tp, 1, mem)
    t = float(sm.step_s(p.concurrency, p.concurrency * (p.tokens_in + p.tokens_out / 2), 0))
    return Prediction(p.concurrency / t, None, t)


def predict_burst(p: ServingPoint, eff: GpuEfficiency) -> Prediction:
    """Every request sent at once with no client cap (`vllm bench serve` without --max-concurrency): the server's own
    limits set the batch — at most `max_num_seqs` running, `max_num_batched_tokens` a step, what the KV cache holds —
    so the run is simulated as it is, N arrivals at t = 0 through the vLLM scheduler, lengths at the run's means."""
    n, n_in, n_out = _burst_shape(p)
    mem = memory_plan(p.card, p.precision, p.device, p.tp, 1, n_in + n_out)
    if not mem.fits:
        return Prediction(None, None, None, f"does not fit: {mem.why}")
    sm, sched = step_model(p.card, p.precision, p.device, eff, p.tp, 1, mem, max_num_seqs=p.max_num_seqs or 256,
                           max_num_batched_tokens=p.max_num_batched_tokens or TOKEN_BUDGET)
    res = simulate(sm, sched, np.zeros(n), np.full(n, n_in), np.full(n, n_out))
    tpot = (res.e2e_s - res.ttft_s) / (n_out - 1) if n_out > 1 else None
    return Prediction(n * n_out / res.duration_s, float(np.median(res.ttft_s)), float(np.median(tpot)) if tpot is not None else None)


def error_pct(predicted: float | None, measured: float | None) -> float | None:
    """Signed error of a prediction, % of the measurement (+ = predicted higher); None when either is unknown."""
    if predicted is None or measured is None or not measured:
        return None
    return 100.0 * (predicted / measured - 1.0)


@dataclass(frozen=True)
class LoadPrediction:
    """One deployment under one load, as `llm-planner predict` prints it. Rates per engine (all its GPUs); seconds."""

    output_tok_s: float
    output_tok_s_per_gpu: float
    requests_per_s: float
    ttft_s: dict[int, float]  # percentile → seconds (50, 95, 99)
    tpot_s: dict[int, float]  # per request (e2e − TTFT)/(output − 1)
    itl_s: dict[int, float]  # every gap pooled over requests
    kv_max_requests: int  # requests of this shape the KV cache holds at once (per engine)
    basis: str


PCTS = (50, 95, 99)


def predict_load(card: ModelCard, precision: str, device: Device, eff: GpuEfficiency, tp: int, pp: int, tokens_in: float,
                 tokens_out: float, *, concurrency: int | None = None, rate_per_s: float | None = None,
                 n_requests: int = 400, seed: int = 0, mix: RequestMix | None = None) -> LoadPrediction:
    """The fitted step model under a load: `concurrency` N as the closed-loop benchmarks run it (N requests at once,
    fixed lengths: one wave, as the validation predicts it) or an open-loop Poisson `rate_per_s` (the run's first and
    last tenth left out, as the capacity search measures). A PP engine is PP lanes, each offered 1/PP of the rate.
    `mix`: each request's lengths (and shared prefix) drawn from a distribution instead of `tokens_in`/`tokens_out`."""
    if (concurrency is None) == (rate_per_s is None):
        raise InputError("give one load: a concurrency or a rate, not both", field="concurrency")
    mix = mix or RequestMix.fixed(tokens_in, tokens_out)
    ctx = mix.max_tokens
    mem = memory_plan(card, precision, device, tp, pp, ctx)
    if not mem.fits:
        raise InputError(f"{card.name} at {precision} on {tp * pp} × {device.name} (TP{tp}×PP{pp}): {mem.why}", field="tp")
    sm, sched = step_model(card, precision, device, eff, tp, pp, mem)
    if concurrency is not None:
        lane = max(1, math.ceil(concurrency / pp))
        n_in, n_out, cached, pid = mix.draw(lane, seed)
        if lane > sched.max_seqs or int((n_in + n_out).sum()) > (sched.kv_capacity_tokens or math.inf):
            raise InputError(f"{concurrency} requests of {(n_in + n_out).mean():,.0f} tokens exceed what one engine holds at once "
                             f"({min(sched.max_seqs * pp, mem.max_seqs_by_kv)})", field="concurrency")
        res = simulate(sm, sched, np.zeros(lane), n_in, n_out, cached, pid)
        keep, window = slice(None), (-np.inf, np.inf)
        basis = f"{lane} requests at once per lane ({pp} lane{'s' if pp > 1 else ''}), one closed-loop wave"
        requests_per_s = pp * lane / res.duration_s
    else:
        if rate_per_s <= 0:
            raise InputError("must be positive requests/s", field="rate")
        res, n_out = simulate_mix(sm, sched, mix, rate_per_s / pp, n_requests, seed=seed)
        keep, window = measurement_window(res.arrivals_s, 0.1, 0.1)
        served = n_requests / res.duration_s  # over the whole run, drain included: below the offered rate even when stable
        stable = served >= 0.9 * rate_per_s / pp
        basis = (f"{arrivals_basis(mix)}, {n_requests} requests per lane, first and last tenth left out"
                 + ("" if stable else f"; UNSTABLE: the engine served {pp * served:.3g} req/s of the {rate_per_s:g} offered — the queue grows"))
        requests_per_s = rate_per_s if stable else pp * served
    if not mix.is_fixed or any(mix.cached_in):
        basis += f"; requests drawn from {mix.describe()}"
    ttft, e2e, outs = res.ttft_s[keep], res.e2e_s[keep], np.asarray(n_out)[keep]
    many = outs > 1
    tpot = (e2e[many] - ttft[many]) / (outs[many] - 1) if many.any() else np.zeros(1)
    itl = res.itl_pcts(*PCTS, window=window) if many.any() else [0.0] * len(PCTS)
    out = requests_per_s * mix.mean_out
    return LoadPrediction(out, out / (tp * pp), requests_per_s, {q: float(np.percentile(ttft, q)) for q in PCTS},
                          {q: float(np.percentile(tpot, q)) for q in PCTS}, dict(zip(PCTS, map(float, itl))), mem.max_seqs_by_kv, basis)
