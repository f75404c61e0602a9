"""benchmarks/capacity_vs_measured.py's bookkeeping: the suites' names, merging runs made in parts, and recomputing a
committed result's predictions (the model code the plans use reproduces what the file says it predicted)."""
from __future__ import annotations

import importlib.util
import sys

import numpy as np
import pytest

from planner.core.validation import CapacityValidation
from tests.conftest import REPO


def _bench_module(name: str):
    """A script under benchmarks/ imported as a module (registered in sys.modules: dataclasses and pydantic models resolve their module by name)."""
    spec = importlib.util.spec_from_file_location(name, REPO / f"benchmarks/{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def bench():
    return _bench_module("capacity_vs_measured")


XEON = REPO / "benchmarks/results/capacity-validation-xeon-20261126.json"


def test_the_issue_23_suite_has_what_the_issue_asks_per_engine(bench):
    from planner.core.lengths import RequestMix
    for engine, suite in bench.SUITE_23.items():
        fixed = [w for w in suite if not isinstance(w[1], RequestMix)]
        mixes = [w[1] for w in suite if isinstance(w[1], RequestMix)]
        assert len(suite) >= 12 and len({bench.workload_name(w) for w in suite}) == len(suite), engine
        assert sum(i >= 1024 and o <= 64 for i, o, *_ in fixed) >= 4
        assert min(i for i, *_ in fixed) == 128 and max(o for _, o, *_ in fixed) >= 256
        assert sum(not any(m.cached_in) and not m.is_fixed for m in mixes) >= 3 and sum(any(m.cached_in) for m in mixes) >= 2
    assert bench.workload_name((1024, 32, 5.0, 0.25)) == "1024→32"
    assert bench.find_workload("vllm", "1024→32") == (1024, 32, 5.0, 0.25) and bench.find_workload("vllm", "nope") is None


def test_only_takes_names_that_hold_commas_and_shapes_written_either_way(bench):
    names = {bench.workload_name(w) for w in bench.SUITE_23["llama-server"]}
    assert bench.only_names("128x16, two-point 90% 128→16, 10% 512→64,1024->64", names) == [
        "128→16", "two-point 90% 128→16, 10% 512→64", "1024→64"]
    with pytest.raises(KeyError, match="two-point 90% 128→16"):
        bench.only_names("128x16,two-point 90% 128→16", names)


def test_a_run_in_parts_merges_replacing_what_it_measured_again(bench):
    old = CapacityValidation.model_validate_json(XEON.read_text())
    again = old.records[0].model_copy(update={"measured_requests_per_s": 99.0, "error_pct_rate": -50.0})
    cal = next(c for c in old.calibrations if c.engine == again.engine)
    merged = bench.combine([again], [cal], machine=old.machine, command="x", notes=["n"], old=old)
    assert merged.n_workloads == old.n_workloads  # replaced, not added
    assert [r for r in merged.records if r.measured_requests_per_s == 99.0] == [again]
    assert merged.command == f"{old.command} ; x" and merged.notes[-1] == "n"
    other = old.machine.model_copy(update={"cpu_model": "Another CPU"})
    with pytest.raises(SystemExit, match="measured on .* this machine is Another CPU"):
        bench.combine([again], [cal], machine=other, command="x", notes=[], old=old)


def test_recomputing_the_committed_predictions_reproduces_them(bench):
    old = CapacityValidation.model_validate_json(XEON.read_text())
    new = bench.reanalysed(old)
    for a, b in zip(old.records, new.records, strict=True):
        assert b.predicted_requests_per_s == pytest.approx(a.predicted_requests_per_s, rel=1e-9), (a.engine, a.tokens_in, a.tokens_out)
        assert [p.predicted_ttft_p95_s for p in b.points] == pytest.approx([p.predicted_ttft_p95_s for p in a.points], rel=1e-9)


PROMPT_SCALED = REPO / "benchmarks/results/calibration-variants/suite23-validation-vllm-xeon-20261204-suite-prompts.json"


def test_a_prompt_scaled_calibration_reproduces_its_committed_predictions(bench):
    # the multiplicative prefill calibration (fit_prefill_scale) as plans apply it: the file was written by the run
    old = CapacityValidation.model_validate_json(PROMPT_SCALED.read_text())
    assert old.calibrations[0].prefill_scale == pytest.approx(0.6785, abs=1e-4)
    new = bench.reanalysed(old)
    for a, b in zip(old.records, new.records, strict=True):
        assert b.predicted_requests_per_s == pytest.approx(a.predicted_requests_per_s, rel=1e-9), a.name
        assert b.prefill_scale == a.prefill_scale


def test_recalibrating_on_another_profile_refuses_one_of_another_cpu_or_engine(bench):
    old = CapacityValidation.model_validate_json((REPO / "benchmarks/results/suite23-validation-vllm-xeon-20261204-suite.json").read_text())
    epyc = next((REPO / "profiles/reference/validation-epyc").glob("*__vllm__*.json"))
    with pytest.raises(SystemExit, match=r"--profile: .* was measured on AMD EPYC.*, the file on Intel"):
        bench.recalibrate(old, None, print, (1,), (), epyc)
    llama = next((REPO / "profiles/reference/validation").glob("*__cpu__*.json"))
    with pytest.raises(SystemExit, match="--profile: .* is a profile of llama-server, and that file validated vllm"):
        bench.recalibrate(old, None, print, (1,), (), llama)


def _replay_probe():
    return _bench_module("replay_probe")


def test_the_replay_probe_refuses_an_unknown_workload_or_mode_before_starting_a_server(bench, monkeypatch):
    probe = _replay_probe()
    for argv, message in ((["--workload", "no such workload", "--rate", "0.4"], "--workload: no llama-server workload"),
                          (["--workload", "128x16", "--rate", "0.4", "--modes", "plain,fast"], "--modes: plain and/or stream"),
                          (["--workload", "128x16", "--rate", "0"], "--rate must be above 0")):
        monkeypatch.setattr(sys, "argv", ["replay_probe.py", *argv])
        with pytest.raises(SystemExit, match=message):
            probe.main()


def test_the_replay_probe_summarises_the_servers_own_timings_per_request(bench):
    probe = _replay_probe()
    got = [  # two requests of 100 prompt tokens, one served 60 of them from a cache; 5 and 3 output tokens
        {"ttft_s": 0.2, "e2e_s": 1.0, "gaps_s": [0.1, 0.3], "prompt_n": 100, "prompt_ms": 400.0, "predicted_ms": 80.0, "predicted_n": 5},
        {"ttft_s": 0.4, "e2e_s": 2.0, "gaps_s": [0.2], "prompt_n": 40, "prompt_ms": 40.0, "predicted_ms": 60.0, "predicted_n": 3},
    ]
    out = probe.summarize_run(got, [100, 100], [5, 3], [80, 80])
    assert out["decode_s_per_token_p50"] == pytest.approx((0.080 / 4 + 0.060 / 2) / 2)  # 20 and 30 ms a token
    assert out["prompt_s_per_evaluated_token_p50"] == pytest.approx((0.004 + 0.001) / 2)  # 4 and 1 ms a token
    assert out["ttft_p50_s"] == pytest.approx(0.3) and out["e2e_p50_s"] == pytest.approx(1.5)
    assert out["cached_tokens"] == 60 and out["misses"] == 1  # the first took nothing of its 80 shareable tokens
    assert out["itl_p95_s"] == pytest.approx(np.percentile([0.1, 0.3, 0.2], 95))


@pytest.fixture(scope="module")
def gpu_bench():
    return _bench_module("gpu_vs_published")


def _sweep(conc, ttft_ms, tpot_ms, thr, p_ttft_ms, p_tpot_ms, p_thr):
    import pandas as pd
    return pd.DataFrame([{"split": "model", "kind": "concurrency", "model": "m", "gpu": "g", "tp": 1, "precision": "bf16",
                          "tokens_in": 1000.0, "tokens_out": 100.0, "concurrency": c, "measured_ttft_p50_ms": a, "measured_tpot_p50_ms": b,
                          "measured_output_tok_s": t, "predicted_ttft_p50_ms": pa, "predicted_tpot_p50_ms": pb, "predicted_output_tok_s": pt}
                         for c, a, b, t, pa, pb, pt in zip(conc, ttft_ms, tpot_ms, thr, p_ttft_ms, p_tpot_ms, p_thr, strict=True)])


def test_capacity_at_slo_on_a_sweep_by_hand(gpu_bench):
    """A 4-point sweep (concurrency 1, 4, 16, 64): SLOs at the two interior points' own latencies. Predicted = measured
    gives 0 % at exactly those concurrencies; predicted TTFTs twice the measured miss the SLO 4 → 16 ... earlier: at the
    point-16 SLO (TTFT 400 ms) the predicted TTFTs 200, 400, 800 cross at 4 — throughput 400 predicted vs 1,000 measured,
    −60 %; predicted TPOT 4 × the measured at the first SLO misses even at concurrency 1: no error, a bound instead."""
    conc, ttft, tpot, thr = [1, 4, 16, 64], [100, 200, 400, 1600], [10, 10, 20, 40], [100, 400, 1000, 1600]
    same = gpu_bench.capacity_at_slo(_sweep(conc, ttft, tpot, thr, ttft, tpot, thr))
    assert same["error_pct_capacity_at_slo"].tolist() == [0.0, 0.0]
    assert same["measured_concurrency_at_slo"].tolist() == pytest.approx([4.0, 16.0])
    slow = gpu_bench.capacity_at_slo(_sweep(conc, ttft, tpot, thr, [2 * x for x in ttft], tpot, thr))
    assert slow.loc[1, "predicted_concurrency_at_slo"] == pytest.approx(4.0) and slow.loc[1, "error_pct_capacity_at_slo"] == pytest.approx(-60.0)
    worse = gpu_bench.capacity_at_slo(_sweep(conc, ttft, tpot, thr, ttft, [4 * x for x in tpot], thr))
    first = worse.iloc[0]
    assert first["error_pct_capacity_at_slo"] is None or np.isnan(first["error_pct_capacity_at_slo"])
    assert first["why_not_predicted"] == "predicted latencies miss the SLO at the lowest concurrency measured"
    assert first["abs_error_pct_at_least"] == pytest.approx(75.0)  # capacity at most 100 tok/s (concurrency 1) vs 400 measured
    summary = gpu_bench.capacity_summary(worse)
    assert (summary["n_capacity_unbracketed"], summary["n_capacity_at_slo"], summary["median_abs_error_pct_capacity_at_slo_all_at_least"]) == (2, 0, 82.5)


def test_the_end_to_end_split_by_hand():
    """Two held-out loaded rows and one the split skips: row a predicts TTFT 100 ms too long and TPOT 1 ms too short
    over 100 further tokens — end to end exactly right (0 %) while TTFT and TPOT are both off; row b is 10 % slow end
    to end; a burst row and a row without a measured end-to-end p50 are left out."""
    import pandas as pd
    module = _bench_module("gpu_e2e_split")

    def row(i, kind, ttft, tpot, p_ttft, p_tpot):
        return {"id": i, "split": "model", "kind": kind, "model": "m", "tokens_out": 101.0, "measured_ttft_p50_ms": ttft,
                "measured_tpot_p50_ms": tpot, "predicted_ttft_p50_ms": p_ttft, "predicted_tpot_p50_ms": p_tpot,
                "error_pct_ttft_p50": 100 * (p_ttft / ttft - 1), "error_pct_tpot_p50": 100 * (p_tpot / tpot - 1)}
    validation = {"rows": [row("a", "concurrency", 200, 10, 300, 9), row("b", "concurrency", 500, 20, 550, 22),
                           row("c", "burst", 200, 10, 300, 9), row("d", "concurrency", 200, 10, 300, 9)]}
    corpus = pd.DataFrame({"id": ["a", "b", "c", "d"], "e2el_p50_ms": [1200.0, 2500.0, 1200.0, None]})
    out = module.split_errors(validation, corpus)
    assert out["error_pct_e2e_p50"].tolist() == pytest.approx([0.0, 10.0])  # (300 + 900) / 1200; (550 + 2200) / 2500
    assert out["sum_of_medians_vs_e2e_pct"].tolist() == pytest.approx([0.0, 0.0])
    assert out["error_pct_ttft_p50"].tolist() == pytest.approx([50.0, 10.0])
