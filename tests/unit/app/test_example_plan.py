"""Issue 13's example plan, re-run: the committed H100 profile of the Mistral-7B clone (Q4_K_M) projected to an A10,
priced as g5.xlarge against gpt-4o, 512 → 128 tokens, TTFT ≤ 2 s, ITL ≤ 0.2 s, peak ÷ average 2, utilisation 0.8."""
from pathlib import Path

import numpy as np
import pytest

from planner.core.cost import replicas_needed
from planner.core.plan import PriceChoice, Workload, plan
from planner.core.projection import project_profile
from planner.formats.catalog import record
from planner.formats.profiles import load_profile

REPO = Path(__file__).resolve().parents[3]


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
