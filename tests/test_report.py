"""Planning report end to end: plan from a real profile and the shipped catalogs, HTML with plotly inlined,
rendered by a real headless Chromium (installed by `make test`), screenshot kept under test-artifacts/."""
import re
import subprocess
import sys
import tempfile

import pytest

from planner.catalog import load_catalog
from planner.plan import PlanParams, PriceChoice, Workload, plan
from planner.report import CHROMIUM_FLAGS, find_chromium, write_report
from planner.selection import default_api, matching_instance

from .conftest import REPO

ARTIFACTS = REPO / "test-artifacts"


@pytest.fixture(scope="module")
def report(tiny_profile, tmp_path_factory):
    profile, path = tiny_profile
    result = plan(profile, PriceChoice.from_rows(matching_instance(profile, load_catalog("instances")), default_api(load_catalog("api_prices"))),
                  Workload(tokens_in=128, tokens_out=16, ttft_slo_s=30.0, itl_slo_s=5.0), profile_ref=str(path))
    out = tmp_path_factory.mktemp("report") / "plan.html"
    write_report(result, profile, out, profile_path=path)
    return out, result


def test_html_is_standalone_with_provenance(report):
    out, result = report
    html = out.read_text()
    assert "<script" in html and "Plotly.newPlot" in html and 'src="http' not in html  # plotly inlined: works offline
    assert result.prices.replica_provenance.source in html and result.prices.api_provenance.as_of in html
    assert "sha256" in html and "fingerprint" in html.lower()
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
    from planner.report import html_to_pdf
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
