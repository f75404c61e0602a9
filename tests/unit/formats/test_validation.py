"""The committed capacity-validation result, read and turned into what a plan shows beside its capacity."""
import datetime as dt

import pytest

from planner.core.errors import DataError
from planner.formats.profiles import load_profile
from planner.formats.validation import RESULTS_DIR, load_validation, quoted_validation, validation_for, validations
from tests.conftest import REPO, VLLM_VALIDATION_PROFILE


def test_every_committed_result_is_typed_and_its_summary_adds_up():
    found = validations(RESULTS_DIR)
    assert {p.name for _, p in found} >= {"capacity-validation-xeon-20261126.json", "suite23-validation-xeon-20261203.json"}
    assert not any(p.name.startswith("gpu-validation") for _, p in found)  # another kind of result, not a capacity validation
    for result, path in found:
        assert result.n_workloads == len(result.records), path.name
        rated = [r for r in result.records if r.error_pct_rate is not None]
        assert result.n_with_measured_rate == len(rated), path.name
        if rated:
            assert result.max_abs_error_pct_rate == pytest.approx(max(abs(r.error_pct_rate) for r in rated)), path.name


def _write(folder, result, name, **changes):
    folder.joinpath(name).write_text(result.model_copy(update=changes).model_dump_json())


def test_a_plan_quotes_the_broadest_validation_on_its_own_cpu(tmp_path):
    base, _ = next(vf for vf in validations(RESULTS_DIR) if vf[1].name == "capacity-validation-xeon-20261126.json")
    cal = base.for_engine("llama-server")
    wide, narrow = (cal.model_copy(update={"n_with_measured_rate": n}) for n in (9, 3))
    epyc = base.machine.model_copy(update={"cpu_model": "AMD EPYC 7B13"})
    t0 = base.created_at
    _write(tmp_path, base, "suite-validation-a.json", calibrations=[wide], created_at=t0)
    _write(tmp_path, base, "probe-validation-b.json", calibrations=[narrow], created_at=t0 + dt.timedelta(days=1))  # newer, narrower
    _write(tmp_path, base, "other-validation-c.json", calibrations=[wide.model_copy(update={"n_with_measured_rate": 12})],
           machine=epyc, created_at=t0)  # broader, but another CPU
    tmp_path.joinpath("gpu-validation-d.json").write_text('{"median_abs_error_pct_throughput": 1.0}')  # not a capacity validation
    validations.cache_clear()
    assert quoted_validation("llama-server", base.machine.cpu_model, tmp_path)[2].name == "suite-validation-a.json"
    assert quoted_validation("llama-server", "AMD EPYC 7B13", tmp_path)[2].name == "other-validation-c.json"
    assert quoted_validation("llama-server", "a CPU never validated", tmp_path)[2].name == "other-validation-c.json"
    _write(tmp_path, base, "later-validation-e.json", calibrations=[wide], created_at=t0 + dt.timedelta(days=2))  # as broad, newer
    validations.cache_clear()
    assert quoted_validation("llama-server", base.machine.cpu_model, tmp_path)[2].name == "later-validation-e.json"
    assert quoted_validation("vllm", base.machine.cpu_model, tmp_path) is None  # no file validates it


def test_a_profile_on_the_validated_machine_gets_the_server_calibration_and_its_error():
    vllm = load_profile(VLLM_VALIDATION_PROFILE)
    note, error, cal, server = validation_for(vllm)
    assert server is not None and server.ttft_overhead_s == cal.ttft_overhead_s
    assert note.startswith("validated against a real vllm server (engine model + this server's calibration): median |error| ")
    assert error.describe() == f"±{cal.median_abs_error_pct_rate:.0f}% median, worst {cal.max_abs_error_pct_rate:.0f}%"
    epyc = load_profile(next((REPO / "profiles/reference/cpu-epyc").glob("SmolLM2-135M-Instruct.Q4_1*.json")))
    note, error, cal, server = validation_for(epyc)  # validated on its own CPU too: that run's calibration
    assert server is not None and note.endswith("(suite23-validation-epyc-20261203.json)")
    other = epyc.model_copy(update={"hardware": epyc.hardware.model_copy(update={"cpu_model": "a CPU no validation ran on"})})
    note, error, cal, server = validation_for(other)  # another CPU: the engine model alone, its own (raw) error
    assert server is None and "(engine model alone)" in note and "not on this profile's hardware" in note
    assert (error.median_pct, error.worst_pct) == (cal.raw_median_abs_error_pct_rate, cal.raw_max_abs_error_pct_rate)


def test_a_validation_on_cpus_does_not_validate_a_gpu_profile():
    h100 = load_profile(next((REPO / "profiles/reference/h100").glob("Mistral*.json")))
    note, error, cal, server = validation_for(h100)
    assert note.startswith("not validated on this hardware: the llama-server capacity model was validated on ")
    assert "no measurement on NVIDIA H100" in note and error is None and server is None


def test_a_damaged_result_is_one_line(tmp_path):
    bad = tmp_path / "capacity-validation-x.json"
    bad.write_text("{}")
    with pytest.raises(DataError, match="capacity-validation-x.json: not a readable capacity-validation result"):
        load_validation(bad)
