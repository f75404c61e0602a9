"""Live profiler: measures a GGUF model on this machine through llama.cpp and writes a versioned profile.

Method (after llama-bench): random token ids, a warm-up, then repetitions of each test until the 95%
confidence half-width is within the target or the time budget of that test ends. The profile is saved
after every finished test, so Ctrl-C (or a crash) leaves a valid `status: partial` file behind.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from tqdm.auto import tqdm

from planner import __version__
from planner.core.errors import InputError, MeasurementError, SetupError
from planner.core.records import (
    ConcurrencyPoint,
    DecodePoint,
    EngineInfo,
    EngineProfile,
    GpuLayersPoint,
    LatencyPoint,
    ModelInfo,
    PrefillPoint,
    Profile,
    ProfileSettings,
    ThreadsPoint,
)
from planner.core.roofline import footprint, model_kv_bytes_per_token
from planner.core.stats import summarize
from planner.formats.files import dated_name, existing_file, sha256_file
from planner.measure.gguf.meta import read_model_info
from planner.measure.probes.hardware import fingerprint, usable_threads
from planner.measure.probes.memory import require_fits
from planner.measure.probes.nvml import Nvml
from planner.measure.probes.telemetry import EnergyMeter, MemorySampler
from planner.measure.session import MeasuringSession

DEFAULT_PROFILES_DIR = Path("profiles")


@dataclass(frozen=True)
class ProfileConfig:
    """What to measure. Defaults follow llama-bench (pp512/tg128) and add depth, latency and concurrency."""

    prompt_lengths: tuple[int, ...] = (128, 512, 2048)  # prefill tests (llama-bench pp)
    decode_depths: tuple[int, ...] = (0, 512, 2048)  # context already in the KV cache (llama-bench -d)
    gen_tokens: int = 128  # decode tokens per repetition (llama-bench tg128)
    latency_prompt_tokens: int = 256  # one realistic request for TTFT / ITL
    latency_output_tokens: int = 64
    n_threads: int | None = None  # None: every usable core
    threads: tuple[int, ...] = ()  # thread sweep; empty: none
    concurrency: tuple[int, ...] = (1, 2, 4, 8)  # batched decode sweep; empty: none
    concurrency_prompt_tokens: int = 128
    concurrency_gen_tokens: int = 32
    n_gpu_layers: int = 0  # layers offloaded in the main tests (-1: all)
    gpu_layers: tuple[int, ...] = ()  # offload sweep, GPU only
    n_batch: int = 512
    flash_attn: str = "auto"
    cpu_extra_buffers: bool = True  # llama.cpp's repacked CPU weight layouts (llama-bench's default)
    threadpool_poll: int | None = 50  # persistent polling threadpool as llama-bench/llama-server; None: llama-cpp-python's default
    warmup_runs: int = 1
    min_reps: int = 3
    max_reps: int = 20
    target_ci_pct: float = 3.0  # stop repeating when the 95% CI half-width is within this % of the mean
    time_budget_s: float = 20.0  # per test

    @classmethod
    def quick(cls, **overrides) -> ProfileConfig:
        """A run of a minute or so on two cores: fewer, shorter tests; still CIs on everything."""
        base = cls(prompt_lengths=(64, 256), decode_depths=(0, 256), gen_tokens=32, latency_prompt_tokens=64,
                   latency_output_tokens=16, concurrency=(1, 2, 4), concurrency_prompt_tokens=32,
                   concurrency_gen_tokens=16, min_reps=3, max_reps=8, time_budget_s=4.0)
        return replace(base, **overrides)

    @classmethod
    def clone_quick(cls, **overrides) -> ProfileConfig:
        """For multi-GB clones on a CPU: short prompts, few tokens, still a CI on every figure."""
        base = cls(prompt_lengths=(64,), decode_depths=(0,), gen_tokens=16, latency_prompt_tokens=32, latency_output_tokens=8,
                   concurrency=(1, 2, 4), concurrency_prompt_tokens=16, concurrency_gen_tokens=8, min_reps=3, max_reps=5,
                   time_budget_s=30.0)
        return replace(base, **overrides)

    def validate(self) -> ProfileConfig:
        """Refuse impossible settings before anything loads; messages name the command-line option."""
        for name in ("prompt_lengths", "threads", "concurrency"):
            if any(v < 1 for v in getattr(self, name)):
                raise InputError(f"{_OPTION[name]}: every value must be a positive integer (got {list(getattr(self, name))})")
        if any(v < -1 for v in self.gpu_layers) or self.n_gpu_layers < -1:
            raise InputError("--n-gpu-layers / --gpu-layers: use -1 (all), 0 (none) or a positive layer count")
        if not self.prompt_lengths:
            raise InputError("--prompts: give at least one prompt length, e.g. 128")
        if any(d < 0 for d in self.decode_depths) or not self.decode_depths:
            raise InputError("--depths: give one or more depths >= 0, e.g. 0,512")
        for name in ("gen_tokens", "latency_prompt_tokens", "latency_output_tokens", "concurrency_prompt_tokens",
                     "concurrency_gen_tokens", "n_batch", "min_reps", "max_reps"):
            if getattr(self, name) < 1:
                raise InputError(f"{_OPTION.get(name, name)}: must be a positive integer (got {getattr(self, name)})")
        if self.min_reps < 2:
            raise InputError("min_reps: must be at least 2 so every figure has a confidence interval")
        if self.max_reps < self.min_reps:
            raise InputError(f"--max-reps: must be >= {self.min_reps} (the minimum repetitions)")
        if self.n_threads is not None and self.n_threads < 1:
            raise InputError(f"--n-threads: must be a positive integer (got {self.n_threads})")
        if not 0 < self.target_ci_pct < 100:
            raise InputError(f"target_ci_pct: must lie between 0 and 100 (got {self.target_ci_pct:g})")
        if not 0 < self.time_budget_s < math.inf:  # NaN fails this too
            raise InputError(f"--budget: must be a positive number of seconds (got {self.time_budget_s:g})")
        return self

    def longest_sequence(self) -> int:
        """Tokens of the longest single sequence any test puts in the KV cache."""
        return max(max(self.prompt_lengths), max(self.decode_depths) + self.gen_tokens,
                   self.latency_prompt_tokens + self.latency_output_tokens,
                   self.concurrency_prompt_tokens + self.concurrency_gen_tokens if self.concurrency else 0)

    def main_n_ctx(self) -> int:
        return _round_up(self.longest_sequence(), 256)

    def concurrency_n_ctx(self) -> int:
        if not self.concurrency:
            return 0
        return _round_up(max(self.concurrency) * (self.concurrency_prompt_tokens + self.concurrency_gen_tokens), 256)


_OPTION = {"prompt_lengths": "--prompts", "threads": "--threads", "concurrency": "--concurrency", "gen_tokens": "--gen-tokens",
           "max_reps": "--max-reps"}


def _round_up(n: int, step: int) -> int:
    return int(math.ceil(n / step) * step)


def check_memory_fits(model: ModelInfo, n_ctx: int, *, n_gpu_layers: int, nvml: Nvml | None = None) -> str:
    """Refuse, before anything is allocated, a model + KV cache that cannot fit; returns the estimate."""
    if model.tensor_bytes is None:
        raise MeasurementError(f"{model.file_name}: weight bytes unknown; cannot check that it fits")
    need = footprint(model.tensor_bytes, model_kv_bytes_per_token(model), n_ctx)  # every weight is resident, MoE experts too
    return require_fits(need, f"{model.file_name} with n_ctx={n_ctx}", "use a smaller quant or context, or a bigger machine",
                        n_gpu_layers=n_gpu_layers, nvml=nvml)


def default_profile_path(model: ModelInfo, backend: str, profiles_dir: Path, when: datetime) -> Path:
    return profiles_dir / dated_name(Path(model.file_name).stem, backend, when=when)


class _Run(MeasuringSession):
    """One llama.cpp profiling run: the shared measuring session (save after each test, re-measure a crowded test,
    Ctrl-C/SIGTERM keep the finished part) plus what its tests need — the config, the model file, the energy meter."""

    def __init__(self, profile: Profile, path: Path, config: ProfileConfig, model_path: Path, sampler: MemorySampler, energy: EnergyMeter):
        super().__init__(profile, path, what="tests", memory=sampler.usage)
        self.config, self.model_path, self.energy = config, model_path, energy

    def repeat(self, measure: Callable[[], float]) -> list[float]:  # type: ignore[override]
        c = self.config
        return super().repeat(measure, min_reps=c.min_reps, max_reps=c.max_reps, target_rel_ci=c.target_ci_pct / 100,
                              time_budget_s=c.time_budget_s)


def profile_model(
    model_path: str | Path,
    config: ProfileConfig | None = None,
    *,
    out_path: str | Path | None = None,
    profiles_dir: str | Path = DEFAULT_PROFILES_DIR,
    progress: bool = True,
    notes: tuple[str, ...] = (),
) -> Profile:
    """Measure `model_path` on this machine and write the profile (see module docstring)."""
    from planner.measure.engines.llama_cpp import EngineSettings, LlamaCppEngine, engine_version, supports_gpu_offload, system_info

    config = (config or ProfileConfig()).validate()
    model_path = existing_file(model_path, "model file", "pass the path of a .gguf file (or omit it for the embedded model)")
    model = read_model_info(model_path, sha256=sha256_file(model_path))
    if model.context_length and config.longest_sequence() > model.context_length:
        raise InputError(f"--prompts / --depths: a test needs {config.longest_sequence():,} tokens in one sequence, beyond the "
                         f"{model.context_length:,}-token context of {model.file_name}; use shorter prompts or depths")
    hardware = fingerprint(bandwidth=True)
    gpu_capable = supports_gpu_offload() and bool(hardware.gpus)
    if (config.n_gpu_layers or config.gpu_layers) and not gpu_capable:
        raise SetupError("n_gpu_layers / gpu_layers: no GPU offload here (no NVIDIA GPU, or llama.cpp built without CUDA) — use 0")
    backend = "cuda" if gpu_capable and config.n_gpu_layers else "cpu"
    n_threads = config.n_threads or usable_threads()
    settings = EngineSettings(n_ctx=config.main_n_ctx(), n_batch=config.n_batch, n_ubatch=config.n_batch, n_threads=n_threads,
                              n_gpu_layers=config.n_gpu_layers, flash_attn=config.flash_attn,
                              cpu_extra_buffers=config.cpu_extra_buffers, threadpool_poll=config.threadpool_poll)
    now = datetime.now(UTC)
    path = Path(out_path) if out_path else default_profile_path(model, backend, Path(profiles_dir), now)

    with Nvml() as nvml:
        estimate = check_memory_fits(model, max(settings.n_ctx, config.concurrency_n_ctx()), n_gpu_layers=config.n_gpu_layers, nvml=nvml)
        sampler = MemorySampler(nvml=nvml).start()
        profile = EngineProfile(
            created_at=now, tool_version=__version__, status="partial", model=model,
            engine=EngineInfo(name="llama-cpp-python", version=engine_version(), backend=backend, n_threads=n_threads,
                              n_gpu_layers=config.n_gpu_layers, n_ctx=settings.n_ctx, n_batch=settings.n_batch,
                              n_ubatch=settings.n_ubatch, flash_attn=config.flash_attn, threadpool_poll=config.threadpool_poll,
                              system_info=system_info()),
            hardware=hardware,
            settings=ProfileSettings(
                warmup_runs=config.warmup_runs, min_reps=config.min_reps, max_reps=config.max_reps,
                target_ci_pct=config.target_ci_pct, time_budget_s=config.time_budget_s,
                concurrency_gen_tokens=config.concurrency_gen_tokens if config.concurrency else None,
                extra={k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(config).items()
                       if k not in {"warmup_runs", "min_reps", "max_reps", "target_ci_pct", "time_budget_s"} and v is not None},
            ),
            notes=[*notes, f"memory-fit estimate before loading: {estimate}", *_provenance_notes(model)],
        )
        run = _Run(profile, path, config, model_path, sampler, EnergyMeter(nvml=nvml))
        steps = _plan_steps(config)
        bar = tqdm(total=len(steps), desc=f"profiling {model.file_name}", unit="test", disable=not progress)
        try:
            with run:
                _run_steps(run, steps, bar, model_path, settings, LlamaCppEngine=LlamaCppEngine, nvml=nvml)
        finally:
            bar.close()
            sampler.stop()
    return profile


def _run_steps(run: _Run, steps, bar, model_path: Path, settings, *, LlamaCppEngine, nvml) -> None:
    """Every test of the plan, the run saved after each one. Tests on the main context first; tests that open their
    own context run after it is freed, so two copies of the weights are never resident at once (peak RSS stays that
    of one loaded model)."""
    with LlamaCppEngine(model_path, settings) as engine:
        _warm_up(engine, run.config)
        for name, step, own_context in steps:
            if not own_context:
                bar.set_postfix_str(name)
                step(run, engine)
                run.save()
                bar.update()
    for name, step, own_context in steps:
        if own_context:
            bar.set_postfix_str(name)
            step(run, settings, LlamaCppEngine=LlamaCppEngine, nvml=nvml)
            run.save()
            bar.update()


def _provenance_notes(model: ModelInfo) -> list[str]:
    notes = []
    if model.derived_from:
        notes.append(f"derived from {model.derived_from}: speed and memory are representative of this quant type, output quality is not")
    if model.clone_of:
        notes.append(f"synthetic-weight clone of {model.clone_of}: random weights — speed and memory only, no quality")
    return notes


def _warm_up(engine, config: ProfileConfig) -> None:
    for _ in range(config.warmup_runs):
        engine.clear()
        engine.prefill(engine.random_tokens(min(config.prompt_lengths)))
        engine.decode_steps(min(config.gen_tokens, 16), start_pos=min(config.prompt_lengths))


def _plan_steps(config: ProfileConfig) -> list[tuple[str, Callable, bool]]:
    """(name, step, needs a context of its own) for every test, in run order."""
    steps: list[tuple[str, Callable, bool]] = []
    steps += [(f"pp{n}", _prefill_step(n), False) for n in config.prompt_lengths]
    steps += [(f"tg{config.gen_tokens}@d{d}", _decode_step(d), False) for d in config.decode_depths]
    steps.append((f"latency {config.latency_prompt_tokens}→{config.latency_output_tokens}", _latency_step, False))
    steps += [(f"threads={t}", _threads_step(t), False) for t in config.threads]
    steps += [(f"ngl={n}", _gpu_layers_step(n), True) for n in config.gpu_layers]
    if config.concurrency:
        steps.append((f"concurrency {','.join(map(str, config.concurrency))}", _concurrency_step, True))
    return steps


def _measure_prefill(engine, n_tokens: int) -> float:
    engine.clear()
    return n_tokens / engine.prefill(engine.random_tokens(n_tokens))


def _measure_decode(engine, n_gen: int, depth: int) -> float:
    engine.clear()
    if depth:
        engine.prefill(engine.random_tokens(depth))
    return n_gen / float(engine.decode_steps(n_gen, start_pos=depth).sum())


def _prefill_step(n_tokens: int):
    def step(run: _Run, engine):
        samples = run.repeat(lambda: _measure_prefill(engine, n_tokens))
        run.profile.prefill.append(PrefillPoint(prompt_tokens=n_tokens, tok_s=summarize(samples, "tok/s")))
    return step


def _decode_step(depth: int):
    def step(run: _Run, engine):
        n_gen = run.config.gen_tokens
        meter_energy = run.profile.energy is None
        if meter_energy:
            run.energy.start()
        samples = run.repeat(lambda: _measure_decode(engine, n_gen, depth))
        if meter_energy:
            # energy over the whole test includes the (short) untimed prefill of the depth, so meter depth 0 first
            run.profile.energy = run.energy.stop(output_tokens=n_gen * len(samples))
        run.profile.decode.append(DecodePoint(context_depth=depth, gen_tokens=n_gen, tok_s=summarize(samples, "tok/s")))
    return step


def _latency_step(run: _Run, engine):
    cfg = run.config
    ttft, gaps, e2e = [], [], []

    def one_request() -> float:
        t, g = engine.generate(engine.random_tokens(cfg.latency_prompt_tokens), cfg.latency_output_tokens)
        ttft.append(t * 1000)
        gaps.extend((g * 1000).tolist())
        e2e.append((t + float(g.sum())) * 1000)
        return e2e[-1]

    run.repeat(one_request)
    run.profile.latency.append(LatencyPoint(
        prompt_tokens=cfg.latency_prompt_tokens, output_tokens=cfg.latency_output_tokens,
        ttft_ms=summarize(ttft, "ms"), itl_ms=summarize(gaps if gaps else [0.0], "ms"), e2e_ms=summarize(e2e, "ms"),
    ))


def _threads_step(n_threads: int):
    def step(run: _Run, engine):
        cfg = run.config
        engine.set_threads(n_threads)
        try:
            n_pp = min(cfg.prompt_lengths)
            pp = run.repeat(lambda: _measure_prefill(engine, n_pp))
            tg = run.repeat(lambda: _measure_decode(engine, cfg.gen_tokens, 0))
        finally:
            engine.set_threads(run.profile.engine.n_threads)
        run.profile.threads_sweep.append(ThreadsPoint(n_threads=n_threads, prefill_tok_s=summarize(pp, "tok/s"), decode_tok_s=summarize(tg, "tok/s")))
    return step


def _gpu_layers_step(n_layers: int):
    def step(run: _Run, main_settings, *, LlamaCppEngine, nvml):
        cfg = run.config
        settings = replace(main_settings, n_gpu_layers=n_layers)
        before = nvml.memory_used_bytes() if nvml.available else None
        with LlamaCppEngine(run.model_path, settings) as other:
            _warm_up(other, cfg)
            n_pp = max(cfg.prompt_lengths)
            pp = run.repeat(lambda: _measure_prefill(other, n_pp))
            tg = run.repeat(lambda: _measure_decode(other, cfg.gen_tokens, 0))
            after = nvml.memory_used_bytes() if nvml.available else None
        run.profile.gpu_layers_sweep.append(GpuLayersPoint(
            n_gpu_layers=n_layers, prefill_tok_s=summarize(pp, "tok/s"), decode_tok_s=summarize(tg, "tok/s"),
            vram_used_peak_bytes=(after - before) if before is not None and after is not None else None,
        ))
    return step


def _concurrency_step(run: _Run, main_settings, *, LlamaCppEngine, nvml):
    cfg = run.config
    settings = replace(main_settings, n_seq_max=max(cfg.concurrency), n_ctx=cfg.concurrency_n_ctx())
    p, g = cfg.concurrency_prompt_tokens, cfg.concurrency_gen_tokens
    with LlamaCppEngine(run.model_path, settings) as batched:
        _warm_up(batched, cfg)
        for c in cfg.concurrency:
            per_stream, steps_ms, prefill_ms = [], [], []

            def one_round() -> float:
                batched.clear()
                prefill_ms.append(batched.prefill_many([batched.random_tokens(p) for _ in range(c)]) * 1000)
                times = batched.decode_steps(g, n_streams=c, start_pos=p)
                steps_ms.extend((times * 1000).tolist())
                per_stream.append(g / float(times.sum()))
                return c * per_stream[-1]

            aggregate = run.repeat(one_round)
            run.profile.concurrency_sweep.append(ConcurrencyPoint(
                concurrency=c, context_depth=p, aggregate_decode_tok_s=summarize(aggregate, "tok/s"),
                per_stream_decode_tok_s=summarize(per_stream, "tok/s"), step_latency_ms=summarize(steps_ms, "ms"),
                prefill_ms=summarize(prefill_ms, "ms"),
            ))
            run.save()
