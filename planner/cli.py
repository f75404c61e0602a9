"""The `llm-planner` command line. User errors print one line (`error: ...`) and exit 2; no tracebacks."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from .errors import PlannerError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Profile LLM inference on this machine and price self-hosting against the APIs.")


def _ints(text: str | None, field: str) -> tuple[int, ...]:
    if text is None or text == "":
        return ()
    try:
        return tuple(int(v) for v in text.split(","))
    except ValueError:
        raise PlannerError(f"{field}: expected comma-separated integers like 1,2,4 (got {text!r})") from None


@app.command()
def profile(
    models: list[Path] = typer.Argument(None, help="GGUF files to profile (default: the embedded SmolLM2-135M Q4_1)"),
    quick: bool = typer.Option(False, "--quick", help="short tests (about a minute on 2 cores)"),
    prompts: Optional[str] = typer.Option(None, help="prefill test lengths, e.g. 128,512,2048"),
    depths: Optional[str] = typer.Option(None, help="decode context depths, e.g. 0,512"),
    gen_tokens: Optional[int] = typer.Option(None, "--gen-tokens", help="decode tokens per repetition"),
    max_reps: Optional[int] = typer.Option(None, "--max-reps", help="repetitions at most per test"),
    budget: Optional[float] = typer.Option(None, help="seconds at most per test (after 3 repetitions)"),
    threads: Optional[str] = typer.Option(None, help="thread sweep, e.g. 1,2"),
    n_threads: Optional[int] = typer.Option(None, "--n-threads", help="threads for the main tests (default: all cores)"),
    concurrency: Optional[str] = typer.Option(None, help="batched-decode sweep, e.g. 1,2,4,8 ('' to skip)"),
    n_gpu_layers: int = typer.Option(0, "--n-gpu-layers", help="layers to offload to the GPU (-1: all)"),
    gpu_layers: Optional[str] = typer.Option(None, "--gpu-layers", help="offload sweep, e.g. 0,8,16,-1 (GPU only)"),
    cpu_extra_buffers: bool = typer.Option(True, "--cpu-repack/--no-cpu-repack", help="llama.cpp's repacked CPU weight layouts"),
    threadpool: bool = typer.Option(True, "--threadpool/--no-threadpool",
                                    help="a persistent polling CPU threadpool, as llama-bench and llama-server use (off: llama-cpp-python's default)"),
    quant_ladder: bool = typer.Option(False, "--quant-ladder", help="also derive F32/F16/Q8_0/Q5_K_M/Q4_K_M/Q4_0 from the model and profile each"),
    out: Optional[Path] = typer.Option(None, help="profile file to write (one model only)"),
    profiles_dir: Path = typer.Option(Path("profiles"), help="where profiles are written"),
):
    """Measure prefill/decode tok/s, latency, memory and concurrency of GGUF models on this machine."""
    from .embedded import embedded_model_path
    from .profiling import ProfileConfig, profile_model

    paths = list(models) if models else [embedded_model_path()]
    for path in paths:
        if not Path(path).is_file():
            raise PlannerError(f"model file not found: {path} — pass the path of a .gguf file")
    if quant_ladder:
        from .quantize import quant_ladder as make_ladder
        paths = [p for src in paths for p in [src, *make_ladder(src).values()]]
    if out and len(paths) > 1:
        raise PlannerError("--out: give it with a single model, or use --profiles-dir for several")
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
    from dataclasses import replace
    config = replace(config, n_threads=n_threads, n_gpu_layers=n_gpu_layers, cpu_extra_buffers=cpu_extra_buffers,
                     threadpool_poll=config.threadpool_poll if threadpool else None)
    for path in paths:
        result = profile_model(path, config, out_path=out, profiles_dir=profiles_dir)
        typer.echo(_profile_line(result))


def _profile_line(p) -> str:
    return (f"{p.model.file_name}: prefill {p.prefill_tok_s:,.1f} tok/s, decode {p.decode_tok_s:,.1f} tok/s "
            f"({p.engine.backend}, {p.engine.n_threads} threads), peak RSS {p.memory.peak_rss_bytes / 2**20:,.0f} MiB → {p.saved_path}")


@app.command()
def plan(
    profile_path: Optional[Path] = typer.Option(None, "--profile", help="profile JSON (default: newest under profiles/)"),
    instance: Optional[str] = typer.Option(None, help="instance from data/instances.csv (default: one like the profiled machine)"),
    api: Optional[str] = typer.Option(None, help="API model from data/api_prices.csv (default: gpt-4o-mini)"),
    price: str = typer.Option("on_demand", help="on_demand, spot or reserved"),
    requests: float = typer.Option(1e6, help="requests per month to quote"),
    tokens_in: float = typer.Option(512, help="prompt tokens per request"),
    tokens_out: float = typer.Option(128, help="output tokens per request"),
    ttft_slo: float = typer.Option(2.0, help="TTFT limit, seconds"),
    itl_slo: float = typer.Option(0.2, help="inter-token latency limit, seconds"),
    peak_to_avg: float = typer.Option(2.0, help="peak load ÷ average load"),
    users: Optional[float] = typer.Option(None, help="monthly active users (checked against the model's licence)"),
    html: Optional[Path] = typer.Option(None, help="also write the HTML report here"),
    params: Optional[Path] = typer.Option(None, help="workload YAML (overrides the options above)"),
):
    """Monthly cost self-hosted vs API, replicas at the SLO, and the break-even volume."""
    from .plan import PriceChoice, Workload, load_params
    from .plan import plan as make_plan
    from .selection import card_of, resolve

    workload = load_params(params).workload if params else _workload(Workload, requests_per_month=requests, tokens_in=tokens_in, tokens_out=tokens_out,
                                                              ttft_slo_s=ttft_slo, itl_slo_s=itl_slo, peak_to_avg=peak_to_avg,
                                                              monthly_active_users=users)
    path, prof, inst, api_row = resolve(profile_path, instance, api)
    result = make_plan(prof, PriceChoice.from_rows(inst, api_row, price_kind=price), workload, profile_ref=str(path), card=card_of(prof))
    import pandas as pd
    with pd.option_context("display.max_colwidth", 90, "display.width", 200):
        typer.echo(result.summary().to_string(index=False))
    for w in result.warnings:
        typer.echo(f"warning: {w}")
    if html:
        from .report import write_report
        for written in write_report(result, prof, html, profile_path=path):
            typer.echo(f"report: {written}")


def _workload(cls, **values):
    from pydantic import ValidationError
    try:
        return cls(**values)
    except ValidationError as exc:
        e = exc.errors()[0]
        option = {"requests_per_month": "requests", "ttft_slo_s": "ttft-slo", "itl_slo_s": "itl-slo"}.get(str(e["loc"][0]), str(e["loc"][0]))
        raise PlannerError(f"--{option.replace('_', '-')}: {e['msg'].lower()} (got {e.get('input')!r})") from None


@app.command()
def report(params: Path = typer.Option(..., "--params", help="plan.yaml: profile, instance, api, workload, output"),
           pdf: Optional[bool] = typer.Option(None, "--pdf/--no-pdf", help="override the file's pdf setting")):
    """Write the planning report (standalone HTML, optionally PDF) described by a plan file."""
    from .reporting import build_report
    for written in build_report(params, pdf=pdf):
        typer.echo(f"report: {written.resolve()}")


# what a 135M model on a small CPU is for: short extraction/classification requests
DEMO_WORKLOAD_FIELDS = dict(tokens_in=128, tokens_out=16, ttft_slo_s=5.0, itl_slo_s=0.5)


@app.command()
def demo(
    reports_dir: Path = typer.Option(Path("reports"), help="where the report goes"),
    profiles_dir: Path = typer.Option(Path("profiles"), help="where the new profile goes"),
    api: Optional[str] = typer.Option(None, help="API model to compare against (default: gpt-4o-mini)"),
    frontier: Optional[str] = typer.Option("gpt-4o", help="a second, frontier API to quote the break-even against"),
    pdf: bool = typer.Option(False, "--pdf/--no-pdf", help="also print the report to PDF (needs Chromium)"),
):
    """Profile the embedded model here (quick), plan against an API, write an HTML report, print the answer."""
    from .embedded import embedded_model_path
    from .plan import PriceChoice, Workload
    from .plan import plan as make_plan
    from .profiling import ProfileConfig, profile_model
    from .report import write_report
    from .selection import card_of, resolve

    model = embedded_model_path()
    typer.echo(f"profiling the embedded model {model.name} on this machine (quick run)…")
    prof = profile_model(model, ProfileConfig.quick(), profiles_dir=profiles_dir)
    path = prof.saved_path
    typer.echo(f"measured decode {prof.decode_tok_s:,.1f} tok/s (95% CI ±{prof.decode[0].tok_s.ci95_half_width_pct:.1f}%), "
               f"prefill {prof.prefill_tok_s:,.1f} tok/s; profile: {path}")
    _, _, inst, api_row = resolve(path, None, api)
    workload = Workload(**DEMO_WORKLOAD_FIELDS)
    typer.echo(f"workload: {workload.tokens_in:g} prompt → {workload.tokens_out:g} output tokens per request (an extraction/classification "
               f"task, what a 135M model is for), TTFT ≤ {workload.ttft_slo_s:g} s, ITL ≤ {workload.itl_slo_s:g} s, peak {workload.peak_to_avg:g}× average")
    result = make_plan(prof, PriceChoice.from_rows(inst, api_row), workload, profile_ref=str(path), card=card_of(prof))
    typer.echo(f"self-hosted on {result.prices.replica_label}: {result.capacity_rps:.3g} req/s per replica at the SLO")
    for w in result.warnings:
        typer.echo(f"note: {w}")
    _print_break_even(result)
    if frontier and frontier != result.prices.api_label:
        _, _, _, frontier_row = resolve(path, None, frontier)
        _print_break_even(make_plan(prof, PriceChoice.from_rows(inst, frontier_row), workload, profile_ref=str(path)))
    for written in write_report(result, prof, reports_dir / "demo.html", profile_path=path, pdf=pdf):
        typer.echo(f"report: {written.resolve()}")


@app.command()
def clone(
    card: str = typer.Argument(..., help="model card name from data/model_cards.csv, e.g. Mistral-7B-v0.1"),
    quant: str = typer.Option("Q4_K_M", help="quant type of the clone"),
    layers: Optional[int] = typer.Option(None, help="reduced depth (per-layer cost is unchanged)"),
    profile_it: bool = typer.Option(False, "--profile", help="profile the clone right away"),
    quick: bool = typer.Option(True, "--quick/--full", help="short tests when profiling"),
    n_gpu_layers: int = typer.Option(0, "--n-gpu-layers", help="layers to offload when profiling (-1: all)"),
    concurrency: Optional[str] = typer.Option(None, help="batched-decode sweep when profiling"),
    profiles_dir: Path = typer.Option(Path("profiles"), help="where the profile goes"),
):
    """Write a random-weight GGUF of a model card's architecture (cached), optionally profile it."""
    from .cards import load_card
    from .clones import make_clone, preflight_clone

    model_card = load_card(card).with_layers(layers)
    preflight_clone(model_card, quant, n_gpu_layers=n_gpu_layers, for_profiling=profile_it)
    path = make_clone(model_card, quant)
    typer.echo(f"clone: {path} ({path.stat().st_size / 2**30:.2f} GiB)")
    if profile_it:
        from dataclasses import replace

        from .profiling import ProfileConfig, profile_model
        base = ProfileConfig.clone_quick() if quick else ProfileConfig()
        config = replace(base, n_gpu_layers=n_gpu_layers, **({"concurrency": _ints(concurrency, "--concurrency")} if concurrency is not None else {}))
        typer.echo(_profile_line(profile_model(path, config, profiles_dir=profiles_dir)))


@app.command()
def project(
    calibrate: list[Path] = typer.Option(..., "--calibrate", help="measured profiles from one machine (repeat the option); ≥ 2 model sizes"),
    card: list[str] = typer.Option(..., "--card", help="model card(s) to predict, from data/model_cards.csv"),
    quant: str = typer.Option("Q4_K_M", help="quant type of the prediction"),
    hardware_name: Optional[str] = typer.Option(None, "--hardware", help="predict on this data/hardware.csv row instead of the calibrated machine"),
    source_hardware: Optional[str] = typer.Option(None, "--source-hardware", help="hardware.csv row of the calibration machine (default: its measured bandwidth)"),
    layers: Optional[int] = typer.Option(None, help="reduced depth of the card"),
):
    """Predict decode tok/s and memory for model cards not measured, from a roofline fit on measured profiles."""
    import pandas as pd

    from .cards import load_card
    from .catalog import load_catalog, lookup
    from .projection import calibrate_decode, predict_card, same_quant
    from .schema import load_profile

    profiles = same_quant([load_profile(p) for p in calibrate], quant)
    hw = load_catalog("hardware")
    if source_hardware:
        ref = float(lookup(hw, "hardware", source_hardware)["memory_bandwidth_gb_s"]) * 1e9
    else:
        ref = (profiles[0].hardware.memory_bandwidth_gb_s or 0) * 1e9 or None
    try:
        cal = calibrate_decode(profiles, ref)
    except ValueError as exc:
        raise PlannerError(f"--calibrate: {exc}") from None
    target = float(lookup(hw, "hardware", hardware_name)["memory_bandwidth_gb_s"]) * 1e9 if hardware_name else None
    rows = [predict_card(cal, load_card(name).with_layers(layers), quant, target_bandwidth_bytes_s=target) for name in card]
    eff = f", {cal.bandwidth_efficiency:.0%} of the reference bandwidth" if cal.bandwidth_efficiency else ""
    typer.echo(f"fit on {cal.n_points} decode points: {cal.per_layer_s * 1e6:.1f} µs per layer + bytes at "
               f"{cal.effective_bandwidth_bytes_s / 1e9:.1f} GB/s effective{eff}; fit error {cal.rms_relative_error:.1%} rms")
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        typer.echo(pd.DataFrame(rows).round(3).to_string(index=False))


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
    from .engines.vllm_engine import VllmSettings
    from .profiling_vllm import profile_vllm
    p = profile_vllm(VllmSettings(model=model, load_format=load_format), out_path=out, prompt_tokens=prompt_tokens,
                     gen_tokens=gen_tokens, concurrency=_ints(concurrency, "--concurrency"))
    typer.echo(f"{model}: prefill {p.prefill_tok_s:,.0f} tok/s, decode {p.decode_tok_s:,.0f} tok/s → {out}")


@app.command("cache")
def cache_cmd(clear: bool = typer.Option(False, "--clear", help="delete the cached files"),
              kind: Optional[str] = typer.Option(None, help="clones or ladder (default: both)")):
    """List (or delete) derived model files: quant-ladder rungs and architecture clones."""
    from .cache import cache_dir, cache_entries, clear_cache
    if clear:
        typer.echo(f"freed {clear_cache(kind) / 2**30:.2f} GiB from {cache_dir()}")
        return
    for k in ([kind] if kind else ["ladder", "clones"]):
        for f in cache_entries(k):
            typer.echo(f"{k:7s} {f.stat().st_size / 2**20:10,.1f} MiB  {f}")


def _print_break_even(result) -> None:
    if result.self_host_ever_cheaper:
        typer.echo(f"break-even volume vs {result.prices.api_label} (${result.api_usd_per_request:.3g}/request): "
                   f"{result.break_even_first:,.0f} requests/month (self-hosting always cheaper above {result.break_even_always:,.0f})")
    else:
        typer.echo(f"break-even volume vs {result.prices.api_label} (${result.api_usd_per_request:.3g}/request): none — "
                   "the API is cheaper at every volume for this workload")


@app.command()
def hardware(bandwidth: bool = typer.Option(True, "--bandwidth/--no-bandwidth", help="measure memory bandwidth (~1 s)")):
    """Print this machine's fingerprint as JSON."""
    from .hardware import fingerprint
    typer.echo(fingerprint(bandwidth=bandwidth).model_dump_json(indent=2))


@app.command()
def catalog(kind: str = typer.Argument(..., help="api_prices, instances, hardware, onprem or model_cards"),
            contains: Optional[str] = typer.Option(None, help="only rows whose key contains this text")):
    """List a data catalog with its sources and dates."""
    import pandas as pd

    from .catalog import SCHEMAS, load_catalog
    df = load_catalog(kind)
    if contains:
        key = SCHEMAS[kind]["key"][0]
        df = df[df[key].astype(str).str.contains(contains, case=False, regex=False)]
    with pd.option_context("display.max_rows", 500, "display.width", 250, "display.max_colwidth", 60):
        typer.echo(df.to_string(index=False))


from .cli_serve import register as _register_serve_profile  # noqa: E402  (serve-profile lives in its own module)

_register_serve_profile(app)


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the app; turn user errors and usage errors into one line on stderr."""
    try:
        app(args=argv, standalone_mode=False)
    except PlannerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, typer.Abort):
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if hasattr(exc, "format_message") and hasattr(exc, "exit_code"):  # click's usage errors, as typer raises them
            print(f"error: {exc.format_message()} (see --help)", file=sys.stderr)
            return exc.exit_code or 2
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
