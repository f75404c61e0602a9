"""The live dashboard drives the same plan() as everything else; widgets change, figures and summary follow."""
import numpy as np
import pytest

from planner.core.plan import Workload
from planner.formats.catalog import load_catalog
from planner.present.dashboard import PlanDashboard


@pytest.fixture(scope="module")
def dash(tiny_profile):
    profile, _ = tiny_profile
    return PlanDashboard({profile.label: profile}, load_catalog("instances"), load_catalog("api_prices"),
                         api_models=["gpt-4o-mini", "gpt-4o"], workload=Workload(tokens_in=128, tokens_out=16, ttft_slo_s=30, itl_slo_s=5))


def test_redraw_follows_the_controls(dash):
    first = dash.result
    assert first is not None and len(dash.cost_fig.data[0].x) == first.workload.volume_points
    dash.api.value = "gpt-4o"
    assert dash.result.api_usd_per_request > first.api_usd_per_request
    assert np.allclose(dash.cost_fig.data[1].y, dash.result.curves["api_usd_per_month"])
    dash.share.value = 0.5
    assert dash.cost_fig.data[2].visible and "hybrid (50% self-hosted, the rest on gpt-4o)" in dash.summary.value


def test_unreachable_slo_is_shown_not_raised(dash):
    dash.itl.value = 10 ** -2.5
    assert "no load level of" in dash.message.value
    assert "class='stale'" in dash.summary.value and all(t.opacity == 0.25 for t in dash.cost_fig.data)  # stale: greyed out
    dash.itl.value = 1.0
    assert "download='plan-costs.csv'" in dash.summary.value  # the cost table as a CSV download
    assert dash.message.value == "" and "stale" not in dash.summary.value and all(t.opacity == 1.0 for t in dash.cost_fig.data)


def test_default_api_warnings_and_dollars(tiny_profile):
    profile, _ = tiny_profile
    d = PlanDashboard({profile.label: profile}, load_catalog("instances"), load_catalog("api_prices"), default_instance="c7i.large",
                      workload=Workload(tokens_in=128, tokens_out=16, ttft_slo_s=30, itl_slo_s=5))
    assert d.api.value == "gpt-4o-mini"  # not the alphabetically first of ~700 rows
    assert "its CPU may differ" in d.summary.value  # every plan warning is shown beside the numbers
    assert "$" not in d.summary.value and "&#36;" in d.summary.value  # MathJax leaves the prices alone
