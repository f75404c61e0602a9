"""Measurement commands: profile, clone, vllm-profile, cache, hardware."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import typer

from planner.app.cli.options import _ints
from planner.core.errors import InputError
from planner.formats.catalog import load_card
from planner.formats.files import existing_file
from planner.measure.gguf.cache import cache_dir, cache_entries, clear_cache
from planner.measure.gguf.embedded import embedded_model_path
from planner.measure.probes.hardware import fingerprint

app = typer.Typer()


@app.command()
def profile(
    models: list[Path] = typer.Argument(None, help="GGUF files to profile (default: the embedded SmolLM2-135M Q4_1)"),
    quick: bool = typer.Option(False, "--quick", help="short tests (about a minute on 2 cores)"),
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
):
    """Measure prefill/decode tok/s, latency, memory and concurrency of GGUF models on this machine."""
    from planner.measure.profiling.llama_cpp import ProfileConfig, profile_model  # loads llama.cpp: only when profiling

    paths = list(models) if models else [embedded_model_path()]
    for path in paths:
        existing_file(path, "model file", "pass the path of a .gguf file")
    if quant_ladder:
        from planner.measure.gguf.quantize import quant_ladder as make_ladder
        paths = [p for src in paths for p in [src, *make_ladder(src).values()]]
    if out and len(paths) > 1:
        raise InputError("--out: give it with a single model, or use --profiles-dir for several")
    overrides = {}
    if threads is not None:
        overrides["threads"] = _ints(threads, "--threads")
    if concurrency is not None:
        overrides["concurrency"] = _ints(concurrency, "--concurrency")
    if gpu_layers is not None:
        overrides["gpu_layers"] = _ints(gpu_layers, "--gpu-layers")
    if prompts is not None:
        overrides["prompt_lengths"] = _ints(prompts, "--prompts")
    if depths is not None:
        overrides["decode_depths"] = _ints(depths, "--depths")
    for key, value in (("gen_tokens", gen_tokens), ("max_reps", max_reps), ("time_budget_s", budget)):
        if value is not None:
            overrides[key] = value
    config = ProfileConfig.quick(**overrides) if quick else ProfileConfig(**overrides)
    config = replace(config, n_threads=n_threads, n_gpu_layers=n_gpu_layers, cpu_extra_buffers=cpu_extra_buffers,
                     threadpool_poll=config.threadpool_poll if threadpool else None)
    for path in paths:
        result = profile_model(path, config, out_path=out, profiles_dir=profiles_dir)
        typer.echo(_profile_line(result))


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



@app.command("vllm-profile")
def vllm_profile(
    model: str = typer.Argument(..., help="Hugging Face id or local folder with config.json"),
    load_format: str = typer.Option("dummy", help="dummy: random weights (clone); auto: real weights"),
    prompt_tokens: int = typer.Option(512, "--prompt-tokens"),
    gen_tokens: int = typer.Option(128, "--gen-tokens"),
    concurrency: str = typer.Option("1,8,32,64", help="batch sizes"),
    out: Path = typer.Option(Path("profiles/vllm.json"), help="profile file to write"),
):
    """Profile a model with vLLM's offline engine (GPU machines with the `gpu` extra)."""
    from planner.measure.engines.vllm import VllmSettings
    from planner.measure.profiling.vllm import profile_vllm
    p = profile_vllm(VllmSettings(model=model, load_format=load_format), out_path=out, prompt_tokens=prompt_tokens,
                     gen_tokens=gen_tokens, concurrency=_ints(concurrency, "--concurrency"))
    typer.echo(f"{model}: prefill {p.prefill_tok_s:,.0f} tok/s, decode {p.decode_tok_s:,.0f} tok/s → {out}")


@app.command("cache")
def cache_cmd(clear: bool = typer.Option(False, "--clear", help="delete the cached files"),
              kind: str | None = typer.Option(None, help="clones or ladder (default: both)")):
    """List (or delete) derived model files: quant-ladder rungs and architecture clones."""
    if clear:
        freed = clear_cache(kind)
        typer.echo(f"freed {freed / 2**30:.2f} GiB from {cache_dir()}" if freed else f"nothing to clear in {cache_dir()}")
        return
    entries = [(k, f) for k in ([kind] if kind else ["ladder", "clones"]) for f in cache_entries(k)]
    for k, f in entries:
        typer.echo(f"{k:7s} {f.stat().st_size / 2**20:10,.1f} MiB  {f}")
    if not entries:
        typer.echo(f"nothing cached in {cache_dir()}")



@app.command()
def hardware(bandwidth: bool = typer.Option(True, "--bandwidth/--no-bandwidth", help="measure memory bandwidth (~1 s)")):
    """Print this machine's fingerprint as JSON."""
    typer.echo(fingerprint(bandwidth=bandwidth).model_dump_json(indent=2))


