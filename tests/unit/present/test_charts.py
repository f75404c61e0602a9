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
