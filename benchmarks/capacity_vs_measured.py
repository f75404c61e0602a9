"""Is the capacity a plan quotes true? Predict it from an engine profile, then measure it on the real server.

    python benchmarks/capacity_vs_measured.py                      # vLLM (CPU) and llama-server, 8 workloads each (~50 min)
    python benchmarks/capacity_vs_measured.py --engines llama-server --workloads 2 --requests 24   # a smoke run
    python benchmarks/capacity_vs_measured.py --traffic --requests 200   # length distributions and shared prefixes

For each engine: the step model is fitted on the engine profile (offline engine tests: decode at several depths and
batch sizes, prefill at several lengths — never a serving run); the server's own per-request overhead is calibrated
on a few single requests at a token shape no workload uses (64 → 8): the server's decode step against the offline
engine's moves the step model's per-step overhead, and its TTFT against the corrected model gives a per-request
TTFT overhead. Then for every workload (prompt 128 … 2048 ×
output 16 … 512, two SLO pairs) the discrete-event simulator predicts (a) the highest Poisson rate whose p95 TTFT and
p95 ITL meet the SLO and (b) p95 TTFT and ITL at three offered rates around it; the load generator then offers those
rates to the real server on loopback (the same arrival times the simulator used: the schedule is an input, not a
result). The measured rate at the SLO is interpolated (log rate) between the measured rates that bracket it; if the
three do not bracket it, one more rate is measured on the missing side.

`--traffic` validates what issue 23 added instead: workloads whose lengths are distributions (each request drawn, in
the same order the simulator draws them) and whose prompts open with shared prefixes (real shared text, so the
server's own prompt cache — vLLM's automatic prefix caching, llama-server's slot reuse — decides what is reused).

Writes benchmarks/results/capacity-validation-<machine>-<date>.json (typed: planner.core.validation) and prints the
table; `--traffic` writes traffic-validation-<machine>-<date>.json (plans keep quoting the fixed-shape file).
One heavy job at a time: the servers run one after another, and nothing else should run meanwhile.
"""
from __future__ import annotations

import argparse
import asyncio
import math
import re
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from planner import __version__
from planner.core.capacity import scheduler_for
from planner.core.lengths import RequestMix
from planner.core.simulate import Scheduler, capacity_at_slo_sim, poisson_arrivals, simulate
from planner.core.stepmodel import fit_step_model
from planner.core.validation import (
    CapacityValidation,
    EngineCalibration,
    RatePointCheck,
    ServerCalibration,
    WorkloadCheck,
    abs_max,
    abs_median,
    error_pct,
    fit_prefill_scale,
    slo_crossing,
    steady_state,
    summarize_engine,
)
from planner.formats.files import atomic_write_text
from planner.formats.profiles import load_profile
from planner.formats.validation import engine_key
from planner.measure.probes.hardware import fingerprint
from planner.measure.probes.telemetry import LoadMeter
from planner.measure.serving.client import Endpoint
from planner.measure.serving.prompts import Prompt, synthetic_prompts
from planner.measure.serving.scheduler import run_level

ROOT = Path(__file__).resolve().parent.parent
PROFILES = ROOT / "profiles" / "reference" / "validation"  # the Intel Xeon VMs'; validation-epyc/ the AMD EPYC VMs'
RESULTS = ROOT / "benchmarks" / "results"
OVERHEAD_SHAPE = (64, 8)  # calibration requests: no validation workload has this shape
CAL_DECODE = 32  # --calibrate-batches: output tokens of each calibration request, so most gaps are decode steps at the batch
# (prompt tokens, output tokens, TTFT p95 limit s, ITL p95 limit s) per engine: prompts 128 … 2048, outputs 16 … 512,
# SLO pairs each engine can meet on 2 cores. llama-server's prefill here runs ~300 tok/s (vLLM's ~2,000), so a long
# prompt stalls every decoding slot for seconds: its workloads stop at 512-token prompts and use looser ITL limits,
# or one measured rate would take many minutes.
WORKLOADS = {
    "vllm": [(128, 16, 1.0, 0.10), (128, 128, 1.0, 0.10), (256, 512, 2.0, 0.10), (512, 64, 2.0, 0.15),
             (512, 256, 5.0, 0.25), (1024, 32, 5.0, 0.25), (1024, 128, 5.0, 0.25), (2048, 16, 10.0, 0.25)],
    "llama-server": [(128, 16, 2.0, 0.5), (128, 64, 2.0, 0.5), (128, 256, 5.0, 1.0), (256, 32, 2.0, 0.5),
                     (256, 128, 5.0, 1.0), (512, 16, 15.0, 2.0), (512, 32, 5.0, 1.0), (512, 64, 15.0, 2.0)],
}
# issue 23: distributions and shared prefixes, (name, mix, TTFT p95 limit s, ITL p95 limit s). Lengths are drawn per
# request from the mix; a cached span is real shared text at the start of the prompt (prefix k of the mix's n_prefixes).
_RNG = np.random.default_rng(23)
_LONG_IN = np.clip(np.rint(_RNG.lognormal(np.log(160), 0.7, 400)), 16, 1200)  # long-tailed prompts: median 160, p95 ~500
_LONG_OUT = np.clip(np.rint(_RNG.lognormal(np.log(24), 0.8, 400)), 2, 160)
TRAFFIC_WORKLOADS = {
    "vllm": [
        ("two-point 90% 128→16, 10% 1024→64", RequestMix.from_arrays([128, 1024], [16, 64], weights=[9, 1]), 2.0, 0.15),
        ("long-tailed chat (lognormal)", RequestMix.from_arrays(_LONG_IN, _LONG_OUT), 2.0, 0.15),
        ("one 768-token system prompt + 64 → 16", RequestMix.from_arrays([832], [16], cached_in=[768], n_prefixes=1), 2.0, 0.15),
        ("4 shared 512-token documents + 128 → 32", RequestMix.from_arrays([640], [32], cached_in=[512], n_prefixes=4), 2.0, 0.15),
    ],
    "llama-server": [
        ("two-point 90% 128→16, 10% 512→64", RequestMix.from_arrays([128, 512], [16, 64], weights=[9, 1]), 5.0, 1.0),
        ("long-tailed chat (lognormal)", RequestMix.from_arrays(_LONG_IN, _LONG_OUT), 5.0, 1.0),
        ("one 384-token system prompt + 64 → 16", RequestMix.from_arrays([448], [16], cached_in=[384], n_prefixes=1), 2.0, 0.5),
        ("4 shared 384-token documents + 64 → 16", RequestMix.from_arrays([448], [16], cached_in=[384], n_prefixes=4), 2.0, 0.5),
    ],
}
# issue 23's suite: 12 workloads per engine — fixed shapes over prompts 128 … 3,000 and outputs 16 … 512 (4 prefill-heavy:
# prompt ≥ 1,024, output ≤ 64), three distributions (one long-tailed), two shared-prefix workloads. Run it in parts
# (`--suite issue23 --only NAME,… --merge FILE`): at the rates these SLOs allow on 2 cores it takes hours.
SUITE_23 = {
    "vllm": [(128, 16, 1.0, 0.10), (512, 256, 5.0, 0.25), (256, 512, 2.0, 0.10), (1024, 32, 5.0, 0.25), *TRAFFIC_WORKLOADS["vllm"][:2],
             ("bimodal 70% 96→24, 30% 768→128", RequestMix.from_arrays([96, 768], [24, 128], weights=[7, 3]), 3.0, 0.15),
             *TRAFFIC_WORKLOADS["vllm"][2:], (1536, 48, 8.0, 0.25), (2048, 16, 10.0, 0.25), (3000, 16, 20.0, 0.25)],
    "llama-server": [(128, 16, 2.0, 0.5), (512, 32, 5.0, 1.0), (128, 256, 5.0, 1.0), (1024, 16, 15.0, 2.0), *TRAFFIC_WORKLOADS["llama-server"][:2],
                     ("bimodal 70% 96→24, 30% 384→64", RequestMix.from_arrays([96, 384], [24, 64], weights=[7, 3]), 5.0, 1.0),
                     *TRAFFIC_WORKLOADS["llama-server"][2:], (1024, 64, 20.0, 2.0), (1536, 32, 25.0, 2.0), (2048, 16, 30.0, 2.0)],
}  # the slowest last: the rates their SLOs allow make each take 20–40 minutes
SUITES = {"fixed": WORKLOADS, "traffic": TRAFFIC_WORKLOADS, "issue23": SUITE_23}
RATE_FACTORS = (0.6, 0.9, 1.2)  # offered rates, × the predicted capacity
SERVER_CTX = 4096  # vLLM --max-model-len
SLOT_CTX = 2560  # tokens each llama-server slot holds
RUN_S = 45.0
MIN_REQUESTS = 20
FAILED_FACTOR = 1.5  # --until-steady: a run whose p95 TTFT passed this × the SLO stops (it fails the SLO either way)
MAX_EXTRA_RATES = 3  # rates measured beyond RATE_FACTORS to bracket the SLO, each a further step out


def workload_name(workload) -> str:
    """A workload's name in the suites and result files: a mix's own name, or `prompt→output` for a fixed shape."""
    return workload[0] if isinstance(workload[1], RequestMix) else f"{workload[0]}→{workload[1]}"


def _tokenizer():
    from transformers import AutoTokenizer

    from planner.measure.gguf.embedded import embedded_model_path
    from planner.measure.gguf.hf import hf_folder
    return AutoTokenizer.from_pretrained(hf_folder(embedded_model_path()))


def exact_prompts(tok, n: int, tokens: int, seed: int) -> list[Prompt]:
    """Synthetic prompts trimmed to exactly `tokens` tokens of the model's tokenizer, asking for a fixed-length answer."""
    out = []
    for p in synthetic_prompts(n, mean_tokens=tokens + 8, seed=seed):
        ids = tok.encode(p.body["prompt"], add_special_tokens=False)[:tokens]
        out.append(Prompt({"prompt": tok.decode(ids), "ignore_eos": True}, tokens))
    return out


def mix_prompts(tok, mix: RequestMix, n: int, seed: int, *, salt: int) -> tuple[list[Prompt], tuple]:
    """The n requests the simulator draws from `mix` at this seed, as prompts in the same order: each request's prompt
    is exactly its drawn length, opening with its prefix's shared text (the same tokens for every request of that
    prefix in this run) and continuing with text of its own. Both are new for every `salt`: each run starts with a
    cold cache, as the simulated run does, and only a prefix shared within the run can come from a cache; each asks for exactly its drawn output (`max_tokens`, EOS ignored). Also returns the drawn
    (n_in, n_out, seed, cached, prefix id), `predicted_point`'s request arguments."""
    n_in, n_out, cached, pid = mix.draw(n, seed)
    prefixes: dict[int, list[int]] = {}
    bodies = exact_prompts(tok, n, int(n_in.max()), seed=salt)
    out = []
    for i in range(n):
        own = tok.encode(bodies[i].body["prompt"], add_special_tokens=False)
        ids = own[:n_in[i]]
        if cached[i] > 0:
            key = int(pid[i])
            if key not in prefixes:  # a prefix's text: a synthetic passage of its own, as long as the longest span
                text = exact_prompts(tok, 1, int(cached.max()), seed=5_000_000 + 64 * salt + key)[0].body["prompt"]
                prefixes[key] = tok.encode(text, add_special_tokens=False)
            ids = prefixes[key][:cached[i]] + own[:n_in[i] - cached[i]]
        out.append(Prompt({"prompt": tok.decode(ids), "ignore_eos": True, "max_tokens": int(n_out[i])}, int(n_in[i])))
    return out, (n_in, n_out, seed, cached, pid)


def measure(endpoint: Endpoint, prompts, *, rate: float | None, n: int, n_out: int, seed: int = 0, steady_after: int | None = None,
            failed_above_s: float | None = None, concurrency: int = 1) -> dict:
    """One run. With `steady_after`, a rate run stops sending once at least that many requests finished and either
    their TTFTs stopped growing (`steady_state`) or their p95 TTFT is already above `failed_above_s` (a rate this far
    over the SLO never reaches a steady state: more requests only lengthen its queue); otherwise it sends all n."""
    mode, target = ("rate", rate) if rate else ("concurrency", concurrency)

    def enough(done) -> bool:
        if steady_after is None:
            return False
        ttft = [r.ttft_s for r in done if r.outcome == "ok"]
        return steady_state(ttft, steady_after) or (
            failed_above_s is not None and len(ttft) >= steady_after and float(np.percentile(ttft, 95)) > failed_above_s)
    records, wall = asyncio.run(run_level(endpoint, prompts, mode=mode, target=target, max_requests=n, max_duration_s=3600,
                                          max_tokens=n_out, timeout_s=600, seed=seed, enough=enough))
    ok = [r for r in records if r.outcome == "ok"]
    gaps = [g for r in ok for g in r.itl_s]
    asked = [p.body.get("max_tokens", n_out) for p in prompts[:len(records)]]
    short = [r.output_tokens for r, want in zip(records, asked, strict=True) if r.outcome == "ok" and r.output_tokens != want]
    return {"n_sent": len(records), "n_ok": len(ok), "wall_s": wall,
            "ttft_p95_s": float(np.percentile([r.ttft_s for r in ok], 95)) if ok else None,
            "ttft_median_s": float(np.median([r.ttft_s for r in ok])) if ok else None,
            "itl_p95_s": float(np.percentile(gaps, 95)) if gaps else None,
            "itl_median_s": float(np.median(gaps)) if gaps else None,
            "short_outputs": len(short), "steady": steady_state([r.ttft_s for r in ok], steady_after) if steady_after is not None else None}


def predicted_point(step, sched, rate: float, n: int, n_in, n_out, seed: int = 0, cached=0, pid=None) -> tuple[float, float]:
    """p95 TTFT and ITL of exactly the run the load generator makes: the same n arrivals (and, for a mix, the same
    requests in the same order), every request counted."""
    res = simulate(step, sched, poisson_arrivals(rate, n, seed=seed), n_in, n_out, cached, pid)
    return res.ttft_pct(95), res.itl_pct(95) if np.max(n_out) > 1 else 0.0


def measured_capacity(points: list[RatePointCheck], ttft_slo: float, itl_slo: float) -> float | None:
    """Highest rate meeting the SLO, interpolated in log rate on the worse latency ratio between the bracketing points."""
    pts = sorted((p for p in points if p.measured_ttft_p95_s is not None), key=lambda p: p.rate_per_s)
    return slo_crossing([p.rate_per_s for p in pts],
                        [max(p.measured_ttft_p95_s / ttft_slo, (p.measured_itl_p95_s or 0.0) / itl_slo) for p in pts])


def bracket_side(points: list[RatePointCheck], ttft_slo: float, itl_slo: float) -> str | None:
    """'up' if every measured rate meets the SLO, 'down' if none does, None when bracketed."""
    ok = [max(p.measured_ttft_p95_s or math.inf, 0) <= ttft_slo and (p.measured_itl_p95_s or 0) <= itl_slo for p in points]
    return "up" if all(ok) else "down" if not any(ok) else None


def start_server(engine: str, sched: Scheduler, extra_args: tuple[str, ...] = ()):
    """The real server, configured as the scheduler the plan simulates for this engine profile (the planner's own
    `scheduler_for`): the same sequence limit and token budget, so what is validated is what a plan uses."""
    from planner.measure.gguf.embedded import embedded_model_path
    if engine == "vllm":
        from planner.measure.gguf.hf import hf_folder
        from planner.measure.serving.servers import VllmServer
        return VllmServer(hf_folder(embedded_model_path()), n_ctx=SERVER_CTX, kv_cache_gib=2.0, max_num_seqs=sched.max_seqs,
                          max_num_batched_tokens=sched.token_budget, model_alias="smollm2").start()
    from planner.measure.serving.servers import LlamaServer
    return LlamaServer(embedded_model_path(), parallel=sched.max_seqs, n_batch=sched.token_budget, n_ctx=sched.max_seqs * SLOT_CTX,
                       model_alias="smollm2", extra_args=extra_args).start()


def calibrate(engine: str, profile_path: Path, endpoint: Endpoint, tok, step, sched: Scheduler, log,
              batches: tuple[int, ...] = (1,), prompts: tuple[int, ...] = ()) -> EngineCalibration:
    """The server's own overheads beyond the offline engine's, from requests at shapes no workload uses: single
    requests (64 → 8) give its decode step against the engine's (an offset per step) and its TTFT against the
    corrected model (a TTFT overhead). With several `batches`, the decode step at each batch size (64 → 32, that many at
    once) fits an offset per step and per sequence; with several `prompts`, single requests at each prompt length fit
    the TTFT overhead and an offset per prompt token. Never fitted on a validation workload's runs."""
    n_in, n_out = OVERHEAD_SHAPE
    measure(endpoint, exact_prompts(tok, 4, n_in, seed=999), rate=None, n=4, n_out=n_out)  # warm-up, uncounted
    single = measure(endpoint, exact_prompts(tok, 8, n_in, seed=998), rate=None, n=8, n_out=n_out)
    alone = simulate(step, sched, np.array([0.0]), n_in, n_out)
    step_offset, per_seq_offset = single["itl_median_s"] - alone.itl_pct(50), 0.0
    if len(batches) > 1:
        offsets = []
        for b in batches:
            at_b = measure(endpoint, exact_prompts(tok, 2 * b, n_in, seed=990 + b), rate=None, n=2 * b, n_out=CAL_DECODE, concurrency=b)
            sim_b = simulate(step, sched, np.zeros(b), n_in, CAL_DECODE)
            offsets.append(at_b["itl_median_s"] - sim_b.itl_pct(50))
            log(f"[{engine}] {b} at once {n_in}→{CAL_DECODE}: ITL median {at_b['itl_median_s'] * 1e3:.1f} ms vs engine {sim_b.itl_pct(50) * 1e3:.1f} ms")
        per_seq_offset, step_offset = (float(x) for x in np.polyfit(np.asarray(batches, float), offsets, 1))
    calibrated, _ = ServerCalibration(step_offset, 0.0, per_seq_offset).apply(step, sched)
    alone_cal = simulate(calibrated, sched, np.array([0.0]), n_in, n_out)
    overhead = max(0.0, single["ttft_median_s"] - float(alone_cal.ttft_s[0]))
    scale = 1.0
    if len(prompts) > 1:  # the server's prefill as a multiple of the engine's (fit_prefill_scale)
        measured, without, with_ = [], [], []
        no_prefill = replace(calibrated, per_prefill_token_s=0.0, per_prefill_pair_s=0.0)
        for length in prompts:
            at_l = measure(endpoint, exact_prompts(tok, 4, length, seed=980 + length % 97), rate=None, n=4, n_out=n_out)
            if at_l["ttft_median_s"] is None:
                sys.exit(f"--calibrate-prompts: the {engine} server answered none of the {length}-token requests (longer than a "
                         "slot's context?): choose shorter prompts")
            sim_l = float(simulate(calibrated, sched, np.array([0.0]), length, n_out).ttft_s[0])
            measured.append(at_l["ttft_median_s"])
            with_.append(sim_l)
            without.append(float(simulate(no_prefill, sched, np.array([0.0]), length, n_out).ttft_s[0]))
            log(f"[{engine}] single requests {length}→{n_out}: TTFT median {at_l['ttft_median_s'] * 1e3:.1f} ms vs engine {sim_l * 1e3:.1f} ms")
        scale, intercept = fit_prefill_scale(measured, without, with_)
        overhead = max(0.0, intercept)
    log(f"[{engine}] single requests {n_in}→{n_out}: ITL median {single['itl_median_s'] * 1e3:.1f} ms vs engine step "
        f"{alone.itl_pct(50) * 1e3:.1f} ms → step offset {step_offset * 1e3:+.2f} ms, {per_seq_offset * 1e3:+.3f} ms a sequence; "
        f"TTFT median {single['ttft_median_s'] * 1e3:.1f} ms → server TTFT overhead {overhead * 1e3:.1f} ms, prefill × {scale:.3f}")
    final, _ = ServerCalibration(step_offset, overhead, per_seq_offset, prefill_scale=scale).apply(step, sched)
    return EngineCalibration(
        engine=engine, engine_profile=str(profile_path.relative_to(ROOT)) if profile_path.is_relative_to(ROOT) else str(profile_path),
        step_model=_step_dict(final), step_fit_rms_pct=step.fit_rms_pct,
        scheduler={"kind": sched.kind, "max_seqs": sched.max_seqs, "token_budget": sched.token_budget,
                   "kv_capacity_tokens": sched.kv_capacity_tokens, "block_size": sched.block_size,
                   **({"ram_prompt_cache": sched.ram_prompt_cache} if sched.kind == "slots" else {})},
        overhead_shape=OVERHEAD_SHAPE, ttft_overhead_s=overhead, step_overhead_offset_s=step_offset, step_per_seq_offset_s=per_seq_offset,
        calibration_batches=list(batches), calibration_prompts=list(prompts), prefill_scale=scale)


def calibrated_model(step, sched: Scheduler, cal: EngineCalibration | WorkloadCheck):
    """The engine model with the server calibration `cal` states applied (`ServerCalibration.apply`, as plans do)."""
    return ServerCalibration.of(cal).apply(step, sched)


CALIBRATION_FIELDS = ("ttft_overhead_s", "step_overhead_offset_s", "step_per_seq_offset_s", "step_per_prefill_token_offset_s", "prefill_scale")


def calibration_fields(cal: EngineCalibration) -> dict[str, float]:
    """The calibration a workload's record keeps (files merged from several runs hold several)."""
    return {k: getattr(cal, k) for k in CALIBRATION_FIELDS}


def validate_engine(engine: str, profile_path: Path, workloads, *, n_requests: int, tok, log,
                    min_requests: int = MIN_REQUESTS, until_steady: bool = False, calibrate_batches: tuple[int, ...] = (1,),
                    calibrate_prompts: tuple[int, ...] = (), checkpoint=None) -> tuple[EngineCalibration, list[WorkloadCheck]]:
    """Calibrate the server, then check each workload; `checkpoint(calibration, records)` after each one (the runs take
    hours: a stopped run keeps what it measured)."""
    profile = load_profile(profile_path)
    step = fit_step_model(profile)
    sched, _ = scheduler_for(profile)
    log(f"[{engine}] step model on {profile_path.name}: {step.overhead_s * 1e3:.2f} ms + {step.per_seq_s * 1e3:.3f} ms/seq + "
        f"{step.per_kv_token_s * 1e6:.3f} µs/KV token + {step.per_prefill_token_s * 1e3:.4f} ms/prompt token (fit rms {step.fit_rms_pct:.1f}%)")
    server = start_server(engine, sched)
    records: list[WorkloadCheck] = []
    try:
        endpoint = Endpoint(server.base_url, "smollm2")
        raw_step, raw_sched = step, sched  # the engine model alone, validated beside the calibrated one
        cal = calibrate(engine, profile_path, endpoint, tok, step, sched, log, calibrate_batches, calibrate_prompts)
        step, sched = calibrated_model(raw_step, raw_sched, cal)
        for k, workload in enumerate(workloads):
            name = workload_name(workload)
            if isinstance(workload[1], RequestMix):  # a distribution / shared-prefix workload
                _, mix, ttft_slo, itl_slo = workload
                w_in, w_out = round(mix.mean_in), round(mix.mean_out)
            else:
                (w_in, w_out, ttft_slo, itl_slo), mix = workload, None
            load = LoadMeter()
            if until_steady:  # up to --requests per rate, stopping once the run's TTFTs stopped growing
                n = n_requests
            else:  # about RUN_S seconds of arrivals at the (steady-state) capacity, within [MIN_REQUESTS, --requests]
                n = int(np.clip(capacity_at_slo_sim(step, sched, w_in, w_out, ttft_slo, itl_slo, mix=mix).requests_per_s * RUN_S,
                                min(min_requests, n_requests), n_requests))

            # the prediction validated is for the run the load generator makes: its requests from seed 0, every one
            # counted (a short run starts from an empty server, so it queues less than the steady state a plan quotes)
            def predicted_capacity(s, sc, m: int) -> float:
                return capacity_at_slo_sim(s, sc, w_in, w_out, ttft_slo, itl_slo, n_requests=m, warmup=0.0, drain=0.0, sustained=False,
                                           mix=mix).requests_per_s
            first_cap = predicted_capacity(step, sched, min_requests if until_steady else n)
            points: list[RatePointCheck] = []

            def run(rate: float) -> None:
                # fresh prompts for every run, shared prefixes included: llama-server's slots and vLLM's prefix cache
                # would otherwise serve a repeated prompt from cache, and the simulated run starts cold
                if mix is None:
                    prompts, shape = exact_prompts(tok, n, w_in, seed=1000 * k + len(points)), (w_in, w_out)
                else:
                    prompts, shape = mix_prompts(tok, mix, n, seed=0, salt=1000 * k + len(points))
                max_out = int(np.max(shape[1]))
                m = measure(endpoint, prompts, rate=rate, n=n, n_out=max_out, steady_after=min_requests if until_steady else None,
                            failed_above_s=FAILED_FACTOR * ttft_slo)
                sent = m["n_sent"]  # a run that stopped early is the first `sent` requests of the same schedule
                shape = shape if mix is None else (*(a[:sent] for a in shape[:2]), shape[2], *(a[:sent] for a in shape[3:]))
                p_ttft, p_itl = predicted_point(step, sched, rate, sent, *shape)
                r_ttft, r_itl = predicted_point(raw_step, raw_sched, rate, sent, *shape)
                points.append(RatePointCheck(
                    rate_per_s=rate, n_sent=sent, n_ok=m["n_ok"], predicted_ttft_p95_s=p_ttft, measured_ttft_p95_s=m["ttft_p95_s"],
                    predicted_itl_p95_s=p_itl, measured_itl_p95_s=m["itl_p95_s"] if w_out > 1 else 0.0,
                    error_pct_ttft_p95=error_pct(p_ttft, m["ttft_p95_s"]), error_pct_itl_p95=error_pct(p_itl, m["itl_p95_s"]),
                    raw_predicted_ttft_p95_s=r_ttft, raw_predicted_itl_p95_s=r_itl, raw_error_pct_ttft_p95=error_pct(r_ttft, m["ttft_p95_s"]),
                    raw_error_pct_itl_p95=error_pct(r_itl, m["itl_p95_s"]), steady_state=m["steady"]))
                log(f"[{engine}] {name} at {rate:.3g}/s ({m['n_ok']}/{sent} ok, {m['wall_s']:.0f} s, {m['short_outputs']} short, "
                    f"steady {m['steady']}): TTFT p95 {p_ttft:.3f} vs {m['ttft_p95_s'] or math.nan:.3f} s, "
                    f"ITL p95 {p_itl * 1e3:.1f} vs {(m['itl_p95_s'] or math.nan) * 1e3:.1f} ms")

            common = dict(engine=engine, name=name, tokens_in=w_in, tokens_out=w_out, ttft_slo_s=ttft_slo, itl_slo_s=itl_slo,
                          traffic=_traffic_label(name, mix), **calibration_fields(cal))
            if first_cap <= 0:
                cap = capacity_at_slo_sim(step, sched, w_in, w_out, ttft_slo, itl_slo, mix=mix)
                note = (f"predicted infeasible: alone TTFT p95 {cap.alone.ttft_p95_s:.2f} s, ITL p95 {cap.alone.itl_p95_s * 1e3:.0f} ms")
                records.append(WorkloadCheck(**common, predicted_requests_per_s=0.0, measured_requests_per_s=None, error_pct_rate=None,
                                             points=[], note=note, load=load.stop()))
                log(f"[{engine}] {name}: {note}")
                if checkpoint is not None:
                    checkpoint(cal, records)
                continue
            for f in RATE_FACTORS:
                run(first_cap * f)
            for _ in range(MAX_EXTRA_RATES):  # step out until the measured rates bracket the SLO
                side = bracket_side(points, ttft_slo, itl_slo)
                if side is None:
                    break
                rates = [p.rate_per_s for p in points]
                run(max(rates) * 1.5 if side == "up" else min(rates) * 0.6)
            measured = measured_capacity(points, ttft_slo, itl_slo)
            n_pred = int(np.median([p.n_sent for p in points]))  # the rate error compares runs of this many requests
            cap, raw_cap = predicted_capacity(step, sched, n_pred), predicted_capacity(raw_step, raw_sched, n_pred)
            note = None if measured is not None else f"measured rates do not bracket the SLO ({bracket_side(points, ttft_slo, itl_slo)})"
            records.append(WorkloadCheck(
                **common, predicted_requests_per_s=cap, measured_requests_per_s=measured, error_pct_rate=error_pct(cap, measured),
                raw_predicted_requests_per_s=raw_cap, raw_error_pct_rate=error_pct(raw_cap, measured), points=points, note=note,
                load=load.stop()))
            log(f"[{engine}] {name} SLO {ttft_slo:g} s / {itl_slo * 1e3:g} ms: predicted {cap:.3g} req/s, "
                f"measured {measured if measured is not None else math.nan:.3g} req/s, error {records[-1].error_pct_rate or math.nan:+.1f}% "
                f"(engine model alone: {raw_cap:.3g} req/s, {records[-1].raw_error_pct_rate or math.nan:+.1f}%); "
                f"other work {records[-1].load.other_cpu_fraction or 0:.0%} of the CPUs")
            if checkpoint is not None:
                checkpoint(cal, records)
    finally:
        server.stop()
    return summarize_engine(cal, records), records


def _traffic_label(name: str | None, mix: RequestMix | None) -> str | None:
    return None if mix is None else f"{name}: {mix.describe()}"


def latest_profile(engine: str, cpu_model: str) -> Path:
    """The newest engine profile measured on a CPU like this one: a step model fitted on another CPU's timings
    predicts another machine (a validation run on the AMD EPYC VMs with the Xeon profiles was stopped for that)."""
    name = "vllm" if engine == "vllm" else "cpu"
    found = [p for p in sorted(PROFILES.parent.glob(f"validation*/*__{name}__*.json"), key=lambda p: p.name)
             if load_profile(p).hardware.cpu_model == cpu_model]
    if not found:
        sys.exit(f"no {engine} engine profile measured on this CPU ({cpu_model}) in {PROFILES}*/: run `llm-planner profile"
                 f"{' --engine vllm' if engine == 'vllm' else ''} --profiles-dir {PROFILES.relative_to(ROOT)}-<machine>` with the "
                 "settings of the profiles there (README, 'Reference profiles')")
    return found[-1]


def table(result: CapacityValidation) -> str:
    lines = [f"{'engine':13} {'workload':>11} {'SLO':>13} {'pred req/s':>10} {'meas req/s':>10} {'error':>7} {'raw err':>8}   p95 TTFT / ITL error at each rate"]
    for r in result.records:
        pts = "  ".join(f"{p.error_pct_ttft_p95 if p.error_pct_ttft_p95 is not None else math.nan:+.0f}/"
                        f"{p.error_pct_itl_p95 if p.error_pct_itl_p95 is not None else math.nan:+.0f}%" for p in r.points)
        lines.append(f"{r.engine:13} {f'{r.tokens_in}→{r.tokens_out}':>11} {f'{r.ttft_slo_s:g}s/{r.itl_slo_s * 1e3:g}ms':>13} "
                     f"{r.predicted_requests_per_s:10.3g} {r.measured_requests_per_s if r.measured_requests_per_s is not None else math.nan:10.3g} "
                     f"{r.error_pct_rate if r.error_pct_rate is not None else math.nan:+6.1f}% "
                     f"{r.raw_error_pct_rate if r.raw_error_pct_rate is not None else math.nan:+7.1f}%   {pts}")
    for c in result.calibrations:
        lines.append(f"{c.engine}: median |error| rate {c.median_abs_error_pct_rate or math.nan:.1f}% (worst {c.max_abs_error_pct_rate or math.nan:.1f}%), "
                     f"p95 TTFT {c.median_abs_error_pct_ttft_p95 or math.nan:.1f}%, p95 ITL {c.median_abs_error_pct_itl_p95 or math.nan:.1f}%; "
                     f"engine model alone: rate {c.raw_median_abs_error_pct_rate or math.nan:.1f}% (worst {c.raw_max_abs_error_pct_rate or math.nan:.1f}%), "
                     f"TTFT {c.raw_median_abs_error_pct_ttft_p95 or math.nan:.1f}%, ITL {c.raw_median_abs_error_pct_itl_p95 or math.nan:.1f}%")
    lines.append(f"all: median |error| rate {result.median_abs_error_pct_rate or math.nan:.1f}% (worst {result.max_abs_error_pct_rate or math.nan:.1f}%), "
                 f"p95 TTFT {result.median_abs_error_pct_ttft_p95 or math.nan:.1f}%, p95 ITL {result.median_abs_error_pct_itl_p95 or math.nan:.1f}%, "
                 f"{result.n_workloads} workloads, {result.n_with_measured_rate} with a measured rate at the SLO")
    return "\n".join(lines)


def reanalyse(path: Path) -> CapacityValidation:
    """Recompute every prediction of a result file with the current model code; the measurements stay as they are.

    The step model is re-fitted on the engine profile the file names and given the server calibration it recorded
    (both come from the engine profile and the server calibration, never from the validation runs). A
    distribution's requests are redrawn from its suite definition (by name), as the run drew them.
    """
    return reanalysed(CapacityValidation.model_validate_json(path.read_text()))


def reanalysed(old: CapacityValidation) -> CapacityValidation:
    calibrations, records = [], []
    for cal in old.calibrations:
        profile = load_profile(ROOT / cal.engine_profile)
        raw_step, raw_sched = fit_step_model(profile), scheduler_for(profile)[0]
        for r in (r for r in old.records if r.engine == cal.engine):
            step, sched = calibrated_model(raw_step, raw_sched, cal if r.ttft_overhead_s is None else r)
            mix = None
            if r.traffic is not None:
                found = find_workload(r.engine, r.name or r.traffic.split(": ")[0])
                if found is None or not isinstance(found[1], RequestMix):
                    records.append(r)  # its distribution is no longer in the suites: left as measured and predicted
                    continue
                mix = found[1]
            n = int(np.median([p.n_sent for p in r.points])) if r.points else MIN_REQUESTS
            cap = capacity_at_slo_sim(step, sched, r.tokens_in, r.tokens_out, r.ttft_slo_s, r.itl_slo_s, n_requests=n, warmup=0.0, drain=0.0,
                                      sustained=False, mix=mix)
            raw_cap = capacity_at_slo_sim(raw_step, raw_sched, r.tokens_in, r.tokens_out, r.ttft_slo_s, r.itl_slo_s, n_requests=n, warmup=0.0,
                                          drain=0.0, sustained=False, mix=mix).requests_per_s
            points = []
            for p in r.points:
                if mix is None:
                    shape = (r.tokens_in, r.tokens_out)
                else:
                    n_in, n_out, cached, pid = mix.draw(p.n_sent, 0)
                    shape = (n_in, n_out, 0, cached, pid)
                p_ttft, p_itl = predicted_point(step, sched, p.rate_per_s, p.n_sent, *shape)
                r_ttft, r_itl = predicted_point(raw_step, raw_sched, p.rate_per_s, p.n_sent, *shape)
                points.append(p.model_copy(update=dict(
                    predicted_ttft_p95_s=p_ttft, predicted_itl_p95_s=p_itl, error_pct_ttft_p95=error_pct(p_ttft, p.measured_ttft_p95_s),
                    error_pct_itl_p95=error_pct(p_itl, p.measured_itl_p95_s), raw_predicted_ttft_p95_s=r_ttft, raw_predicted_itl_p95_s=r_itl,
                    raw_error_pct_ttft_p95=error_pct(r_ttft, p.measured_ttft_p95_s), raw_error_pct_itl_p95=error_pct(r_itl, p.measured_itl_p95_s))))
            records.append(r.model_copy(update=dict(
                predicted_requests_per_s=cap.requests_per_s, error_pct_rate=error_pct(cap.requests_per_s, r.measured_requests_per_s),
                raw_predicted_requests_per_s=raw_cap, raw_error_pct_rate=error_pct(raw_cap, r.measured_requests_per_s), points=points)))
        calibrations.append(summarize_engine(cal.model_copy(update=dict(step_model=_step_dict(calibrated_model(raw_step, raw_sched, cal)[0]))),
                                             records))
    pts = [p for r in records for p in r.points]
    return old.model_copy(update=dict(
        calibrations=calibrations, records=records, n_with_measured_rate=sum(r.measured_requests_per_s is not None for r in records),
        median_abs_error_pct_rate=abs_median(r.error_pct_rate for r in records), max_abs_error_pct_rate=abs_max(r.error_pct_rate for r in records),
        median_abs_error_pct_ttft_p95=abs_median(p.error_pct_ttft_p95 for p in pts), median_abs_error_pct_itl_p95=abs_median(p.error_pct_itl_p95 for p in pts),
        notes=[*(n for n in old.notes if not n.startswith(REANALYSED)),
               f"{REANALYSED} {datetime.now(UTC):%Y-%m-%d} by `--reanalyse` (llm-planner {__version__}); the measurements are those of the original run"]))


REANALYSED = "predictions recomputed on"


def recalibrate(old: CapacityValidation, tok, log, batches: tuple[int, ...], prompts: tuple[int, ...],
                new_profile: Path | None = None) -> CapacityValidation:
    """The file's server calibration measured again on a fresh server of each engine (on the same CPU as the file's
    runs), at the shapes `calibrate` uses — none a workload's — and every prediction recomputed with it. The
    workloads' measurements stay those of the original runs: a calibration can be improved without re-running hours
    of validation, and never sees a validation run. `new_profile`: the step model of its engine is fitted on this
    engine profile instead of the file's (one measured on the same CPU model, e.g. after the machine changed)."""
    replacement = load_profile(new_profile) if new_profile else None
    replaced = engine_key(replacement) if replacement is not None else None  # the engine whose profile is replaced
    if replacement is not None:
        if replacement.hardware.cpu_model != old.machine.cpu_model or replacement.hardware.gpus:
            sys.exit(f"--profile: {new_profile.name} was measured on {replacement.hardware.cpu_model}, the file on {old.machine.cpu_model}")
        if replaced not in {c.engine for c in old.calibrations}:
            sys.exit(f"--profile: {new_profile.name} is a profile of {replaced or 'a serving run'}, and that file validated "
                     f"{', '.join(c.engine for c in old.calibrations)}")
    machine = fingerprint()
    if machine.cpu_model != old.machine.cpu_model:
        sys.exit(f"--recalibrate: that file was measured on {old.machine.cpu_model}, this machine is {machine.cpu_model}")
    calibrations, records = [], list(old.records)
    for cal in old.calibrations:
        profile_path = new_profile.resolve() if replaced is not None and cal.engine == replaced else ROOT / cal.engine_profile
        profile = load_profile(profile_path)
        step, sched = fit_step_model(profile), scheduler_for(profile)[0]
        server = start_server(cal.engine, sched)
        try:
            new = calibrate(cal.engine, profile_path, Endpoint(server.base_url, "smollm2"), tok, step, sched, log, batches, prompts)
        finally:
            server.stop()
        calibrations.append(new)
        records = [r.model_copy(update=calibration_fields(new)) if r.engine == cal.engine else r for r in records]
    note = (f"server calibration re-measured on {datetime.now(UTC):%Y-%m-%d} on a fresh server (`--recalibrate`, batches "
            f"{','.join(map(str, batches))}, prompts {','.join(map(str, prompts)) or '64'}"
            f"{f', engine profile {new_profile.name}' if new_profile else ''}); the workloads' measurements are those of the original runs")
    # a new file (its calibration measured now): the newest of files with as many measured workloads is the one plans quote
    return reanalysed(old.model_copy(update=dict(created_at=datetime.now(UTC), calibrations=calibrations, records=records,
                                                 notes=[*old.notes, note])))


def _step_dict(step) -> dict[str, float]:
    return {"overhead_s": step.overhead_s, "per_seq_s": step.per_seq_s, "per_kv_token_s": step.per_kv_token_s,
            "per_prefill_token_s": step.per_prefill_token_s, "per_prefill_pair_s": step.per_prefill_pair_s, "per_request_s": step.per_request_s}


def only_names(text: str, names: set[str]) -> list[str]:
    """`--only`'s workload names: comma-separated, where a name may itself hold a comma ("two-point 90% 128→16, 10%
    512→64": pieces are joined until they make a known name) and a fixed shape may be written 128x16 or 128->16.
    KeyError names the first piece that makes no workload."""
    out, held = [], None
    for piece in (p.strip() for p in text.split(",")):
        if not piece:
            continue
        name = re.sub(r"^(\d+)\s*(?:x|->)\s*(\d+)$", r"\1→\2", piece if held is None else f"{held}, {piece}")
        if name in names:
            out.append(name)
            held = None
        else:
            held = name
    if held is not None:
        raise KeyError(held)
    return out


def find_workload(engine: str, name: str):
    """A workload of any suite by its name (a file's `name`, or `prompt→output`), or None."""
    return next((w for suite in SUITES.values() for w in suite.get(engine, []) if workload_name(w) == name), None)


def combine(records: list[WorkloadCheck], calibrations: list[EngineCalibration], *, machine, command: str, notes: list[str],
            old: CapacityValidation | None = None) -> CapacityValidation:
    """One result file from this run's workloads, merged into `old` (its workloads of the same engine and name are
    replaced; the machine must be the same CPU). The file's load is its worst workload's."""
    if old is not None:
        if old.machine.cpu_model != machine.cpu_model:
            sys.exit(f"--merge: that file was measured on {old.machine.cpu_model}, this machine is {machine.cpu_model}: write a new file")
        ran = {(r.engine, r.name or f"{r.tokens_in}→{r.tokens_out}") for r in records}
        records = [r for r in old.records if (r.engine, r.name or f"{r.tokens_in}→{r.tokens_out}") not in ran] + records
        calibrations = [*(c for c in old.calibrations if c.engine not in {k.engine for k in calibrations}), *calibrations]
        command, notes = f"{old.command} ; {command}", [*old.notes, *(n for n in notes if n not in old.notes)]
    engines = [c.engine for c in calibrations]
    calibrations = [summarize_engine(c, records) for c in calibrations]
    points = [p for r in records for p in r.points]
    loads = [r.load for r in records if r.load is not None and r.load.other_cpu_fraction is not None]
    return CapacityValidation(
        created_at=datetime.now(UTC), tool_version=__version__, command=command, machine=machine,
        load=max(loads, key=lambda x: x.other_cpu_fraction) if loads else (old.load if old else None), engines=engines,
        n_workloads=len(records), n_with_measured_rate=sum(r.measured_requests_per_s is not None for r in records),
        median_abs_error_pct_rate=abs_median(r.error_pct_rate for r in records), max_abs_error_pct_rate=abs_max(r.error_pct_rate for r in records),
        median_abs_error_pct_ttft_p95=abs_median(p.error_pct_ttft_p95 for p in points),
        median_abs_error_pct_itl_p95=abs_median(p.error_pct_itl_p95 for p in points), calibrations=calibrations, records=records, notes=notes)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--engines", default="vllm,llama-server")
    ap.add_argument("--suite", choices=sorted(SUITES), default="fixed",
                    help="fixed: 8 fixed shapes; traffic: distributions and shared prefixes; issue23: the 12-workload suite")
    ap.add_argument("--workloads", type=int, default=None, help="use each engine's first N workloads of the suite")
    ap.add_argument("--only", default=None, help="comma-separated workload names of the suite (e.g. '1024→32,long-tailed chat (lognormal)')")
    ap.add_argument("--requests", type=int, default=60, help="requests per offered rate at most (about 45 s of arrivals, at least 20)")
    ap.add_argument("--min-requests", type=int, default=MIN_REQUESTS, help="requests per offered rate at least")
    ap.add_argument("--until-steady", action="store_true", help="send up to --requests per rate, stopping once at least "
                    "--min-requests finished and their TTFTs stopped growing (instead of about 45 s of arrivals)")
    ap.add_argument("--calibrate-batches", default="1", help="batch sizes of the server calibration, e.g. 1,4,8: with two or "
                    "more, the server's decode step against the engine's is fitted as an offset per step and per sequence "
                    "(at 64 → 32 tokens, a shape no workload uses)")
    ap.add_argument("--calibrate-prompts", default="", help="prompt lengths of a TTFT calibration, e.g. 96,1536: the server's "
                    "TTFT against the engine's is fitted as a TTFT overhead and an offset per prompt token (single requests)")
    ap.add_argument("--merge", type=Path, default=None, help="merge into this result file (its workloads of the same name are replaced)")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--reanalyse", type=Path, default=None, help="recompute the predictions of this result file (no measuring)")
    ap.add_argument("--recalibrate", type=Path, default=None, help="measure this result file's server calibration again "
                    "(--calibrate-batches, --calibrate-prompts) on a fresh server and recompute its predictions")
    ap.add_argument("--profile", type=Path, default=None, help="with --recalibrate: fit the step model on this engine profile "
                    "instead of the file's (measured on the same CPU model)")
    ap.add_argument("--traffic", action="store_true", help="the same as --suite traffic")
    args = ap.parse_args()
    if args.reanalyse:
        result = reanalyse(args.reanalyse)
        atomic_write_text(args.out or args.reanalyse, result.model_dump_json(indent=2) + "\n")
        print(table(result))
        return
    try:
        batches = tuple(sorted({int(b) for b in args.calibrate_batches.split(",")}))
    except ValueError:
        sys.exit(f"--calibrate-batches: whole numbers separated by commas, e.g. 1,4,8 (got {args.calibrate_batches!r})")
    try:
        prompts = tuple(sorted({int(b) for b in args.calibrate_prompts.split(",") if b.strip()}))
    except ValueError:
        sys.exit(f"--calibrate-prompts: whole numbers separated by commas, e.g. 96,1536 (got {args.calibrate_prompts!r})")
    if len(prompts) == 1 or (prompts and min(prompts) < 2):
        sys.exit(f"--calibrate-prompts: two or more prompt lengths of at least 2 tokens (got {args.calibrate_prompts!r})")
    if not batches or min(batches) < 1 or 1 not in batches:
        sys.exit(f"--calibrate-batches: batch sizes of at least 1, 1 among them (got {args.calibrate_batches!r})")
    if args.profile and not args.recalibrate:
        sys.exit("--profile: only with --recalibrate FILE (a validation run predicts from the newest profile of this CPU)")
    if args.recalibrate:
        started = time.time()
        result = recalibrate(CapacityValidation.model_validate_json(args.recalibrate.read_text()), _tokenizer(),
                             lambda msg: print(f"[{time.time() - started:6.0f} s] {msg}", flush=True), batches, prompts, args.profile)
        atomic_write_text(args.out or args.recalibrate, result.model_dump_json(indent=2) + "\n")
        print(table(result))
        return
    suite_name = "traffic" if args.traffic else args.suite
    suite = SUITES[suite_name]
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    for e in engines:
        if e not in ("vllm", "llama-server"):
            sys.exit(f"--engines: vllm and/or llama-server (got {e!r})")
    names = {workload_name(w) for e in engines for w in suite[e]}
    try:
        wanted = None if args.only is None else only_names(args.only, names)
    except KeyError as exc:
        sys.exit(f"--only: no workload {exc.args[0]!r} in suite {suite_name} (names: {', '.join(sorted(names))})")
    chosen = {e: [w for w in (suite[e][:args.workloads] if args.workloads else suite[e]) if wanted is None or workload_name(w) in wanted]
              for e in engines}
    old = CapacityValidation.model_validate_json(args.merge.read_text()) if args.merge else None
    started = time.time()

    def log(msg: str) -> None:
        print(f"[{time.time() - started:6.0f} s] {msg}", flush=True)
    tok = _tokenizer()
    machine = fingerprint()
    calibrations, records = [], []
    notes = ["each offered rate sent its requests as open-loop Poisson arrivals from seed 0",
             "the load generator ran on the same 2 cores as the server (as in every serving profile here)"]
    if args.until_steady:
        notes.append(f"--until-steady: each rate sent up to {args.requests} requests, stopping once at least {args.min_requests} finished "
                     "and the median TTFT of the last third was within 25 % of the middle third's (points' steady_state), or their "
                     f"p95 TTFT passed {FAILED_FACTOR:g} × the SLO; each point's prediction is for the requests it sent")
    cpu = "epyc" if "EPYC" in machine.cpu_model else "xeon" if "Xeon" in machine.cpu_model else "cpu"
    prefix = {"fixed": "capacity", "traffic": "traffic", "issue23": "suite23"}[suite_name]
    out = args.out or args.merge or RESULTS / f"{prefix}-validation-{cpu}-{datetime.now(UTC):%Y%m%d}.json"
    command = "python benchmarks/capacity_vs_measured.py " + " ".join(sys.argv[1:])

    def save(cal: EngineCalibration | None = None, recs: list[WorkloadCheck] = ()) -> CapacityValidation:
        """The file as it stands: every finished engine, and this engine's workloads so far (written after each)."""
        cals = calibrations + ([cal] if cal is not None else [])
        result = combine(records + list(recs), cals, machine=machine, old=old, notes=notes, command=command)
        atomic_write_text(out, result.model_dump_json(indent=2) + "\n")
        return result
    for e in engines:
        if not chosen[e]:
            continue
        cal, recs = validate_engine(e, latest_profile(e, machine.cpu_model), chosen[e], n_requests=args.requests, tok=tok, log=log,
                                    min_requests=args.min_requests, until_steady=args.until_steady, checkpoint=save,
                                    calibrate_batches=batches, calibrate_prompts=prompts)
        calibrations.append(cal)
        records += recs
    result = save()
    print(table(result))
    print(f"→ {out}  ({time.time() - started:.0f} s)")


if __name__ == "__main__":
    main()
