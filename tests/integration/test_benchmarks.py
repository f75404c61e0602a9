"""benchmarks/capacity_vs_measured.py's bookkeeping: the suites' names, merging runs made in parts, and recomputing a
committed result's predictions (the model code the plans use reproduces what the file says it predicted)."""
from __future__ import annotations

import importlib.util
import sys

import pytest

from planner.core.validation import CapacityValidation
from tests.conftest import REPO


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("capacity_vs_measured", REPO / "benchmarks/capacity_vs_measured.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["capacity_vs_measured"] = module
    spec.loader.exec_module(module)
    return module


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


def test_the_prompt_cache_probe_takes_only_a_shared_prefix_workload_of_the_suite(bench, monkeypatch):
    spec = importlib.util.spec_from_file_location("prompt_cache_probe", REPO / "benchmarks/prompt_cache_probe.py")
    probe = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(probe)
    for name in ("128→16", "long-tailed chat (lognormal)", "no such workload"):  # no prefix to cache in the first two
        monkeypatch.setattr(sys, "argv", ["prompt_cache_probe.py", "--workload", name, "--rate", "0.4"])
        with pytest.raises(SystemExit, match="--workload: no shared-prefix llama-server workload"):
            probe.main()
