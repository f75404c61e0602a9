"""Hand-built profiles for the pure capacity/cost tests: test data with round numbers, not engine output."""
from __future__ import annotations

from datetime import UTC, datetime

from planner.core.records import (
    ConcurrencyPoint,
    DecodePoint,
    EngineInfo,
    EngineProfile,
    HardwareFingerprint,
    ModelInfo,
    PrefillPoint,
    Profile,
    ProfileSettings,
    ServingLevel,
    ServingProfile,
    Summary,
    TensorTypeShare,
)


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
    return EngineProfile(
        created_at=datetime(2026, 1, 1, tzinfo=UTC), tool_version="test", status="complete",
        model=ModelInfo(file_name="m.gguf", sha256="0" * 64, size_bytes=1000, name="test model", architecture="llama", quant_label="Q4_0",
                        n_params=1000, tensor_bytes=1000, bits_per_weight=8.0,
                        tensor_types=[TensorTypeShare(ggml_type="Q4_0", n_tensors=1, n_params=1000, n_bytes=1000)],
                        n_layers=2, d_model=8, n_heads=2, n_kv_heads=1, head_dim=4),
        engine=EngineInfo(name="llama-cpp-python", version="test", backend="cpu", n_threads=2, n_batch=512),
        hardware=HardwareFingerprint(cpu_model="test cpu", physical_cores=vcpus, logical_cores=vcpus, ram_total_bytes=1 << 34,
                                     ram_available_bytes=1 << 33, os="Linux", kernel="test", python="3.11"),
        settings=ProfileSettings(warmup_runs=1, min_reps=3, max_reps=3, target_ci_pct=3, time_budget_s=1,
                                 concurrency_gen_tokens=2 if concurrency else None),
        prefill=[PrefillPoint(prompt_tokens=128, tok_s=flat(prefill_tok_s)), PrefillPoint(prompt_tokens=2048, tok_s=flat(prefill_tok_s))],
        decode=[DecodePoint(context_depth=0, gen_tokens=128, tok_s=flat(decode_tok_s)),
                DecodePoint(context_depth=4096, gen_tokens=128, tok_s=flat(decode_tok_s))],
        concurrency_sweep=conc,
    )


def make_serving_profile(levels: dict[int, float] | None = None) -> ServingProfile:
    """A serving profile as `serve-profile --url` writes it without --model: the model's file and architecture unknown.
    `levels` maps concurrency → requests/s (TTFT p95 100 ms, ITL p95 20 ms at every level)."""
    serving = []
    for c, rps in (levels or {1: 1.0, 4: 3.0}).items():
        serving.append(ServingLevel(mode="concurrency", target=c, duration_s=10.0, sent=10, succeeded=10, failed=0, timed_out=0,
                                    request_s=rps, output_tok_s=rps * 16, ttft_ms=flat(100.0, "ms"), itl_ms=flat(20.0, "ms"),
                                    e2e_ms=flat(400.0, "ms"), goodput_request_s=rps, slo={"ttft_s": 5.0}, slo_attainment=1.0))
    return ServingProfile(
        created_at=datetime(2026, 1, 1, tzinfo=UTC), tool_version="test", status="complete",
        model=ModelInfo(file_name="served-model", sha256=None, size_bytes=None, name="served-model", architecture=None, quant_label=None,
                        n_params=None, tensor_bytes=None, bits_per_weight=None, expert_tensor_bytes=None, lookup_only_bytes=None),
        engine=EngineInfo(name="openai-http", version="unknown", backend="llama-server", endpoint_host="127.0.0.1:8080"),
        hardware=HardwareFingerprint(cpu_model="test cpu", physical_cores=2, logical_cores=2, ram_total_bytes=1 << 34,
                                     ram_available_bytes=1 << 33, os="Linux", kernel="test", python="3.11"),
        settings=ProfileSettings(warmup_runs=1, min_reps=1, max_reps=1, target_ci_pct=0, time_budget_s=10),
        serving=serving,
    )
