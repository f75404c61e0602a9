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
from planner.core.errors import InputError, stopped
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
from planner.formats.profiles import save_profile
from planner.measure.engines.vllm import VllmEngine, VllmSettings, decode_rates, request_latency
from planner.measure.gguf.hf import hf_model_info
from planner.measure.probes.hardware import fingerprint, usable_threads
from planner.measure.probes.nvml import Nvml
from planner.measure.probes.telemetry import LoadMeter, MemorySampler, contention_note


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
        load = LoadMeter()
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

        def save() -> None:
            profile.memory = sampler.usage()
            profile.load = load.stop()
            save_profile(profile, out_path)

        steps = len(prompt_lengths) + len(decode_depths) + 1 + len(concurrency)
        bar = tqdm(total=steps, desc="vLLM profile", unit="test", disable=not progress)
        try:
            engine.timed_generate(2, min(prompt_lengths), 4)  # warm-up: compiled graphs, allocator, caches
            for n in prompt_lengths:
                samples = [n / engine.timed_generate(1, n, 1) for _ in range(reps)]
                profile.prefill.append(PrefillPoint(prompt_tokens=n, tok_s=summarize(samples, "tok/s")))
                save()
                bar.update()
            for depth in decode_depths:
                samples = []
                for _ in range(reps):
                    t1 = engine.timed_generate(1, depth, 1)
                    samples.append(decode_rates(t1, engine.timed_generate(1, depth, 1 + gen_tokens), 1, gen_tokens))
                profile.decode.append(DecodePoint(context_depth=depth, gen_tokens=gen_tokens, tok_s=summarize(samples, "tok/s")))
                save()
                bar.update()
            ttft, itl, e2e = [], [], []
            for _ in range(reps):
                wall, outputs = engine.generate(1, latency[0], latency[1])
                first, gap = request_latency(outputs[0])
                ttft.append(1000 * first)
                itl.append(1000 * gap)
                e2e.append(1000 * wall)
            profile.latency.append(LatencyPoint(prompt_tokens=latency[0], output_tokens=latency[1], ttft_ms=summarize(ttft, "ms"),
                                                itl_ms=summarize(itl, "ms"), e2e_ms=summarize(e2e, "ms")))
            save()
            bar.update()
            depth = min(prompt_lengths)
            for c in concurrency:
                if engine.kv_cache_tokens and c * (depth + 1 + gen_tokens) > engine.kv_cache_tokens:
                    profile.notes.append(f"concurrency {c} skipped: {c} × {depth + 1 + gen_tokens} tokens exceed the KV cache "
                                         f"({engine.kv_cache_tokens} tokens)")
                    continue
                agg, step, pre = [], [], []
                for _ in range(reps):
                    t1 = engine.timed_generate(c, depth, 1)
                    rate = decode_rates(t1, engine.timed_generate(c, depth, 1 + gen_tokens), c, gen_tokens)
                    agg.append(rate)
                    step.append(1000 * c / rate)
                    pre.append(1000 * t1)
                profile.concurrency_sweep.append(ConcurrencyPoint(
                    concurrency=c, context_depth=depth, aggregate_decode_tok_s=summarize(agg, "tok/s"),
                    per_stream_decode_tok_s=summarize([a / c for a in agg], "tok/s"), step_latency_ms=summarize(step, "ms"),
                    prefill_ms=summarize(pre, "ms")))
                save()
                bar.update()
            profile.status = "complete"
            if (final := load.stop()).contended:
                profile.notes.append(contention_note(final))
            save()
        except KeyboardInterrupt as exc:
            save()
            raise stopped(exc, f"the finished tests are saved in {out_path} (status: partial)") from None
        finally:
            bar.close()
            sampler.stop()
            del engine  # shuts the engine core process down
    return profile
