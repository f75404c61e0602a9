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
    assert labels["g5.xlarge"].startswith("✗ g5.xlarge — aws — 1×NVIDIA A10G — $") and labels["g5.xlarge"].endswith("not the profile's hardware")
    assert labels["m7g.large"].startswith("✗ m7g.large — aws — 2 vCPU — $")  # a CPU row is its vCPUs, not "0×cpu"
    marked = [k.startswith("✗") for k, _ in dash.instance.options]
    assert marked == sorted(marked) and not marked[0] and all(  # the H100's own hardware first, unmarked
        "H100" in k for k, _ in dash.instance.options if not k.startswith("✗"))
    dash.profile.value = "cpu"
    assert not {v: k for k, v in dash.instance.options}[dash.instance.value].startswith("✗")  # a CPU profile: its own CPU first


def test_an_api_name_that_is_no_row_is_marked_and_refused_not_swapped(tmp_path):
    profiles = {"cpu": load_profile(SMOL)}
    dash = PlanDashboard(profiles, load_catalog("instances"), load_catalog("api_prices"), workload=W)
    before = dash.result
    dash.api.value = "claude-haiku"  # what the issue typed: the plan used to keep the previous row without a word
    assert "llm-invalid" in dash.api._dom_classes and "API model: api_prices: no row named 'claude-haiku'" in dash.message.value and "did you mean" in dash.message.value
    assert dash.result is before and "stale" in dash.summary.value  # the last valid plan stays, greyed, not re-labelled
    dash.api.value = "gpt-4o"
    assert "llm-invalid" not in dash.api._dom_classes and dash.message.value == "" and dash.result.prices.api_label == "gpt-4o"
    written = dash.export(tmp_path, "state")  # the export button: a plan file the CLI reproduces, and the report
    assert [p.name for p in written] == ["state.yaml", "state.html"]
    from planner.formats.plan_file import load_params
    params = load_params(written[0])
    assert (params.api, params.instance, params.workload) == ("gpt-4o", dash.instance.value, dash.workload())
    assert "gpt-4o" in written[1].read_text()
    bundle = dash.widget()._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle and "Static copy" in bundle["text/html"]  # a viewer without widgets
    assert dash.result.verdict().split(" (")[0].replace("$", "&#36;")[:40] in bundle["text/html"]


def test_a_logs_distribution_and_day_shape_carry_through_the_dashboard_and_the_token_boxes_scale_it():
    from planner.core.plan import LengthMix
    day = [1.0] * 12 + [3.0] * 12
    logged = W.model_copy(update={"lengths": LengthMix(tokens_in=[64, 192], tokens_out=[8, 24], source="a test log"),
                                  "tokens_in": 128.0, "tokens_out": 16.0, "hour_of_day": day})
    dash = PlanDashboard({"cpu": load_profile(SMOL)}, load_catalog("instances"), load_catalog("api_prices"), workload=logged)
    w = dash.workload()
    assert w.lengths == logged.lengths and w.hour_of_day == day and w.request_mix() == logged.request_mix()
    assert dash.result.mean_shape_capacity_rps is not None  # the plan shown is the distribution's, with the mean shape beside it
    dash.tokens_in.value = 256  # a what-if on the mean prompt: every request's prompt doubles
    assert dash.workload().request_mix().tokens_in == (128, 384)
