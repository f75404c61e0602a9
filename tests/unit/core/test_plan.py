"""One plan evaluation: `plan()`, the uncertainty interval and the hybrid split agree, on hand-computed numbers."""
import math

import numpy as np
import pytest

from planner.core.errors import MeasurementError
from planner.core.hybrid import hybrid_costs
from planner.core.plan import PriceChoice, Workload, evaluate, plan
from planner.core.rows import Provenance
from planner.core.uncertainty import Ranges, plan_interval
from tests.factories import make_profile, make_serving_profile


def measured(rps: float = 0.4):
    prof = make_serving_profile({1: rps})
    for level in prof.serving:
        level.prompt_tokens_mean, level.output_tokens_mean = 500.0, 100.0
    return prof

PROV = Provenance("test", "row", "hand-made for the test", "2026-01-01")
# $1/h replica; API $1 / $40 per M input / output tokens, cached input $0.10 per M
PRICES = PriceChoice(replica_usd_per_hour=1.0, replica_label="r", replica_provenance=PROV, api_usd_per_input_token=1e-6,
                     api_usd_per_output_token=40e-6, api_usd_per_cached_input_token=1e-7, api_label="api", api_provenance=PROV)
# a serving profile that measured 0.4 req/s at this shape with p95 TTFT 0.1 s and ITL 20 ms: capacity 0.4 req/s at a loose SLO
WORKLOAD = Workload(tokens_in=500, tokens_out=100, requests_per_month=1e6, cached_fraction=0.8, min_replicas=3, peak_to_avg=1,
                    max_utilisation=1, ttft_slo_s=10, itl_slo_s=10)


def test_plan_hand_computed_with_cache_and_minimum_replicas():
    r = plan(measured(), PRICES, WORKLOAD)
    assert r.capacity_rps == pytest.approx(0.4)
    # API: 500 × (0.2 × $1e-6 + 0.8 × $1e-7) + 100 × $40e-6 = $4.14e-3 per request
    assert r.api_usd_per_request == pytest.approx(4.14e-3)
    assert r.at_target.api_usd_per_month == pytest.approx(4140.0)
    # one replica absorbs 0.4 × 2,628,000 = 1,051,200 requests; 3 always on: 3 × $730
    assert r.at_target.replicas == 3 and r.at_target.selfhost_usd_per_month == pytest.approx(2190.0)
    assert r.break_even_first == pytest.approx(3 * 730 / 4.14e-3)  # 528,985.5: three replicas' cost
    # a·K = $4,352 > C, k* = ceil(730 / (4352 − 730)) = 1 ≤ 3 always-on replicas: cheaper at every volume above the first
    assert r.break_even_always == pytest.approx(r.break_even_first)


def test_interval_brackets_the_point_estimate_for_cache_and_minimum_replicas():
    """The interval's corners use the same evaluation as plan(): at point ranges they equal it exactly."""
    prof = measured()
    r = plan(prof, PRICES, WORKLOAD)
    box = plan_interval(prof, WORKLOAD, Ranges.from_prices(PRICES)).set_index("quantity")
    assert box.loc["api_usd_per_month", "low"] == pytest.approx(4140.0) == box.loc["api_usd_per_month", "high"]
    assert box.loc["selfhost_usd_per_month", "low"] == pytest.approx(r.at_target.selfhost_usd_per_month)
    assert box.loc["break_even", "low"] == pytest.approx(r.break_even_first) == box.loc["break_even", "high"]
    wide = plan_interval(prof, WORKLOAD, Ranges.from_prices(PRICES, replica_usd_per_hour=(0.5, 2.0))).set_index("quantity")
    assert wide.loc["selfhost_usd_per_month", "low"] == pytest.approx(1095.0)
    assert wide.loc["selfhost_usd_per_month", "high"] == pytest.approx(4380.0)
    assert wide.loc["break_even", "low"] <= r.break_even_first <= wide.loc["break_even", "high"]


def test_infeasible_capacity_is_nan_never_a_huge_number():
    e = evaluate([1e6, 1e7], capacity_rps=np.array([[0.0], [1.0]]), replica_usd_per_month=730.0, api_usd_per_request=1e-3)
    assert np.isnan(e.selfhost_usd_per_month[0]).all() and np.isnan(e.break_even_first[0]).all()
    assert e.selfhost_usd_per_month[1].tolist() == [730.0, 730.0 * math.ceil(1e7 / 2_628_000)]
    with pytest.raises(MeasurementError, match="capacity_rps"):
        evaluate(1e6, capacity_rps=-1.0, replica_usd_per_month=730.0, api_usd_per_request=1e-3)


def test_hybrid_uses_the_same_evaluation():
    f = hybrid_costs([1e6], [1.0], capacity_rps=0.4, replica_usd_per_month=730.0, selfhost_api_equivalent_usd_per_request=4.14e-3,
                     frontier_usd_per_request=0.01, min_replicas=3)
    assert f["selfhost_usd_per_month"].iloc[0] == pytest.approx(2190.0)
    assert f["all_api_usd_per_month"].iloc[0] == pytest.approx(4140.0)


def test_an_unmeetable_slo_says_what_would_be_met():
    """Flat profile, one slot: the first token leaves with the 0.5 s prefill step; ITL is the 20 ms decode step."""
    with pytest.raises(MeasurementError, match=r"reaches TTFT 0\.5 s and ITL p95 0\.02 s .* TTFT ≤ 0\.5 s and ITL ≤ 0\.02 s would be met"):
        plan(make_profile(1000, 50), PRICES, WORKLOAD.model_copy(update={"ttft_slo_s": 0.1}))


def test_batch_prices_and_the_providers_minimum_cacheable_prefix():
    from dataclasses import replace

    from planner.core.errors import InputError
    from planner.core.plan import evaluate_plan
    from planner.core.rows import ApiPriceRow, CacheRuleRow
    api = ApiPriceRow("m", "openai", "chat", 2.0, 8.0, 0.5, None, 1.0, 4.0, None, PROV)
    assert api.per_token(batch=True) == {"usd_per_input_token": 1e-6, "usd_per_output_token": 4e-6, "usd_per_cached_input_token": None}
    with pytest.raises(InputError, match="--batch: api_prices row 'x' has no batch price"):
        replace(api, model="x", batch_input_usd_per_mtok=None).per_token(batch=True)
    rule = CacheRuleRow("openai", 1024, 1.0, "5-10 min", PROV)
    prices = replace(PRICES, api_usd_per_input_token=2e-6, api_usd_per_output_token=8e-6, api_usd_per_cached_input_token=0.5e-6, cache_rule=rule)
    # 2000 prompt tokens, half cached: a 1000-token prefix is under OpenAI's 1024 → all 2000 billed at the input price
    short = Workload(tokens_in=2000, tokens_out=100, cached_fraction=0.5)
    assert float(evaluate_plan(1e6, 1.0, short, prices).api_usd_per_request) == pytest.approx(2000 * 2e-6 + 100 * 8e-6)
    assert "below openai's minimum of 1,024" in prices.cache_warnings(short)[0]
    long = Workload(tokens_in=4000, tokens_out=100, cached_fraction=0.5)  # a 2000-token prefix is cached
    assert float(evaluate_plan(1e6, 1.0, long, prices).api_usd_per_request) == pytest.approx(2000 * 2e-6 + 2000 * 0.5e-6 + 100 * 8e-6)
    assert prices.cache_warnings(long) == []
    premium = replace(prices, cache_rule=CacheRuleRow("anthropic", 1024, 1.25, "5 min", PROV))
    assert "1.25× the input price" in premium.cache_warnings(long)[0]
