"""Planning report end to end: plan from a real profile and the shipped catalogs, HTML with plotly inlined,
rendered by a real headless Chromium (installed by `make test`), screenshot kept under test-artifacts/."""
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from planner.core.matching import matching_instance
from planner.core.plan import PriceChoice, Workload, plan
from planner.formats.catalog import DEFAULT_API_MODEL, load_catalog, record, records
from planner.formats.plan_file import PlanParams
from planner.formats.profiles import load_profile, save_profile
from planner.present.report import CHROMIUM_FLAGS, find_chromium, write_report
from tests.conftest import REPO
from tests.factories import make_serving_profile

ARTIFACTS = REPO / "test-artifacts"


@pytest.fixture(scope="module")
def report(tiny_profile, tmp_path_factory):
    profile, path = tiny_profile
    result = plan(profile, PriceChoice.from_rows(matching_instance(profile, records("instances")), record("api_prices", DEFAULT_API_MODEL)),
                  Workload(tokens_in=128, tokens_out=16, ttft_slo_s=30.0, itl_slo_s=5.0), profile_ref=str(path))
    out = tmp_path_factory.mktemp("report") / "plan.html"
    write_report(result, profile, out, profile_path=path)
    return out, result


def test_html_is_standalone_with_provenance(report):
    out, result = report
    html = out.read_text()
    # the assumptions in plain words, with this plan's own numbers
    assert "A month is 730 hours" in html and f"peak load = {result.workload.peak_to_avg:g} × the monthly average" in html
    assert f"p95 TTFT ≤ {result.workload.ttft_slo_s:g} s" in html
    assert "<script" in html and "Plotly.newPlot" in html and 'src="http' not in html  # plotly inlined: works offline
    assert result.prices.replica_provenance.source in html and result.prices.api_provenance.as_of in html
    profile = load_profile(result.profile_ref)
    # the machine's fingerprint and the model's hash are in the page, not just the headings that introduce them
    assert profile.hardware.cpu_model in html and profile.model.sha256[:16] in html
    assert f"{profile.hardware.logical_cores} logical cores" in html
    assert "jp-InputArea" not in html and "from planner" not in html  # no notebook code cells


@pytest.mark.skipif(find_chromium() is None, reason="Chromium is not installed (make test installs it as root on Debian)")
def test_report_renders_in_headless_chromium(report):
    out, _ = report
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "report.png"
    with tempfile.TemporaryDirectory() as profile_dir:
        base = [find_chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile_dir}", "--virtual-time-budget=10000",
                "--enable-logging=stderr", "--v=0"]
        dom = subprocess.run([*base, "--dump-dom", out.as_uri()], capture_output=True, text=True, timeout=180)
        subprocess.run([*base, "--window-size=1280,2400", f"--screenshot={shot}", out.as_uri()], capture_output=True, timeout=180)
    assert dom.returncode == 0
    assert len(re.findall(r'class="[^"]*js-plotly-plot', dom.stdout)) >= 4, "plotly did not render the charts"
    assert "main-svg" in dom.stdout
    console_errors = [line for line in dom.stderr.splitlines() if "CONSOLE" in line and ("Uncaught" in line or "Error" in line)]
    assert not console_errors, console_errors
    assert shot.is_file() and shot.stat().st_size > 20_000


@pytest.mark.skipif(find_chromium() is None, reason="Chromium is not installed")
def test_pdf_export(report, tmp_path):
    from planner.present.report import html_to_pdf
    pdf = html_to_pdf(report[0], tmp_path / "plan.pdf")
    assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 20_000


def test_report_command_from_a_plan_file(tiny_profile, tmp_path):
    profile, path = tiny_profile
    params = tmp_path / "plan.yaml"
    params.write_text(f"name: ci-plan\nprofile: {path}\noutput_dir: {tmp_path}\nworkload:\n  requests_per_month: 2000000\n  tokens_in: 128\n  tokens_out: 16\n  ttft_slo_s: 30\n  itl_slo_s: 5\n")
    out = subprocess.run([sys.executable, "-m", "planner", "report", "--params", str(params), "--no-pdf"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "ci-plan.html").is_file()
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nworkload:\n  tokens_out: 0\n")
    out = subprocess.run([sys.executable, "-m", "planner", "report", "--params", str(bad)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 2 and "workload.tokens_out" in out.stderr and len(out.stderr.strip().splitlines()) == 1


def test_plan_params_reject_unknown_fields():
    from pydantic import ValidationError
    with pytest.raises(ValidationError, match="nmae"):
        PlanParams.model_validate({"nmae": "typo"})


def test_readme_plan_file_example_is_valid():
    """The README's `report --params` example must parse and name files that are committed."""
    import yaml
    block = re.search(r"```yaml\n(.*?)```", (REPO / "README.md").read_text(), re.S).group(1)
    params = PlanParams.model_validate(yaml.safe_load(block))
    assert (REPO / params.profile).is_file(), params.profile
    assert params.instance in set(load_catalog("instances")["instance"])


def plan_html(profile: Path, tmp_path: Path, tokens_in: str, tokens_out: str, ttft: str, itl: str) -> str:
    """`llm-planner plan --html` as a user runs it; the report's text."""
    out = subprocess.run([sys.executable, "-m", "planner", "plan", "--profile", str(profile), "--instance", "c7i.large",
                          "--tokens-in", tokens_in, "--tokens-out", tokens_out, "--ttft-slo", ttft, "--itl-slo", itl,
                          "--html", str(tmp_path / "r.html")], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return (tmp_path / "r.html").read_text()


def test_plan_html_on_a_serving_profile_without_architecture(tmp_path):
    """`serve-profile --url` without --model knows no architecture: the report still comes out, and says why the
    roofline section is absent instead of dying on it."""
    path = save_profile(make_serving_profile(), tmp_path / "served.json")
    assert load_profile(path).model.n_params is None  # unknown stays None through the file
    html = plan_html(path, tmp_path, "64", "16", "1", "0.1")
    assert "Not drawn: a serving profile holds no engine tests to compare with the roofline" in html
    assert "served-model" in html and "parameters unknown" in html


def test_report_compares_the_engines_profiled_beside_the_plan(tmp_path):
    """A plan from the committed llama-server profile: the report's "which engine?" section ranks every server of that
    model in the same folder at the plan's SLO."""
    served = next((REPO / "profiles/reference/serving").glob("SmolLM2-135M-Instruct.Q4_1__llama-server__*.json"))
    html = plan_html(served, tmp_path, "128", "64", "2", "0.2")
    assert "Which engine?" in html
    section = html.split("Which engine? (this model")[1].split("id=\"provenance\"")[0]
    for engine in ("vllm", "llama-server", "llama_cpp.server"):
        assert f"<td>{engine}</td>" in section, engine


def test_03_report_runs_through_papermill_with_parameters(tmp_path):
    """The notebook is papermill-parameterised: run it headless with parameters and get the report they describe."""
    import papermill

    profile = next((REPO / "profiles/reference/vllm-cpu").glob("*.json"))
    out_nb = tmp_path / "03_report.out.ipynb"
    papermill.execute_notebook(str(REPO / "notebooks/03_report.ipynb"), str(out_nb), cwd=str(REPO / "notebooks"), progress_bar=False,
                               parameters={"name": "papermill-check", "profile": str(profile), "instance": "c7i.large", "api": "gpt-4o",
                                           "tokens_in": 128, "tokens_out": 64, "ttft_slo_s": 2.0, "itl_slo_s": 0.2, "pdf": False,
                                           "output_dir": str(tmp_path)})
    html = (tmp_path / "papermill-check.html").read_text()
    assert "c7i.large" in html and "gpt-4o" in html and "Compare: this deployment against several APIs" in html
    assert '"papermill-check"' in out_nb.read_text()  # the injected parameters cell is recorded in the executed notebook
