"""The dashboard: a profile brings its own instance, a mismatch is a red banner, labels tell profiles apart."""
from __future__ import annotations

from planner.core.plan import Workload
from planner.formats.catalog import load_catalog
from planner.formats.profiles import load_profile
from planner.present.dashboard import PlanDashboard
from tests.conftest import REPO
from tests.unit.conftest import SMOL

H100_MISTRAL = next((REPO / "profiles/reference/h100").glob("Mistral-7B-v0.1-L32*.json"))
W = Workload(requests_per_month=3e6, tokens_in=128, tokens_out=16, ttft_slo_s=5.0, itl_slo_s=0.5)


def test_profile_labels_are_unique_and_keyed_by_file():
    from planner.present.dashboard import labelled_profiles
    paths = sorted((REPO / "profiles" / "reference").rglob("*.json"))
    labelled = labelled_profiles(paths)
    assert len(labelled) == len(paths) > 20  # one entry per file: none collapses onto another's label


def test_a_new_profile_brings_its_own_instance_and_a_mismatch_is_a_red_banner():
    from planner.core.matching import matching_instance
    from planner.formats.catalog import records
    profiles = {"cpu": load_profile(SMOL), "h100": load_profile(H100_MISTRAL)}
    dash = PlanDashboard(profiles, load_catalog("instances"), load_catalog("api_prices"), workload=W)
    assert dash.instance.value == matching_instance(profiles["cpu"], records("instances")).instance and dash.message.value == ""
    dash.instance.value = "g5.xlarge"  # the user prices the CPU profile on an A10G instance
    dash.profile.value = "h100"  # ... then picks the H100 profile: the instance follows the profile
    assert dash.instance.value == matching_instance(profiles["h100"], records("instances")).instance
    assert dash.message.value == "" and dash.cost_fig.data[0].opacity == 1.0
    dash.instance.value = "g5.xlarge"  # an H100's speed at an A10G's price
    assert "class='mismatch'" in dash.message.value and "H100" in dash.message.value and dash.cost_fig.data[0].opacity == 0.3
    assert all(not s.continuous_update for s in (dash.peak, dash.util, dash.share))  # redraw on release
    labels = {v: k for k, v in dash.instance.options}
    assert labels["g5.xlarge"].startswith("g5.xlarge — aws — 1×NVIDIA A10G — $")
    assert labels["m7g.large"].startswith("m7g.large — aws — 2 vCPU — $")  # a CPU row is its vCPUs, not "0×cpu"
