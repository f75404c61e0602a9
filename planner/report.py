"""Planning report: one standalone HTML file (plotly inlined, works offline, no code) and optionally a PDF.

The report is built from the same `plan()` result the notebooks show, so there is one source of truth.
"""
from __future__ import annotations

import html
import shutil
import subprocess
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import jinja2
import numpy as np
import pandas as pd

from . import __version__
from .charts import cost_curves, profile_speeds, replica_staircase
from .errors import PlannerError
from .fsutil import atomic_write_text, sha256_file
from .plan import PlanResult
from .projection import efficiency_table
from .selection import roofline_bandwidth_bytes_s
from .schema import Profile

_TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("planner", "templates"), autoescape=jinja2.select_autoescape(["html", "j2"]),
)


def _table(df: pd.DataFrame, floatfmt: str = "{:.4g}") -> str:
    return df.to_html(index=False, escape=True, border=0, float_format=lambda x: floatfmt.format(x), na_rep="—")


def profile_table(profile: Profile) -> pd.DataFrame:
    """Headline measured figures with their 95% CIs and sample counts."""
    rows = []

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
        ("model", f"{profile.model.file_name} ({profile.model.quant_label}, {profile.model.bits_per_weight:.2f} bits/weight, "
                  f"{profile.model.n_params / 1e6:.0f}M params) sha256 {profile.model.sha256[:16]}…"),
        ("measured at", f"{profile.created_at:%Y-%m-%d %H:%M UTC}, status {profile.status}"),
    ]
    return pd.DataFrame(rows, columns=["item", "value"])


def render_html(result: PlanResult, profile: Profile, *, profile_path: str | Path | None = None, title: str | None = None) -> str:
    figs = [cost_curves(result, per_request=True), cost_curves(result, per_request=False), replica_staircase(result), profile_speeds([profile])]
    figure_html = [f.to_html(full_html=False, include_plotlyjs=(i == 0), config={"displaylogo": False}) for i, f in enumerate(figs)]
    w, t = result.workload, result.at_target
    cheaper = "self-hosting" if t["selfhost_usd_per_month"] < t["api_usd_per_month"] else "the API"
    answer = [
        f"<b>At {w.requests_per_month:,.0f} requests/month ({w.tokens_in:g} in / {w.tokens_out:g} out tokens), {html.escape(cheaper)} is cheaper:</b>",
        f"self-hosted {html.escape(result.profile_label)} on {html.escape(result.prices.replica_label)}: "
        f"<b>${t['selfhost_usd_per_month']:,.2f}/month</b> ({t['replicas']:.0f} replica(s), ${t['selfhost_usd_per_request']:.3g}/request)",
        f"API {html.escape(result.prices.api_label)}: <b>${t['api_usd_per_month']:,.2f}/month</b> (${result.api_usd_per_request:.3g}/request)",
        ("Break-even: " + (f"<b>{result.break_even_first:,.0f} requests/month</b>; self-hosting stays cheaper above "
                           f"{result.break_even_always:,.0f}" if result.self_host_ever_cheaper else "<b>none</b> — the API is cheaper at every volume")),
    ]
    provenance = [("profile file", str(profile_path) if profile_path else "(in memory)",
                   f"sha256 {sha256_file(profile_path)[:16]}…" if profile_path and Path(profile_path).is_file() else ""),
                  ("model file", profile.model.file_name, f"sha256 {profile.model.sha256[:16]}…"),
                  ("replica price", result.prices.replica_provenance.key, f"{result.prices.replica_provenance.source} (as of {result.prices.replica_provenance.as_of})"),
                  ("API price", result.prices.api_provenance.key, f"{result.prices.api_provenance.source} (as of {result.prices.api_provenance.as_of})")]
    template = _TEMPLATES.get_template("report.html.j2")
    return template.render(
        title=title or f"Self-host or API? {result.profile_label} vs {result.prices.api_label}",
        generated_at=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), version=__version__,
        answer=answer, warnings=result.warnings, figures=figure_html,
        summary_table=_table(result.summary()),
        capacity_note=("Capacity comes from the profile's concurrency sweep: requests/s = 1 ÷ (prompt tokens ÷ prefill tok/s + "
                       "output tokens ÷ aggregate decode tok/s); the SLO picks the highest level whose TTFT and ITL p95 stay within limits."),
        capacity_table=_table(result.capacity),
        profile_table=_table(profile_table(profile)),
        efficiency_table=_table(efficiency_table(profile, roofline_bandwidth_bytes_s(profile)[0])),
        efficiency_basis=roofline_bandwidth_bytes_s(profile)[1],
        provenance_table=_table(pd.DataFrame(provenance, columns=["what", "which", "source"])),
        hardware_table=_table(hardware_table(profile)),
        notes=profile.notes,
    )


def write_report(result: PlanResult, profile: Profile, out_html: str | Path, *, profile_path=None, pdf: bool = False, title=None) -> list[Path]:
    out_html = Path(out_html)
    written = [atomic_write_text(out_html, render_html(result, profile, profile_path=profile_path, title=title))]
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
    """Print the HTML with headless Chromium (the plotly charts render with their own JavaScript)."""
    browser = find_chromium()
    if browser is None:
        raise PlannerError("PDF export needs Chromium: install it (Debian: apt-get install chromium) or omit --pdf")
    pdf_path = Path(pdf_path)
    with tempfile.TemporaryDirectory() as profile_dir:
        tmp_pdf = pdf_path.with_name(f".{pdf_path.name}.tmp")
        cmd = [browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile_dir}", "--no-pdf-header-footer", "--run-all-compositor-stages-before-draw",
               "--virtual-time-budget=15000", f"--print-to-pdf={tmp_pdf}", Path(html_path).resolve().as_uri()]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
        if proc.returncode != 0 or not tmp_pdf.is_file():
            tmp_pdf.unlink(missing_ok=True)
            raise PlannerError(f"Chromium could not print the PDF (exit {proc.returncode}): {proc.stderr.strip().splitlines()[-1:]}")
        tmp_pdf.replace(pdf_path)
    return pdf_path
