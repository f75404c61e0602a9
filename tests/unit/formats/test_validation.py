"""The committed capacity-validation result, read and turned into what a plan shows beside its capacity."""
import pytest

from planner.core.errors import DataError
from planner.formats.profiles import load_profile
from planner.formats.validation import RESULTS_DIR, load_validation, newest_validation, validation_for
from tests.conftest import REPO


def test_the_committed_result_is_typed_and_its_summary_adds_up():
    result, path = newest_validation(RESULTS_DIR)
    assert path.name.startswith("capacity-validation-") and set(result.engines) == {"vllm", "llama-server"}
    assert result.n_workloads == len(result.records) >= 16
    rated = [r for r in result.records if r.error_pct_rate is not None]
    assert result.n_with_measured_rate == len(rated) >= 8
    assert result.max_abs_error_pct_rate == pytest.approx(max(abs(r.error_pct_rate) for r in rated))


def test_a_profile_on_the_validated_machine_gets_the_server_calibration_and_its_error():
    vllm = load_profile(next((REPO / "profiles/reference/validation").glob("*__vllm__*.json")))
    note, error, cal, server = validation_for(vllm)
    assert server is not None and server.ttft_overhead_s == cal.ttft_overhead_s
    assert note.startswith("validated against a real vllm server (engine model + this server's calibration): median |error| ")
    assert error.describe() == f"±{cal.median_abs_error_pct_rate:.0f}% median, worst {cal.max_abs_error_pct_rate:.0f}%"
    epyc = load_profile(next((REPO / "profiles/reference/cpu-epyc").glob("SmolLM2-135M-Instruct.Q4_1*.json")))
    note, error, cal, server = validation_for(epyc)  # another CPU: the engine model alone, its own (raw) error
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
