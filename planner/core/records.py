"""The measured records: a profile and its parts, as pydantic models with a schema version (file I/O: planner.formats.profiles).

A profile is the only source of measured numbers in the planner, so it carries everything needed
to judge it: the model file (hash, real tensor types), the engine and its settings, the hardware
fingerprint, raw samples next to their summaries, and whether the run finished.
"""
from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from planner.core.engines import PROFILE_NAMES
from planner.core.errors import MeasurementError

SCHEMA_VERSION = 3  # v3: the engine's scheduler limits and the batched-decode output length are typed fields
PROFILE_KIND = "llm-planner/profile"


class _Model(BaseModel):
    # NaN and infinity are never measurements: a file holding them is refused when it is read
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


# Plausibility bounds for measured rates and times, far beyond any hardware (an H100 decodes a 135M model at ~10⁴
# tok/s; 10⁸ would be a 10⁴× error): a value outside them is a damaged file, not a measurement.
MAX_TOK_S = 1e8
MAX_MS = 1e9  # about 11 days


class Summary(_Model):
    """Distribution of repeated measurements; CI is the 95% Student-t interval of the mean."""

    unit: str
    n: int = Field(ge=1)
    mean: float
    std: float
    ci95_low: float | None = Field(description="None when n < 2")
    ci95_high: float | None
    median: float
    p95: float
    p99: float
    min: float
    max: float
    samples: list[float] = Field(description="raw samples, in measurement order")

    @model_validator(mode="after")
    def _physical(self) -> Summary:
        values = [self.mean, self.median, self.p95, self.p99, self.min, self.max, *self.samples]
        if self.unit in ("tok/s", "ms", "req/s", "s", "J") and min(values) < 0:
            raise ValueError(f"a {self.unit} measurement cannot be negative (min {min(values):g})")
        bound = {"tok/s": MAX_TOK_S, "req/s": MAX_TOK_S, "ms": MAX_MS}.get(self.unit)
        if bound is not None and max(values) > bound:
            raise ValueError(f"{max(values):g} {self.unit} is beyond any hardware (bound {bound:g})")
        if self.unit in ("tok/s", "req/s") and self.mean <= 0:
            raise ValueError(f"a rate of {self.mean:g} {self.unit} measures nothing")
        return self

    @property
    def ci95_half_width_pct(self) -> float:
        if self.ci95_low is None or self.ci95_high is None or not self.mean:
            return float("inf")
        return 100.0 * (self.ci95_high - self.ci95_low) / 2.0 / abs(self.mean)


class TensorTypeShare(_Model):
    ggml_type: str
    n_tensors: int
    n_params: int
    n_bytes: int


class ModelInfo(_Model):
    """The model measured. None where it is unknown (a served model whose file the load generator never saw)."""

    file_name: str
    sha256: str | None = Field(description="of the model file; None when the file is not known")
    size_bytes: int | None = Field(ge=1)
    name: str
    architecture: str | None
    quant_label: str | None = Field(description="general.file_type as written by the quantiser, or the dtype")
    n_params: int | None = Field(ge=1)
    tensor_bytes: int | None = Field(ge=1)
    bits_per_weight: float | None = Field(gt=0)
    tensor_types: list[TensorTypeShare] = Field(default_factory=list, description="real mix; a Q4_K_M file may hold Q5_0/Q6_K tensors")
    expert_tensor_bytes: int | None = Field(None, ge=0, description="bytes of mixture-of-experts expert tensors (*_exps); 0: dense; None: unknown")
    lookup_only_bytes: int | None = Field(None, ge=0, description="input embedding bytes read by row lookup only (0 when tied to the output); "
                                                                  "None: unknown")
    # architecture: a size is positive or unknown (a negative context or layer count is a damaged file, not a model)
    n_layers: int | None = Field(None, ge=1)
    d_model: int | None = Field(None, ge=1)
    n_heads: int | None = Field(None, ge=1)
    n_kv_heads: int | None = Field(None, ge=1)
    head_dim: int | None = Field(None, ge=1)
    ffn_dim: int | None = Field(None, ge=1)
    vocab_size: int | None = Field(None, ge=1)
    context_length: int | None = Field(None, ge=1)
    n_experts: int | None = Field(None, ge=0)
    n_experts_active: int | None = Field(None, ge=0)
    has_tokenizer: bool = True
    derived_from: str | None = Field(None, description="source file when this GGUF was derived (quant ladder)")
    clone_of: str | None = Field(None, description="model card name when the weights are synthetic (random)")
    note: str | None = None

    @property
    def is_clone(self) -> bool:
        return self.clone_of is not None

    @property
    def display_name(self) -> str:
        """The name to show: the file's own stem ("SmolLM2-135M-Instruct" from SmolLM2-135M-Instruct.Q4_1.gguf), which
        is what users downloaded and what model cards are named after — a GGUF's general.name is whatever the uploader
        typed ("Smollm2 135M 8k Lc100K Mix1 Ep2"). Clones and files with a generic stem keep the recorded name."""
        stem = self.file_name.split("/")[-1].split(".")[0]
        generic = {"", "model", "ggml-model", "consolidated", "pytorch_model"}
        return self.name if self.is_clone or stem.lower() in generic else stem


class EngineScheduler(_Model):
    """The limits a continuous-batching engine schedules under, as the engine reported them: what a simulation of its
    server needs. None: not recorded — the plan refuses rather than assume the engine's defaults."""

    max_num_seqs: int | None = Field(None, ge=1, description="sequences one step may hold (vLLM max_num_seqs)")
    max_num_batched_tokens: int | None = Field(None, ge=1, description="tokens one step may hold (vLLM max_num_batched_tokens)")
    block_size: int | None = Field(None, ge=1, description="tokens per KV-cache block (vLLM's paged attention)")
    chunked_prefill: bool | None = Field(None, description="long prompts prefilled in token-budget chunks mixed with decode")


class EngineInfo(_Model):
    name: str = Field(description="the engine that measured: an offline profiler of core.engines.ENGINES, or openai-http (a server under load)")
    version: str
    backend: str = Field(description="cpu, cuda, or the server kind for openai-http")
    n_threads: int | None = None
    n_gpu_layers: int | None = None
    n_ctx: int | None = None
    n_batch: int | None = None
    n_ubatch: int | None = None
    flash_attn: str | None = None
    threadpool_poll: int | None = Field(None, description="persistent ggml threadpool's polling level; None: a new threadpool per decode")
    system_info: str | None = Field(None, description="llama_print_system_info(): SIMD features, backends")
    endpoint_host: str | None = Field(None, description="host:port only; never a key or a full URL with credentials")
    server_notes: list[str] = Field(default_factory=list)
    kv_cache_tokens: int | None = Field(None, ge=1, description="tokens of KV cache the engine allocated (vLLM: blocks × block size)")
    scheduler: EngineScheduler | None = Field(None, description="vLLM's scheduler limits; None for engines without one (llama.cpp)")

    @field_validator("name")
    @classmethod
    def _known_engine(cls, v: str) -> str:
        if v not in PROFILE_NAMES:
            raise ValueError(f"must be one of {', '.join(PROFILE_NAMES)} (core.engines)")
        return v


class GpuInfo(_Model):
    index: int
    name: str
    memory_total_bytes: int | None = None
    driver_version: str | None = None
    power_limit_w: float | None = None


class HardwareFingerprint(_Model):
    cpu_model: str
    physical_cores: int | None
    logical_cores: int
    ram_total_bytes: int
    ram_available_bytes: int
    os: str
    kernel: str
    python: str
    gpus: list[GpuInfo] = Field(default_factory=list)
    load_avg_1m: float | None = Field(None, description="machine load when the run started")
    memory_bandwidth_gb_s: float | None = Field(None, description="measured achievable bandwidth (STREAM-like)")
    memory_bandwidth_method: str | None = None


class PrefillPoint(_Model):
    prompt_tokens: int = Field(ge=1)
    tok_s: Summary


class DecodePoint(_Model):
    context_depth: int = Field(ge=0, description="tokens already in the KV cache before decoding starts")
    gen_tokens: int = Field(ge=1)
    tok_s: Summary


class LatencyPoint(_Model):
    """One request end to end: prefill, then token-by-token decode with greedy sampling."""

    prompt_tokens: int = Field(ge=1)
    output_tokens: int = Field(ge=1)
    ttft_ms: Summary
    itl_ms: Summary = Field(description="inter-token latency, all gaps of all repetitions pooled")
    e2e_ms: Summary


class MemoryUsage(_Model):
    baseline_rss_bytes: int = Field(description="process RSS before the model was loaded")
    peak_rss_bytes: int
    sample_interval_ms: float
    vram_used_peak_bytes: int | None = None
    vram_used_baseline_bytes: int | None = None


class MachineLoad(_Model):
    """What else the machine did while the profile was measured: timings on shared VMs collapse under contention."""

    other_cpu_fraction: float | None = Field(None, ge=0, description="CPU time of other processes ÷ (wall time × cores)")
    steal_fraction: float | None = Field(None, ge=0, description="CPU time the hypervisor gave to other VMs ÷ (wall × cores)")
    load_avg_end: float | None = Field(None, ge=0, description="1-minute load average when the run ended")
    contended: bool = Field(False, description="other work took more than CONTENDED_FRACTION of the machine")


CONTENDED_FRACTION = 0.10  # above this share of the CPUs taken by other work, a profile's speeds are suspect


class EnergyUsage(_Model):
    source: Literal["nvml", "rapl"] | None
    joules_per_output_token: float | None = None
    mean_power_w: float | None = None
    unavailable_reason: str | None = None


class ThreadsPoint(_Model):
    n_threads: int = Field(ge=1)
    prefill_tok_s: Summary
    decode_tok_s: Summary


class GpuLayersPoint(_Model):
    n_gpu_layers: int
    prefill_tok_s: Summary
    decode_tok_s: Summary
    vram_used_peak_bytes: int | None = None


class ConcurrencyPoint(_Model):
    """Several sequences decoded together in one batch (llama_batch with one token per sequence)."""

    concurrency: int = Field(ge=1)
    context_depth: int = Field(ge=0)
    aggregate_decode_tok_s: Summary
    per_stream_decode_tok_s: Summary
    step_latency_ms: Summary = Field(description="time of one batched step = inter-token latency each stream sees")
    prefill_ms: Summary = Field(description="time to prefill all streams' prompts together")


class ServingLevel(_Model):
    """One load level against an OpenAI-compatible server."""

    mode: Literal["concurrency", "rate"]
    target: float = Field(gt=0, le=MAX_TOK_S, description="concurrency, or requests/s for Poisson arrivals")
    duration_s: float = Field(ge=0)
    sent: int = Field(ge=0)
    succeeded: int = Field(ge=0)
    failed: int = Field(ge=0)
    timed_out: int = Field(ge=0)
    request_s: float = Field(ge=0, le=MAX_TOK_S)
    output_tok_s: float = Field(ge=0, le=MAX_TOK_S)
    ttft_ms: Summary | None = None
    itl_ms: Summary | None = None
    e2e_ms: Summary | None = None
    goodput_request_s: float | None = None
    slo: dict[str, float] | None = None
    errors: dict[str, int] = Field(default_factory=dict)
    slo_attainment: float | None = Field(None, description="share of sent requests that succeeded within the SLO")
    prompt_tokens_mean: float | None = Field(None, description="per succeeded request; see tokens_source")
    output_tokens_mean: float | None = Field(None, description="per succeeded request; see tokens_source")
    tokens_source: Literal["usage", "stream", "mixed"] | None = Field(
        None, description="usage: the server's usage block; stream: streamed content chunks and prompt words")
    usage_implausible: int | None = Field(None, ge=0, description="requests whose usage block was impossible (stream counts used); "
                                                                  "None in files written before it was counted")

    @model_validator(mode="after")
    def _accounted(self) -> ServingLevel:
        if self.sent != self.succeeded + self.failed + self.timed_out:
            raise ValueError(f"sent {self.sent} != succeeded {self.succeeded} + failed {self.failed} + timed out {self.timed_out}")
        return self


class ProfileSettings(_Model):
    warmup_runs: int
    min_reps: int
    max_reps: int
    target_ci_pct: float
    time_budget_s: float
    concurrency_gen_tokens: int | None = Field(None, ge=1, description="output tokens each stream decoded in the batched-decode sweep; "
                                                                      "None: no sweep, or not recorded")
    extra: dict[str, str | int | float | bool | list[int]] = Field(
        default_factory=dict, description="the run's other options, for the record; nothing computes from them")


class Profile(_Model):
    """What every profile holds: the model, the engine, the machine, the settings, and whether the run finished.

    A file holds one of two kinds (`profile_type`): an `EngineProfile` (tests driven through the engine's API) or a
    `ServingProfile` (an HTTP server under load). Parse files with `planner.formats.profiles.load_profile`.
    """

    schema_version: Literal[3] = SCHEMA_VERSION
    kind: Literal["llm-planner/profile"] = PROFILE_KIND
    created_at: datetime
    tool_version: str
    status: Literal["complete", "partial"] = Field(description="partial: interrupted or still running")
    model: ModelInfo
    engine: EngineInfo
    hardware: HardwareFingerprint
    settings: ProfileSettings
    memory: MemoryUsage | None = None
    energy: EnergyUsage | None = None
    load: MachineLoad | None = Field(None, description="contention during the run; None in files written before it was recorded")
    projection: str | None = Field(None, description="set when the figures are projected from another profile, not measured")
    notes: list[str] = Field(default_factory=list)
    _path: Path | None = PrivateAttr(None)

    @property
    def saved_path(self) -> Path | None:
        """The file this profile was last saved to or loaded from (not part of the file)."""
        return self._path

    @property
    def label(self) -> str:
        clone = " [clone]" if self.model.is_clone else ""
        where = f"projected to {self.hardware_name}" if self.projection else f"{self.engine.backend} · {self.hardware_name}"
        quant = f" {self.model.quant_label}" if self.model.quant_label else ""
        return f"{self.model.display_name}{quant}{clone} · {where}"

    @property
    def on_gpu(self) -> bool:
        """Whether the measured work ran on the machine's GPU (a GPU present but a CPU backend does not count)."""
        return bool(self.hardware.gpus) and self.engine.backend != "cpu"

    @property
    def hardware_name(self) -> str:
        """The device that did the work: the GPU when layers ran on one, else the CPU (without trademark noise)."""
        if self.on_gpu:
            return self.hardware.gpus[0].name
        return " ".join(re.sub(r"\((R|TM|tm)\)|\b(CPU|Processor)\b", " ", self.hardware.cpu_model).split())


class EngineProfile(Profile):
    """Prefill, decode, latency and sweeps measured through an engine's own API (llama.cpp, vLLM offline)."""

    profile_type: Literal["engine"] = "engine"
    prefill: list[PrefillPoint] = Field(default_factory=list)
    decode: list[DecodePoint] = Field(default_factory=list)
    latency: list[LatencyPoint] = Field(default_factory=list)
    threads_sweep: list[ThreadsPoint] = Field(default_factory=list)
    gpu_layers_sweep: list[GpuLayersPoint] = Field(default_factory=list)
    concurrency_sweep: list[ConcurrencyPoint] = Field(default_factory=list)

    # The headline single-stream figures.
    @property
    def decode_tok_s(self) -> float:
        if not self.decode:
            raise MeasurementError(f"profile of {self.model.file_name} has no decode measurement; re-run `llm-planner profile`")
        return min(self.decode, key=lambda p: p.context_depth).tok_s.mean

    @property
    def prefill_tok_s(self) -> float:
        if not self.prefill:
            raise MeasurementError(f"profile of {self.model.file_name} has no prefill measurement; re-run `llm-planner profile`")
        return max(self.prefill, key=lambda p: p.prompt_tokens).tok_s.mean


class ServingProfile(Profile):
    """Load levels against an OpenAI-compatible server: what it sustains, with latency percentiles and goodput."""

    profile_type: Literal["serving"] = "serving"
    serving: list[ServingLevel] = Field(default_factory=list)


AnyProfile = Annotated[EngineProfile | ServingProfile, Field(discriminator="profile_type")]
