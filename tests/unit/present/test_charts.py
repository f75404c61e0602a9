"""Charts: money on dollar axes, and the capacity model's held-out error as a band around the self-hosted cost."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from planner.core.plan import Workload
from planner.formats.inputs import resolve, run_plan
from planner.present.charts import MONEY, cost_curves
from tests.unit.conftest import SMOL

W = Workload(requests_per_month=1e6, tokens_in=128, tokens_out=16, ttft_slo_s=5.0, itl_slo_s=0.5)


def test_the_self_hosted_cost_carries_its_error_band_on_a_dollar_axis():
    result = run_plan(resolve(SMOL, "e2-standard-2", "gpt-4o-mini", W))
    assert result.model_error is not None
    fig = cost_curves(result, per_request=False)
    assert fig.layout.yaxis.tickformat == MONEY == "$,.3~r"
    upper, lower = fig.data[1], fig.data[2]  # after the self-hosted line, before the API's
    e = result.model_error.median_pct / 100
    cost = result.curves["selfhost_usd_per_month"].to_numpy()
    assert np.asarray(upper.y) == pytest.approx(cost * (1 + e)) and np.asarray(lower.y) == pytest.approx(cost * (1 - e))
    assert lower.fill == "tonexty" and result.model_error.describe() in lower.name
    bare = cost_curves(dataclasses.replace(result, model_error=None), per_request=False)
    assert len(bare.data) == len(fig.data) - 2 and all(t.fill != "tonexty" for t in bare.data)  # no error measured: no band


def test_latency_against_load_marks_the_slo_and_the_operating_point():
    from planner.present.charts import latency_vs_throughput
    result = run_plan(resolve(SMOL, "e2-standard-2", "gpt-4o-mini", W))
    fig = latency_vs_throughput(result)
    table = result.capacity.dropna(subset=["ttft_s", "itl_p95_s"]).sort_values("requests_per_s")
    assert np.asarray(fig.data[0].y) == pytest.approx(table["ttft_s"].to_numpy())
    assert np.asarray(fig.data[1].y) == pytest.approx(table["itl_p95_s"].to_numpy() * 1e3)  # in ms
    horizontal = {s.y0 for s in fig.layout.shapes if s.y0 == s.y1}
    vertical = [s.x0 for s in fig.layout.shapes if s.x0 == s.x1]
    assert horizontal == {5.0, 500.0}  # the SLOs: 5 s TTFT, 500 ms ITL
    assert vertical == [result.capacity_rps] * 2  # the operating point, in both panels


def test_cost_per_token_against_speed_per_user_by_hand():
    from planner.present.charts import cost_vs_speed
    result = run_plan(resolve(SMOL, "e2-standard-2", "gpt-4o-mini", W))
    fig = cost_vs_speed(result)
    table = result.capacity.dropna(subset=["itl_p50_s", "output_tok_s"]).sort_values("requests_per_s")
    usd_h = result.prices.replica_usd_per_hour
    assert np.asarray(fig.data[0].y) == pytest.approx(usd_h / (table["output_tok_s"].to_numpy() * 3600) * 1e6)
    assert np.asarray(fig.data[0].x) == pytest.approx(1 / table["itl_p50_s"].to_numpy())
    api_line = [s for s in fig.layout.shapes if s.y0 == s.y1][0].y0
    assert api_line == pytest.approx(result.api_usd_per_request / 16 * 1e6)
    assert fig.data[1].name.startswith("operating point")


def test_the_cost_chart_marks_the_quoted_volume():
    result = run_plan(resolve(SMOL, "e2-standard-2", "gpt-4o-mini", W))
    quoted = [t for t in cost_curves(result, per_request=False).data if t.name and t.name.startswith("quoted volume")][0]
    assert list(quoted.x) == [1e6, 1e6]
    assert list(quoted.y) == [result.at_target.selfhost_usd_per_month, result.at_target.api_usd_per_month]


def test_options_with_the_same_cost_share_one_named_line_and_a_stand_in_says_so():
    """Two APIs priced alike drew one line exactly over the other (one legend entry invisible); a hosted 7B model
    standing in for the profiled model's host was labelled as if it were that host."""
    from planner.core.compare import Comparison, Option
    from planner.present.charts import compare_chart

    v = np.array([1e3, 1e4, 1e5])
    same = v * 1e-3
    options = [Option("self", "self-hosted", np.array([50.0, 50.0, 100.0])), Option("a", "api", same), Option("b", "api", same.copy()),
               Option("mistral-7b", "api", v * 2e-4, stand_in_for="SmolLM2-135M-Instruct")]
    fig = compare_chart(Comparison(v, options, [], 1e4, (2.0, 0.2), (128, 16)))
    assert [t.name for t in fig.data] == ["self-hosted: self", "API: a = API: b (the same cost)",
                                          "API: mistral-7b (stand-in: no host of SmolLM2-135M-Instruct in the catalog)"]


def test_latency_distributions_at_the_planned_rate_mark_the_slo():
    from planner.present.charts import latency_cdfs
    result = run_plan(resolve(SMOL, "e2-standard-2", "gpt-4o-mini", W))
    fig = latency_cdfs(result)
    c = result.latency_cdf
    assert np.asarray(fig.data[0].x) == pytest.approx(c.ttft_s) and np.asarray(fig.data[1].x) == pytest.approx(c.itl_s * 1e3)
    assert list(fig.data[0].y) == list(c.pct)
    assert sorted(s.x0 for s in fig.layout.shapes if s.x0 == s.x1) == [5.0, 500.0]  # the SLOs, in s and ms
    assert {s.y0 for s in fig.layout.shapes if s.y0 == s.y1} == {95}  # the SLO's percentile
    assert [a.x for a in fig.layout.annotations if a.text.startswith("SLO")] == pytest.approx([np.log10(5.0), np.log10(500.0)])
    assert f"{c.rate_per_s:.3g} req/s per replica" in fig.layout.title.text
    assert latency_cdfs(dataclasses.replace(result, latency_cdf=None)) is None
