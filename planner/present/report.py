"""Planning report: one standalone HTML file (plotly inlined, works offline, no code) and optionally a PDF.

The report is built from the same `plan()` result the notebooks show, so there is one source of truth.
"""
from __future__ import annotations

import html
import os
import shutil
import signal
import subprocess
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import jinja2
import numpy as np
import pandas as pd

from planner import __version__
from planner.core.capacity import engine_comparison
from planner.core.compare import Comparison
from planner.core.errors import MeasurementError, SetupError
from planner.core.plan import PlanResult
from planner.core.projection import efficiency_table
from planner.core.records import EngineProfile, Profile, ServingProfile
from planner.core.simulate import arrivals_basis
from planner.core.units import HOURS_PER_MONTH, usd
from planner.formats.catalog import reference_bandwidth
from planner.formats.files import atomic_write_text, refuse_clobbering, sha256_file
from planner.present.charts import (
    compare_chart,
    cost_curves,
    cost_vs_speed,
    engine_comparison_chart,
    latency_cdfs,
    latency_vs_throughput,
    profile_speeds,
    replica_staircase,
    traffic_chart,
    utilisation_chart,
)
from planner.present.tables import csv_base64, money_columns

TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("planner.present", "templates"), autoescape=jinja2.select_autoescape(["html", "j2"]),
)


def html_table(df: pd.DataFrame, floatfmt: str = "{:.4g}") -> str:
    html_table = df.to_html(index=False, escape=True, border=0, float_format=lambda x: floatfmt.format(x), na_rep="—")
    return f"<div class='tablewrap'>{html_table}</div>"  # scrolls on screen, wraps inside the page when printed


def profile_table(profile: Profile) -> pd.DataFrame:
    """Headline measured figures with their 95% CIs and sample counts."""
    rows = []
    if isinstance(profile, ServingProfile):
        for lvl in profile.serving:
            detail = f"sent {lvl.sent} = ok {lvl.succeeded} + failed {lvl.failed} + timed out {lvl.timed_out}"
            rows.append((f"{lvl.mode} {lvl.target:g}: requests/s", lvl.request_s, "req/s", detail, lvl.sent))
            if lvl.ttft_ms:
                rows.append((f"{lvl.mode} {lvl.target:g}: TTFT p95", lvl.ttft_ms.p95, "ms", "", lvl.ttft_ms.n))
        return pd.DataFrame(rows, columns=["measurement", "mean", "unit", "95% CI / detail", "samples"])

    def ci(s):
        return f"[{s.ci95_low:.4g}, {s.ci95_high:.4g}]" if s.ci95_low is not None else "—"

    for p in profile.prefill:
        rows.append((f"prefill pp{p.prompt_tokens}", p.tok_s.mean, "tok/s", ci(p.tok_s), p.tok_s.n))
    for d in profile.decode:
        rows.append((f"decode tg{d.gen_tokens} at depth {d.context_depth}", d.tok_s.mean, "tok/s", ci(d.tok_s), d.tok_s.n))
    for lat in profile.latency:
        tag = f"{lat.prompt_tokens}→{lat.output_tokens}"
        rows.append((f"TTFT {tag}", lat.ttft_ms.mean, "ms", ci(lat.ttft_ms), lat.ttft_ms.n))
        rows.append((f"ITL p50 / p95 / p99 {tag}", lat.itl_ms.median, "ms", f"p95 {lat.itl_ms.p95:.4g}, p99 {lat.itl_ms.p99:.4g}", lat.itl_ms.n))
    for t in profile.threads_sweep:
        rows.append((f"decode with {t.n_threads} threads", t.decode_tok_s.mean, "tok/s", ci(t.decode_tok_s), t.decode_tok_s.n))
    for g in profile.gpu_layers_sweep:
        rows.append((f"decode with {g.n_gpu_layers} GPU layers", g.decode_tok_s.mean, "tok/s", ci(g.decode_tok_s), g.decode_tok_s.n))
    for c in profile.concurrency_sweep:
        rows.append((f"aggregate decode, {c.concurrency} streams", c.aggregate_decode_tok_s.mean, "tok/s", ci(c.aggregate_decode_tok_s), c.aggregate_decode_tok_s.n))
    if profile.memory:
        rows.append(("peak RSS", profile.memory.peak_rss_bytes / 2**20, "MiB", "", ""))
        if profile.memory.vram_used_peak_bytes is not None:
            rows.append(("peak GPU memory used", profile.memory.vram_used_peak_bytes / 2**20, "MiB", "", ""))
    if profile.energy:
        e = profile.energy
        rows.append(("energy per output token", e.joules_per_output_token if e.joules_per_output_token is not None else np.nan,
                     "J", e.source or f"unavailable: {e.unavailable_reason}", ""))
    return pd.DataFrame(rows, columns=["measurement", "mean", "unit", "95% CI / detail", "samples"])


def _model_line(m) -> str:
    """The model file in one line; unknown parts are said to be unknown, never shown as 0."""
    parts = [m.quant_label or "quant unknown",
             f"{m.bits_per_weight:.2f} bits/weight" if m.bits_per_weight else "bits/weight unknown",
             f"{m.n_params / 1e6:.0f}M params" if m.n_params else "parameters unknown"]
    return f"{m.file_name} ({', '.join(parts)}) sha256 {m.sha256[:16] + '…' if m.sha256 else 'unknown'}"


def hardware_table(profile: Profile) -> pd.DataFrame:
    hw, eng = profile.hardware, profile.engine
    gpus = ", ".join(f"{g.name} ({(g.memory_total_bytes or 0) / 2**30:.0f} GiB)" for g in hw.gpus) or "none"
    rows = [
        ("CPU", f"{hw.cpu_model}, {hw.physical_cores} physical / {hw.logical_cores} logical cores"),
        ("RAM", f"{hw.ram_total_bytes / 2**30:.1f} GiB"),
        ("GPUs", gpus),
        ("memory bandwidth (measured)", f"{hw.memory_bandwidth_gb_s:.1f} GB/s — {hw.memory_bandwidth_method}" if hw.memory_bandwidth_gb_s else "not measured"),
        ("OS / Python", f"{hw.os} / Python {hw.python}"),
        ("load when the run started", f"{hw.load_avg_1m:.2f}" if hw.load_avg_1m is not None else "unknown"),
        ("engine", f"{eng.name} {eng.version}, backend {eng.backend}, {eng.n_threads} threads, n_gpu_layers {eng.n_gpu_layers}"),
        ("model", _model_line(profile.model)),
        ("measured at", f"{profile.created_at:%Y-%m-%d %H:%M UTC}, status {profile.status}"),
    ]
    return pd.DataFrame(rows, columns=["item", "value"])


def render_html(result: PlanResult, profile: Profile, *, profile_path: str | Path | None = None, title: str | None = None,
                engines: list[ServingProfile] | None = None, comparison: Comparison | None = None) -> str:
    """The standalone report. `engines`: serving profiles of the same model through other servers — with two or more,
    a "which engine?" section compares their requests/s at this plan's SLO. `comparison`: the plan's deployment
    against several APIs (the compare section and its recommendation)."""
    figs = [cost_curves(result, per_request=True), cost_curves(result, per_request=False), traffic_chart(result.workload),
            latency_vs_throughput(result), latency_cdfs(result), cost_vs_speed(result), replica_staircase(result), utilisation_chart(result)]
    figs = [f for f in figs if f is not None]
    if isinstance(profile, EngineProfile):
        figs.append(profile_speeds([profile]))
    figure_html = [f.to_html(full_html=False, include_plotlyjs=(i == 0), config={"displaylogo": False}) for i, f in enumerate(figs)]
    w, t = result.workload, result.at_target
    cheaper = "self-hosting" if t.selfhost_usd_per_month < t.api_usd_per_month else "the API"
    headline = (f"<b>At {w.requests_per_month:,.0f} requests/month ({w.tokens_in:g} in / {w.tokens_out:g} out tokens), {html.escape(cheaper)} is cheaper:</b>"
                if result.trustworthy else  # the one trust policy (PlanResult.trustworthy): the figures, never a winner
                "<b>No verdict: the measurement is not trustworthy — re-measure before deciding.</b> "
                + " ".join(html.escape(r) for r in result.no_verdict) + " The figures below are what it measured, not an answer:")
    answer = [
        headline,
        f"self-hosted {html.escape(result.profile_label)} on {html.escape(result.prices.replica_label)}: "
        f"<b>{usd(t.selfhost_usd_per_month)}/month</b> ({t.replicas:.0f} replica(s), {usd(t.selfhost_usd_per_request)}/request)",
        f"API {html.escape(result.prices.api_label)}: <b>{usd(t.api_usd_per_month)}/month</b> ({usd(result.api_usd_per_request)}/request)",
        ("Break-even: " + (f"<b>{result.break_even_first:,.0f} requests/month</b>; self-hosting stays cheaper above "
                           f"{result.break_even_always:,.0f}" if result.self_host_ever_cheaper else "<b>none</b> — the API is cheaper at every volume")),
    ]
    provenance = [("profile file", str(profile_path) if profile_path else "(in memory)",
                   f"sha256 {sha256_file(profile_path)[:16]}…" if profile_path and Path(profile_path).is_file() else ""),
                  ("model file", profile.model.file_name, f"sha256 {profile.model.sha256[:16] + '…' if profile.model.sha256 else 'unknown'}"),
                  ("replica price", result.prices.replica_provenance.key, f"{result.prices.replica_provenance.source} (as of {result.prices.replica_provenance.as_of})"),
                  ("API price", result.prices.api_provenance.key, f"{result.prices.api_provenance.source} (as of {result.prices.api_provenance.as_of})"
                   + (f"; cross-check: {result.prices.api_provenance.second_source}" if result.prices.api_provenance.second_source else ""))]
    template = TEMPLATES.get_template("report.html.j2")
    return template.render(
        title=title or f"Self-host or API? {result.profile_label} vs {result.prices.api_label}",
        generated_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), version=__version__,
        answer=answer, trustworthy=result.trustworthy, warnings=result.warnings, figures=figure_html,
        summary_table=html_table(result.summary()),
        assumptions=assumptions(result),
        curves_csv=csv_base64(result.curves),
        capacity_note=" ".join([*result.capacity_notes, *([result.validation] if result.validation else []),
                                (f"Each row is one offered rate ({arrivals_basis(result.workload.request_mix())}) through the "
                                 "simulated server (TTFT, ITL and end-to-end at p95); "
                                 "the capacity is the highest rate whose p95 TTFT and ITL meet the SLO."
                                 if result.capacity_source == "engine-model" else
                                 "Each row is one measured load level; the capacity is the highest whose p95 TTFT and ITL meet the SLO.")]),
        capacity_table=html_table(result.capacity),
        profile_table=html_table(profile_table(profile)),
        **_efficiency_section(profile),
        provenance_table=html_table(pd.DataFrame(provenance, columns=["what", "which", "source"])),
        hardware_table=html_table(hardware_table(profile)),
        notes=profile.notes,
        **_engine_section(engines or [], result),
        **_compare_section(comparison),
    )


def assumptions(result: PlanResult) -> list[str]:
    """What the figures assume, in plain words, next to the figures (not in a footnote)."""
    w = result.workload
    wave = "the log's hour-of-day shape" if w.hour_of_day is not None else "a 24-hour wave with the same peak"
    scaled = (f" Scaled to demand instead (replicas following {wave}, rented by the hour) it would "
              f"cost ${result.autoscaled_usd_per_month:,.0f}/month at the quoted volume." if result.autoscaled_usd_per_month is not None else "")
    out = [f"A month is {HOURS_PER_MONTH:g} hours; the self-hosted cost bills a replica for all of them (always on, at least "
           f"{w.min_replicas} replica{'s' if w.min_replicas > 1 else ''}).{scaled}",
           f"Replicas are sized for the peak hour: peak load = {w.peak_to_avg:g} × the monthly average, and no replica runs busier "
           f"than {w.max_utilisation:.0%} of its capacity at that peak.",
           f"Capacity is the requests/s one replica sustains with p95 TTFT ≤ {w.ttft_slo_s:g} s and p95 ITL ≤ {w.itl_slo_s:g} s for "
           + (f"{w.tokens_in:g} → {w.tokens_out:g}-token requests ({result.capacity_source})." if w.lengths is None else
            f"requests drawn one by one from {w.lengths.mix().describe()} ({w.lengths.source}; {result.capacity_source}); "
            f"had every request the mean shape, {w.tokens_in:,.0f} → {w.tokens_out:,.0f} tokens, it would be "
            f"{result.mean_shape_capacity_rps or 0:.3g} req/s."),
           f"The API is billed per token at the catalog's list price{'' if not w.cached_fraction else f', {w.cached_fraction:.0%} of input tokens at the cache price'}; "
           "batch discounts and rate limits are not applied."]
    if result.validation:
        out.append(f"Capacity model error: {result.validation}.")
    out += [w_ for w_ in result.warnings if w_.startswith("projection:")]
    return out


def _compare_section(comparison: Comparison | None) -> dict[str, str | None]:
    if comparison is None or not comparison.options:
        return {"compare_table": None, "compare_chart": None, "recommendation": None}
    table = comparison.at_volume()
    table = money_columns(table)
    chart = compare_chart(comparison).to_html(full_html=False, include_plotlyjs=False, config={"displaylogo": False})
    return {"compare_table": html_table(table), "compare_chart": chart, "recommendation": comparison.recommendation()}


def _engine_section(engines: list[ServingProfile], result: PlanResult) -> dict[str, str | None]:
    if len(engines) < 2:
        return {"engine_table": None, "engine_chart": None}
    table = engine_comparison(engines, result.workload)
    chart = engine_comparison_chart(table).to_html(full_html=False, include_plotlyjs=False, config={"displaylogo": False})
    return {"engine_table": html_table(table), "engine_chart": chart}


def _efficiency_section(profile: Profile) -> dict[str, str | None]:
    """The roofline table, or why it cannot be drawn (a serving profile of a remote model has no architecture)."""
    bandwidth, basis = reference_bandwidth(profile)
    try:
        table = efficiency_table(profile, bandwidth)
    except MeasurementError as exc:
        return {"efficiency_table": None, "efficiency_basis": basis, "efficiency_absent": str(exc)}
    if table.empty:
        return {"efficiency_table": None, "efficiency_basis": basis,
                "efficiency_absent": "the profile holds no prefill or decode test to compare with the roofline"}
    return {"efficiency_table": html_table(table), "efficiency_basis": basis, "efficiency_absent": None}


def write_report(result: PlanResult, profile: Profile, out_html: str | Path, *, profile_path=None, pdf: bool = False, title=None,
                 engines: list[ServingProfile] | None = None, comparison: Comparison | None = None,
                 inputs: dict[str, str | Path | None] | None = None, option: str = "--html") -> list[Path]:
    """The report as standalone HTML (and PDF beside it); neither may land on one of the command's `inputs`."""
    out_html = Path(out_html)
    for target in [out_html, *([out_html.with_suffix(".pdf")] if pdf else [])]:
        refuse_clobbering(target, {"the profile": profile_path, **(inputs or {})}, option)
    written = [atomic_write_text(out_html, render_html(result, profile, profile_path=profile_path, title=title, engines=engines,
                                                       comparison=comparison))]
    if pdf:
        written.append(html_to_pdf(out_html, out_html.with_suffix(".pdf")))
    return written


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        if path := shutil.which(name):
            return path
    return None


CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]


def html_to_pdf(html_path: str | Path, pdf_path: str | Path, *, timeout_s: float = 120) -> Path:
    """Print the HTML with headless Chromium (the plotly charts render with their own JavaScript).

    Chromium runs in its own process group: when it hangs past `timeout_s`, or this process is interrupted, the whole
    group (renderer, GPU and zygote children) is killed, so no browser outlives the tool."""
    browser = find_chromium()
    if browser is None:
        raise SetupError("PDF export needs Chromium: install it (Debian: apt-get install chromium) or turn the PDF off "
                         "(--no-pdf, or pdf: false in the plan file)")
    pdf_path = Path(pdf_path)
    with tempfile.TemporaryDirectory() as profile_dir:
        tmp_pdf = pdf_path.with_name(f".{pdf_path.name}.tmp")
        cmd = [browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile_dir}", "--no-pdf-header-footer", "--run-all-compositor-stages-before-draw",
               "--virtual-time-budget=15000", f"--print-to-pdf={tmp_pdf}", Path(html_path).resolve().as_uri()]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
        try:
            _, err = proc.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            tmp_pdf.unlink(missing_ok=True)
            raise SetupError(f"Chromium did not finish printing {pdf_path.name} within {timeout_s:g} s and was stopped; the HTML report "
                             f"is written — open it in a browser and print it, or retry") from None
        except BaseException:
            _kill_group(proc)
            tmp_pdf.unlink(missing_ok=True)
            raise
        if proc.returncode != 0 or not tmp_pdf.is_file():
            tmp_pdf.unlink(missing_ok=True)
            raise SetupError(f"Chromium could not print the PDF (exit {proc.returncode}): {err.strip().splitlines()[-1:]}")
        tmp_pdf.replace(pdf_path)
    return pdf_path


def _kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL Chromium's whole process group and reap the leader."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.communicate()
