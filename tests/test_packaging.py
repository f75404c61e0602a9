"""Packaging facts: conda's environment.yml matches pyproject, .ci/run calls the README's test command, the CLI and the demo behave."""
import re
import subprocess
import sys
import tomllib

import yaml

from .conftest import REPO


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    expected = set(project["dependencies"]) | set(project["optional-dependencies"]["dev"])
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    assert set(pip_section) - {"-e ."} == expected
    assert "python=3.11" in env["dependencies"]


def test_ci_runs_the_readme_test_command():
    readme = (REPO / "README.md").read_text()
    assert "make test" in readme and "make demo" in readme
    assert "make test" in (REPO / ".ci" / "run").read_text()


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "planner", *args], capture_output=True, text=True, timeout=120)


def test_help_lists_the_commands():
    out = _cli("--help")
    assert out.returncode == 0
    for command in ("profile", "plan", "demo", "clone", "report", "catalog", "hardware"):
        assert command in out.stdout


def test_bad_arguments_give_one_line_and_no_traceback(tmp_path):
    for args, needle in [(("profile", str(tmp_path / "missing.gguf")), "model file not found"),
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
    assert out.returncode == 0, out.stderr
    assert re.search(r"measured decode [\d,.]+ tok/s", out.stdout)
    assert re.search(r"break-even volume vs gpt-4o-mini .*: (none|[\d,]+ requests/month)", out.stdout)
    assert re.search(r"note: capacity measured on .*; \S+ \(\d+ vCPUs\) is assumed to be as fast", out.stdout)
    assert "plotly" in (tmp_path / "reports" / "demo.html").read_text()
    assert len(list((tmp_path / "profiles").glob("SmolLM2-135M-Instruct.Q4_1__cpu__*.json"))) == 1
