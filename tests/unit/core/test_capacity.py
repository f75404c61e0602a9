import json

import numpy as np
import pandas as pd
import pytest

from planner.core.capacity import capacity_at_slo, engine_capacity, serving_shape_mismatch
from planner.core.errors import InputError
from planner.formats.profiles import load_profile
from tests.factories import make_profile
from tests.unit.conftest import REF


def test_one_slot_engine_capacity_is_below_its_service_rate_and_meets_the_slo():
    # flat profile, no batched sweep (one slot): prefill 500 tokens at 1000 tok/s = 0.5 s (its step also emits the first
    # token), then 99 decode steps of 20 ms: service 2.48 s, so no rate above 1 / 2.48 can be sustained
    cap = engine_capacity(make_profile(1000, 50), 500, 100, 10.0, 10.0)
    assert cap.step.per_prefill_token_s == pytest.approx(1e-3) and cap.step.overhead_s + cap.step.per_seq_s == pytest.approx(0.02)
    assert cap.scheduler.max_seqs == 1
    assert 0.5 / 2.48 < cap.requests_per_s < 1 / 2.48
    row = cap.table.loc[cap.table.requests_per_s == cap.requests_per_s].iloc[0]
    assert row.ttft_s <= 10.0 and row.itl_p95_s == pytest.approx(0.02)
    alone = cap.table.iloc[0]
    assert alone.ttft_s == pytest.approx(0.5) and alone.e2e_s == pytest.approx(2.48)


def test_queueing_makes_a_tighter_ttft_slo_cost_capacity():
    prof = make_profile(1000, 50, {1: 50, 4: 160, 16: 400})
    loose = engine_capacity(prof, 500, 100, 10.0, 1.0).requests_per_s
    tight = engine_capacity(prof, 500, 100, 1.0, 1.0).requests_per_s
    assert loose > tight > 0


def test_slo_picks_highest_level_that_meets_both_limits():
    t = pd.DataFrame({"concurrency": [1, 4, 16], "requests_per_s": [0.4, 0.9, 1.3], "ttft_s": [0.5, 0.8, 1.5], "itl_p95_s": [0.02, 0.05, 0.2]})
    rps, conc = capacity_at_slo(t, 2.0, 0.05)
    assert conc == 4 and rps == 0.9
    rps, conc = capacity_at_slo(t, 2.0, 1e-6)
    assert rps == 0 and np.isnan(conc)
    # vectorised over SLO grids
    rps, conc = capacity_at_slo(t, np.array([[2.0], [2.0]]), np.array([1e-6, 10.0]))
    assert rps.shape == (2, 2) and rps[0, 1] == 1.3


def test_ci_bounds_bracket_the_estimate():
    from tests.factories import spread
    p = make_profile(1000, 50)  # one slot: the capacity is set by the service time, slower at the CI's low end
    for d in p.decode:
        d.tok_s = spread(50, 5)
    for x in p.prefill:
        x.tok_s = spread(1000, 100)
    low, mid, high = (engine_capacity(p, 500, 100, 5.0, 0.1, bound=b).requests_per_s for b in ("low", "mean", "high"))
    assert low < mid < high


def test_bad_workload_rejected():
    with pytest.raises(InputError, match="^tokens_in/tokens_out: "):
        engine_capacity(make_profile(), 10, 0)
    with pytest.raises(InputError, match="slo"):
        capacity_at_slo(pd.DataFrame({"concurrency": [1], "requests_per_s": [1.0], "ttft_s": [1.0], "itl_p95_s": [0.1]}), 0, 1)


def test_a_serving_profile_answers_only_for_its_own_token_shape():
    from tests.factories import make_serving_profile
    prof = make_serving_profile({1: 1.0})
    for level in prof.serving:
        level.prompt_tokens_mean, level.output_tokens_mean = 128.0, 64.0
    assert serving_shape_mismatch(prof, 130, 60) is None
    assert "measured 128 → 64 tokens a request; the workload is 4,000 → 1,000" in serving_shape_mismatch(prof, 4000, 1000)


def test_engine_comparison_ranks_by_goodput_at_the_slo():
    from planner.core.capacity import engine_comparison
    from planner.core.plan import Workload
    from tests.factories import make_serving_profile
    batching = make_serving_profile({1: 1.0, 4: 3.0, 8: 5.0})
    batching.engine.backend = "llama-server"
    queued = make_serving_profile({1: 1.2, 4: 1.3})
    queued.engine.backend = "llama_cpp.server"
    for level in queued.serving[1:]:
        level.ttft_ms = level.ttft_ms.model_copy(update={"p95": 4000.0})  # queueing: TTFT p95 4 s at concurrency 4
    table = engine_comparison([queued, batching], Workload(tokens_in=3, tokens_out=16, ttft_slo_s=2, itl_slo_s=0.2))
    assert table["engine"].tolist() == ["llama-server", "llama_cpp.server"]
    assert table["requests_per_s_at_slo"].tolist() == [5.0, 1.2]  # the queued server's 1.3 at c=4 misses the TTFT SLO
    assert table["max_requests_per_s"].tolist() == [5.0, 1.3]


def test_a_vllm_profile_without_its_scheduler_limits_is_refused_not_defaulted(tmp_path):
    from planner.core.capacity import scheduler_for
    from planner.core.errors import MeasurementError
    raw = json.loads(next((REF / "vllm-cpu").glob("*.json")).read_text())
    for key in ("max_num_seqs", "block_size"):
        raw["settings"]["extra"].pop(key)
    path = tmp_path / "v.json"
    path.write_text(json.dumps(raw))
    with pytest.raises(MeasurementError, match="vLLM's max_num_seqs, block_size not recorded"):
        scheduler_for(load_profile(path))


def test_the_measured_latency_distribution_is_the_level_at_or_above_the_planned_rate():
    """A serving profile's CDF is its own samples at the nearest load level at or above the rate (never a quieter
    one), or the busiest level, said so, when the rate is beyond every level."""
    from planner.core.capacity import measured_latency_cdf
    from planner.formats.profiles import load_profile
    from tests.conftest import REPO
    prof = load_profile(next((REPO / "profiles/reference/serving").glob("SmolLM2-135M-Instruct.Q4_1__llama-server__concurrency__*.json")))
    rates = sorted(lvl.request_s for lvl in prof.serving)
    between = (rates[0] + rates[1]) / 2
    cdf = measured_latency_cdf(prof, between)
    level = next(lvl for lvl in prof.serving if lvl.request_s == rates[1])
    assert cdf.rate_per_s == rates[1] and "at or above" in cdf.basis
    assert cdf.at(95)[0] == pytest.approx(np.percentile(level.ttft_ms.samples, 95) / 1e3)
    assert cdf.at(50)[1] == pytest.approx(np.percentile(level.itl_ms.samples, 50) / 1e3)
    beyond = measured_latency_cdf(prof, rates[-1] * 10)
    assert beyond.rate_per_s == rates[-1] and "below the planned rate" in beyond.basis


def test_a_per_sequence_server_calibration_moves_each_sequences_step_cost():
    """A server calibration fitted over several batch sizes shifts the step per sequence as well as per step."""
    from planner.core.validation import ServerCalibration
    prof = load_profile(next((REF / "vllm-cpu").glob("*.json")))
    base = engine_capacity(prof, 256, 64, 2.0, 0.2)
    flat = engine_capacity(prof, 256, 64, 2.0, 0.2, calibration=ServerCalibration(0.0, 0.0))
    slower = engine_capacity(prof, 256, 64, 2.0, 0.2, calibration=ServerCalibration(0.0, 0.0, 0.002))
    assert flat.requests_per_s == base.requests_per_s and flat.step.per_seq_s == base.step.per_seq_s
    assert slower.step.per_seq_s == pytest.approx(base.step.per_seq_s + 0.002) and slower.requests_per_s < base.requests_per_s
    assert "+2.00 ms a sequence" in slower.notes[0] and "a sequence" not in flat.notes[0]
