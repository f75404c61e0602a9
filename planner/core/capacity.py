"""Requests/s one replica sustains at a latency SLO, from a profile.

Engine profiles (offline engine tests) go through the scheduler-aware model: a step-time model fitted on the
profile (`stepmodel`) drives a discrete-event simulation of the continuous-batching server (`simulate`), and the
capacity is the highest arrival rate (Poisson, or a log's gaps replayed) whose p95 TTFT and p95 ITL meet the SLO — queueing, other requests'
prefill stalls and the KV-cache limit included. Serving profiles (the load generator against a real server) need no
model: they are read at the token shape they were measured at.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from planner.core.engines import ENGINES, simulated_engine
from planner.core.errors import InputError, MeasurementError
from planner.core.lengths import RequestMix
from planner.core.records import EngineProfile, Profile, ServingProfile
from planner.core.roofline import model_kv_bytes_per_token
from planner.core.simulate import CDF_PCT, N_REQUESTS, ItlMetric, LatencyCdf, Scheduler, SloCapacity, capacity_at_slo_sim, latency_cdf
from planner.core.stepmodel import StepModel, fit_step_model
from planner.core.validation import ServerCalibration

SHAPE_TOLERANCE = 0.10  # a serving profile answers for workloads within ±10 % of the token shape it measured


@dataclass(frozen=True)
class PricedMemory:
    """The memory of the device a plan prices (a replica's RAM on a CPU instance, one GPU's memory on a GPU instance):
    the KV cache a replica can hold comes from it, never from the machine that happened to run the profile."""

    bytes: int
    label: str  # e.g. "e2-standard-2 RAM (8 GiB)"


def kv_capacity(profile: Profile, priced: PricedMemory | None = None) -> tuple[int | None, str]:
    """Tokens of KV cache a replica holds for this model, and where the figure comes from.

    What the profile measured in use — weights, runtime and the KV of its own n_ctx (llama.cpp), or all of it including
    the KV cache the engine allocated (vLLM) — is taken from the device the plan prices (`priced`); the rest holds KV.
    Without `priced`, the profiling machine's own memory (VRAM on a GPU, the RAM that was available on a CPU). None
    when the architecture or the memory measurement is missing. A model that does not fit the priced device at all
    is refused (MeasurementError), never planned.
    """
    try:
        kv_bytes = model_kv_bytes_per_token(profile.model)
    except MeasurementError:
        kv_bytes = None
    mem, hw, n_ctx = profile.memory, profile.hardware, profile.engine.n_ctx
    gpu = hw.gpus[0] if hw.gpus else None
    allocated = profile.engine.kv_cache_tokens  # vLLM reports what it allocated
    if priced is None and allocated:
        return allocated, "the KV cache the engine allocated"
    if kv_bytes is None:
        return (allocated, "the KV cache the engine allocated") if allocated else (None, "unknown: the model's architecture is not in the profile")
    if mem is None or not (n_ctx or allocated) or not kv_bytes:
        return None, "unknown: the profile holds no memory measurement"
    if gpu is not None:
        if not mem.vram_used_peak_bytes:
            return None, "unknown: the profile holds no VRAM measurement"
        used = mem.vram_used_peak_bytes
        own = (priced.bytes, priced.label) if priced else (gpu.memory_total_bytes, f"{gpu.name} VRAM")
        if own[0] is None:
            return None, "unknown: the GPU's memory size is not in the profile"
        free, where = own[0] - used, own[1]
    else:
        used = mem.peak_rss_bytes - mem.baseline_rss_bytes
        if priced:  # the operating system's own share of the instance is not known, so not counted: an upper bound
            free, where = priced.bytes - used, f"{priced.label}, less nothing for the OS"
        else:
            free, where = hw.ram_available_bytes - used, "available RAM"
    kv_in_use = (allocated or n_ctx) * kv_bytes
    room = free + kv_in_use  # what is left once the weights and runtime are in place
    if priced is not None and room < kv_bytes:
        raise MeasurementError(f"{profile.model.display_name} does not fit {where}: the profile used {used / 2**30:,.2f} GiB "
                               f"(weights, runtime and {kv_in_use / 2**30:,.2f} GiB of KV) and leaves no room for a KV cache; "
                               "price a device with more memory")
    tokens = int(max(room, 0) // kv_bytes)
    if allocated:
        tokens = min(tokens, allocated)
        return tokens, (f"the KV cache the engine allocated, limited to what {where} holds" if tokens < allocated
                        else f"the KV cache the engine allocated (fits {where})")
    return tokens, f"measured: peak memory at n_ctx {n_ctx:,} leaves {max(room, 0) / 2**30:,.1f} GiB of {where} for KV"


def scheduler_for(profile: EngineProfile, tokens_per_request: float | None = None, priced: PricedMemory | None = None) -> tuple[Scheduler, str]:
    """The server an engine profile stands for, and the sentence saying which.

    vLLM: its own scheduler limits and the KV cache it allocated, as the profile recorded them. llama.cpp: llama-server
    with one slot per stream the profile measured together (its largest batched-decode level), no more slots than the
    measured memory holds requests of `tokens_per_request`, and a 2048-token batch (llama-server's default -b).
    """
    if (simulated_engine(profile.engine.name) or ENGINES["llama-server"]).scheduler == "vllm":
        limits = profile.engine.scheduler
        missing = [f for f in ("max_num_seqs", "max_num_batched_tokens", "block_size") if limits is None or getattr(limits, f) is None]
        if missing:
            raise MeasurementError(f"profile of {profile.model.file_name}: vLLM's {', '.join(missing)} not recorded — the server cannot be "
                                   "simulated without them; profile it again with the vLLM engine")
        kv_tokens = kv_capacity(profile, priced)[0] if priced is not None else profile.engine.kv_cache_tokens
        sched = Scheduler(kind="vllm", max_seqs=limits.max_num_seqs, token_budget=limits.max_num_batched_tokens,
                          kv_capacity_tokens=kv_tokens, block_size=limits.block_size)
        return sched, (f"vLLM scheduler: ≤ {sched.max_seqs} sequences, {sched.token_budget} tokens a step, KV cache "
                       f"{sched.kv_capacity_tokens or 0:,} tokens in blocks of {sched.block_size}")
    slots = max([c.concurrency for c in profile.concurrency_sweep] or [1])
    cap, basis = kv_capacity(profile, priced)
    if cap is not None and tokens_per_request:
        fits = int(cap // tokens_per_request)
        if fits < 1:
            raise InputError(f"one request of {tokens_per_request:,.0f} tokens needs more KV cache than the memory holds "
                             f"({cap:,} tokens; {basis}); choose a device with more memory or a shorter request", field="tokens_in/tokens_out")
        slots = min(slots, fits)
    return Scheduler(kind="slots", max_seqs=slots, token_budget=2048), f"llama-server with -np {slots} slots and -b 2048"


@dataclass
class EngineCapacity:
    """Capacity at the SLO from an engine profile: the simulated latency-vs-rate table and what it rests on."""

    table: pd.DataFrame
    requests_per_s: float
    concurrency: float  # time-averaged requests in the engine at that rate
    step: StepModel
    scheduler: Scheduler
    result: SloCapacity
    notes: list[str] = field(default_factory=list)
    mix: RequestMix | None = None  # the requests' shapes drawn per request (None: the fixed shape)

    def latency_at(self, tokens_in: float, tokens_out: float, rate_per_s: float) -> LatencyCdf:
        """The simulated latency distribution of this server at another offered rate (the plan's operating point)."""
        n = self.result.at.n_requests if self.result.at is not None and self.result.at.n_requests else N_REQUESTS
        return latency_cdf(self.step, self.scheduler, tokens_in, tokens_out, rate_per_s, n_requests=n, mix=self.mix)  # as long as the answer's run


def _row(p, tokens_out: float) -> dict:
    return {"requests_per_s": p.rate_per_s, "concurrency": p.mean_running, "ttft_s": p.ttft_p95_s, "itl_p95_s": p.itl_p95_s,
            "e2e_s": p.e2e_p95_s, "ttft_p50_s": p.ttft_p50_s, "itl_p50_s": p.itl_p50_s, "tpot_p95_s": p.tpot_p95_s,
            "output_tok_s": p.throughput_per_s * tokens_out, "preemptions": p.preemptions}


def engine_capacity(profile: Profile, tokens_in: float, tokens_out: float, ttft_slo_s: float = np.inf, itl_slo_s: float = np.inf, *,
                    bound: str = "mean", scheduler: Scheduler | None = None, refine: int = 5,
                    calibration: ServerCalibration | None = None, priced: PricedMemory | None = None,
                    itl_metric: ItlMetric = "itl", mix: RequestMix | None = None) -> EngineCapacity:
    """Simulate the server the engine profile stands for; `bound` fits the step model on the CI's 'low' (slow) or
    'high' end of every timing instead of the mean; `calibration` adds the server's own measured overheads; `mix`
    draws each request's lengths and shared prefix from a distribution (`tokens_in`/`tokens_out` are its means)."""
    if tokens_in < 1 or tokens_out < 1:
        raise InputError("need at least 1 prompt token and 1 output token", field="tokens_in/tokens_out")
    if not isinstance(profile, EngineProfile):
        raise MeasurementError("this is a serving profile; use serving_capacity_table() for it")
    if not profile.prefill or not profile.decode:
        raise MeasurementError(f"profile of {profile.model.file_name} lacks prefill/decode tests; re-run `llm-planner profile`")
    step = fit_step_model(profile, bound=bound)
    longest = mix.max_tokens if mix is not None else tokens_in + tokens_out  # what one sequence's KV must hold
    sched, described = scheduler_for(profile, longest, priced) if scheduler is None else (scheduler, f"{scheduler.kind} scheduler")
    if calibration is not None:
        step, sched = calibration.apply(step, sched)
        per_seq = f", {calibration.step_per_seq_offset_s * 1e3:+.2f} ms a sequence" if calibration.step_per_seq_offset_s else ""
        if calibration.step_per_prefill_token_offset_s:
            per_seq += f", {calibration.step_per_prefill_token_offset_s * 1e6:+.1f} µs a prompt token"
        if calibration.prefill_scale != 1.0:
            per_seq += f", prefill × {calibration.prefill_scale:.2f}"
        described += (f", calibrated on requests through the server (step {calibration.step_overhead_offset_s * 1e3:+.1f} ms{per_seq}, "
                      f"TTFT {calibration.ttft_overhead_s * 1e3:+.1f} ms)")
    if sched.kv_capacity_tokens is not None and longest > sched.kv_capacity_tokens:
        raise InputError(f"one request of {longest:,.0f} tokens does not fit the "
                         f"{sched.kv_capacity_tokens:,}-token KV cache {'the priced device holds' if priced else 'the engine allocated'}; "
                         "give the engine more KV memory", field="tokens_in/tokens_out")
    res = capacity_at_slo_sim(step, sched, tokens_in, tokens_out, min(ttft_slo_s, 1e9), min(itl_slo_s, 1e9), refine=refine,
                              itl_metric=itl_metric, mix=mix)
    rows = [_row(res.alone, tokens_out)] + [_row(p, tokens_out) for p in res.curve]
    table = pd.DataFrame(rows).drop_duplicates("requests_per_s").sort_values("requests_per_s").reset_index(drop=True)
    conc = res.at.mean_running if res.at is not None else float("nan")
    notes = [f"capacity: simulated {described}; step model fitted on {step.n_points} engine timings (fit rms {step.fit_rms_pct:.0f}%)"]
    if mix is not None:
        notes.append(f"requests: drawn one by one from {mix.describe()}"
                     + (f" ({mix.label})" if mix.label else "") + "; shared prefixes skip their prefill when the engine's cache holds them "
                     "(vLLM's prefix cache, llama-server's slot reuse and RAM prompt cache), in the simulation as on the server" * any(mix.cached_in))
    if outside := step.outside_range(mix.quantile("in", 0.99) if mix else tokens_in, mix.quantile("out", 0.99) if mix else tokens_out,
                                     conc if np.isfinite(conc) else None):
        notes.append("extrapolated along the roofline beyond the profile: " + "; ".join(outside) +
                     " — profile deeper (longer prompts, deeper contexts, more concurrency) to measure it")
    if res.at is not None and res.at.preemptions:
        notes.append(f"memory: at this rate the KV cache runs out and requests are preempted ({res.at.preemptions} in the simulated run)")
    return EngineCapacity(table, res.requests_per_s, conc, step, sched, res, notes, mix)


def capacity_table(profile: Profile, tokens_in: float, tokens_out: float, *, bound: str = "mean") -> pd.DataFrame:
    """Simulated p95 latencies against offered rate (up to saturation) for an engine profile."""
    return engine_capacity(profile, tokens_in, tokens_out, bound=bound, refine=0).table


def serving_shape_mismatch(profile: ServingProfile, tokens_in: float, tokens_out: float) -> str | None:
    """Why a serving profile cannot answer for this workload (None when it can): its levels measured another shape."""
    lvl = next((x for x in profile.serving if x.output_tokens_mean), None)
    if lvl is None:
        return None
    measured_in, measured_out = lvl.prompt_tokens_mean or 0.0, lvl.output_tokens_mean or 0.0
    off = lambda a, b: abs(a - b) > SHAPE_TOLERANCE * max(b, 1.0)  # noqa: E731
    if off(tokens_out, measured_out) or (measured_in and off(tokens_in, measured_in)):
        return (f"this serving profile measured {measured_in:,.0f} → {measured_out:,.0f} tokens a request; the workload is "
                f"{tokens_in:,.0f} → {tokens_out:,.0f}: a server's capacity does not carry over to another token shape — plan from an "
                f"engine profile (the simulated server), or run `llm-planner serve-profile` at this shape")
    return None


def serving_capacity_table(profile: Profile) -> pd.DataFrame:
    """Measured load levels of a serving profile (OpenAI-compatible server under load)."""
    if not isinstance(profile, ServingProfile) or not profile.serving:
        raise MeasurementError(f"profile of {profile.model.file_name} has no serving measurements")
    rows = []
    for lvl in profile.serving:
        rows.append({
            "concurrency": lvl.target if lvl.mode == "concurrency" else np.nan,
            "offered_rate": lvl.target if lvl.mode == "rate" else np.nan,
            "requests_per_s": lvl.request_s,
            "goodput_requests_per_s": lvl.goodput_request_s if lvl.goodput_request_s is not None else np.nan,
            "ttft_s": lvl.ttft_ms.p95 / 1000 if lvl.ttft_ms else np.nan,
            "itl_p95_s": lvl.itl_ms.p95 / 1000 if lvl.itl_ms else np.nan,
            "itl_p50_s": lvl.itl_ms.median / 1000 if lvl.itl_ms else np.nan,
            "e2e_s": lvl.e2e_ms.p95 / 1000 if lvl.e2e_ms else np.nan,
            "error_rate": (lvl.failed + lvl.timed_out) / lvl.sent if lvl.sent else np.nan,
            "output_tok_s": lvl.output_tok_s,
        })
    return pd.DataFrame(rows)


def measured_latency_cdf(profile: ServingProfile, rate_per_s: float) -> LatencyCdf | None:
    """The measured distribution at the load level nearest at or above `rate_per_s` (the highest level when none is
    above): a load test kept every request's TTFT and every gap, so the CDF is the measurement itself, never smoothed.
    None when the profile kept no samples."""
    levels = [lvl for lvl in profile.serving if lvl.ttft_ms and lvl.itl_ms and lvl.ttft_ms.samples and lvl.itl_ms.samples]
    if not levels:
        return None
    above = [lvl for lvl in levels if lvl.request_s >= rate_per_s]
    lvl = min(above, key=lambda v: v.request_s) if above else max(levels, key=lambda v: v.request_s)
    ttft = np.percentile(np.asarray(lvl.ttft_ms.samples) / 1e3, CDF_PCT)
    itl = np.percentile(np.asarray(lvl.itl_ms.samples) / 1e3, CDF_PCT)
    where = "the nearest at or above the planned rate" if above else "the busiest level measured, below the planned rate"
    return LatencyCdf(float(lvl.request_s), CDF_PCT.copy(), ttft, itl, lvl.ttft_ms.n,
                      f"measured: the load level of {lvl.request_s:.3g} req/s ({lvl.mode} {lvl.target:g}), {where}")


def level_rate(table: pd.DataFrame) -> pd.Series:
    """What a load level counts for at an SLO: its requests/s, when its p95 TTFT and ITL meet the plan's SLO. (A
    serving level's goodput was judged against the SLO it was profiled with, which need not be the plan's.)"""
    return table["requests_per_s"]


def capacity_at_slo(table: pd.DataFrame, ttft_slo_s=np.inf, itl_slo_s=np.inf, *, ttft_col: str = "ttft_s",
                    itl_col: str = "itl_p95_s") -> tuple[np.ndarray, np.ndarray]:
    """Highest rate (`level_rate`) among levels meeting both limits (vectorised over SLO arrays); 0 where none does.

    Returns (rps, concurrency) arrays shaped like the broadcast SLOs.
    """
    ttft_slo = np.asarray(ttft_slo_s, float)
    itl_slo = np.asarray(itl_slo_s, float)
    if np.any(ttft_slo <= 0) or np.any(itl_slo <= 0) or np.any(np.isnan(ttft_slo)) or np.any(np.isnan(itl_slo)):
        raise InputError("ttft_slo_s / itl_slo_s: latency limits must be positive seconds")
    shape = np.broadcast(ttft_slo, itl_slo).shape
    ttft = table[ttft_col].to_numpy()
    itl = table[itl_col].to_numpy()
    rps = level_rate(table).to_numpy(dtype=float)
    conc = table["concurrency"].to_numpy(dtype=float)
    t = np.broadcast_to(ttft_slo, shape)[..., None]
    i = np.broadcast_to(itl_slo, shape)[..., None]
    ok = (ttft <= t) & (itl <= i)
    masked = np.where(ok, rps, -np.inf)
    best = masked.argmax(axis=-1)
    best_rps = np.take_along_axis(masked, best[..., None], axis=-1)[..., 0]
    found = np.isfinite(best_rps)
    return np.where(found, best_rps, 0.0), np.where(found, conc[best], np.nan)


def engine_comparison(profiles: list[ServingProfile], workload) -> pd.DataFrame:
    """Requests/s each served engine sustains at the workload's SLO (measured: the highest level whose p95 TTFT and ITL
    meet it), one row per serving profile, best first. Profiles measured at other token shapes are marked: their figures answer a different question."""
    rows = []
    for p in profiles:
        table = serving_capacity_table(p)
        rps, conc = capacity_at_slo(table, workload.ttft_slo_s, workload.itl_slo_s)
        best = table.loc[table["requests_per_s"].idxmax()]
        shape = p.serving[0]
        rows.append({
            "engine": p.engine.backend, "model": f"{p.model.display_name} {p.model.quant_label or ''}".strip(),
            "requests_per_s_at_slo": float(rps), "at_concurrency": float(conc) if float(rps) > 0 else np.nan,
            "max_requests_per_s": float(best["requests_per_s"]), "ttft_p95_s_at_max": float(best["ttft_s"]),
            "tokens": f"{shape.prompt_tokens_mean or 0:.0f} → {shape.output_tokens_mean or 0:.0f}",
            "same_workload": bool(shape.output_tokens_mean and abs(shape.output_tokens_mean - workload.tokens_out) <= 0.1 * workload.tokens_out),
        })
    frame = pd.DataFrame(rows)
    return frame.sort_values("requests_per_s_at_slo", ascending=False).reset_index(drop=True) if rows else frame
