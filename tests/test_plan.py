"""The planning question answered from a real profile and the shipped catalogs."""
import numpy as np
import pytest

from planner import costmodel as cm
from planner.catalog import load_catalog, lookup
from planner.errors import PlannerError
from planner.plan import PriceChoice, Workload, plan
from planner.schema import load_profile
from planner.selection import default_api, instance_mismatch, matching_instance

from .conftest import REPO

# what a 135M model on two CPU cores is for: short extraction/classification requests; the SLO is loose because these
# tests check the planning arithmetic on a real profile, whatever else the shared machine is doing
SMALL_TASK = Workload(tokens_in=128, tokens_out=16, ttft_slo_s=30.0, itl_slo_s=5.0)


@pytest.fixture(scope="module")
def prices(tiny_profile):
    profile, _ = tiny_profile
    return PriceChoice.from_rows(matching_instance(profile, load_catalog("instances")), default_api(load_catalog("api_prices")))


def test_matching_instance_is_a_cpu_instance_with_enough_vcpus(tiny_profile):
    profile, _ = tiny_profile
    row = matching_instance(profile, load_catalog("instances"))
    assert row["accelerator"] == "cpu" and row["vcpus"] >= profile.hardware.logical_cores


def test_plan_break_even_is_where_the_curves_cross(tiny_profile, prices):
    profile, path = tiny_profile
    r = plan(profile, prices, SMALL_TASK.model_copy(update={"volume_points": 400}), profile_ref=str(path))
    assert r.capacity_rps > 0 and r.replica_usd_per_month == pytest.approx(prices.replica_usd_per_hour * 730)
    c = r.curves
    assert np.all(c["selfhost_usd_per_month"] > 0) and np.all(np.diff(c["selfhost_usd_per_month"]) >= 0)
    if r.self_host_ever_cheaper:
        v = r.break_even_first
        self_at = cm.selfhost_monthly_usd(v, r.capacity_rps, r.replica_usd_per_month, SMALL_TASK.peak_to_avg, SMALL_TASK.max_utilisation)
        assert float(self_at) == pytest.approx(v * r.api_usd_per_request, rel=1e-9)
    assert r.at_target["replicas"] >= 1 and "break-even volume" in r.summary()["quantity"].tolist()


def test_unreachable_slo_is_explained(tiny_profile, prices):
    profile, _ = tiny_profile
    with pytest.raises(PlannerError, match="no measured load level .* meets TTFT"):
        plan(profile, prices, Workload(itl_slo_s=1e-6))


def test_missing_spot_price_is_named(tiny_profile):
    inst = load_catalog("instances")
    no_spot = inst[inst["spot_usd_per_hour"].isna()]
    if no_spot.empty:
        pytest.skip("every instance has a spot price")
    with pytest.raises(PlannerError, match="spot"):
        PriceChoice.from_rows(no_spot.iloc[0], default_api(load_catalog("api_prices")), price_kind="spot")


def test_cli_plan_prints_the_answer(tiny_profile, tmp_path):
    import subprocess
    import sys
    _, path = tiny_profile
    out = subprocess.run([sys.executable, "-m", "planner", "plan", "--profile", str(path), "--requests", "3e6", "--tokens-in", "128",
                          "--tokens-out", "16", "--ttft-slo", "30", "--itl-slo", "5", "--html", str(tmp_path / "p.html")],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "break-even volume" in out.stdout and "replicas at 3,000,000 req/month" in out.stdout
    assert (tmp_path / "p.html").is_file()


def test_pricing_on_other_hardware_is_flagged():
    """A committed H100 profile priced on an A10G or an 8-GPU instance gets a warning naming both; a matching
    GPU count and model gets none; a CPU profile on a CPU instance notes that the CPU may differ."""
    h100 = load_profile(next((REPO / "profiles/reference/h100").glob("Mistral-7B*.json")))
    cpu = load_profile(next((REPO / "profiles/reference/cpu").glob("SmolLM2-135M-Instruct.Q4_1__*.json")))
    a10g = instance_mismatch(h100, "NVIDIA A10G", 1, 4, "g5.xlarge")
    assert "H100" in a10g and "g5.xlarge (1× NVIDIA A10G)" in a10g
    assert "8× NVIDIA H100" in instance_mismatch(h100, "NVIDIA H100 SXM 80GB", 8, 208, "a3-highgpu-8g")
    assert instance_mismatch(h100, "NVIDIA H100 SXM 80GB", 1, 26, "a3-highgpu-1g") is None
    assert "but priced as g5.xlarge" in instance_mismatch(cpu, "NVIDIA A10G", 1, 4, "g5.xlarge")
    assert "its CPU may differ" in instance_mismatch(cpu, "cpu", 0, 2, "c7i.large")
    g5 = lookup(load_catalog("instances"), "instances", "g5.xlarge")
    result = plan(h100, PriceChoice.from_rows(g5, default_api(load_catalog("api_prices"))), Workload())
    assert any("priced as g5.xlarge" in w for w in result.warnings)
