"""The notebooks and the report in a real browser: JupyterLab on loopback, Debian's Chromium driven by Playwright.

Playwright's own browser download is never used: `executable_path` points at the system Chromium that `make`
installs. Screenshots go to test-artifacts/ (git-ignored) for a human to look at.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest

from planner.present.report import find_chromium
from tests.conftest import REPO

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is a dev dependency (make install)")
pytestmark = [pytest.mark.slow, pytest.mark.skipif(find_chromium() is None, reason="Chromium is not installed (make test installs it as root on Debian)")]
ARTIFACTS = REPO / "test-artifacts"
TOKEN = "llm-planner-browser-test"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(params=["light"])
def lab(request, tmp_path):
    """JupyterLab serving a copy of the notebooks (run-all saves outputs; the repository's files stay clean), in the
    light theme or, with `@pytest.mark.parametrize("lab", ["dark"], indirect=True)`, the dark one."""
    root = tmp_path / "work"
    settings = tmp_path / "jupyterlab_settings_dir"
    if request.param == "dark":
        themes = settings / "@jupyterlab" / "apputils-extension"
        themes.mkdir(parents=True)
        (themes / "themes.jupyterlab-settings").write_text('{"theme": "JupyterLab Dark"}')
    shutil.copytree(REPO / "notebooks", root / "notebooks")
    (root / "profiles").symlink_to(REPO / "profiles")
    port = _free_port()
    env = {**os.environ, **{k: str(tmp_path / k.lower()) for k in ("JUPYTER_CONFIG_DIR", "JUPYTER_RUNTIME_DIR", "JUPYTER_DATA_DIR",
                                                                  "JUPYTERLAB_WORKSPACES_DIR", "JUPYTERLAB_SETTINGS_DIR")}}
    args = [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", "--ServerApp.ip=127.0.0.1",
            f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={root}", "--LabApp.news_url=None"]
    if os.geteuid() == 0:
        args.append("--allow-root")
    log = (tmp_path / "lab.log").open("w")
    proc = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"JupyterLab did not start: {(tmp_path / 'lab.log').read_text()[-2000:]}")
                time.sleep(0.5)
        yield f"http://127.0.0.1:{port}"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # the server and its kernels
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


@pytest.fixture
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=find_chromium(), args=["--no-sandbox"])
        yield b
        b.close()


def _watch(page) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda m: errors.append(f"console: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
    return errors


COST_Y = "() => { const el = document.querySelector('.js-plotly-plot'); return el && el.data ? el.data.map(t => Array.from(t.y || [])) : null; }"
COST_X = "() => document.querySelector('.js-plotly-plot').data.map(t => Array.from(t.x || []))"


def _run_all(page) -> None:
    """Run ▸ Run All Cells, as a user does; again if the kernel has not started executing (a click that lands while
    JupyterLab is still laying out the notebook is swallowed)."""
    stored = page.evaluate("() => document.querySelectorAll('.jp-OutputArea-output').length")
    for attempt in range(4):
        page.locator(".jp-Notebook .jp-Cell").first.click()  # focus the notebook, not the file browser
        page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
        page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
        try:  # started: the kernel busy, a cell's prompt [*], or (no stored outputs) an output written
            page.wait_for_function("(stored) => document.querySelector('.jp-Notebook-ExecutionIndicator[data-status=\"busy\"]') !== null"
                                   " || Array.from(document.querySelectorAll('.jp-InputPrompt')).some(e => e.textContent.includes('*'))"
                                   " || (stored === 0 && document.querySelectorAll('.jp-OutputArea-output').length > 0)",
                                   arg=stored, timeout=20_000)
            return
        except sync_api.TimeoutError:
            page.keyboard.press("Escape")
            page.screenshot(path=str(ARTIFACTS / f"lab-02-plan-run-all-retry{attempt}.png"))
    pytest.fail("Run All Cells did not start the kernel")


def _run_notebook(lab: str, browser, name: str = "02_plan.ipynb", *, charts: bool = True):
    """Open a notebook in JupyterLab, run all cells, wait until the kernel is idle again: (page, console errors)."""
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors = _watch(page)
    page.goto(f"{lab}/lab/tree/notebooks/{name}?token={TOKEN}")
    page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=120_000)
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=120_000)  # the kernel is up
    _run_all(page)
    if charts:
        page.wait_for_selector(".js-plotly-plot", timeout=300_000)  # the dashboard's charts, drawn by the plotly extension
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=300_000)
    return page, errors


def test_dashboard_notebook_runs_and_redraws_in_jupyterlab(lab, browser):
    page, errors = _run_notebook(lab, browser)
    news = page.locator(".jp-Notification-Toast button", has_text="No")  # JupyterLab's "get news?" toast
    if news.count():
        news.first.click()
    page.screenshot(path=str(ARTIFACTS / "lab-02-plan-run-all.png"), full_page=True)
    before = page.evaluate(COST_Y)
    assert before and len(before[0]) > 10, "the cost chart has no data"
    tokens_in = page.locator(".widget-text", has=page.locator("label", has_text="tokens in")).locator("input")
    tokens_in.scroll_into_view_if_needed()
    tokens_in.fill("256")
    tokens_in.press("Enter")
    page.wait_for_function(f"(before) => JSON.stringify(({COST_Y})()) !== JSON.stringify(before)", arg=before, timeout=60_000)
    after = page.evaluate(COST_Y)
    assert after[1] != before[1]  # the API line: 128 → 256 prompt tokens cost more per request
    assert sum(after[1]) > sum(before[1])
    xs = page.evaluate(COST_X)
    assert xs[0] == xs[1] and min(xs[0]) >= 1e3, "the self-hosted and API curves must share the volume grid"
    tokens_in.screenshot(path=str(ARTIFACTS / "lab-02-plan-widget.png"))
    page.locator(".js-plotly-plot").first.screenshot(path=str(ARTIFACTS / "lab-02-plan-cost-chart.png"))
    assert page.locator(".jp-OutputArea mjx-container").count() == 0, "MathJax typeset a dollar amount"
    assert page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']").count() == 0, "a cell wrote to stderr"
    labels = page.locator(".widget-dropdown", has=page.locator("label", has_text="profile")).locator("option").all_inner_texts()
    assert len(labels) == len(set(labels)) > 20, "two profiles share a dropdown label"
    # price the CPU profile on a GPU instance: a red banner, the self-hosted line greyed
    instance = page.locator(".widget-dropdown", has=page.locator("label", has_text="instance")).locator("select")
    options = instance.locator("option").all_inner_texts()
    # ipywidgets writes non-breaking spaces; another machine's instance is marked "✗ … not the profile's hardware"
    a10g = next((t for t in options if t.replace("\xa0", " ").startswith("✗ g5.xlarge — ")), None)
    assert a10g and a10g.replace("\xa0", " ").endswith("not the profile's hardware"), options[:5]
    assert not options[0].startswith("✗"), options[:3]  # the CPU profile's own kind of machine comes first
    instance.select_option(label=a10g)
    page.wait_for_selector(".mismatch", timeout=60_000)
    page.locator(".mismatch").first.screenshot(path=str(ARTIFACTS / "lab-02-plan-mismatch-banner.png"))
    assert not errors, errors


def test_seed_claims_notebook_renders_its_dollar_verdicts_as_text(lab, browser):
    """Notebook 04's verdicts hold two dollar amounts each; MathJax used to typeset what lay between them as maths."""
    page, errors = _run_notebook(lab, browser, "04_seed_claims.ipynb", charts=False)
    # Run All clears each cell's stored output as it reaches it: wait for the verdict to be written again, then for
    # the kernel to go idle, rather than counting at one instant (a count in mid-run found none once)
    page.locator(".jp-OutputArea-output", has_text="$51,200 API vs $18,360 self-hosted").first.wait_for(timeout=300_000)
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=300_000)
    page.screenshot(path=str(ARTIFACTS / "lab-04-seed-claims.png"), full_page=True)
    typeset = page.evaluate("() => Array.from(document.querySelectorAll('.jp-OutputArea-output')).filter(e => e.querySelector('mjx-container')).map(e => e.outerHTML.slice(0, 600))")
    assert not typeset, f"MathJax typeset a dollar amount in: {typeset}"
    assert page.locator(".jp-OutputArea-output", has_text="$51,200 API vs $18,360 self-hosted").count() >= 1
    assert page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']").count() == 0, "a cell wrote to stderr"
    assert not errors, errors


@pytest.mark.parametrize("lab", ["dark"], indirect=True)
def test_charts_follow_the_dark_theme(lab, browser):
    """No chart paints its own white background: in JupyterLab's dark theme the charts show the theme's background."""
    page, errors = _run_notebook(lab, browser)
    assert page.evaluate("() => document.body.dataset.jpThemeLight") == "false"  # the dark theme is on
    backgrounds = page.evaluate("() => Array.from(document.querySelectorAll('.js-plotly-plot')).map(el => [el._fullLayout.paper_bgcolor, el._fullLayout.plot_bgcolor])")
    assert backgrounds and all(c.replace(" ", "") == "rgba(0,0,0,0)" for pair in backgrounds for c in pair), backgrounds
    page.locator(".js-plotly-plot").first.screenshot(path=str(ARTIFACTS / "lab-02-plan-dark-theme.png"))
    assert not errors, errors


def test_report_renders_in_the_browser(browser, tmp_path):
    from planner.app.workflows import plan_profile, report_comparison
    from planner.core.plan import Workload
    from planner.present.report import write_report

    ARTIFACTS.mkdir(exist_ok=True)
    profile = next((REPO / "profiles/reference/cpu").glob("SmolLM2-135M-Instruct.Q4_1__cpu__*.json"))
    workload = Workload(tokens_in=128, tokens_out=16, ttft_slo_s=5, itl_slo_s=0.5)
    result, prof, path = plan_profile(profile, "c7i.large", None, workload)
    (out,) = write_report(result, prof, tmp_path / "report.html", profile_path=path, comparison=report_comparison(result, path, workload))
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    errors = _watch(page)
    page.goto(out.as_uri())
    page.wait_for_selector(".js-plotly-plot", timeout=60_000)
    n_charts = page.locator(".js-plotly-plot").count()
    assert n_charts >= 3
    assert page.evaluate("() => Array.from(document.querySelectorAll('.js-plotly-plot')).every(el => el.data && el.data.length > 0)")
    page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=True)
    assert not errors, errors


def test_fleet_notebook_shows_its_verdicts_chart_and_tables(lab, browser):
    """Notebook 05: the fleet's verdicts (dollar amounts MathJax must leave alone), the cost-vs-ITL chart, the tables."""
    page, errors = _run_notebook(lab, browser, "05_fleet.ipynb")
    page.screenshot(path=str(ARTIFACTS / "lab-05-fleet.png"), full_page=True)
    assert page.locator(".jp-OutputArea mjx-container").count() == 0, "MathJax typeset a dollar amount"
    assert page.locator(".jp-OutputArea-output", has_text="verdict: the API (gpt-4o-mini)").count() >= 1
    points = page.evaluate("() => document.querySelector('.js-plotly-plot')._fullData.filter(t => t.mode === 'markers').map(t => t._length || 0)")
    assert sum(points) > 10, points  # every costed deployment is a point
    assert page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']").count() == 0, "a cell wrote to stderr"
    assert not errors, errors


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_fleet_view_the_cli_writes_renders(browser, tmp_path, scheme):
    """`llm-planner fleet --html`, run as a user runs it: the verdict per API, one chart trace per GPU, the tables."""
    out = tmp_path / "fleet.html"
    run = subprocess.run([sys.executable, "-m", "planner", "fleet", "--card", "Llama-3.1-8B", "--api", "gpt-4o-mini", "--api", "gpt-4o",
                          "--html", str(out)], capture_output=True, text=True, timeout=300, env={**os.environ, "COLUMNS": "120"})
    assert run.returncode == 0, run.stderr
    assert f"fleet view: {out.resolve()}" in run.stdout
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 1200, "height": 900}, color_scheme=scheme)
    errors = _watch(page)
    page.goto(out.as_uri())
    page.wait_for_selector(".js-plotly-plot", timeout=60_000)
    verdicts = page.locator("#answer .verdict").all_inner_texts()
    assert len(verdicts) == 2 and verdicts[0].startswith("verdict: the API (gpt-4o-mini)") and verdicts[1].startswith("verdict: self-host")
    names = page.evaluate("() => document.querySelector('.js-plotly-plot').data.map(t => t.name)")
    assert "NVIDIA GeForce RTX 4090" in names and any(n.startswith("Pareto front") for n in names)
    y_range = page.evaluate("() => document.querySelector('.js-plotly-plot')._fullLayout.yaxis.range")
    assert 1 < y_range[1] < 5, y_range  # log10 of dollars: the API labels no longer stretch the axis to 10**2560
    if scheme == "dark":
        assert page.evaluate("() => getComputedStyle(document.body).backgroundColor") == "rgb(22, 24, 29)"
    page.screenshot(path=str(ARTIFACTS / f"fleet-view-{scheme}.png"), full_page=True)
    assert not errors, errors


def test_the_pdf_report_pages(tmp_path):
    """The PDF Chromium prints: every page rendered to test-artifacts/ for a human, and the legends and the answer are
    text on the pages (a legend cut off the page, or a chart without one, loses its entries)."""
    pdfium = pytest.importorskip("pypdfium2", reason="pypdfium2 is a dev dependency (make install)")
    from planner.app.workflows import plan_profile, report_comparison
    from planner.core.plan import Workload
    from planner.present.report import write_report

    profile = next((REPO / "profiles/reference/cpu").glob("SmolLM2-135M-Instruct.Q4_1__cpu__*.json"))
    workload = Workload(tokens_in=128, tokens_out=16, ttft_slo_s=5, itl_slo_s=0.5)
    result, prof, path = plan_profile(profile, "c7i.large", None, workload)
    written = write_report(result, prof, tmp_path / "report.html", profile_path=path, pdf=True,
                           comparison=report_comparison(result, path, workload))
    pdf = pdfium.PdfDocument(str(written[1]))
    ARTIFACTS.mkdir(exist_ok=True)
    text = []
    for i, page in enumerate(pdf):
        page.render(scale=1.2).to_pil().save(ARTIFACTS / f"report-pdf-page{i + 1}.png")
        text.append(page.get_textpage().get_text_range())
    words = " ".join(" ".join(text).split())
    assert len(pdf) >= 3
    assert "Self-host or API?" in words and "requests/month" in words
    for legend in ("self-hosted: c7i.large", "API: gpt-4o-mini", "quoted volume"):  # the cost charts' legend entries, on a page
        assert legend in words, legend
