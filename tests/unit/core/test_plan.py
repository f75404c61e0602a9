"""planner/core/plan.py: `plan()` and `evaluate()` on hand-computed numbers, and issue 13's example plan re-run.
(That the uncertainty interval and the hybrid split use the same evaluation is checked in test_uncertainty.py and
test_hybrid.py.)"""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.core import cost as cm
from planner.core.cost import replicas_needed
from planner.core.errors import MeasurementError
from planner.core.plan import PriceChoice, Workload, evaluate, plan
from planner.core.projection import project_profile
from planner.formats.catalog import record
from planner.formats.profiles import load_profile
from tests.conftest import REPO
from tests.factories import make_profile
from tests.unit.core.conftest import PRICES, PROV, WORKLOAD, measured


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



def test_the_latency_distribution_is_taken_where_each_replica_runs_at_the_peak_hour():
    """3 always-on replicas share the peak (1e6 a month × peak 2 ÷ 2,628,000 s = 0.761 req/s): 0.254 req/s each,
    below the 0.4 capacity, and the distribution, its summary row and the JSON say so. Where one replica takes the
    whole peak at full utilisation, the planned rate is the capacity itself, never above it."""
    r = plan(make_profile(1000, 50), PRICES, WORKLOAD.model_copy(update={"peak_to_avg": 2.0}))
    peak = 1e6 * 2 / 2_628_000
    assert r.at_target.replicas == 3 and r.planned_rps == pytest.approx(peak / 3)
    assert r.latency_cdf.rate_per_s == pytest.approx(peak / 3) and r.latency_cdf.basis.startswith("simulated")
    row = r.summary().set_index("quantity").loc["latency at the peak hour"]
    t95, i95 = r.latency_cdf.at(95)
    assert f"{t95:.3g}" in row["value"] and f"{i95 * 1e3:.3g}" in row["value"] and f"{peak / 3:.3g} req/s" in row["basis"]
    assert r.as_dict()["latency_at_planned_rate"]["ttft_p95_s"] == pytest.approx(t95)
    busy = plan(make_profile(1000, 50), PRICES, WORKLOAD.model_copy(update={"min_replicas": 1, "requests_per_month": 5e7}))
    assert busy.planned_rps <= busy.capacity_rps and busy.planned_rps == pytest.approx(5e7 / 2_628_000 / busy.at_target.replicas)


def test_infeasible_capacity_is_nan_never_a_huge_number():
    e = evaluate([1e6, 1e7], capacity_rps=np.array([[0.0], [1.0]]), replica_usd_per_month=730.0, api_usd_per_request=1e-3)
    assert np.isnan(e.selfhost_usd_per_month[0]).all() and np.isnan(e.break_even_first[0]).all()
    assert e.selfhost_usd_per_month[1].tolist() == [730.0, 730.0 * math.ceil(1e7 / 2_628_000)]
    with pytest.raises(MeasurementError, match="capacity_rps"):
        evaluate(1e6, capacity_rps=-1.0, replica_usd_per_month=730.0, api_usd_per_request=1e-3)


def test_an_unmeetable_slo_says_what_would_be_met():
    """Flat profile, one slot: the first token leaves with the 0.5 s prefill step; ITL is the 20 ms decode step."""
    with pytest.raises(MeasurementError, match=r"reaches TTFT 0\.5 s and ITL p95 0\.02 s .* TTFT ≤ 0\.5 s and ITL ≤ 0\.02 s would be met"):
        plan(make_profile(1000, 50), PRICES, WORKLOAD.model_copy(update={"ttft_slo_s": 0.1, "cached_fraction": 0.0}))
    # the same workload with 80 % of its prompt served from the cache (WORKLOAD's own share, as the API bills it): the
    # self-hosted server skips those 400 tokens' prefill too, so the first token leaves after 100 tokens, 0.1 s
    with pytest.raises(MeasurementError, match=r"reaches TTFT 0\.1 s and ITL p95 0\.02 s"):
        plan(make_profile(1000, 50), PRICES, WORKLOAD.model_copy(update={"ttft_slo_s": 0.05}))


def test_batch_prices_and_the_providers_minimum_cacheable_prefix():
    from dataclasses import replace

    from planner.core.errors import InputError
    from planner.core.plan import evaluate_plan
    from planner.core.rows import ApiPriceRow, CacheRuleRow, TokenPrices
    api = ApiPriceRow("m", "openai", "chat", 2.0, 8.0, 0.5, None, 1.0, 4.0, None, PROV)
    assert api.per_token(batch=True) == TokenPrices(usd_per_input_token=1e-6, usd_per_output_token=4e-6, usd_per_cached_input_token=None)
    with pytest.raises(InputError, match="batch: api_prices row 'x' has no batch price"):
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


@settings(max_examples=200, deadline=None)
@given(cap=st.floats(0.01, 50), hourly=st.floats(0.01, 100), n_in=st.floats(0, 10_000), n_out=st.floats(1, 4000),
       p=st.floats(1e-8, 1e-4))
def test_costs_positive_finite_and_per_request_falls_within_a_step(cap, hourly, n_in, n_out, p):
    e = evaluate(np.geomspace(1e3, 1e9, 200), capacity_rps=cap, replica_usd_per_month=cm.replica_monthly_usd(hourly),
                 api_usd_per_request=cm.api_cost_per_request(n_in, n_out, p, p))
    table = e.frame().drop(columns=["break_even_first", "break_even_always"])  # NaN there means "never", by design
    for key, values in table.items():
        assert np.all(np.isfinite(values)), key
    assert np.all(table["selfhost_usd_per_request"] > 0) and np.all(table["api_usd_per_request"] > 0)
    same_step = np.diff(table["replicas"]) == 0
    assert np.all(np.diff(table["selfhost_usd_per_request"])[same_step] <= 0)
    assert np.all(np.diff(table["selfhost_usd_per_month"]) >= 0)


# Issue 13's example plan, re-run: the committed H100 profile of the Mistral-7B clone (Q4_K_M) projected to an A10,
# priced as g5.xlarge against gpt-4o, 512 → 128 tokens, TTFT ≤ 2 s, ITL ≤ 0.2 s, peak ÷ average 2, utilisation 0.8.
@pytest.fixture(scope="module")
def example():
    h100 = load_profile(next((REPO / "profiles/reference/h100").glob("Mistral-7B-v0.1-L32*.json")))
    a10 = project_profile(h100, record("hardware", "NVIDIA H100 SXM 80GB"), record("hardware", "NVIDIA A10"))
    w = Workload(tokens_in=512, tokens_out=128, ttft_slo_s=2.0, itl_slo_s=0.2, peak_to_avg=2.0, max_utilisation=0.8, requests_per_month=5e6)
    return plan(a10, PriceChoice.from_rows(record("instances", "g5.xlarge"), record("api_prices", "gpt-4o")), w)


def test_the_chosen_concurrency_fits_in_the_a10s_memory(example):
    assert example.kv_bytes_per_token == 2 * 32 * 8 * 128 * 2  # 131,072 bytes: GQA, 8 KV heads, fp16
    assert example.max_concurrency_by_memory is not None and example.concurrency <= example.max_concurrency_by_memory
    assert any("KV cache" in n and "A10 VRAM" in n for n in example.capacity_notes)


def test_latency_at_the_capacity_includes_queueing_and_prefill_stalls(example):
    level, alone = example.at_level, example.capacity.iloc[0]
    assert level.ttft_s <= 2.0 and level.itl_p95_s <= 0.2
    assert level.ttft_s > alone.ttft_s  # TTFT p95 at the planned load waits behind other requests
    assert level.itl_p95_s > level.itl_p50_s  # the slow gaps are the steps that carry someone else's prompt


def test_always_cheaper_matches_a_brute_force_scan(example):
    v = np.geomspace(1e3, 1e9, 2_000_001)
    w = example.workload
    selfhost = replicas_needed(v, example.capacity_rps, w.peak_to_avg, w.max_utilisation, w.min_replicas) * example.replica_usd_per_month
    loses = v[selfhost > example.api_usd_per_request * v]
    assert np.isfinite(example.break_even_always)
    assert loses.max() == pytest.approx(example.break_even_always, rel=1e-5)  # the last volume where self-hosting loses


def test_a_tpot_slo_gives_a_capacity_that_falls_with_longer_outputs():
    """Issue 22 #7: under the pooled p95 ITL the embedded model's capacity rose with the output length (more gaps
    dilute the prefill stalls: 0.54 / 0.59 / 0.63 req/s at 12 / 16 / 20 tokens). Each request's own mean gap (TPOT)
    gives the physical order — more tokens a request, fewer requests a second — from 12 output tokens; below that
    one stall weighs more in a short request's mean. The summary says which figure the SLO limits."""
    from planner.formats.inputs import resolve, run_plan
    from tests.unit.conftest import SMOL
    caps = []
    for out in (12, 16, 20, 24, 32):
        w = Workload(requests_per_month=1e6, tokens_in=128, tokens_out=out, ttft_slo_s=5.0, itl_slo_s=0.5, itl_metric="tpot")
        r = run_plan(resolve(SMOL, "e2-standard-2", "gpt-4o-mini", w))
        caps.append(r.capacity_rps)
    assert all(a > b for a, b in zip(caps, caps[1:])), caps
    assert "TPOT p95 (per request) ≤ 500 ms" in r.summary().iloc[1]["basis"]


# ------------------------------------------------------------------------------------------------ length distributions

def test_the_expected_api_cost_of_a_distribution_is_the_direct_sum_over_its_requests():
    from dataclasses import replace

    from planner.core.plan import LengthMix, evaluate_plan
    from planner.core.rows import CacheRuleRow
    # three requests; the provider caches only spans of ≥ 1,024 tokens: the 500-token span is billed as plain input
    t_in, t_out, cached = [2000, 600, 4000], [100, 50, 300], [1500, 500, 0]
    prices = replace(PRICES, cache_rule=CacheRuleRow("openai", 1024, 1.0, "5-10 min", PROV))
    direct = sum((i - c * (c >= 1024)) * 1e-6 + c * (c >= 1024) * 1e-7 + o * 40e-6 for i, o, c in zip(t_in, t_out, cached, strict=True)) / 3
    w = Workload(lengths=LengthMix(tokens_in=t_in, tokens_out=t_out, cached_in=cached))
    assert float(evaluate_plan(1e6, 1.0, w, prices).api_usd_per_request) == pytest.approx(direct, rel=1e-12)
    assert (w.tokens_in, w.tokens_out, w.cached_fraction) == pytest.approx((2200, 150, 2000 / 6600))  # the means, taken from it
    # a bucketed distribution: weights are requests
    w2 = Workload(lengths=LengthMix(tokens_in=[2000, 600], tokens_out=[100, 50], weights=[3, 1]))
    assert float(evaluate_plan(1e6, 1.0, w2, PRICES).api_usd_per_request) == pytest.approx((3 * (2000e-6 + 4e-3) + 600e-6 + 2e-3) / 4)


def test_a_workload_refuses_a_mean_its_lengths_contradict_and_what_ifs_scale_the_distribution():
    from pydantic import ValidationError

    from planner.core.plan import LengthMix
    lengths = LengthMix(tokens_in=[100, 300], tokens_out=[10, 30])
    assert Workload(lengths=lengths, tokens_in=200.4).tokens_in == 200  # the same mean, rounded
    with pytest.raises(ValidationError, match="tokens_in 512 is not the mean of lengths"):
        Workload(lengths=lengths, tokens_in=512)
    w = Workload(lengths=lengths, cached_fraction=0.5)
    assert w.request_mix().cached_in == (50, 150)  # the cached share of each prompt, as the API bills it
    doubled = w.model_copy(update={"tokens_in": 400.0}).request_mix()  # the tornado's what-if on the mean prompt
    assert doubled.tokens_in == (200, 600) and doubled.tokens_out == (10, 30) and doubled.cached_in == (100, 300)
    assert Workload(tokens_in=100, tokens_out=10).request_mix() is None  # a fixed shape, nothing cached


def test_a_long_tailed_distribution_serves_less_at_a_ttft_slo_than_its_mean_shape_and_the_plan_shows_both():
    from planner.core.plan import LengthMix
    # 1,000 prompt tokens/s, one slot: 90 % of prompts 200 tokens (0.2 s), 10 % 3,000 (3 s); mean 480 (0.48 s).
    # A 2 s TTFT at p95 is out of reach for the distribution even alone; the mean shape meets it.
    tail = Workload(lengths=LengthMix(tokens_in=[200, 3000], tokens_out=[20, 20], weights=[9, 1]), ttft_slo_s=2.0, itl_slo_s=1.0)
    with pytest.raises(MeasurementError, match=r"reaches TTFT 3 s"):
        plan(make_profile(1000, 50), PRICES, tail)
    looser = tail.model_copy(update={"ttft_slo_s": 4.0})
    r = plan(make_profile(1000, 50), PRICES, looser)
    assert 0 < r.capacity_rps < r.mean_shape_capacity_rps
    rows = dict(zip(r.summary()["quantity"], r.summary()["value"], strict=True))
    assert rows["capacity if every request had the mean shape"] == f"{r.mean_shape_capacity_rps:.3g} req/s"
    assert any("drawn one by one from 2 shapes" in n for n in r.capacity_notes)
    assert r.as_dict()["capacity"]["mean_shape_requests_per_s"] == r.mean_shape_capacity_rps
    assert plan(make_profile(1000, 50), PRICES, looser.model_copy(update={"lengths": None})).mean_shape_capacity_rps is None


def test_autoscaling_follows_the_logs_hour_of_day_shape():
    from pydantic import ValidationError
    # all demand in 6 of the 24 hours: the busy hours need 4× the average rate; the other 18 need min_replicas
    busy = [0.0] * 18 + [1 / 6] * 6
    w = WORKLOAD.model_copy(update={"hour_of_day": busy, "min_replicas": 1, "requests_per_month": 0.4 * 2_628_000 * 2})
    assert w.day_shape().tolist() == pytest.approx([0.0] * 18 + [4.0] * 6)
    r = plan(measured(), PRICES, w)
    # 2 replicas' worth on average → 8 in each busy hour, 1 in the others: (6 × 8 + 18 × 1) / 24 replicas × $730
    assert r.autoscaled_usd_per_month == pytest.approx((6 * 8 + 18) / 24 * 730.0)
    assert "the log's hour-of-day shape" in " ".join(r.summary()["basis"])
    with pytest.raises(ValidationError, match="24 non-negative shares"):
        Workload(hour_of_day=[0.0] * 24)
