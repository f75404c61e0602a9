"""Planning commands: plan, compare, fleet, predict, report, demo, project, catalog."""
from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from planner.app.cli.options import ItlMetric, ItlSlo, PeakToAvg, Price, Requests, TokensIn, TokensOut, Traffic, TtftSlo, Users, check_choice
from planner.core.errors import InputError, UntrustworthyMeasurement
from planner.formats.files import refuse_clobbering
from planner.formats.schemas import SCHEMAS

if TYPE_CHECKING:
    from planner.core.plan import Workload
    from planner.core.traffic import TrafficSummary

app = typer.Typer()
PRICE_KINDS = ("on_demand", "spot", "reserved")
FORMATS = ("table", "json", "csv")


@app.command()
def plan(
    profile_path: Path | None = typer.Option(None, "--profile", help="profile JSON (default: newest under profiles/)"),
    instance: str | None = typer.Option(None, help="instance from data/instances.csv (default: one like the profiled machine)"),
    api: str | None = typer.Option(None, help="API model from data/api_prices.csv (default: gpt-4o-mini)"),
    price: Price = "on_demand",
    requests: Requests = 1e6,
    tokens_in: TokensIn = 512,
    tokens_out: TokensOut = 128,
    ttft_slo: TtftSlo = 2.0,
    itl_slo: ItlSlo = 0.2,
    itl_metric: ItlMetric = "itl",
    peak_to_avg: PeakToAvg = 2.0,
    users: Users = None,
    batch: bool = typer.Option(False, "--batch", help="price the API at its batch rate (asynchronous, ~24 h: offline work only)"),
    html: Path | None = typer.Option(None, help="also write the HTML report here"),
    params: Path | None = typer.Option(None, help="workload YAML (overrides the options above)"),
    traffic: Traffic = None,
    output_format: str = typer.Option("table", "--format", help="table (with a verdict line), json (the plan), csv (costs at every volume)"),
):
    """Monthly cost self-hosted vs API, replicas at the SLO, and the break-even volume."""
    from planner.app.workflows import engine_profiles_beside, plan_profile, report_comparison
    from planner.formats.plan_file import load_params
    from planner.present.report import write_report
    from planner.present.tables import key_values, say

    check_choice("--price", price, PRICE_KINDS)
    for option, value in (("--api", api), ("--instance", instance)):
        if value is not None and not value.strip():
            raise InputError(f"{option}: empty; name a row (see `llm-planner catalog`) or leave the option out for the default")
    workload = load_params(params).workload if params else _workload(requests_per_month=requests, tokens_in=tokens_in, tokens_out=tokens_out,
                                                                   ttft_slo_s=ttft_slo, itl_slo_s=itl_slo, itl_metric=itl_metric, peak_to_avg=peak_to_avg,
                                                                   monthly_active_users=users)
    check_choice("--format", output_format, FORMATS)
    if html is not None:  # refused before any work, not after the plan
        refuse_clobbering(html, {"--profile": profile_path, "--params": params, "--traffic": traffic}, "--html")
    workload, from_log = _with_traffic(workload, traffic)
    result, prof, path = plan_profile(profile_path, instance, api, workload, price_kind=price, batch=batch)  # type: ignore[arg-type]
    if output_format == "json":
        typer.echo(json.dumps({**result.as_dict(), **({"traffic": from_log.as_dict()} if from_log else {})}, indent=2))
    elif output_format == "csv":
        typer.echo(result.curves.to_csv(index=False), nl=False)  # the cost of both options at every volume of the grid
    else:
        _say_traffic(traffic, from_log)
        typer.echo(key_values(list(result.summary().itertuples(index=False, name=None))))
        for w in result.warnings:
            say(f"warning: {w}", "warning")
        if result.trustworthy:
            say(result.verdict(), "verdict")
    if html:
        for written in write_report(result, prof, html, profile_path=path, engines=engine_profiles_beside(path, prof),
                                    comparison=report_comparison(result, path, workload, price),  # type: ignore[arg-type]
                                    inputs={"--params": params}):
            typer.echo(f"report: {written}")
    if not result.trustworthy:  # the one trust policy (PlanResult.trustworthy): figures shown, no verdict, exit 3
        raise UntrustworthyMeasurement(f"{result.verdict()} (profile: {path})")


@app.command()
def compare(
    profile_paths: list[Path] = typer.Option(None, "--profile", help="profile JSON; repeat for several (default: newest under profiles/)"),
    instances: list[str] = typer.Option(None, "--instance", help="instance from data/instances.csv; repeat (default: one like each profiled machine)"),
    apis: list[str] = typer.Option(None, "--api", help="API model from data/api_prices.csv; repeat (default: gpt-4o-mini and gpt-4o)"),
    price: Price = "on_demand",
    requests: Requests = 1e6,
    tokens_in: TokensIn = 512,
    tokens_out: TokensOut = 128,
    ttft_slo: TtftSlo = 2.0,
    itl_slo: ItlSlo = 0.2,
    itl_metric: ItlMetric = "itl",
    peak_to_avg: PeakToAvg = 2.0,
    traffic: Traffic = None,
    batch: bool = typer.Option(False, "--batch", help="price the APIs at their batch rates (asynchronous, ~24 h: offline work only)"),
    output_format: str = typer.Option("table", "--format", help="table (with the recommendation), json, or csv (every option at every volume)"),
):
    """Several self-hosted options and APIs side by side: the cheapest in each volume band, and a recommendation."""
    from planner.app.workflows import compare_options
    from planner.formats.catalog import DEFAULT_API_MODEL
    from planner.formats.inputs import newest_profile
    from planner.present.tables import fit_table, money_columns, say

    check_choice("--price", price, PRICE_KINDS)
    check_choice("--format", output_format, FORMATS)
    workload = _workload(requests_per_month=requests, tokens_in=tokens_in, tokens_out=tokens_out, ttft_slo_s=ttft_slo, itl_slo_s=itl_slo, itl_metric=itl_metric,
                         peak_to_avg=peak_to_avg)
    workload, from_log = _with_traffic(workload, traffic)
    # a repeated option is one option, not two identical rows (the first spelling wins, order kept)
    paths = list(dict.fromkeys(profile_paths or [])) or [newest_profile()]
    instances, apis = list(dict.fromkeys(instances or [])), list(dict.fromkeys(apis or []))
    result = compare_options(paths, instances, apis or [DEFAULT_API_MODEL, "gpt-4o"], workload, price_kind=price,  # type: ignore[arg-type]
                             batch=batch)
    table = result.at_volume()
    if output_format == "csv":
        typer.echo(result.frame().to_csv(index=False), nl=False)
    elif output_format == "json":
        bands = [{"from_requests_per_month": b.volume_from, "to_requests_per_month": b.volume_to, "option": b.label, "kind": b.kind} for b in result.bands]
        rows = json.loads(table.to_json(orient="records"))
        typer.echo(json.dumps({"workload": workload.model_dump(), "at_volume": rows, "bands": bands, "recommendation": result.recommendation(),
                               **({"traffic": from_log.as_dict()} if from_log else {})}, indent=2))
    else:
        _say_traffic(traffic, from_log)
        say(f"at {workload.requests_per_month:,.0f} requests/month, {workload.tokens_in:g} → {workload.tokens_out:g} tokens, "
            f"TTFT p95 ≤ {workload.ttft_slo_s:g} s, ITL p95 ≤ {workload.itl_slo_s:g} s:")
        typer.echo(fit_table(money_columns(table), ("note",)))
        say("cheapest by volume: " + "; ".join(f"{b.volume_from:,.0f}–{b.volume_to:,.0f}: {b.label}" for b in result.bands))
        if not result.untrusted:
            say("recommendation: " + result.recommendation(), "verdict")
    if result.untrusted:  # the one trust policy (PlanResult.trustworthy): the figures are shown, no recommendation, exit 3
        raise UntrustworthyMeasurement(result.recommendation())


@app.command()
def fleet(
    card: str = typer.Option(..., "--card", help="model card from data/model_cards.csv (e.g. Llama-3.1-70B)"),
    requests: Requests = 1e6,
    tokens_in: TokensIn = 512,
    tokens_out: TokensOut = 128,
    ttft_slo: TtftSlo = 2.0,
    itl_slo: ItlSlo = 0.2,
    itl_metric: ItlMetric = "itl",
    peak_to_avg: PeakToAvg = 2.0,
    traffic: Traffic = None,
    precision: list[str] = typer.Option(None, "--precision", help="weight precision of the linear layers (embeddings and LM head stay bf16): bf16 (default), fp8, int4, or mxfp4 (MoE experts only, as gpt-oss ships); repeat to search several"),
    hardware: list[str] = typer.Option(None, "--hardware", help="only instances with this GPU (data/hardware.csv name); repeat"),
    instances: list[str] = typer.Option(None, "--instance", help="only this instance; repeat"),
    providers: list[str] = typer.Option(None, "--provider", help="only this provider (aws, gcp, lambda, …); repeat"),
    price: Price = "on_demand",
    onprem: bool = typer.Option(False, "--onprem/--no-onprem", help="also rank owned hardware (data/onprem.csv: amortisation + energy)"),
    users: Users = None,
    apis: list[str] = typer.Option(None, "--api", help="also quote this API (data/api_prices.csv) at the same volume, with a verdict; repeat"),
    top: int = typer.Option(15, min=1, max=500, help="how many deployments to rank"),
    all_layouts: bool = typer.Option(False, "--all-layouts", help="rank every layout of an instance, not only its cheapest"),
    output_format: str = typer.Option("table", "--format", help="table (with the best deployment's vllm command), json or csv"),
    html: Path | None = typer.Option(None, "--html", help="also write the fleet view here: cost against ITL, Pareto front, best per GPU"),
):
    """Rank multi-GPU deployments (instance × TP/PP/data-parallel engines × precision) of a model for a workload."""
    from planner.app.fleet import answer_fleet
    from planner.formats.files import atomic_write_text

    check_choice("--price", price, PRICE_KINDS)
    check_choice("--format", output_format, FORMATS)
    workload = _workload(requests_per_month=requests, tokens_in=tokens_in, tokens_out=tokens_out, ttft_slo_s=ttft_slo, itl_slo_s=itl_slo, itl_metric=itl_metric,
                         peak_to_avg=peak_to_avg, monthly_active_users=users)
    workload, from_log = _with_traffic(workload, traffic)
    answer = answer_fleet(card, workload, apis=list(apis or []), precisions=tuple(precision or ["bf16"]), hardware=list(hardware or []),
                          instances=list(instances or []), providers=list(providers or []), price_kind=price, top=top,  # type: ignore[arg-type]
                          onprem=onprem, distinct_instances=not all_layouts)
    result, notes = answer.result, answer.notes
    ranked = result.ranked
    if html is not None:
        from planner.present.fleet_view import render_html

        atomic_write_text(html, render_html(card, workload, result, notes, answer.apis, answer.error_pct))
    if output_format == "csv":
        typer.echo(ranked.to_csv(index=False), nl=False)
    elif output_format == "json":
        typer.echo(json.dumps({"card": card, "workload": workload.model_dump(), "candidates": result.n_candidates,
                               "engines_simulated": result.n_engines_simulated, "deployments": json.loads(ranked.to_json(orient="records")),
                               "infeasible": json.loads(result.infeasible.to_json(orient="records")),
                               "apis": [{"api": a.label, "usd_per_month": a.usd_per_month, "verdict": a.verdict} for a in answer.apis],
                               "capacity_error_pct": answer.error_pct, "notes": notes,
                               **({"traffic": from_log.as_dict()} if from_log else {})}, indent=2))
    else:
        _say_traffic(traffic, from_log)
        _fleet_table(answer)
    if html is not None:
        typer.echo(f"fleet view: {html.resolve()}", err=output_format != "table")  # never inside the json/csv on stdout


@app.command()
def predict(
    card: str = typer.Option(..., "--card", help="model card from data/model_cards.csv (e.g. Llama-3.1-8B)"),
    hardware: str = typer.Option(..., "--hardware", help="GPU (data/hardware.csv name, e.g. 'NVIDIA H100 SXM 80GB')"),
    tp: int = typer.Option(1, "--tp", min=1, max=64, help="tensor-parallel size"),
    pp: int = typer.Option(1, "--pp", min=1, max=64, help="pipeline-parallel size"),
    precision: str = typer.Option("bf16", "--precision", help="bf16, fp8, int4 or mxfp4 (MoE experts only)"),
    engine: str = typer.Option("vllm", "--engine", help="vllm (fitted on published vLLM serving measurements, data/gpu_step_fit.json) "
                               "or llama.cpp (fitted on the committed llama.cpp CUDA profiles)"),
    tokens_in: TokensIn = 512,
    tokens_out: TokensOut = 128,
    concurrency: int | None = typer.Option(None, "--concurrency", min=1, help="requests in flight (closed loop, as benchmark sweeps run)"),
    rate: float | None = typer.Option(None, "--rate", help="offered requests/s, Poisson (open loop)"),
    traffic: Path | None = typer.Option(None, "--traffic", help="a usage log or a preset's name (`llm-planner traffic presets`): "
                                        "each simulated request draws its lengths (and cached prefix) from the log's instead of "
                                        "--tokens-in/--tokens-out, and its arrivals replay the log's where it has timestamps"),
    output_format: str = typer.Option("table", "--format", help="table or json"),
):
    """Predict one deployment under one load: output tok/s, req/s, TTFT/TPOT/ITL p50/p95/p99, KV limit — with the
    held-out error of the model that predicts it."""
    from planner.core.gpufit import predict_load
    from planner.formats.catalog import device_for, load_card, record

    check_choice("--engine", engine, ("vllm", "llama.cpp"))
    check_choice("--format", output_format, ("table", "json"))
    if (concurrency is None) == (rate is None):
        raise InputError("give one load: --concurrency N or --rate R")
    model, device = load_card(card), device_for(record("hardware", hardware))
    workload, from_log = _with_traffic(_workload(tokens_in=tokens_in, tokens_out=tokens_out), traffic)
    mix = workload.request_mix()
    tokens_in, tokens_out = workload.tokens_in, workload.tokens_out
    if engine == "vllm":
        from planner.app.fleet import saturation_note
        from planner.formats.gpu_corpus import read_fit

        eff, fit = read_fit()
        m, g = fit.held_out_split("model"), fit.held_out_split("gpu")
        error = (f"held-out error of this fit ({fit.command}, {fit.date}; {len(fit.fitted_on)} published vLLM measurements on "
                 f"{', '.join(fit.gpus)}; models {', '.join(fit.models)}) — leave one model out: TPOT p50 median "
                 f"{m.median_abs_error_pct_tpot_p50}%, TTFT p50 median {m.median_abs_error_pct_ttft_p50}%, throughput median "
                 f"{m.median_abs_error_pct_throughput}% (worst {m.max_abs_error_pct_throughput}%); leave one GPU out: TPOT p50 "
                 f"{g.median_abs_error_pct_tpot_p50}%, TTFT p50 {g.median_abs_error_pct_ttft_p50}%")
        if model.name in fit.outside_models and fit.outside_fit is not None:
            o = fit.outside_fit
            error = (f"{model.name} is kept out of the fit ({fit.outside_models[model.name]}); the fit on the rest predicts the "
                     f"{o.n_rows} published rows of the models outside it with throughput median {o.median_abs_error_pct_throughput}% "
                     f"(worst {o.max_abs_error_pct_throughput}%), TPOT p50 median {o.median_abs_error_pct_tpot_p50}%, TTFT p50 median "
                     f"{o.median_abs_error_pct_ttft_p50}% — that, not the held-out error of the fitted models, is this card's")
        elif model.name not in fit.models or device.name not in fit.gpus:
            error += f"; {', '.join(x for x in (model.name if model.name not in fit.models else '', device.name if device.name not in fit.gpus else '') if x)} not in the fit: the held-out figures are what applies"
        if (sat := saturation_note(fit)) is not None:
            error += f"; {sat}"
    else:
        from planner.app.fleet import gpu_efficiency

        eff = gpu_efficiency()
        error = (f"held-out error of the llama.cpp CUDA fit ({eff.source}): {eff.median_abs_error_pct:.0f}% median, "
                 f"{eff.max_abs_error_pct:.0f}% worst over {eff.n_checks} timings (leave one profile out)")
    pred = predict_load(model, precision, device, eff, tp, pp, tokens_in, tokens_out, concurrency=concurrency, rate_per_s=rate, mix=mix)
    if output_format == "json":
        typer.echo(json.dumps({"card": model.name, "hardware": device.name, "tp": tp, "pp": pp, "precision": precision, "engine": engine,
                               "tokens_in": tokens_in, "tokens_out": tokens_out, "concurrency": concurrency, "rate_per_s": rate,
                               "output_tok_s": pred.output_tok_s, "output_tok_s_per_gpu": pred.output_tok_s_per_gpu,
                               "requests_per_s": pred.requests_per_s, "ttft_ms": {k: 1000 * v for k, v in pred.ttft_s.items()},
                               "tpot_ms": {k: 1000 * v for k, v in pred.tpot_s.items()}, "itl_ms": {k: 1000 * v for k, v in pred.itl_s.items()},
                               "kv_max_requests": pred.kv_max_requests, "basis": pred.basis, "held_out_error": error,
                               **({"traffic": from_log.as_dict()} if from_log else {})}, indent=2))
        return
    _say_traffic(traffic, from_log)
    load = f"{concurrency} in flight" if concurrency is not None else f"{rate:g} req/s offered"
    typer.echo(f"{model.name} {precision} on {tp * pp} × {device.name} (TP{tp}{f'×PP{pp}' if pp > 1 else ''}), {engine}, "
               f"{tokens_in:g} → {tokens_out:g} tokens, {load}")
    typer.echo(f"  output      {pred.output_tok_s:,.1f} tok/s ({pred.output_tok_s_per_gpu:,.1f} per GPU), {pred.requests_per_s:.3g} req/s")
    for name, d in (("TTFT", pred.ttft_s), ("TPOT", pred.tpot_s), ("ITL", pred.itl_s)):
        typer.echo(f"  {name:<11} " + ", ".join(f"p{q} {1000 * v:,.1f} ms" for q, v in d.items()))
    typer.echo(f"  KV cache    holds {pred.kv_max_requests:,} requests of {workload.longest_tokens():,.0f} tokens at once"
               + (" (the log's longest)" if from_log else ""))
    typer.echo(f"  basis       {pred.basis}")
    typer.echo(f"  error       {error}")


def _fleet_table(answer) -> None:
    """The fleet's terminal answer: the ranking as wide as the terminal (the least needed columns left out first), the
    best deployment's command, one verdict per API, the notes wrapped."""
    import pandas as pd

    from planner.core.units import usd
    from planner.present.tables import fit_table, say

    result, workload = answer.result, answer.workload
    ranked = result.ranked
    say(f"{answer.card}: {workload.tokens_in:g} → {workload.tokens_out:g} tokens, TTFT p95 ≤ {workload.ttft_slo_s:g} s, ITL p95 ≤ "
        f"{workload.itl_slo_s:g} s, {workload.requests_per_month:,.0f} requests/month (peak {workload.peak_to_avg:g}× average); "
        f"{result.n_candidates:,} candidate deployments, {result.n_engines_simulated} engines simulated")
    if ranked.empty:
        say("no deployment fits and meets the SLO; closest reasons:")
        typer.echo(fit_table(result.infeasible[["instance", "layout", "precision", "why"]].head(10), ("why",)))
    else:
        shown = pd.DataFrame({
            "instance": ranked["instance"], "provider": ranked["provider"], "layout": ranked["layout"], "prec": ranked["precision"],
            "n": ranked["instances"].map("{:.0f}".format), "$/month": [usd(v) for v in ranked["usd_per_month"]],
            "ITL p95 ms": (ranked["itl_p95_s"] * 1e3).map("{:.1f}".format), "TTFT p95 s": ranked["ttft_p95_s"].map("{:.2f}".format),
            "req/s each": ranked["instance_requests_per_s"].map("{:.3g}".format), "$/request": [usd(v) for v in ranked["usd_per_request"]],
            "GiB/GPU w+rt+kv/dev": [f"{w:.1f}+{r:.1f}+{k:.1f}/{d:g}" for w, r, k, d in
                                    zip(ranked["weights_gib_per_gpu"], ranked["runtime_gib_per_gpu"], ranked["kv_gib_per_gpu"], ranked["device_gib"])],
            "max conc": ranked["max_concurrency_by_kv"], "pareto": ["*" if p else "" for p in ranked["pareto"]]})
        typer.echo(fit_table(shown, keep=("instance",), optional=("req/s each", "provider", "$/request", "TTFT p95 s", "pareto", "max conc",
                                                                  "GiB/GPU w+rt+kv/dev")))
        say("n = instances; GiB/GPU = weights + runtime + KV cache / device memory; * = on the cost/ITL Pareto front"
            + ("" if result.considered["instance"].nunique() == len(result.considered) else "; one row per instance (--all-layouts: every layout)"))
        best = ranked.iloc[0]
        say(f"best: {best['instances']:.0f} × {best['instance']} ({best['provider']}) as {best['layout']} at {best['precision']}, "
            f"${best['usd_per_month']:,.0f}/month; run each engine with:")
        typer.echo(f"  {best['vllm_command']}")
    say(f"{len(result.infeasible)} layouts left out (do not fit or cannot meet the SLO; --format json lists them)")
    for line in answer.apis:
        say(line.verdict, "verdict" if line.decided else "no-verdict")
    for note in answer.notes:
        say(f"note: {note}", "note")


def _with_traffic(workload: Workload, traffic: Path | None) -> tuple[Workload, TrafficSummary | None]:
    """The workload with what a usage log states (`--traffic`) in place of the options, and the log's summary."""
    if traffic is None:
        return workload, None
    from planner.core.traffic import summarize, workload_fields
    from planner.formats.traffic import read_traffic

    records = read_traffic(traffic)
    from_log = summarize(records)
    return _workload(**{**workload.model_dump(exclude={"lengths"}), **workload_fields(from_log, records)}), from_log


def _say_traffic(traffic: Path | None, from_log: TrafficSummary | None) -> None:
    """The table format's first lines: what the plan took from the log."""
    from planner.present.tables import say

    if from_log is None:
        return
    say(f"traffic: {traffic} — {from_log.describe()}; the plan takes the volume, cached share, peak-to-average and hour-of-day "
        "shape from the log where it states them, and its lengths as a distribution: each simulated request draws its prompt "
        "and output from the log's, and the API's cost is the same expectation")
    for note in from_log.notes:
        say(f"traffic note: {note}")


def _workload(**values) -> Workload:
    """The workload from the options; a value pydantic refuses is one line naming its flag (`flags.FIELD_FLAGS`)."""
    from pydantic import ValidationError

    from planner.core.plan import Workload

    try:
        return Workload(**values)
    except ValidationError as exc:
        e = exc.errors()[0]
        if not e["loc"]:  # a check across fields (the lengths' means): its message names them
            raise InputError(e["msg"].removeprefix("Value error, ")) from None
        raise InputError(f"{e['msg'].lower()} (got {e.get('input')!r})", field=str(e["loc"][0])) from None


@app.command()
def report(params: Path = typer.Option(..., "--params", help="plan.yaml: profile, instance, api, workload, output"),
           pdf: bool | None = typer.Option(None, "--pdf/--no-pdf", help="override the file's pdf setting")):
    """Write the planning report (standalone HTML, optionally PDF) described by a plan file."""
    from planner.app.workflows import build_report

    for written in build_report(params, pdf=pdf):
        typer.echo(f"report: {written.resolve()}")


# what a 135M model on a small CPU is for: short extraction/classification requests
DEMO_WORKLOAD_FIELDS = dict(tokens_in=128, tokens_out=16, ttft_slo_s=5.0, itl_slo_s=0.5)


@app.command()
def demo(
    reports_dir: Path = typer.Option(Path("reports"), help="where the report goes"),
    profiles_dir: Path = typer.Option(Path("profiles"), help="where the new profile goes"),
    api: str | None = typer.Option(None, help="API model to compare against (default: gpt-4o-mini)"),
    frontier: str | None = typer.Option("gpt-4o", help="a second, frontier API to quote the break-even against"),
    pdf: bool = typer.Option(False, "--pdf/--no-pdf", help="also print the report to PDF (needs Chromium)"),
):
    """Profile the embedded model here (quick), plan against an API, write an HTML report, print the answer."""
    from planner.app.workflows import plan_profile, report_comparison
    from planner.core.plan import Workload
    from planner.core.quality import trust_problems
    from planner.measure.gguf.embedded import embedded_model_path
    from planner.measure.profiling.llama_cpp import ProfileConfig, profile_model  # loads llama.cpp: only when profiling
    from planner.present.report import write_report

    model = embedded_model_path()
    typer.echo(f"profiling the embedded model {model.name} on this machine (quick run)…")
    prof = profile_model(model, ProfileConfig.quick(), profiles_dir=profiles_dir)
    path = prof.saved_path
    typer.echo(f"measured decode {prof.decode_tok_s:,.1f} tok/s (95% CI ±{prof.decode[0].tok_s.ci95_half_width_pct:.1f}%), "
               f"prefill {prof.prefill_tok_s:,.1f} tok/s; profile: {path}")
    if problems := trust_problems(prof):  # a verdict from these timings would follow the machine's load, not the hardware
        raise UntrustworthyMeasurement("no verdict: the measurement is not trustworthy — " + "; ".join(problems) + f" (profile kept: {path})")
    workload = Workload(**DEMO_WORKLOAD_FIELDS)
    typer.echo(f"workload: {workload.tokens_in:g} prompt → {workload.tokens_out:g} output tokens per request (an extraction/classification "
               f"task, what a 135M model is for), TTFT ≤ {workload.ttft_slo_s:g} s, ITL ≤ {workload.itl_slo_s:g} s, peak {workload.peak_to_avg:g}× average")
    result, prof, path = plan_profile(path, None, api, workload)
    typer.echo(f"self-hosted on {result.prices.replica_label}: {result.capacity_rps:.3g} req/s per replica at the SLO")
    for w in result.warnings:
        typer.echo(f"note: {w}")
    _print_break_even(result)
    if frontier and frontier != result.prices.api_label:
        _print_break_even(plan_profile(path, result.prices.instance.instance if result.prices.instance else None, frontier, workload)[0])
    for written in write_report(result, prof, reports_dir / "demo.html", profile_path=path, pdf=pdf,
                                comparison=report_comparison(result, path, workload)):
        typer.echo(f"report: {written.resolve()}")



@app.command()
def project(
    calibrate: list[Path] = typer.Option(..., "--calibrate", help="measured profiles from one machine (repeat the option); ≥ 2 model sizes"),
    card: list[str] = typer.Option(..., "--card", help="model card(s) to predict, from data/model_cards.csv"),
    quant: str = typer.Option("Q4_K_M", help="quant type of the prediction"),
    hardware_name: str | None = typer.Option(None, "--hardware", help="predict on this data/hardware.csv row instead of the calibrated machine"),
    source_hardware: str | None = typer.Option(None, "--source-hardware", help="hardware.csv row of the calibration machine (default: its measured bandwidth)"),
    layers: int | None = typer.Option(None, help="reduced depth of the card"),
):
    """Predict decode tok/s and memory for model cards not measured, from a roofline fit on measured profiles."""
    import pandas as pd

    from planner.core.projection import calibrate_decode, predict_card, same_quant
    from planner.core.quant import nominal_bits_per_weight
    from planner.formats.catalog import load_card, reference_bandwidth
    from planner.formats.profiles import load_profile

    nominal_bits_per_weight(quant)  # an unknown quant name is refused before any file is read
    profiles = same_quant([load_profile(p) for p in calibrate], quant)
    if source_hardware:
        ref = _bandwidth("--source-hardware", source_hardware)
    else:
        ref = reference_bandwidth(profiles[0])[0]
    cal = calibrate_decode(profiles, ref)
    target = _bandwidth("--hardware", hardware_name) if hardware_name else None
    rows = [predict_card(cal, load_card(name).with_layers(layers), quant, target_bandwidth_bytes_s=target) for name in card]
    eff = f", {cal.bandwidth_efficiency:.0%} of the reference bandwidth" if cal.bandwidth_efficiency else ""
    typer.echo(f"fit on {cal.n_points} decode points: {cal.per_layer_s * 1e6:.1f} µs per layer + bytes at "
               f"{cal.effective_bandwidth_bytes_s / 1e9:.1f} GB/s effective{eff}; fit error {cal.rms_relative_error:.1%} rms")
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        typer.echo(pd.DataFrame(rows).round(3).to_string(index=False))



def _bandwidth(option: str, name: str) -> float:
    from planner.formats.catalog import record

    row = record("hardware", name)
    if row.memory_bandwidth_gb_s is None:
        raise InputError(f"{option}: hardware row '{name}' has no memory_bandwidth_gb_s")
    return row.memory_bandwidth_gb_s * 1e9


def _print_break_even(result) -> None:
    if result.self_host_ever_cheaper:
        typer.echo(f"break-even volume vs {result.prices.api_label} (${result.api_usd_per_request:.3g}/request): "
                   f"{result.break_even_first:,.0f} requests/month (self-hosting always cheaper above {result.break_even_always:,.0f})")
    else:
        typer.echo(f"break-even volume vs {result.prices.api_label} (${result.api_usd_per_request:.3g}/request): none — "
                   "the API is cheaper at every volume for this workload")



@app.command()
def catalog(kind: str = typer.Argument(..., help=", ".join(SCHEMAS)),
            contains: str | None = typer.Option(None, help="only rows whose key contains this text"),
            output_format: str = typer.Option("table", "--format", help="table (fits the terminal; sources as footnotes), json or csv")):
    """List a data catalog with its sources and dates."""
    import pandas as pd

    from planner.formats.catalog import SCHEMAS, load_catalog
    from planner.present.tables import fit_table

    check_choice("--format", output_format, FORMATS)
    check_choice("KIND", kind, tuple(SCHEMAS))
    df = load_catalog(kind)
    if contains:
        key = SCHEMAS[kind]["key"][0]
        df = df[df[key].astype(str).str.contains(contains, case=False, regex=False)]
    if output_format == "csv":
        typer.echo(df.to_csv(index=False), nl=False)
    elif output_format == "json":
        typer.echo(df.to_json(orient="records", indent=2))
    else:
        with pd.option_context("display.max_rows", 1000):
            typer.echo(fit_table(df, ("source",), max_cell=36, keep=tuple(SCHEMAS[kind]["key"])))


