"""planner/present/fleet_view.py: the fleet's chart, Pareto front and best-per-GPU table, on a fleet ranked from
hand-made instances (tests/unit/core)."""
from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from planner.core.fleet import ApiLine, pareto_front, rank_fleet
from planner.core.plan import Workload
from planner.present.fleet_view import best_per_gpu, display_table, fleet_chart, render_html
from tests.unit.core.conftest import CARD
from tests.unit.core.test_fleet import EFF, _instances

W = Workload(tokens_in=1000, tokens_out=200, ttft_slo_s=2, itl_slo_s=0.05, requests_per_month=2e7)


def test_the_pareto_front_is_exactly_the_undominated_deployments():
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"usd_per_month": rng.integers(1, 20, 60).astype(float), "itl_p95_s": rng.integers(1, 20, 60) / 100})
    front = pareto_front(frame)
    dominated = {i for i, j in itertools.permutations(frame.index, 2)  # j at least as good on both, better on one
                 if (frame.at[j, "usd_per_month"] <= frame.at[i, "usd_per_month"] and frame.at[j, "itl_p95_s"] <= frame.at[i, "itl_p95_s"]
                     and (frame.at[j, "usd_per_month"], frame.at[j, "itl_p95_s"]) != (frame.at[i, "usd_per_month"], frame.at[i, "itl_p95_s"]))}
    undominated = frame.drop(index=list(dominated)).drop_duplicates()
    assert sorted(map(tuple, front.to_numpy())) == sorted(map(tuple, undominated.to_numpy()))


def test_the_chart_has_one_trace_per_gpu_the_front_the_apis_and_the_error_band():
    result = rank_fleet(CARD, _instances(1, 2, 4, 8), EFF, W, precisions=("bf16", "fp8"), top=3)
    apis = [ApiLine("gpt-4o", 5000.0, "verdict: x"), ApiLine("gpt-4o-mini", 300.0, "verdict: y")]
    fig = fleet_chart(result, apis, 25.0, "t")
    points = [t for t in fig.data if t.mode == "markers" and t.x[0] is not None]
    assert sum(len(t.x) for t in points) == len(result.considered)  # every costed deployment is on the chart
    assert {t.name for t in points} == set(result.considered["device"])
    assert any(t.name.startswith("Pareto front") for t in fig.data)
    assert [s.y0 for s in fig.layout.shapes if s.type == "line"] == [5000.0, 300.0]  # one dashed line per API
    band = next(s for s in fig.layout.shapes if s.type == "rect")
    best = result.ranked.iloc[0]["usd_per_month"]
    assert (band.y0, band.y1) == pytest.approx((best / 1.25, best * 1.25))  # a factor of 1 + e either way (`cost_range`)
    labels = [a for a in fig.layout.annotations if a.text.startswith("API ")]
    assert [a.y for a in labels] == [np.log10(5000.0), np.log10(300.0)]  # on a log axis a label sits at log10 of the value
    assert not any(s.type == "rect" for s in fleet_chart(result, apis, None, "t").layout.shapes)  # no error measured: no band


def test_best_per_gpu_and_the_page():
    result = rank_fleet(CARD, _instances(1, 2, 4, 8), EFF, W, top=3)
    best = best_per_gpu(result)
    assert len(best) == result.considered["device"].nunique()
    assert best.iloc[0]["usd_per_month"] == result.considered["usd_per_month"].min()
    shown = display_table(result.ranked)
    assert shown["$/month"].iloc[0] == f"${result.ranked.iloc[0]['usd_per_month']:,.0f}" and "ITL p95 (ms)" in shown
    page = render_html("Test-8B", W, result, ["a note"], [ApiLine("gpt-4o", 5000.0, "verdict: toss-up — x")], 25.0)
    assert "Best deployment:" in page and "verdict: toss-up — x" in page and 'class="answer no-verdict"' in page
    assert "<li>a note</li>" in page and "prefers-color-scheme: dark" in page  # the report's style, dark mode included
