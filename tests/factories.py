"""Hand-built profiles for the pure capacity/cost tests: test data with round numbers, not engine output."""
from __future__ import annotations

from datetime import datetime, timezone

from planner.schema import (ConcurrencyPoint, DecodePoint, EngineInfo, HardwareFingerprint, ModelInfo, PrefillPoint, Profile,
                            ProfileSettings, Summary, TensorTypeShare)


def flat(value: float, unit: str = "tok/s", n: int = 3) -> Summary:
    return Summary(unit=unit, n=n, mean=value, std=0.0, ci95_low=value, ci95_high=value, median=value, p95=value, p99=value,
                   min=value, max=value, samples=[value] * n)


def spread(mean: float, half: float, unit: str = "tok/s") -> Summary:
    return Summary(unit=unit, n=3, mean=mean, std=half, ci95_low=mean - half, ci95_high=mean + half, median=mean, p95=mean + half,
                   p99=mean + half, min=mean - half, max=mean + half, samples=[mean - half, mean, mean + half])


def make_profile(prefill_tok_s=1000.0, decode_tok_s=50.0, concurrency: dict[int, float] | None = None, step_p95_factor=1.0,
                 vcpus: int = 2) -> Profile:
    """prefill/decode flat at every length/depth; `concurrency` maps streams → aggregate decode tok/s."""
    conc = []
    for c, agg in (concurrency or {}).items():
        step_ms = 1000.0 * c / agg
        s = flat(step_ms, "ms")
        s = s.model_copy(update={"p95": step_ms * step_p95_factor})
        conc.append(ConcurrencyPoint(concurrency=c, context_depth=128, aggregate_decode_tok_s=flat(agg), per_stream_decode_tok_s=flat(agg / c),
                                     step_latency_ms=s, prefill_ms=flat(100.0, "ms")))
    return Profile(
        created_at=datetime(2026, 1, 1, tzinfo=timezone.utc), tool_version="test", status="complete",
        model=ModelInfo(file_name="m.gguf", sha256="0" * 64, size_bytes=1000, name="test model", architecture="llama", quant_label="Q4_0",
                        n_params=1000, tensor_bytes=1000, bits_per_weight=8.0,
                        tensor_types=[TensorTypeShare(ggml_type="Q4_0", n_tensors=1, n_params=1000, n_bytes=1000)],
                        n_layers=2, d_model=8, n_heads=2, n_kv_heads=1, head_dim=4),
        engine=EngineInfo(name="llama-cpp-python", version="test", backend="cpu", n_threads=2),
        hardware=HardwareFingerprint(cpu_model="test cpu", physical_cores=vcpus, logical_cores=vcpus, ram_total_bytes=1 << 34,
                                     ram_available_bytes=1 << 33, os="Linux", kernel="test", python="3.11"),
        settings=ProfileSettings(warmup_runs=1, min_reps=3, max_reps=3, target_ci_pct=3, time_budget_s=1),
        prefill=[PrefillPoint(prompt_tokens=128, tok_s=flat(prefill_tok_s)), PrefillPoint(prompt_tokens=2048, tok_s=flat(prefill_tok_s))],
        decode=[DecodePoint(context_depth=0, gen_tokens=128, tok_s=flat(decode_tok_s)),
                DecodePoint(context_depth=4096, gen_tokens=128, tok_s=flat(decode_tok_s))],
        concurrency_sweep=conc,
    )
