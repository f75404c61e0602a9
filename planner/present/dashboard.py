"""Live planning dashboard: ipywidgets controls re-rendering plotly figures into Output widgets.

All arithmetic is the one resolver and evaluation (`formats.inputs.resolve` / `run_plan`) that the CLI uses; this
module only maps widget values to its inputs and updates trace data, so a redraw costs one vectorised plan (measured by
benchmarks/dashboard_redraw.py).
"""
from __future__ import annotations

import hashlib
import html
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import ipywidgets as w
import numpy as np
import pandas as pd
import plotly.graph_objects as go

from planner.core.errors import PlannerError
from planner.core.hybrid import hybrid_costs
from planner.core.matching import instance_mismatch, matching_instance, same_accelerator
from planner.core.plan import PlanResult, Workload
from planner.core.records import Profile
from planner.formats.catalog import DEFAULT_API_MODEL, lookup, records, to_record
from planner.formats.files import atomic_write_text
from planner.formats.inputs import PlanInputs, api_usd_per_request, resolve, run_plan
from planner.formats.plan_file import PlanParams
from planner.formats.profiles import load_profile
from planner.present.charts import MONEY, TEMPLATE
from planner.present.tables import csv_base64

# a text input whose value names no catalog row: a red border (ipywidgets has no invalid state of its own)
_STYLE = "<style>.llm-invalid input, .llm-invalid textarea { border: 2px solid #b00020 !important; background: #fdecea; }</style>"


def _dollars(text: str) -> str:
    """"$0.07/h = $49/month" in an HTML widget: JupyterLab's MathJax would typeset what lies between two dollar signs."""
    return text.replace("$", "&#36;")


FRONTIER_API = "gpt-4o"  # the hybrid split's default destination for the traffic not self-hosted


def labelled_profiles(paths) -> dict[str, Profile]:
    """Profiles under dropdown labels that tell them apart: the profile's own label, its folder, date and engine, and a
    hash of its path when two still collide (27 reference profiles used to collapse onto 24 labels, so the dashboard
    planned a different file than the README's under the same name)."""
    loaded = [(Path(p), load_profile(p)) for p in paths]
    labels = [f"{prof.label} · {path.parent.name} · {prof.created_at:%Y-%m-%d} · {prof.engine.name}" for path, prof in loaded]
    counts = Counter(labels)
    return {label + (f" · {hashlib.sha256(str(path).encode()).hexdigest()[:6]}" if counts[label] > 1 else ""): prof
            for (path, prof), label in zip(loaded, labels)}


def instance_label(row) -> str:
    """"g5.xlarge — aws — 1×NVIDIA A10G — $1.01/h": what the instance is and costs, not a bare SKU."""
    if pd.notna(row["accelerator_count"]) and row["accelerator_count"] > 0:  # a CPU row says accelerator "cpu", count 0
        what = f"{row['accelerator_count']:g}×{row['accelerator']}"
    else:
        what = f"{row['vcpus']:g} vCPU" if pd.notna(row["vcpus"]) else "CPU"
    return f"{row['instance']} — {row['provider']} — {what} — ${row['on_demand_usd_per_hour']:,.2f}/h"


class PlanDashboard:
    def __init__(self, profiles: dict[str, Profile], instances: pd.DataFrame, api_prices: pd.DataFrame, *,
                 api_models: list[str] | None = None, workload: Workload | None = None, default_instance: str | None = None):
        if not profiles:
            raise ValueError("profiles: give at least one profile to plan with")
        self.profiles, self.instances, self.api_prices = profiles, instances, api_prices
        wl = workload or Workload()
        self._base = wl  # what the widgets do not show (a log's lengths and day shape, the cached share, the ITL metric) carries over
        api_models = api_models or api_prices["model"].tolist()
        style = {"description_width": "150px"}
        # flexible widths: a control fills its column, the two columns share the row and wrap under each other when narrow
        layout = w.Layout(width="100%", min_width="280px")
        self.profile = w.Dropdown(options=list(profiles), description="profile", style=style, layout=layout)
        self._instance_rows = {r["instance"]: (instance_label(r), to_record("instances", r)) for _, r in instances.iterrows()}
        self._api_names = set(api_prices["model"])
        self.instance = w.Dropdown(options=self._instance_options(next(iter(profiles.values()))),
                                   value=default_instance or self._matching(next(iter(profiles.values()))) or instances["instance"].iloc[0],
                                   description="instance", style=style, layout=layout)
        # ~700 API models: a combobox filters them as you type; a name that is no row is marked and refused with the
        # closest names (ensure_option would silently keep the previous row while the box shows the typed text)
        self.api = w.Combobox(options=api_models, value=DEFAULT_API_MODEL if DEFAULT_API_MODEL in api_models else api_models[0],
                              ensure_option=False, continuous_update=False, placeholder="type to search", description="API model",
                              style=style, layout=layout)
        # exact numbers: text boxes keep what was typed (a log slider would turn 5e7 into 50,118,723)
        self.volume = w.BoundedFloatText(value=wl.requests_per_month, min=1e3, max=1e12, description="requests / month", style=style, layout=layout)
        self.tokens_in = w.BoundedIntText(value=int(wl.tokens_in), min=1, max=1_000_000, description="tokens in", style=style, layout=layout)
        self.tokens_out = w.BoundedIntText(value=int(wl.tokens_out), min=1, max=1_000_000, description="tokens out", style=style, layout=layout)
        self.ttft = w.BoundedFloatText(value=wl.ttft_slo_s, min=0.001, max=3600, description="TTFT p95 SLO (s)", style=style, layout=layout)
        self.itl = w.BoundedFloatText(value=wl.itl_slo_s, min=0.001, max=60, description="ITL p95 SLO (s)", style=style, layout=layout)
        # sliders redraw on release, not once per tick of a drag (a drag used to queue a redraw per tick)
        slider = dict(style=style, layout=layout, continuous_update=False)
        self.peak = w.FloatSlider(value=wl.peak_to_avg, min=1, max=10, step=0.1, description="peak ÷ average", **slider)
        self.util = w.FloatSlider(value=wl.max_utilisation, min=0.1, max=1, step=0.05, description="max utilisation", **slider)
        self.share = w.FloatSlider(value=1.0, min=0, max=1, step=0.05, description="self-hosted share", **slider)
        # hybrid routing sends the share that is not self-hosted to a (dearer) frontier API: a price of its own
        self.frontier = w.Combobox(options=api_models, value=FRONTIER_API if FRONTIER_API in api_models else self.api.value, ensure_option=False,
                                   continuous_update=False, placeholder="type to search", description="frontier API (hybrid)", style=style,
                                   layout=layout)
        self.controls = [self.profile, self.instance, self.api, self.volume, self.tokens_in, self.tokens_out, self.ttft, self.itl,
                         self.peak, self.util, self.share, self.frontier]
        # plain figures re-rendered into Output widgets: FigureWidget's incremental restyles lost the x data of traces
        # in JupyterLab (plotly 7: a trace whose y changed alone came back with x undefined — the browser test saw it)
        # the title sits left and above the plot area: plotly's toolbar (top right) no longer covers it
        self.cost_fig = go.Figure(layout=dict(template=TEMPLATE, height=420, xaxis=dict(type="log", title="requests per month"),
                                                    yaxis=dict(type="log", title="USD per month", tickformat=MONEY), legend=dict(orientation="h", y=-0.25),
                                                    margin=dict(t=70), title=dict(x=0, xanchor="left", y=0.98, yanchor="top", font=dict(size=14))))
        money = "%{x:,.0f} requests/month<br>$%{y:,.2f} per month<extra>%{fullData.name}</extra>"  # units in every hover
        for name, dash, shape in (("self-hosted", None, "hv"), ("API", "dash", "linear"), ("hybrid", "dot", "linear")):
            self.cost_fig.add_scatter(x=[], y=[], name=name, line=dict(dash=dash, shape=shape), hovertemplate=money)
        self.cost_fig.add_scatter(x=[], y=[], mode="markers", marker=dict(size=11, symbol="x", color="#e0a800"), name="break-even",
                                  hovertemplate="break-even at %{x:,.0f} requests/month<br>$%{y:,.2f} per month<extra></extra>")
        self.stair_fig = go.Figure(layout=dict(template=TEMPLATE, height=300, xaxis=dict(type="log", title="requests per month"),
                                                     yaxis=dict(type="log", title="replicas"), margin=dict(t=30)))
        self.stair_fig.add_scatter(x=[], y=[], line=dict(shape="hv"), name="replicas",
                                   hovertemplate="%{x:,.0f} requests/month<br>%{y:.0f} replicas<extra></extra>")
        self.summary = w.HTML()
        self.message = w.HTML()
        self.export_button = w.Button(description="export this state", icon="download", tooltip="write plan.yaml and the HTML report")
        self.export_button.on_click(lambda _b: self._export_clicked())
        self.exported = w.HTML()
        self.cost_out, self.stair_out = w.Output(), w.Output()
        self._following = False
        self.profile.observe(self._follow_profile, names="value")  # first: the instance follows before the redraw
        for c in self.controls:
            c.observe(lambda _change: None if self._following else self.redraw(), names="value")
        self.result: PlanResult | None = None
        self._shown = ""
        self.redraw()

    def _matching(self, profile: Profile) -> str | None:
        """The instance like the profile's own machine (the resolver's default), if the catalog has one."""
        try:
            return matching_instance(profile, records("instances")).instance
        except PlannerError:
            return None

    def _instance_options(self, profile: Profile) -> list[tuple[str, str]]:
        """Every instance, those of the profile's own hardware first; the others say why they cannot be priced honestly
        with this profile (a dropdown cannot grey an option out, so the label does)."""
        same, other = [], []
        for name, (label, row) in self._instance_rows.items():
            if same_accelerator(profile, row):
                same.append((label, name))
            else:
                other.append((f"✗ {label} — not the profile's hardware", name))
        return same + other

    def _follow_profile(self, change) -> None:
        """A new profile re-selects an instance of its own hardware: keeping the old one priced an H100's speed at an
        A10G's price; the list re-orders, this profile's hardware first. One redraw follows, not two."""
        profile = self.profiles[change["new"]]
        match = self._matching(profile)
        self._following = True
        try:
            keep = self.instance.value
            self.instance.options = self._instance_options(profile)
            self.instance.value = match if match is not None and match in self._instance_rows else keep
        finally:
            self._following = False

    def workload(self) -> Workload:
        """The widgets' values over the workload the dashboard was opened with: what no widget shows carries over — a
        usage log's length distribution (the token boxes then move its means, scaling every request: see
        `Workload.request_mix`) and day shape, the cached share, the ITL metric."""
        base = self._base
        shown = dict(requests_per_month=self.volume.value, tokens_in=self.tokens_in.value, tokens_out=self.tokens_out.value,
                     ttft_slo_s=self.ttft.value, itl_slo_s=self.itl.value, peak_to_avg=self.peak.value, max_utilisation=self.util.value)
        checked = Workload(**{**base.model_dump(exclude={"lengths"}), **shown})  # the widgets' values validated as ever
        if base.lengths is None:
            return checked
        if (self.tokens_in.value, self.tokens_out.value) == (int(base.tokens_in), int(base.tokens_out)):
            checked = checked.model_copy(update={"tokens_in": base.tokens_in, "tokens_out": base.tokens_out})  # the boxes' rounding
        return checked.model_copy(update={"lengths": base.lengths})

    def inputs(self) -> PlanInputs:
        """The widgets' choices through the one resolver every front-end uses (formats.inputs)."""
        return resolve(self.profiles[self.profile.value], to_record("instances", lookup(self.instances, "instances", self.instance.value)),
                       to_record("api_prices", lookup(self.api_prices, "api_prices", self.api.value)), self.workload())

    def compute(self) -> PlanResult:
        return run_plan(self.inputs())

    def _mark_invalid(self) -> None:
        """A red border on each API box whose text names no row (the error line above the chart says which, with the
        closest names)."""
        for box in (self.api, self.frontier):
            (box.remove_class if box.value in self._api_names else box.add_class)("llm-invalid")

    def redraw(self) -> PlanResult | None:
        self._mark_invalid()
        try:
            frontier = to_record("api_prices", lookup(self.api_prices, "api_prices", self.frontier.value))  # refused before drawing
            inputs = self.inputs()
            r = run_plan(inputs)
        except PlannerError as exc:  # an unreachable SLO, a name that is no row: say it in the dashboard, keep the controls alive
            boxes = [b.description for b in (self.api, self.frontier) if "llm-invalid" in b._dom_classes]
            where = f"{' and '.join(boxes)}: " if boxes else ""
            self.message.value = f"<b style='color:#b00'>{_dollars(html.escape(where + str(exc), quote=False))}</b>"
            self.summary.value = f"<div class='stale' style='opacity:0.35' title='inputs changed: these figures are stale'>{self._shown}</div>"
            for trace in self.cost_fig.data:
                trace.opacity = 0.25  # the last valid plan, greyed out: it no longer answers the inputs above
            self._show()
            return None
        self.message.value = ""
        for trace in self.cost_fig.data:
            trace.opacity = 1.0
        mismatch = None if same_accelerator(inputs.profile, inputs.instance) else instance_mismatch(inputs.profile, inputs.instance)
        if mismatch:  # one machine's speed at another's price: say so, loudly
            self.message.value = ("<div class='mismatch' style='color:#b00020;background:#fdecea;padding:.4em'><b>instance mismatch:</b> "
                                  f"{_dollars(html.escape(mismatch))}</div>")
            self.cost_fig.data[0].opacity = 0.3  # the self-hosted line is not this instance's
        c, s = r.curves, self.share.value
        wl = r.workload
        frontier_usd = api_usd_per_request(frontier, wl)
        hybrid = hybrid_costs(np.append(c["requests_per_month"].to_numpy(), wl.requests_per_month), [s], capacity_rps=r.capacity_rps,
                              replica_usd_per_month=r.replica_usd_per_month, selfhost_api_equivalent_usd_per_request=r.api_usd_per_request,
                              frontier_usd_per_request=frontier_usd, peak_to_avg=wl.peak_to_avg,
                              max_utilisation=wl.max_utilisation, min_replicas=wl.min_replicas)["total_usd_per_month"].to_numpy()
        hybrid, hybrid_now = hybrid[:-1], hybrid[-1]
        be = [v for v in (r.break_even_first,) if np.isfinite(v)]
        x = c["requests_per_month"].to_list()  # plain lists: the rendered figure's data stays readable (no binary blobs)
        self.cost_fig.data[0].update(x=x, y=c["selfhost_usd_per_month"].to_list())
        self.cost_fig.data[1].update(x=x, y=c["api_usd_per_month"].to_list())
        self.cost_fig.data[2].update(x=x, y=hybrid.tolist(), visible=0 < s < 1)
        self.cost_fig.data[3].update(x=be, y=[b * r.api_usd_per_request for b in be])
        self.cost_fig.layout.title = f"{r.profile_label} on {r.prices.replica_label} vs {r.prices.api_label}"
        self.stair_fig.data[0].update(x=x, y=c["replicas"].to_list())
        t = r.at_target
        rows = r.summary().to_html(index=False, border=0)
        warnings = "".join(f"<li>{html.escape(x)}</li>" for x in r.warnings)
        csv = csv_base64(c)
        download = (f"<a download='plan-costs.csv' href='data:text/csv;base64,{csv}'>download the cost at every volume (CSV)</a>")
        verdict = (f"<p class='verdict'><b>{html.escape(r.verdict())}</b></p>" if r.trustworthy else  # the one trust policy
                   f"<p class='no-verdict' style='color:#b00020;background:#fdecea;padding:.4em'><b>{html.escape(r.verdict())}</b></p>")
        self._shown = _dollars(verdict + rows + (f"<ul class='warnings' style='color:#8a5300'>{warnings}</ul>" if warnings else "")
                               + f"<p>hybrid ({s:.0%} self-hosted, the rest on {html.escape(frontier.model)}) at {t.requests_per_month:,.0f} req/month: "
                                 f"<b>${hybrid_now:,.2f}/month</b></p>") + download
        self.summary.value = self._shown
        self.result = r
        self._show()
        return r

    def export(self, folder: str | Path = "reports", name: str | None = None) -> list[Path]:
        """This state as `<name>.yaml` (a plan file `llm-planner report --params` reproduces) and `<name>.html` (the
        report of this plan); the hybrid share is the dashboard's own and is not in the plan file."""
        from planner.present.report import write_report  # plotly + jinja: only when exporting

        if self.result is None:
            raise PlannerError("nothing to export: the inputs do not give a plan (see the message above the chart)")
        inputs = self.inputs()
        name = name or f"dashboard-{datetime.now(UTC):%Y%m%dT%H%M%SZ}"
        folder = Path(folder)
        path = inputs.profile_path or getattr(inputs.profile, "_path", None)
        params = PlanParams(name=name, profile=str(path) if path else None, instance=inputs.instance.instance if inputs.instance else None,
                            api=inputs.api.model, output_dir=str(folder), workload=inputs.workload)
        import yaml

        plan_file = atomic_write_text(folder / f"{name}.yaml", yaml.safe_dump(params.model_dump(mode="json"), sort_keys=False))
        return [plan_file, *write_report(run_plan(inputs), inputs.profile, folder / f"{name}.html", profile_path=path,
                                         inputs={"the plan file": plan_file})]

    def _export_clicked(self) -> None:
        try:
            written = self.export()
        except PlannerError as exc:
            self.exported.value = f"<span style='color:#b00020'>{_dollars(html.escape(str(exc)))}</span>"
            return
        self.exported.value = "written: " + ", ".join(f"<code>{html.escape(str(p))}</code>" for p in written)

    def static_html(self) -> str:
        """The last state as plain HTML: what a viewer without a kernel or ipywidgets (GitHub, nbviewer, an email)
        shows instead of the controls — the verdict, the summary and the warnings, no script."""
        note = ("<p style='color:#666'><i>Static copy of the dashboard's last state (the live controls need JupyterLab with a "
                "running kernel).</i></p>")
        body = self._shown.split("<a download=")[0] if self._shown else html.escape(self.message.value)
        return note + body

    def _show(self) -> None:
        """Render both charts into their Output widgets (only inside a running kernel: elsewhere there is nothing to draw on)."""
        from IPython import get_ipython
        from IPython.display import display

        if get_ipython() is None:
            return
        for out, fig in ((self.cost_out, self.cost_fig), (self.stair_out, self.stair_fig)):
            with out:
                out.clear_output(wait=True)
                display(fig)

    def widget(self) -> w.Widget:
        column = w.Layout(flex="1 1 360px", min_width="300px")
        controls = w.HBox([w.VBox(self.controls[:6], layout=column), w.VBox(self.controls[6:], layout=column)],
                          layout=w.Layout(flex_flow="row wrap", width="100%"))
        return _WithStaticCopy([w.HTML(_STYLE), controls, self.message, self.cost_out, self.stair_out, self.summary,
                                w.HBox([self.export_button, self.exported])], static=self.static_html)


class _WithStaticCopy(w.VBox):
    """The dashboard's box, displayed with a `text/html` copy of its state beside the widget view: JupyterLab shows
    the live widget, a viewer that cannot render widgets shows the copy instead of `VBox(children=(…`."""

    def __init__(self, children, *, static):
        super().__init__(children)
        self._static = static

    def _repr_mimebundle_(self, **kwargs):
        data = super()._repr_mimebundle_(**kwargs) or {}
        data["text/html"] = self._static()
        return data
