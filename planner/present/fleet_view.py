"""The fleet's answer as a picture: every simulated deployment's monthly cost against its p95 inter-token latency,
coloured by GPU, with the cost/ITL Pareto front, the APIs' monthly cost at the same volume, the best deployment's
range under the capacity model's error, and the best deployment of each GPU type. The same figure and tables serve
`fleet --html` (a standalone page) and notebook 05.
"""
from __future__ import annotations

import html
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from planner import __version__
from planner.core.fleet import ApiLine, FleetResult, cost_range, pareto_front
from planner.core.plan import Workload
from planner.present.charts import MONEY, TEMPLATE, log_hline
from planner.present.report import TEMPLATES, html_table

_PALETTE = ["#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#17becf", "#ff7f0e", "#e377c2", "#7f7f7f", "#bcbd22", "#393b79"]


def best_per_gpu(result: FleetResult) -> pd.DataFrame:
    """The cheapest deployment of each GPU type among those simulated (ties: the lower ITL), cheapest first."""
    c = result.considered
    if c.empty:
        return c
    best = c.sort_values(["usd_per_month", "itl_p95_s"], kind="stable").drop_duplicates("device")
    return best.reset_index(drop=True)


def display_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Deployments with units in the headers and numbers a reader can compare (the notebook's and page's table)."""
    if frame.empty:
        return pd.DataFrame()
    return pd.DataFrame({
        "GPU": frame["device"], "instance": frame["instance"], "provider": frame["provider"], "layout": frame["layout"],
        "precision": frame["precision"], "instances": frame["instances"].map("{:.0f}".format),
        "$/month": frame["usd_per_month"].map("${:,.0f}".format), "$/request": frame["usd_per_request"].map("${:.3g}".format),
        "req/s per instance": frame["instance_requests_per_s"].map("{:.3g}".format),
        "TTFT p95 (s)": frame["ttft_p95_s"].map("{:.2f}".format), "ITL p95 (ms)": (frame["itl_p95_s"] * 1e3).map("{:.1f}".format),
        "utilisation": frame["utilisation"].map("{:.0%}".format),
    })


def fleet_chart(result: FleetResult, apis: list[ApiLine], error_pct: float | None, title: str) -> go.Figure:
    """Cost per month (log) against p95 ITL of every deployment the search simulated, one colour per GPU type; the
    Pareto front as a line; each API as a dashed line; the best deployment's cost range under the model's error."""
    c = result.considered
    fig = go.Figure()
    for k, (device, rows) in enumerate(c.groupby("device", sort=True) if not c.empty else []):
        fig.add_scatter(x=rows["itl_p95_s"] * 1e3, y=rows["usd_per_month"], mode="markers", name=device,
                        marker=dict(size=8, color=_PALETTE[k % len(_PALETTE)], opacity=0.75),
                        customdata=np.stack([rows["instance"], rows["provider"], rows["layout"], rows["precision"],
                                             rows["instances"].map("{:.0f}".format)], axis=-1),
                        hovertemplate="%{customdata[4]} × %{customdata[0]} (%{customdata[1]})<br>%{customdata[2]} at %{customdata[3]}"
                                      "<br>$%{y:,.0f}/month, ITL p95 %{x:.1f} ms<extra></extra>")
    front = pareto_front(c)
    if not front.empty:
        fig.add_scatter(x=front["itl_p95_s"] * 1e3, y=front["usd_per_month"], mode="lines", line=dict(color="#555", dash="dot", shape="hv"),
                        name="Pareto front (nothing cheaper is faster)", hoverinfo="skip")
    if not result.ranked.empty and error_pct is not None:
        cost = float(result.ranked.iloc[0]["usd_per_month"])
        lo, hi = cost_range(cost, error_pct)
        fig.add_hrect(y0=lo, y1=hi, fillcolor="#1f77b4", opacity=0.10, line_width=0)
        fig.add_scatter(x=[None], y=[None], mode="markers", marker=dict(size=12, symbol="square", color="rgba(31,119,180,0.25)"),
                        name=f"best deployment within the model's {error_pct:.0f}% median error")
    for line in apis:
        log_hline(fig, line.usd_per_month, f"API {line.label}: ${line.usd_per_month:,.0f}/month")
    fig.update_xaxes(type="log", title="inter-token latency p95 (ms) — lower is faster for each user")
    fig.update_yaxes(type="log", title="USD per month at the workload's volume", tickformat=MONEY)
    fig.update_layout(title=dict(text=title, y=0.97), template=TEMPLATE, height=520, margin=dict(t=70),
                      legend=dict(orientation="h", y=-0.2))
    return fig


def render_html(card: str, workload: Workload, result: FleetResult, notes: list[str], apis: list[ApiLine], error_pct: float | None) -> str:
    """The standalone fleet page: verdict lines, the chart, the best per GPU type, the ranked deployments, the notes."""
    title = f"Which GPUs for {card}? {workload.requests_per_month:,.0f} requests/month, {workload.tokens_in:g} → {workload.tokens_out:g} tokens"
    fig = fleet_chart(result, apis, error_pct, f"{card}: every simulated deployment, cost against speed")
    ranked = result.ranked
    best = ranked.iloc[0] if not ranked.empty else None
    headline = (f"<b>Best deployment: {best['instances']:.0f} × {html.escape(best['instance'])} ({html.escape(best['provider'])}) as "
                f"{html.escape(best['layout'])} at {html.escape(best['precision'])}, ${best['usd_per_month']:,.0f}/month</b>"
                if best is not None else "<b>No deployment fits and meets the SLO.</b>")
    verdicts = [html.escape(a.verdict) for a in apis] or ["No API to compare: add <code>--api MODEL</code> for a verdict."]
    return TEMPLATES.get_template("fleet.html.j2").render(
        title=title, version=__version__, generated_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        headline=headline, verdicts=verdicts, toss_up=not all(a.decided for a in apis),
        slo=f"TTFT p95 ≤ {workload.ttft_slo_s:g} s, ITL p95 ≤ {workload.itl_slo_s * 1e3:g} ms, peak {workload.peak_to_avg:g}× average",
        searched=(f"{result.n_candidates:,} candidate deployments, {result.n_engines_simulated} engines simulated, "
                  f"{len(result.considered)} deployments costed (the rest were bounded out as dearer)"),
        figure=fig.to_html(full_html=False, include_plotlyjs=True, config={"displaylogo": False}),
        best_per_gpu=html_table(display_table(best_per_gpu(result))), ranked=html_table(display_table(ranked)),
        vllm_command=best["vllm_command"] if best is not None else None, notes=notes,
    )
