"""Measurement commands: profile (llama.cpp or vLLM), clone, cache, hardware."""
from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import typer

from planner.app.cli.options import Oversubscribe, _ints, check_threads
from planner.core.engines import ENGINES
from planner.core.engines import engine as engine_row
from planner.core.errors import InputError
from planner.formats.files import dated_name, existing_file, new_output
from planner.measure.gguf.cache import KINDS, cache_dir, cache_entries, clear_cache, entry_size

app = typer.Typer()


@app.command()
def profile(
    models: list[Path] = typer.Argument(None, help="GGUF files to profile (default: the embedded SmolLM2-135M Q4_1)"),
    quick: bool = typer.Option(False, "--quick", help="short tests (minutes; several times longer on a busy machine)"),
    prompts: str | None = typer.Option(None, help="prefill test lengths, e.g. 128,512,2048"),
    depths: str | None = typer.Option(None, help="decode context depths, e.g. 0,512"),
    gen_tokens: int | None = typer.Option(None, "--gen-tokens", help="decode tokens per repetition"),
    max_reps: int | None = typer.Option(None, "--max-reps", help="repetitions at most per test"),
    budget: float | None = typer.Option(None, help="seconds at most per test (after 3 repetitions)"),
    threads: str | None = typer.Option(None, help="thread sweep, e.g. 1,2"),
    n_threads: int | None = typer.Option(None, "--n-threads", help="threads for the main tests (default: all cores)"),
    concurrency: str | None = typer.Option(None, help="batched-decode sweep, e.g. 1,2,4,8 ('' to skip)"),
    n_gpu_layers: int = typer.Option(0, "--n-gpu-layers", help="layers to offload to the GPU (-1: all)"),
    gpu_layers: str | None = typer.Option(None, "--gpu-layers", help="offload sweep, e.g. 0,8,16,-1 (GPU only)"),
    cpu_extra_buffers: bool = typer.Option(True, "--cpu-repack/--no-cpu-repack", help="llama.cpp's repacked CPU weight layouts"),
    threadpool: bool = typer.Option(True, "--threadpool/--no-threadpool",
                                    help="a persistent polling CPU threadpool, as llama-bench and llama-server use (off: llama-cpp-python's default)"),
    quant_ladder: bool = typer.Option(False, "--quant-ladder", help="also derive F32/F16/Q8_0/Q5_K_M/Q4_K_M/Q4_0 from the model and profile each"),
    out: Path | None = typer.Option(None, help="profile file to write (one model only)"),
    profiles_dir: Path = typer.Option(Path("profiles"), help="where profiles are written"),
    engine: str = typer.Option("llama-cpp", help="; ".join(f"{e.name} ({e.note})" for e in ENGINES.values() if e.profile_name)),
    kv_cache_gib: float = typer.Option(2.0, "--kv-cache-gib", help="vllm on CPU: KV cache size in GiB"),
    max_model_len: int = typer.Option(2048, "--max-model-len", help="vllm: longest sequence the engine accepts"),
    load_format: str = typer.Option("auto", "--load-format", help="vllm: auto (the weights) or dummy (random weights: a clone)"),
    oversubscribe: Oversubscribe = False,
):
    """Measure prefill/decode tok/s, latency, memory and concurrency of a model on this machine (llama.cpp or vLLM)."""
    from planner.measure.gguf.embedded import embedded_model_path

    if out is not None:  # refused before minutes of measuring, not when the first test is saved
        new_output(out, "--out")
    check_threads([n_threads], "--n-threads", oversubscribe)
    check_threads(_ints(threads, "--threads"), "--threads", oversubscribe)
    row = engine_row(engine, needs="profile")
    if row.name == "vllm":
        _profile_vllm(models, quick=quick, prompts=prompts, depths=depths, gen_tokens=gen_tokens, max_reps=max_reps,
                      concurrency=concurrency, out=out, profiles_dir=profiles_dir, kv_cache_gib=kv_cache_gib,
                      max_model_len=max_model_len, load_format=load_format, llama_only=quant_ladder or bool(gpu_layers or threads))
        return
    from planner.measure.profiling.llama_cpp import ProfileConfig, profile_model  # loads llama.cpp: only when profiling

    paths = list(models) if models else [embedded_model_path()]
    for path in paths:
        existing_file(path, "model file", "pass the path of a .gguf file")
    if quant_ladder:
        from planner.measure.gguf.quantize import quant_ladder as make_ladder
        paths = [p for src in paths for p in [src, *make_ladder(src).values()]]
    if out and len(paths) > 1:
        raise InputError("--out: give it with a single model, or use --profiles-dir for several")
    overrides = _test_options(prompts=prompts, depths=depths, concurrency=concurrency, gen_tokens=gen_tokens, max_reps=max_reps)
    if threads is not None:
        overrides["threads"] = _ints(threads, "--threads")
    if gpu_layers is not None:
        overrides["gpu_layers"] = _ints(gpu_layers, "--gpu-layers")
    if budget is not None:
        overrides["time_budget_s"] = budget
    config = ProfileConfig.quick(**overrides) if quick else ProfileConfig(**overrides)
    config = replace(config, n_threads=n_threads, n_gpu_layers=n_gpu_layers, cpu_extra_buffers=cpu_extra_buffers,
                     threadpool_poll=config.threadpool_poll if threadpool else None)
    for path in paths:
        result = profile_model(path, config, out_path=out, profiles_dir=profiles_dir)
        typer.echo(_profile_line(result))


def _test_options(*, prompts, depths, concurrency, gen_tokens, max_reps) -> dict:
    """The test shape options both engines share, parsed once (ProfileConfig's names)."""
    out: dict = {}
    for key, text, option in (("prompt_lengths", prompts, "--prompts"), ("decode_depths", depths, "--depths"),
                              ("concurrency", concurrency, "--concurrency")):
        if text is not None:
            out[key] = _ints(text, option)
    for key, value in (("gen_tokens", gen_tokens), ("max_reps", max_reps)):
        if value is not None:
            out[key] = value
    return out


def _profile_vllm(models, *, quick, prompts, depths, gen_tokens, max_reps, concurrency, out, profiles_dir, kv_cache_gib,
                  max_model_len, load_format, llama_only) -> None:
    """`profile --engine vllm`: the HF folder (a GGUF is converted once, cached) through vLLM's offline engine."""
    from planner.measure.engines.vllm import VllmSettings, import_vllm
    from planner.measure.gguf.embedded import embedded_model_path
    from planner.measure.gguf.hf import hf_folder
    from planner.measure.profiling.vllm import profile_vllm

    if llama_only:
        raise InputError("--quant-ladder / --gpu-layers / --threads: llama.cpp options; drop them with --engine vllm")
    if load_format not in ("auto", "dummy"):
        raise InputError(f"--load-format: auto or dummy (got {load_format!r})")
    if not 0 < kv_cache_gib < 1e4 or max_model_len < 16:
        raise InputError(f"--kv-cache-gib / --max-model-len: must be positive (got {kv_cache_gib:g} / {max_model_len})")
    if models and len(models) > 1 and out:
        raise InputError("--out: give it with a single model, or use --profiles-dir for several")
    import_vllm()  # say how to install it before converting anything
    kwargs = _test_options(prompts=prompts, depths=depths, concurrency=concurrency, gen_tokens=gen_tokens, max_reps=max_reps)
    if "max_reps" in kwargs:
        kwargs["reps"] = kwargs.pop("max_reps")
    if quick:
        kwargs = {"prompt_lengths": (128,), "decode_depths": (16,), "gen_tokens": 16, "concurrency": (1, 4), "latency": (64, 16),
                  "reps": 2, **kwargs}
    for source in models or [embedded_model_path()]:
        source = Path(source)
        folder = source if source.is_dir() else hf_folder(existing_file(source, "model file", "pass a .gguf file or an HF folder"))
        if not (folder / "config.json").is_file():
            raise InputError(f"model: {folder} has no config.json; pass a Hugging Face folder or a .gguf to convert")
        path = out or profiles_dir / dated_name(folder.name.split(".")[0], "vllm", when=datetime.now(UTC))
        p = profile_vllm(VllmSettings(model=str(folder), load_format=load_format, max_model_len=max_model_len, kv_cache_gib=kv_cache_gib),
                         out_path=path, **kwargs)
        typer.echo(f"{folder.name}: prefill {p.prefill_tok_s:,.1f} tok/s, decode {p.decode_tok_s:,.1f} tok/s (vllm, {p.engine.backend}), "
                   f"KV cache {p.engine.kv_cache_tokens or 0:,} tokens, peak RSS {p.memory.peak_rss_bytes / 2**20:,.0f} MiB → {p.saved_path}")


def _profile_line(p) -> str:
    return (f"{p.model.file_name}: prefill {p.prefill_tok_s:,.1f} tok/s, decode {p.decode_tok_s:,.1f} tok/s "
            f"({p.engine.backend}, {p.engine.n_threads} threads), peak RSS {p.memory.peak_rss_bytes / 2**20:,.0f} MiB → {p.saved_path}")



@app.command()
def clone(
    card: str = typer.Argument(..., help="model card name from data/model_cards.csv, e.g. Mistral-7B-v0.1"),
    quant: str = typer.Option("Q4_K_M", help="quant type of the clone"),
    layers: int | None = typer.Option(None, help="reduced depth (per-layer cost is unchanged)"),
    profile_it: bool = typer.Option(False, "--profile", help="profile the clone right away"),
    quick: bool = typer.Option(True, "--quick/--full", help="short tests when profiling"),
    n_gpu_layers: int = typer.Option(0, "--n-gpu-layers", help="layers to offload when profiling (-1: all)"),
    concurrency: str | None = typer.Option(None, help="batched-decode sweep when profiling"),
    profiles_dir: Path = typer.Option(Path("profiles"), help="where the profile goes"),
):
    """Write a random-weight GGUF of a model card's architecture (cached), optionally profile it."""
    from planner.formats.catalog import load_card
    from planner.measure.gguf.clones import make_clone, preflight_clone

    model_card = load_card(card).with_layers(layers)
    preflight_clone(model_card, quant, n_gpu_layers=n_gpu_layers, for_profiling=profile_it)
    path = make_clone(model_card, quant)
    typer.echo(f"clone: {path} ({path.stat().st_size / 2**30:.2f} GiB)")
    if profile_it:

        from planner.measure.profiling.llama_cpp import ProfileConfig, profile_model
        base = ProfileConfig.clone_quick() if quick else ProfileConfig()
        config = replace(base, n_gpu_layers=n_gpu_layers, **({"concurrency": _ints(concurrency, "--concurrency")} if concurrency is not None else {}))
        typer.echo(_profile_line(profile_model(path, config, profiles_dir=profiles_dir)))



@app.command("cache")
def cache_cmd(clear: bool = typer.Option(False, "--clear", help="delete the derived files the tool made (never other files there)"),
              kind: str | None = typer.Option(None, help=f"{', '.join(KINDS)} (default: all)")):
    """List (or delete) derived model files: quant-ladder rungs, architecture clones, HF folders converted for vLLM."""
    from planner.core.units import human_bytes

    if clear:
        done = clear_cache(kind)
        for path in done.deleted:
            typer.echo(f"deleted {path}")
        typer.echo(f"freed {human_bytes(done.freed_bytes)} ({len(done.deleted)} entries) from {cache_dir()}" if done.deleted
                   else f"nothing of llm-planner's to clear in {cache_dir()}")
        if done.left:
            typer.echo(f"left {len(done.left)} entries llm-planner did not make, e.g. {done.left[0]}")
        return
    entries = [(k, f) for k in ([kind] if kind else list(KINDS)) for f in cache_entries(k)]
    for k, f in entries:
        typer.echo(f"{k:7s} {human_bytes(entry_size(f)):>12s}  {f}")
    if not entries:
        typer.echo(f"nothing cached in {cache_dir()}")



@app.command()
def hardware(bandwidth: bool = typer.Option(True, "--bandwidth/--no-bandwidth", help="measure memory bandwidth (~1 s)")):
    """Print this machine's fingerprint as JSON."""
    from planner.measure.probes.hardware import fingerprint

    typer.echo(fingerprint(bandwidth=bandwidth).model_dump_json(indent=2))


