"""Engine profiles through vLLM's offline engine, in the same schema as llama.cpp profiles: prefill at several prompt
lengths, decode at several context depths, a batched-decode sweep (capped by the KV cache vLLM allocated), TTFT and
inter-token time of single requests from vLLM's own metrics, peak RSS of the tool and its engine process, and every
engine setting that changes speed. Warm-up first; every figure from `reps` repetitions with its confidence interval."""
from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from tqdm.auto import tqdm

from planner import __version__
from planner.core.errors import InputError
from planner.core.records import (
    ConcurrencyPoint,
    DecodePoint,
    EngineInfo,
    EngineProfile,
    EngineScheduler,
    LatencyPoint,
    PrefillPoint,
    Profile,
    ProfileSettings,
)
from planner.core.stats import summarize
from planner.measure.engines.vllm import VllmEngine, VllmSettings, decode_rates, request_latency
from planner.measure.gguf.hf import hf_model_info
from planner.measure.probes.hardware import fingerprint, usable_threads
from planner.measure.probes.nvml import Nvml
from planner.measure.probes.telemetry import MemorySampler
from planner.measure.session import MeasuringSession


def profile_vllm(settings: VllmSettings, *, out_path: str | Path, prompt_lengths: Sequence[int] = (128, 512),
                 decode_depths: Sequence[int] = (16, 512), gen_tokens: int = 32, concurrency: Sequence[int] = (1, 2, 4, 8, 16),
                 latency: tuple[int, int] = (128, 32), reps: int = 3, progress: bool = True) -> Profile:
    longest = max([*prompt_lengths, *(d + gen_tokens for d in decode_depths), sum(latency)])
    if longest > settings.max_model_len:
        raise InputError(f"--prompts / --depths: a test needs {longest} tokens, above --max-model-len {settings.max_model_len}")
    if reps < 2:
        raise InputError("--max-reps: vLLM profiles need at least 2 repetitions for a confidence interval")
    model = hf_model_info(settings.model)
    if model.context_length and settings.max_model_len > model.context_length:
        raise InputError(f"--max-model-len {settings.max_model_len}: above the model's {model.context_length}-token context")
    out_path = Path(out_path)
    with Nvml() as nvml:
        sampler = MemorySampler(nvml=nvml, children=True).start()
        engine = VllmEngine(settings)
        profile = EngineProfile(
            created_at=datetime.now(UTC), tool_version=__version__, status="partial", model=model,
            engine=EngineInfo(name="vllm", version=engine.version, backend=engine.backend, n_ctx=settings.max_model_len,
                              n_threads=usable_threads() if engine.backend == "cpu" else None, kv_cache_tokens=engine.kv_cache_tokens,
                              scheduler=EngineScheduler(**engine.scheduler)),
            hardware=fingerprint(bandwidth=True),
            settings=ProfileSettings(warmup_runs=1, min_reps=reps, max_reps=reps, target_ci_pct=0.0, time_budget_s=0.0,
                                     concurrency_gen_tokens=gen_tokens, extra={
                "load_format": settings.load_format, "dtype": settings.dtype, "max_model_len": settings.max_model_len,
                "kv_cache_gib": settings.kv_cache_gib, "gen_tokens": gen_tokens}),
            notes=[f"vLLM offline engine ({engine.backend}), load_format={settings.load_format}"
                   + (" (random weights: speed and memory only)" if settings.load_format == "dummy" else ""),
                   *([model.note] if model.note else []),
                   *([] if engine.backend != "cpu" else [
                       f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}: when unset, vLLM's CPU backend may run its "
                       "model on fewer torch threads than cores, keeping some for its scheduler (its log says 'Reducing Torch "
                       "threads'); set OMP_NUM_THREADS to fix the count"])],
        )

        steps = len(prompt_lengths) + len(decode_depths) + 1 + len(concurrency)
        bar = tqdm(total=steps, desc="vLLM profile", unit="test", disable=not progress)
        run = MeasuringSession(profile, out_path, what="tests", memory=sampler.usage)
        try:
            with run:
                _run_tests(run, engine, bar, prompt_lengths=prompt_lengths, decode_depths=decode_depths, gen_tokens=gen_tokens,
                           concurrency=concurrency, latency=latency, reps=reps)
        finally:
            bar.close()
            sampler.stop()
            del engine  # shuts the engine core process down
    return profile


def _run_tests(run: MeasuringSession, engine, bar, *, prompt_lengths, decode_depths, gen_tokens, concurrency, latency, reps) -> None:
    """Every vLLM test, each through the session (re-measured if the machine was crowded), the profile saved after it."""
    profile = run.profile
    engine.timed_generate(2, min(prompt_lengths), 4)  # warm-up: compiled graphs, allocator, caches
    for n in prompt_lengths:
        samples = run.measured(lambda: [n / engine.timed_generate(1, n, 1) for _ in range(reps)])
        profile.prefill.append(PrefillPoint(prompt_tokens=n, tok_s=summarize(samples, "tok/s")))
        run.save()
        bar.update()
    for depth in decode_depths:
        def decode_samples() -> list[float]:
            out = []
            for _ in range(reps):
                t1 = engine.timed_generate(1, depth, 1)
                out.append(decode_rates(t1, engine.timed_generate(1, depth, 1 + gen_tokens), 1, gen_tokens))
            return out
        profile.decode.append(DecodePoint(context_depth=depth, gen_tokens=gen_tokens, tok_s=summarize(run.measured(decode_samples), "tok/s")))
        run.save()
        bar.update()

    def latency_samples() -> tuple[list[float], list[float], list[float]]:
        ttft, itl, e2e = [], [], []
        for _ in range(reps):
            wall, outputs = engine.generate(1, latency[0], latency[1])
            first, gap = request_latency(outputs[0])
            ttft.append(1000 * first)
            itl.append(1000 * gap)
            e2e.append(1000 * wall)
        return ttft, itl, e2e
    ttft, itl, e2e = run.measured(latency_samples)
    profile.latency.append(LatencyPoint(prompt_tokens=latency[0], output_tokens=latency[1], ttft_ms=summarize(ttft, "ms"),
                                        itl_ms=summarize(itl, "ms"), e2e_ms=summarize(e2e, "ms")))
    run.save()
    bar.update()
    depth = min(prompt_lengths)
    for c in concurrency:
        if engine.kv_cache_tokens and c * (depth + 1 + gen_tokens) > engine.kv_cache_tokens:
            profile.notes.append(f"concurrency {c} skipped: {c} × {depth + 1 + gen_tokens} tokens exceed the KV cache "
                                 f"({engine.kv_cache_tokens} tokens)")
            continue

        def batched_samples() -> tuple[list[float], list[float], list[float]]:
            agg, step, pre = [], [], []
            for _ in range(reps):
                t1 = engine.timed_generate(c, depth, 1)
                rate = decode_rates(t1, engine.timed_generate(c, depth, 1 + gen_tokens), c, gen_tokens)
                agg.append(rate)
                step.append(1000 * c / rate)
                pre.append(1000 * t1)
            return agg, step, pre
        agg, step, pre = run.measured(batched_samples)
        profile.concurrency_sweep.append(ConcurrencyPoint(
            concurrency=c, context_depth=depth, aggregate_decode_tok_s=summarize(agg, "tok/s"),
            per_stream_decode_tok_s=summarize([a / c for a in agg], "tok/s"), step_latency_ms=summarize(step, "ms"),
            prefill_ms=summarize(pre, "ms")))
        run.save()
        bar.update()
