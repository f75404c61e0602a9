"""plotly figures for plans and profiles. Figures only; callers decide where they are shown or written."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
from plotly.subplots import make_subplots

from planner.core.plan import PlanResult, Workload
from planner.core.records import EngineProfile, Profile

SELF_COLOUR = "#1f77b4"
API_COLOUR = "#d62728"

# One look for every chart, light or dark: plotly_white's layout with transparent backgrounds, mid-grey text and
# half-transparent grid lines, so a chart takes the page's background — white in the report, JupyterLab's light or
# dark theme in a notebook (the plotly renderer knows nothing of the theme; a transparent chart follows it anyway).
_GRID = dict(gridcolor="rgba(128,128,128,0.25)", zerolinecolor="rgba(128,128,128,0.45)", linecolor="rgba(128,128,128,0.6)")
pio.templates["llm_planner"] = go.layout.Template(pio.templates["plotly_white"]).update(
    layout=dict(paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="rgba(0,0,0,0)", font=dict(color="#808080"), xaxis=_GRID, yaxis=_GRID))
TEMPLATE = "llm_planner"
MONEY = "$,.3~r"  # d3: "$0.0001", "$1,000,000" — not SI prefixes ("100µ" for a ten-thousandth of a dollar)


def log_hline(fig: go.Figure, y: float, text: str, colour: str = API_COLOUR, *, col: int | None = None) -> None:
    """A dashed horizontal line at `y` on a log y-axis, labelled at its left end. plotly places an annotation on a log
    axis at 10**y (its `add_hline(annotation_text=…)` puts the label at $10^1.2 for $1.2, and autoranges the axis to
    it), so the label goes in separately, at log10(y)."""
    sub = {} if col is None else dict(row=1, col=col)  # a 1-row subplot grid: the line and its label on column `col`
    fig.add_hline(y=y, line=dict(color=colour, dash="dash"), **sub)
    axis = "" if not col or col == 1 else str(col)
    fig.add_annotation(x=0.02 if col is None else 0.0, xref="paper" if col is None else f"x{axis} domain", y=float(np.log10(y)), yref=f"y{axis}",
                       text=text, showarrow=False, xanchor="left", yanchor="bottom", font=dict(size=11, color=colour))


def cost_curves(result: PlanResult, *, per_request: bool = True) -> go.Figure:
    """Self-hosted vs API cost at every volume (log-log), break-even volumes marked."""
    c = result.curves
    y_self, y_api, y_title = (("selfhost_usd_per_request", "api_usd_per_request", "USD per request") if per_request
                              else ("selfhost_usd_per_month", "api_usd_per_month", "USD per month"))
    fig = go.Figure()
    fig.add_scatter(x=c["requests_per_month"], y=c[y_self], name=f"self-hosted: {result.prices.replica_label}",
                    line=dict(color=SELF_COLOUR, shape="hv" if not per_request else "linear"),
                    customdata=c["replicas"], hovertemplate="%{x:,.0f} req/month<br>$%{y:.4g}<br>%{customdata:.0f} replicas<extra></extra>")
    if result.model_error is not None:  # the capacity's held-out error as a band: the cost is off by about as much
        e = result.model_error.median_pct / 100
        fig.add_scatter(x=c["requests_per_month"], y=c[y_self] * (1 + e), line=dict(width=0, shape="hv" if not per_request else "linear"),
                        hoverinfo="skip", showlegend=False)
        fig.add_scatter(x=c["requests_per_month"], y=c[y_self] * (1 - e), line=dict(width=0, shape="hv" if not per_request else "linear"),
                        fill="tonexty", fillcolor="rgba(31,119,180,0.15)", hoverinfo="skip",
                        name=f"self-hosted ± the capacity model's error ({result.model_error.describe()})")
    fig.add_scatter(x=c["requests_per_month"], y=c[y_api], name=f"API: {result.prices.api_label}",
                    line=dict(color=API_COLOUR, dash="dash"), hovertemplate="%{x:,.0f} req/month<br>$%{y:.4g}<extra></extra>")
    for v, text in ((result.break_even_first, "break-even"), (result.break_even_always, "always cheaper above")):
        if np.isfinite(v) and c["requests_per_month"].min() <= v <= c["requests_per_month"].max():
            fig.add_vline(x=v, line=dict(color="grey", dash="dot"))
            fig.add_annotation(x=np.log10(v), y=1.0, yref="paper", text=f"{text}<br>{v:,.0f}/month", showarrow=False,
                               xanchor="left", yanchor="top", font=dict(size=11))
    t = result.at_target  # the quoted volume, where the verdict is read
    here = (t.selfhost_usd_per_request, t.api_usd_per_request) if per_request else (t.selfhost_usd_per_month, t.api_usd_per_month)
    fig.add_scatter(x=[t.requests_per_month] * 2, y=list(here), mode="markers", marker=dict(size=10, symbol="diamond", color="#e0a800"),
                    name=f"quoted volume: {t.requests_per_month:,.0f} requests/month",
                    hovertemplate="%{x:,.0f} req/month (quoted)<br>$%{y:.4g}<extra></extra>")
    fig.update_xaxes(type="log", title="requests per month")
    fig.update_yaxes(type="log", title=y_title, tickformat=MONEY)
    fig.update_layout(title=f"{y_title}: {result.profile_label} vs {result.prices.api_label}",
                      legend=dict(orientation="h", y=-0.2), template=TEMPLATE, height=460, margin=dict(t=60))
    return fig


def replica_staircase(result: PlanResult) -> go.Figure:
    """Replicas needed at every volume (one chart, one axis: utilisation has its own, `utilisation_chart`)."""
    c = result.curves
    fig = go.Figure()
    fig.add_scatter(x=c["requests_per_month"], y=c["replicas"], name="replicas", line=dict(shape="hv", color=SELF_COLOUR),
                    hovertemplate="%{x:,.0f} requests/month<br>%{y:.0f} replicas<extra></extra>")
    fig.update_xaxes(type="log", title="requests per month")
    fig.update_yaxes(title="replicas", type="log")
    fig.update_layout(title=f"Replicas needed at the SLO ({result.capacity_rps:.3g} req/s each)", template=TEMPLATE, height=340,
                      showlegend=False)
    return fig


def utilisation_chart(result: PlanResult) -> go.Figure:
    """How busy the replicas are on average at every volume: low at the foot of each step of the staircase."""
    c = result.curves
    fig = go.Figure()
    fig.add_scatter(x=c["requests_per_month"], y=c["utilisation"] * 100, name="average utilisation", line=dict(color="#2ca02c"),
                    hovertemplate="%{x:,.0f} requests/month<br>%{y:.0f}% busy on average<extra></extra>")
    fig.update_xaxes(type="log", title="requests per month")
    fig.update_yaxes(title="average utilisation", range=[0, 100], ticksuffix="%")
    fig.update_layout(title="Average utilisation of the replicas", template=TEMPLATE, height=300, showlegend=False)
    return fig


def _err(summaries):
    return dict(type="data", symmetric=False,
                array=[(s.ci95_high - s.mean) if s.ci95_high is not None else 0 for s in summaries],
                arrayminus=[(s.mean - s.ci95_low) if s.ci95_low is not None else 0 for s in summaries])


def profile_speeds(profiles: list[Profile]) -> go.Figure:
    """Prefill and decode tok/s with 95% CIs, side by side for several profiles (e.g. a quant ladder)."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("prefill tok/s (by prompt length)", "decode tok/s (by context depth)"))
    for p in profiles:
        if not isinstance(p, EngineProfile):
            continue
        fig.add_bar(x=[f"pp{q.prompt_tokens}" for q in p.prefill], y=[q.tok_s.mean for q in p.prefill], name=p.label,
                    error_y=_err([q.tok_s for q in p.prefill]), legendgroup=p.label, row=1, col=1)
        fig.add_bar(x=[f"tg{q.gen_tokens}@d{q.context_depth}" for q in p.decode], y=[q.tok_s.mean for q in p.decode], name=p.label,
                    error_y=_err([q.tok_s for q in p.decode]), legendgroup=p.label, showlegend=False, row=1, col=2)
    fig.update_layout(barmode="group", template=TEMPLATE, height=420, legend=dict(orientation="h", y=-0.25))
    return fig


def concurrency_sweep(profiles: list[Profile]) -> go.Figure:
    fig = make_subplots(rows=1, cols=2, subplot_titles=("aggregate decode tok/s", "per-stream step latency (ms, p50/p95)"))
    for p in profiles:
        pts = p.concurrency_sweep if isinstance(p, EngineProfile) else []
        if not pts:
            continue
        x = [q.concurrency for q in pts]
        fig.add_scatter(x=x, y=[q.aggregate_decode_tok_s.mean for q in pts], error_y=_err([q.aggregate_decode_tok_s for q in pts]),
                        name=p.label, legendgroup=p.label, row=1, col=1)
        fig.add_scatter(x=x, y=[q.step_latency_ms.median for q in pts], name=f"{p.label} p50", legendgroup=p.label,
                        showlegend=False, row=1, col=2)
        fig.add_scatter(x=x, y=[q.step_latency_ms.p95 for q in pts], name=f"{p.label} p95", legendgroup=p.label,
                        line=dict(dash="dot"), showlegend=False, row=1, col=2)
    fig.update_xaxes(type="log", title="concurrent sequences", dtick=np.log10(2))
    fig.update_layout(template=TEMPLATE, height=400, legend=dict(orientation="h", y=-0.25))
    return fig


def latency_distribution(profile: Profile) -> go.Figure:
    fig = go.Figure()
    for point in profile.latency:
        fig.add_box(y=point.itl_ms.samples, name=f"ITL {point.prompt_tokens}→{point.output_tokens}", boxpoints="outliers")
        fig.add_box(y=point.ttft_ms.samples, name=f"TTFT {point.prompt_tokens}→{point.output_tokens}", boxpoints="all")
    fig.update_yaxes(title="ms", type="log")
    fig.update_layout(title=f"Latency distribution: {profile.label}", template=TEMPLATE, height=380)
    return fig


def engine_comparison_chart(table) -> go.Figure:
    """Requests/s per replica each engine sustains at the SLO (bars) beside its most at any latency (markers)."""
    labels = [f"{e} · {m}" for e, m in zip(table["engine"], table["model"])]
    fig = go.Figure()
    fig.add_bar(x=labels, y=table["requests_per_s_at_slo"], name="at the SLO (goodput)", marker_color=SELF_COLOUR,
                hovertemplate="%{x}<br>%{y:.2f} requests/s at the SLO<extra></extra>")
    fig.add_scatter(x=labels, y=table["max_requests_per_s"], mode="markers", name="most at any latency", marker=dict(size=10, color=API_COLOUR),
                    hovertemplate="%{x}<br>%{y:.2f} requests/s, no SLO<extra></extra>")
    fig.update_layout(template=TEMPLATE, height=380, yaxis_title="requests/s per replica", legend=dict(orientation="h", y=-0.3),
                      title="Which engine? One workload, one machine, one SLO")
    return fig


def compare_chart(comparison) -> go.Figure:
    """Monthly cost of every option against volume (log-log); the cheapest option's band shaded and named."""
    fig = go.Figure()
    palette = ["#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#17becf", "#d62728", "#ff7f0e", "#e377c2", "#7f7f7f", "#bcbd22"]
    colour = {o.label: palette[k % len(palette)] for k, o in enumerate(comparison.options)}
    drawn: dict[tuple, list[str]] = {}  # options whose costs coincide at every volume share one line and one legend entry
    for o in comparison.options:
        name = f"{'API' if o.kind == 'api' else 'self-hosted'}: {o.label}" + (f" (stand-in: no host of {o.stand_in_for} in the catalog)"
                                                                             if o.stand_in_for else "")
        key = (o.kind, tuple(np.round(np.nan_to_num(o.usd_per_month, nan=-1.0), 6)))
        if key in drawn:
            drawn[key].append(name)
            continue
        drawn[key] = [name]
        fig.add_scatter(x=comparison.volumes, y=o.usd_per_month, name=name,
                        line=dict(color=colour[o.label], dash="dash" if o.kind == "api" else "solid", shape="hv" if o.kind != "api" else "linear"),
                        hovertemplate="%{x:,.0f} requests/month<br>$%{y:,.2f} a month<extra>" + o.label[:40] + "</extra>")
    for trace, names in zip(fig.data, drawn.values()):
        if len(names) > 1:  # one entry naming each, instead of a line hidden exactly under another
            trace.name = " = ".join(names) + " (the same cost)"
    for b in comparison.bands:  # a toss-up (inside the model's error) in grey: no option wins there
        fig.add_vrect(x0=b.volume_from, x1=b.volume_to, fillcolor=colour.get(b.label, "#7f7f7f"), opacity=0.08, line_width=0)
    fig.update_xaxes(type="log", title="requests per month")
    fig.update_yaxes(type="log", title="USD per month", tickformat=MONEY)
    fig.update_layout(title="Monthly cost of each option (shaded: the cheapest there)", template=TEMPLATE, height=440,
                      legend=dict(orientation="h", y=-0.25))
    return fig


def latency_vs_throughput(result: PlanResult) -> go.Figure:
    """p95 TTFT and ITL against the offered rate of one replica, each with its SLO line, and the operating point: the
    capacity the plan sizes replicas by. Every point is a simulated (or measured) load level of the capacity table."""
    w = result.workload
    gap = "tpot_p95_s" if w.itl_metric == "tpot" else "itl_p95_s"  # the figure the ITL SLO limits
    t = result.capacity.dropna(subset=["ttft_s", gap]).sort_values("requests_per_s")
    fig = make_subplots(rows=1, cols=2, subplot_titles=("time to first token, p95", "time per output token (each request's mean), p95"
                                                        if gap == "tpot_p95_s" else "inter-token latency (pooled gaps), p95"))
    for col, (y, slo, unit, scale) in enumerate((("ttft_s", w.ttft_slo_s, "s", 1.0), (gap, w.itl_slo_s, "ms", 1e3)), start=1):
        fig.add_scatter(x=t["requests_per_s"], y=t[y] * scale, mode="lines+markers", line=dict(color=SELF_COLOUR), showlegend=False,
                        hovertemplate="%{x:.3g} req/s<br>%{y:.3g} " + unit + "<extra></extra>", row=1, col=col)
        log_hline(fig, slo * scale, f"SLO {slo * scale:g} {unit}", col=col)
        fig.add_vline(x=result.capacity_rps, line=dict(color="#e0a800", dash="dot"), row=1, col=col)
        fig.update_yaxes(type="log", title=unit, row=1, col=col)
        fig.update_xaxes(type="log", title="requests/s per replica", row=1, col=col)
    fig.update_layout(title=f"Latency against load ({result.profile_label}); dotted: the capacity at the SLO, {result.capacity_rps:.3g} req/s",
                      template=TEMPLATE, height=360, margin=dict(t=80))
    return fig


def latency_cdfs(result: PlanResult) -> go.Figure | None:
    """TTFT and inter-token gap distributions (CDFs) at the rate each replica is offered at the quoted volume's peak
    hour, with the SLO and its percentile marked: how far inside the SLO the plan runs, and what the slowest users see.
    Simulated for an engine profile (the run behind the capacity table), measured for a serving profile. None when the
    plan has no distribution (a serving profile that kept no samples)."""
    c, w = result.latency_cdf, result.workload
    if c is None:
        return None
    fig = make_subplots(rows=1, cols=2, subplot_titles=("time to first token", "inter-token latency (pooled gaps)"))
    for col, (values, slo, unit, scale) in enumerate(((c.ttft_s, w.ttft_slo_s, "s", 1.0), (c.itl_s, w.itl_slo_s, "ms", 1e3)), start=1):
        fig.add_scatter(x=np.asarray(values) * scale, y=c.pct, mode="lines", line=dict(color=SELF_COLOUR, shape="hv"), showlegend=False,
                        hovertemplate="p%{y:.0f}: %{x:.3g} " + unit + "<extra></extra>", row=1, col=col)
        fig.add_vline(x=slo * scale, line=dict(color=API_COLOUR, dash="dash"), row=1, col=col)
        axis = "" if col == 1 else str(col)  # on a log x-axis an annotation's x is log10 of the value (see log_hline)
        limits = "" if col == 1 or w.itl_metric == "itl" else ", on each request's TPOT"  # a TPOT SLO does not limit these gaps
        fig.add_annotation(x=float(np.log10(slo * scale)), xref=f"x{axis}", y=0.02, yref=f"y{axis} domain", text=f"SLO {slo * scale:g} {unit} (p95{limits})",
                           showarrow=False, xanchor="right", yanchor="bottom", font=dict(size=11, color=API_COLOUR))
        fig.add_hline(y=95, line=dict(color="rgba(128,128,128,0.6)", dash="dot"), row=1, col=col)
        fig.update_xaxes(type="log", title=unit, row=1, col=col)
        fig.update_yaxes(title="% of requests" if col == 1 else "% of gaps", range=[0, 101], row=1, col=col)
    fig.update_layout(title=f"Latency distribution at the planned rate: {c.rate_per_s:.3g} req/s per replica at peak "
                            f"(capacity {result.capacity_rps:.3g}); {c.basis}", template=TEMPLATE, height=360, margin=dict(t=90),
                      title_font=dict(size=13))
    return fig


def cost_vs_speed(result: PlanResult) -> go.Figure:
    """$ per million output tokens against the speed each user sees (1 ÷ median inter-token gap), one point per load
    level: the anchors' cost-vs-interactivity view. A replica busier is cheaper per token and slower per user; the
    operating point is marked. Prompt tokens ride along (the same basis as the plan's summary row)."""
    from planner.core import cost as cm

    t = result.capacity.dropna(subset=["itl_p50_s", "output_tok_s"])
    t = t[(t["itl_p50_s"] > 0) & (t["output_tok_s"] > 0)].sort_values("requests_per_s")
    usd_per_mtok = cm.usd_per_million_tokens(result.prices.replica_usd_per_hour, t["output_tok_s"].to_numpy(float))
    speed = 1.0 / t["itl_p50_s"].to_numpy(float)
    fig = go.Figure()
    fig.add_scatter(x=speed, y=usd_per_mtok, mode="lines+markers", name=f"self-hosted: {result.prices.replica_label}",
                    line=dict(color=SELF_COLOUR), customdata=t["requests_per_s"],
                    hovertemplate="%{x:.3g} tok/s per user<br>$%{y:.4g} per 1M output tokens<br>at %{customdata:.3g} req/s<extra></extra>")
    at = t.iloc[(t["requests_per_s"] - result.capacity_rps).abs().argmin()] if len(t) else None
    if at is not None:
        fig.add_scatter(x=[1.0 / at["itl_p50_s"]], y=[float(cm.usd_per_million_tokens(result.prices.replica_usd_per_hour, at["output_tok_s"]))],
                        mode="markers", marker=dict(size=12, symbol="diamond", color="#e0a800"), name="operating point (capacity at the SLO)")
    api = result.api_usd_per_request / result.workload.tokens_out * 1e6
    log_hline(fig, api, f"API {result.prices.api_label}: ${api:,.4g} per 1M output tokens")
    fig.update_xaxes(type="log", title="output tokens/s each user sees (1 ÷ median inter-token gap)")
    fig.update_yaxes(type="log", title="USD per 1M output tokens", tickformat=MONEY)
    fig.update_layout(title="Cost per token against speed per user, one point per load level", template=TEMPLATE, height=400,
                      legend=dict(orientation="h", y=-0.3))
    return fig


def traffic_chart(workload: Workload) -> go.Figure | None:
    """The traffic a plan was made for: prompt and output length histograms (request-weighted, log-spaced bins, the
    mean marked — the single shape a fixed-shape plan would use) and the hour-of-day shape when the workload has one.
    None for a fixed shape without a day shape (nothing to show beyond the two numbers)."""
    mix = workload.request_mix() if workload.lengths is not None else None
    if mix is None and workload.hour_of_day is None:
        return None
    titles = ("prompt tokens", "output tokens", "requests by hour of day (UTC)")
    fig = make_subplots(rows=1, cols=3, subplot_titles=titles)
    if mix is not None:
        weights = np.asarray(mix.weights)
        for col, (values, mean) in enumerate(((mix.tokens_in, mix.mean_in), (mix.tokens_out, mix.mean_out)), start=1):
            v = np.asarray(values, float)
            edges = np.unique(np.geomspace(max(1.0, v.min()), v.max() + 1, 25).round())
            share, _ = np.histogram(v, bins=edges, weights=weights)
            fig.add_bar(x=np.sqrt(edges[:-1] * edges[1:]), y=share * 100, width=np.diff(edges), marker_color=SELF_COLOUR, showlegend=False,
                        hovertemplate="%{x:,.0f} tokens: %{y:.1f}% of requests<extra></extra>", row=1, col=col)
            fig.add_vline(x=mean, line=dict(color=API_COLOUR, dash="dash"), row=1, col=col)
            axis = "" if col == 1 else str(col)
            fig.add_annotation(x=float(np.log10(mean)), xref=f"x{axis}", y=1, yref=f"y{axis} domain", text=f"mean {mean:,.0f}",
                               showarrow=False, xanchor="left", yanchor="top", font=dict(size=11, color=API_COLOUR))
            fig.update_xaxes(type="log", title="tokens", row=1, col=col)
            fig.update_yaxes(title="% of requests" if col == 1 else None, row=1, col=col)
    if workload.hour_of_day is not None:
        shares = np.asarray(workload.hour_of_day, float)
        fig.add_bar(x=np.arange(24), y=shares / shares.sum() * 100, marker_color=SELF_COLOUR, showlegend=False,
                    hovertemplate="%{x:02d}:00: %{y:.1f}% of requests<extra></extra>", row=1, col=3)
        fig.add_hline(y=100 / 24, line=dict(color="rgba(128,128,128,0.6)", dash="dot"), row=1, col=3)
        fig.update_xaxes(title="hour", dtick=3, row=1, col=3)
    source = workload.lengths.source if workload.lengths is not None else "the workload"
    fig.update_layout(title=f"The traffic planned for: {mix.describe() if mix is not None else 'one shape'} — from {source}",
                      template=TEMPLATE, height=340, margin=dict(t=90), title_font=dict(size=13), bargap=0.05)
    return fig
