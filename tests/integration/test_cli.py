"""The command line as a user runs it: a subprocess, one line for bad input, the demo end to end."""
import json
import re
import subprocess
import sys

import pytest

from tests.conftest import REPO


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "planner", *args], capture_output=True, text=True, timeout=120)


def test_help_lists_the_commands():
    out = _cli("--help")
    assert out.returncode == 0
    for command in ("profile", "plan", "demo", "clone", "report", "catalog", "hardware", "serve-profile", "project", "cache"):
        # the command's own row of the listing (a name then its help), not a substring of another command
        assert re.search(rf"(^|[\s│]){re.escape(command)}\s{{2,}}\S", out.stdout, re.M), command


def test_bad_arguments_give_one_line_and_no_traceback(tmp_path):
    for args, needle in [(("profile", str(tmp_path / "missing.gguf")), "model file: file not found"),
                         (("plan", "--requests", "-5"), "--requests"),
                         (("profile", "--threads", "x"), "--threads"),
                         (("nonsense",), "No such command")]:
        out = _cli(*args)
        assert out.returncode == 2, args
        lines = [line for line in out.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("error:") and needle in lines[0], out.stderr
        assert "Traceback" not in out.stderr


def test_demo_prints_the_answer_and_writes_the_report(tmp_path):
    """The README's main command end to end (quick profile of the embedded model, plan, HTML report)."""
    out = subprocess.run([sys.executable, "-m", "planner", "demo", "--profiles-dir", str(tmp_path / "profiles"),
                          "--reports-dir", str(tmp_path / "reports")], capture_output=True, text=True, timeout=600)
    assert re.search(r"measured decode [\d,.]+ tok/s", out.stdout)
    assert len(list((tmp_path / "profiles").glob("SmolLM2-135M-Instruct.Q4_1__cpu__*.json"))) == 1
    if out.returncode == 3:  # a busy or noisy machine: the demo must say so in one line and print no verdict
        errors = [line for line in out.stderr.splitlines() if line.startswith("error:")]  # progress bars share stderr
        assert len(errors) == 1 and errors[0].startswith("error: no verdict: the measurement is not trustworthy — "), out.stderr
        assert "Traceback" not in out.stderr
        assert "break-even" not in out.stdout and not (tmp_path / "reports" / "demo.html").exists()
        pytest.skip(f"the machine was not quiet enough for a verdict: {out.stderr.strip()[:200]}")
    assert out.returncode == 0, out.stderr
    assert re.search(r"break-even volume vs gpt-4o-mini .*: (none|[\d,]+ requests/month)", out.stdout)
    assert re.search(r"note: capacity measured on .*; \S+ \(\d+ vCPUs\) is assumed to be as fast", out.stdout)
    assert "plotly" in (tmp_path / "reports" / "demo.html").read_text()
    assert len(list((tmp_path / "profiles").glob("SmolLM2-135M-Instruct.Q4_1__cpu__*.json"))) == 1


@pytest.mark.slow
def test_pip_install_dot_finds_its_catalogs_from_another_folder(tmp_path):
    """`pip install .` (not editable) into a fresh environment, run from a folder that is not the checkout: the
    catalogs, reference GPU profiles and validation results come with the package (issue 25). The new environment sees
    this one's dependencies through a plain path line, not this checkout's editable hook."""
    import site
    import zipfile
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    purelib = next(venv.glob("lib/python*/site-packages"))
    (purelib / "deps.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    py = venv / "bin" / "python"
    # build the wheel `pip install .` would install, and lay it out as an installer does: the package into
    # site-packages, the wheel's .data/data/ tree into the prefix (never `pip install --prefix` from this environment:
    # pip would first uninstall this checkout's own editable install)
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", str(tmp_path / "dist"),
                            str(REPO)], capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert build.returncode == 0, build.stderr[-2000:]
    wheel = next((tmp_path / "dist").glob("llm_planner-*.whl"))
    with zipfile.ZipFile(wheel) as zf:
        for name in zf.namelist():
            if ".data/data/" in name:
                target = venv / name.split(".data/data/", 1)[1]
            elif ".data/" in name:
                continue
            else:
                target = purelib / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(zf.read(name))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    smol = next((REPO / "profiles/reference/cpu").glob("SmolLM2-135M-Instruct.Q4_1__*.json"))
    where = subprocess.run([str(py), "-c", "import planner, planner.formats.files as f; print(planner.__file__); print(f.resource_root())"],
                           capture_output=True, text=True, cwd=elsewhere)
    assert str(venv) in where.stdout.splitlines()[0] and where.stdout.splitlines()[1] == str(venv / "share" / "llm-planner"), where
    run = subprocess.run([str(py), "-m", "planner", "plan", "--profile", str(smol), "--instance", "c7i.large", "--tokens-in", "64",
                          "--tokens-out", "8", "--ttft-slo", "30", "--itl-slo", "5", "--format", "json"],
                         capture_output=True, text=True, cwd=elsewhere, timeout=300)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["capacity"]["requests_per_s"] > 0
    fleet = subprocess.run([str(py), "-m", "planner", "fleet", "--card", "Llama-3.1-8B", "--hardware", "NVIDIA H100 SXM 80GB", "--top", "1",
                            "--format", "json"], capture_output=True, text=True, cwd=elsewhere, timeout=300)
    assert fleet.returncode == 0, fleet.stderr
