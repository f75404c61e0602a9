"""planner/app/fleet.py: the GPU efficiency it fits from the committed H100 profiles, used by the projection."""
import pytest

from planner.app.fleet import gpu_efficiency
from planner.core.projection import calibrate_decode, predict_card, project_profile
from planner.formats.catalog import load_card, record
from planner.formats.profiles import load_profile
from tests.conftest import REPO


def test_one_projection_answer_for_a_gpu_profile():
    """The issue's 46 %: scaling every timing by bandwidth (project_profile without the split) and the calibrated
    predict_card disagreed on Mistral-7B on an A10. Through the roofline split of the fitted H100 efficiency they agree."""
    import glob


    h100 = [load_profile(f) for f in sorted(glob.glob(str(REPO / "profiles/reference/h100/**/*.json"), recursive=True))]
    mistral = next(p for p in h100 if p.model.clone_of == "Mistral-7B-v0.1")
    src, dst = record("hardware", "NVIDIA H100 SXM 80GB"), record("hardware", "NVIDIA A10")
    split = project_profile(mistral, src, dst, gpu_efficiency())
    cal = calibrate_decode([p for p in h100 if p is not mistral], src.memory_bandwidth_gb_s * 1e9)
    card = predict_card(cal, load_card("Mistral-7B-v0.1"), "Q4_K_M", target_bandwidth_bytes_s=dst.memory_bandwidth_gb_s * 1e9)
    assert split.decode[0].tok_s.mean == pytest.approx(card["predicted_decode_tok_s"], rel=0.10)
    same = project_profile(mistral, src, src, gpu_efficiency())  # the same device: nothing moves
    assert same.decode[0].tok_s.mean == pytest.approx(mistral.decode[0].tok_s.mean)
    assert same.concurrency_sweep[-1].aggregate_decode_tok_s.mean == pytest.approx(mistral.concurrency_sweep[-1].aggregate_decode_tok_s.mean)
    # a batched step is not projected as memory-bound: it slows by less than the bandwidth ratio
    ratio = split.concurrency_sweep[-1].aggregate_decode_tok_s.mean / mistral.concurrency_sweep[-1].aggregate_decode_tok_s.mean
    assert ratio > dst.memory_bandwidth_gb_s / src.memory_bandwidth_gb_s


def test_the_70b_tp4_capacity_holds_on_a_3000_request_run():
    """Issue 22 #6: 200 simulated requests passed Llama-3.1-70B on 4 × H100 (TP4, 1000 → 300, 2 s / 100 ms) at 1.449
    req/s, where 3,000 requests give a p95 ITL of 217 ms. The steady-state rule answers a rate a 3,000-request run —
    on yet another arrival sequence — meets."""
    from planner.core.deploy import engine_estimate, memory_plan, step_model
    from planner.core.simulate import rate_point
    from planner.formats.catalog import device_for
    card, dev, eff = load_card("Llama-3.1-70B"), device_for(record("hardware", "NVIDIA H100 SXM 80GB")), gpu_efficiency()
    short = engine_estimate(card, "bf16", dev, eff, 4, 1, 1000, 300, 2.0, 0.1, steady=False)
    steady = engine_estimate(card, "bf16", dev, eff, 4, 1, 1000, 300, 2.0, 0.1)
    step, sched = step_model(card, "bf16", dev, eff, 4, 1, memory_plan(card, "bf16", dev, 4, 1, 1300))
    long_short = rate_point(step, sched, 1000, 300, short.requests_per_s, n_requests=3000, seed=7)
    long_steady = rate_point(step, sched, 1000, 300, steady.requests_per_s, n_requests=3000, seed=7)
    assert short.requests_per_s == pytest.approx(1.45, abs=0.01) and long_short.itl_p95_s > 0.1
    assert steady.requests_per_s < 0.9 * short.requests_per_s
    assert long_steady.itl_p95_s <= 0.1 and long_steady.ttft_p95_s <= 2.0


def test_the_fleet_plans_with_the_vllm_fit_and_carries_its_held_out_error_by_kind():
    """Issue 22: `fleet` uses the model `predict` uses (data/gpu_step_fit.json), and each answer carries that fit's
    held-out speed error for the card's kind; the A10G of the seed claim is ranked, named as outside the fit."""
    from planner.app.fleet import answer_fleet, fleet_fit, speed_error_pct
    from planner.core.plan import Workload
    from planner.formats.gpu_corpus import read_fit

    eff, fit = fleet_fit()
    assert (eff, fit) == read_fit()
    held = fit.held_out_split("model")
    assert speed_error_pct(load_card("Mistral-7B-v0.1"), fit) == held.median_abs_error_pct_speed_dense
    assert speed_error_pct(load_card("Mixtral-8x7B-v0.1"), fit) == held.median_abs_error_pct_speed_moe
    w = Workload(tokens_in=512, tokens_out=128, ttft_slo_s=2, itl_slo_s=0.1, requests_per_month=1e6)
    answer = answer_fleet("Mistral-7B-v0.1", w, hardware=["NVIDIA A10G"], top=3)
    assert not answer.result.ranked.empty and set(answer.result.ranked["device"]) == {"NVIDIA A10G"}
    assert answer.error_pct == held.median_abs_error_pct_speed_dense
    assert answer.notes[0].startswith(f"capacity model: the vLLM GPU step model fitted on {eff.source} (gpu_step_fit.json")
    assert f"Mistral-7B-v0.1 is dense: its capacities and verdicts carry that {held.median_abs_error_pct_speed_dense:.0f}%" in answer.notes[1]
    assert any(n.startswith("NVIDIA A10G: no published measurement in the fit") for n in answer.notes)
    cap = next(n for n in answer.notes if n.startswith("capacity at an SLO"))  # the number a fleet row is, held out
    assert f"median |error| {held.median_abs_error_pct_capacity_at_slo:.0f}% on {held.n_capacity_at_slo} points" in cap
    assert held.n_capacity_at_slo > 0 and f"{held.n_capacity_unbracketed} more" in cap
    burst = fit.held_out_split("burst")  # the check at saturation, each model held out
    assert f"{burst.n_rows} published runs, each model held out): throughput median |error| {burst.median_abs_error_pct_throughput:.0f}%" \
        in next(n for n in answer.notes if n.startswith("at saturation"))
