"""One path from inputs to a plan (issue 25): the CLI, `compare`, the dashboard's compute, the claims and the notebook
API resolve the same inputs through `formats.inputs` and give identical numbers and warnings; `compare` prices the
exact volume; the tornado's token bars are the plan re-run; the KV cache comes from the priced device."""
from __future__ import annotations

import json

import numpy as np
import pytest

from planner.app.claims import cost_at_scale
from planner.app.cli import main
from planner.app.workflows import compare_options, plan_profile
from planner.core.capacity import PricedMemory, kv_capacity
from planner.core.errors import MeasurementError
from planner.core.plan import Workload
from planner.core.uncertainty import Ranges, tornado
from planner.formats.catalog import load_catalog, record
from planner.formats.inputs import api_usd_per_request, priced_memory, resolve, run_plan
from planner.formats.profiles import load_profile
from planner.present.dashboard import PlanDashboard
from tests.conftest import REPO, VLLM_VALIDATION_PROFILE
from tests.unit.conftest import SMOL

VLLM = VLLM_VALIDATION_PROFILE  # vllm-cpu/ is too noisy for a verdict
H100_MISTRAL = next((REPO / "profiles/reference/h100").glob("Mistral-7B-v0.1-L32*.json"))
W = Workload(requests_per_month=3e6, tokens_in=128, tokens_out=16, ttft_slo_s=5.0, itl_slo_s=0.5, cached_fraction=0.5)


@pytest.mark.parametrize("path,instance,api", [(SMOL, "e2-standard-2", "gpt-4o-mini"), (VLLM, "c7i.large", "claude-haiku-4-5"),
                                               (SMOL, "m7i.xlarge", "gpt-4o")])
def test_every_front_end_gives_the_same_numbers_and_warnings(path, instance, api, capsys):
    args = ["--profile", str(path), "--instance", instance, "--api", api, "--requests", f"{W.requests_per_month:g}", "--tokens-in", "128",
            "--tokens-out", "16", "--ttft-slo", "5", "--itl-slo", "0.5"]
    w = W.model_copy(update={"cached_fraction": 0.0})  # the CLI has no --cached-fraction
    assert main(["plan", *args, "--format", "json"]) == 0
    cli = json.loads(capsys.readouterr().out)
    workflow, _, _ = plan_profile(path, instance, api, w)
    notebook = run_plan(resolve(load_profile(path), instance, api, w))
    dash = PlanDashboard({"p": load_profile(path)}, load_catalog("instances"), load_catalog("api_prices"), workload=w, default_instance=instance)
    dash.api.value = api
    dashboard = dash.compute()
    for r in (workflow, notebook, dashboard):
        assert r.capacity_rps == cli["capacity"]["requests_per_s"]
        assert r.at_target.selfhost_usd_per_month == cli["selfhost_usd_per_month"]
        assert r.at_target.api_usd_per_request == cli["api_usd_per_request"]
        assert r.max_concurrency_by_memory == cli["capacity"]["max_concurrency_by_memory"]
        assert r.warnings == cli["warnings"]
        assert r.validation == workflow.validation
    compared = compare_options([path], [instance], [api], w).at_volume().set_index("kind")
    assert compared.loc["self-hosted", "usd_per_month"] == cli["selfhost_usd_per_month"]
    assert compared.loc["api", "usd_per_month"] == pytest.approx(cli["api_usd_per_month"], rel=1e-12)
    claims = cost_at_scale(load_profile(path), instance, [api], [w.requests_per_month], w).iloc[0]
    assert claims["self-hosted $/month"] == cli["selfhost_usd_per_month"] and claims["API $/month"] == cli["api_usd_per_month"]


def test_the_api_price_per_request_has_one_home_and_follows_the_cache_rule():
    """gpt-4o-mini caches prefixes of 1,024 tokens or more: a 64-token cached share is billed as plain input."""
    api = record("api_prices", "gpt-4o-mini")
    short = W.model_copy(update={"tokens_in": 128, "cached_fraction": 0.5})
    long = W.model_copy(update={"tokens_in": 4096, "cached_fraction": 0.5})
    p_in, p_out, p_cache = api.input_usd_per_mtok / 1e6, api.output_usd_per_mtok / 1e6, api.cache_read_usd_per_mtok / 1e6
    assert api_usd_per_request(api, short) == pytest.approx(128 * p_in + 16 * p_out, rel=1e-12)
    assert api_usd_per_request(api, long) == pytest.approx(2048 * p_in + 2048 * p_cache + 16 * p_out, rel=1e-12)
    assert run_plan(resolve(SMOL, "c7i.large", api, short)).api_usd_per_request == api_usd_per_request(api, short)


@pytest.mark.parametrize("volume", [50.0, 3e6, 2.5e11])  # below, inside and beyond the 1e3 … 1e9 grid
def test_compare_prices_the_exact_volume_as_plan_does(volume):
    """Issue 25: at 5e9 requests/month compare read the grid's last column (1e9): the API at $28,800 instead of $144,000."""
    w = W.model_copy(update={"requests_per_month": volume, "cached_fraction": 0.0})
    r, _, _ = plan_profile(SMOL, "c7i.large", "gpt-4o-mini", w)
    at = compare_options([SMOL], ["c7i.large"], ["gpt-4o-mini"], w).at_volume().set_index("kind")
    assert at.loc["self-hosted", "usd_per_month"] == r.at_target.selfhost_usd_per_month
    assert at.loc["api", "usd_per_month"] == pytest.approx(r.at_target.api_usd_per_month, rel=1e-12)
    assert at.loc["api", "usd_per_request"] == pytest.approx(r.api_usd_per_request, rel=1e-12)


def test_the_tornado_token_bars_equal_the_plan_re_run_at_those_counts():
    """Issue 25: at 96 prompt tokens the tornado showed a saving of $9,897 where re-running the plan gave $11,168."""
    w = W.model_copy(update={"requests_per_month": 1e7, "cached_fraction": 0.0})
    inputs = resolve(SMOL, "c7i.large", "gpt-4o-mini", w)
    table = tornado(inputs.profile, w, Ranges.from_prices(inputs.prices), calibration=inputs.calibration, priced=inputs.priced).set_index("input")
    for name, base in (("tokens_in", w.tokens_in), ("tokens_out", w.tokens_out)):
        for side, factor in (("low", 0.75), ("high", 1.25)):
            moved = w.model_copy(update={name: max(1.0, base * factor)})
            assert table.loc[name, f"{side}_value"] == moved.model_dump()[name]
            r = run_plan(inputs, moved)
            expected = r.at_target.api_usd_per_month - r.at_target.selfhost_usd_per_month
            assert table.loc[name, f"saving_at_{side}"] == pytest.approx(expected, rel=1e-9), (name, side)


def test_a_cpu_plan_takes_its_kv_room_from_the_priced_instance_not_the_profiling_machine():
    """Issue 25: e2-standard-2 (8 GiB) was said to hold 1,650 requests, from the 22.7 GiB the profiling machine had free."""
    profile = load_profile(SMOL)
    mem = profile.memory
    w = Workload(tokens_in=4000, tokens_out=500, ttft_slo_s=600, itl_slo_s=60)
    r = run_plan(resolve(profile, "e2-standard-2", "gpt-4o-mini", w))
    kv = r.kv_bytes_per_token
    used = mem.peak_rss_bytes - mem.baseline_rss_bytes
    room = 8 * 2**30 - used + profile.engine.n_ctx * kv  # the KV of the profile's own n_ctx is room a replica may use
    assert r.max_concurrency_by_memory == int(room // kv) // 4500
    here = kv_capacity(profile)[0] // 4500  # what the profiling machine's free RAM would have said
    assert r.max_concurrency_by_memory < here
    assert any("e2-standard-2 RAM (8 GiB)" in n for n in r.capacity_notes)


def test_the_h100_profile_priced_on_one_a10g_fits_its_kv_in_24_gb():
    """Issue 25: the H100 Mistral-7B profile priced as g5.xlarge planned 25.8 requests of 4,500 tokens (15.2 GB of KV
    beside 14 GB of weights) with 'max_concurrency_by_memory' 125 from the H100's 80 GB."""
    profile = load_profile(H100_MISTRAL)
    w = Workload(tokens_in=4000, tokens_out=500, ttft_slo_s=60, itl_slo_s=1)
    inputs = resolve(profile, "g5.xlarge", "gpt-4o-mini", w)
    assert inputs.priced == PricedMemory(24 * 2**30, "g5.xlarge's NVIDIA A10G (24 GiB)")
    r = run_plan(inputs)
    kv = r.kv_bytes_per_token
    weights_runtime = profile.memory.vram_used_peak_bytes - profile.engine.n_ctx * kv
    assert r.max_concurrency_by_memory == int((24 * 2**30 - weights_runtime) // kv) // 4500
    assert weights_runtime + r.max_concurrency_by_memory * 4500 * kv <= 24 * 2**30  # it fits the priced card
    assert r.concurrency <= r.max_concurrency_by_memory


def test_a_model_that_does_not_fit_the_priced_device_is_refused():
    profile = load_profile(H100_MISTRAL)
    tiny = PricedMemory(2 * 2**30, "a 2 GiB card")
    with pytest.raises(MeasurementError, match="does not fit a 2 GiB card"):
        kv_capacity(profile, tiny)


def test_priced_memory_is_the_instances_ram_for_a_cpu_profile_and_one_gpu_for_a_gpu_profile():
    assert priced_memory(load_profile(SMOL), record("instances", "e2-standard-2")) == PricedMemory(8 * 2**30, "e2-standard-2 RAM (8 GiB)")
    gpu = priced_memory(load_profile(H100_MISTRAL), record("instances", "p4d.24xlarge"))
    assert gpu is not None and gpu.bytes == int(record("hardware", "NVIDIA A100 SXM 40GB").memory_gib * 2**30)
    assert priced_memory(load_profile(H100_MISTRAL), record("instances", "c7i.large")) is None  # a GPU profile on a CPU box
    assert np.isfinite(run_plan(resolve(SMOL, None, None, W)).capacity_rps)


@pytest.mark.fault
def test_one_trust_policy_no_verdict_anywhere_for_a_contended_measurement(tmp_path, capsys):
    """The same noisy profile through the CLI, the report, the dashboard and the notebook API: the figures are shown,
    no front-end names a winner, and the CLI exits 3 (issue 24: three surfaces used to behave three ways)."""
    from planner.core.records import MachineLoad
    from planner.formats.profiles import save_profile
    from planner.present.report import render_html

    noisy = load_profile(SMOL)
    noisy.load = MachineLoad(other_cpu_fraction=0.58, steal_fraction=0.0, load_avg_end=3.1, contended=True)
    path = save_profile(noisy, tmp_path / "noisy.json")
    w = W.model_copy(update={"cached_fraction": 0.0})
    notebook = run_plan(resolve(load_profile(path), "e2-standard-2", "gpt-4o-mini", w))
    assert not notebook.trustworthy and notebook.verdict().startswith("no verdict: untrustworthy measurement: the machine was busy")
    assert "is cheaper" not in notebook.verdict() and notebook.as_dict()["trustworthy"] is False

    html_out = tmp_path / "r.html"
    code = main(["plan", "--profile", str(path), "--instance", "e2-standard-2", "--tokens-in", "128", "--tokens-out", "16",
                 "--ttft-slo", "5", "--itl-slo", "0.5", "--html", str(html_out)])
    out, err = capsys.readouterr()
    assert code == 3 and "self-hosted per month" in out and "verdict:" not in out.replace("no verdict:", "")
    assert err.strip().splitlines() == [f"error: {notebook.verdict()} (profile: {path})"]
    report = html_out.read_text()
    assert 'class="answer no-verdict"' in report and "No verdict: the measurement is not trustworthy" in report and " is cheaper:" not in report

    dash = PlanDashboard({"p": load_profile(path)}, load_catalog("instances"), load_catalog("api_prices"), workload=w, default_instance="e2-standard-2")
    dash.redraw()
    assert "class='no-verdict'" in dash.summary.value and "class='verdict'" not in dash.summary.value

    quiet = run_plan(resolve(load_profile(SMOL), "e2-standard-2", "gpt-4o-mini", w))  # the same plan measured quietly does answer
    assert quiet.trustworthy and quiet.verdict().startswith("verdict: at 3,000,000 requests/month")
    assert render_html(quiet, load_profile(SMOL)).count('class="answer no-verdict"') == 0


@pytest.mark.fault
def test_compare_gives_no_recommendation_when_the_winner_rests_on_an_untrustworthy_measurement(tmp_path, capsys):
    from planner.core.records import MachineLoad
    from planner.formats.profiles import save_profile

    noisy = load_profile(SMOL)
    noisy.load = MachineLoad(other_cpu_fraction=0.58, steal_fraction=0.0, load_avg_end=3.1, contended=True)
    path = save_profile(noisy, tmp_path / "noisy.json")
    args = ["compare", "--instance", "e2-standard-2", "--api", "gpt-4o", "--tokens-in", "128", "--tokens-out", "16", "--ttft-slo", "5",
            "--itl-slo", "0.5", "--requests", "1e8"]
    assert main([*args, "--profile", str(SMOL)]) == 0 and "recommendation: " in capsys.readouterr().out
    code = main([*args, "--profile", str(path)])
    out, err = capsys.readouterr()
    assert code == 3 and "recommendation:" not in out and "cheapest by volume:" in out
    assert err.startswith("error: no verdict: ") and "rests on untrustworthy measurement: the machine was busy" in err
