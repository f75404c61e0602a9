"""Fault suite, signals in-process: Ctrl-C (KeyboardInterrupt) and SIGTERM (`Terminated`, what the CLI's handler
raises) arriving at a chosen moment of every planning command — while it starts (its command modules still importing)
and while it computes (inside the capacity simulation or a catalog read) — end with the documented code (130 / 143),
one line saying which signal, and no output file. The same signals sent to real processes, and during real
measurements and server start-up, are in tests/integration/test_signals.py."""
from __future__ import annotations

import os
import signal
import time

import pytest

import planner.app.cli as cli
from planner.app.cli import main
from tests.conftest import REPO

pytestmark = pytest.mark.fault

SMOL = next((REPO / "profiles/reference/cpu").glob("SmolLM2-135M-Instruct.Q4_1__*.json"))
H100 = sorted((REPO / "profiles/reference/h100").glob("*.json"))
WL = ["--tokens-in", "64", "--tokens-out", "8", "--ttft-slo", "30", "--itl-slo", "5"]

COMMANDS = {
    "plan": ["plan", "--profile", str(SMOL), "--instance", "c7i.large", *WL],
    "plan --html": ["plan", "--profile", str(SMOL), "--instance", "c7i.large", *WL, "--html", "{out}"],
    "compare": ["compare", "--profile", str(SMOL), "--instance", "c7i.large", "--api", "gpt-4o-mini", *WL],
    "fleet": ["fleet", "--card", "Llama-3.1-8B", "--hardware", "NVIDIA H100 SXM 80GB", "--requests", "1e6", *WL],
    "project": ["project", *[a for p in H100[:3] for a in ("--calibrate", str(p))], "--card", "Mistral-7B-v0.1"],
    "catalog": ["catalog", "instances"],
    "cache": ["cache"],
    "hardware": ["hardware", "--no-bandwidth"],
}
# where each command does its work (the plan, the fleet ranking, the fit, a catalog read, a probe): results of the
# simulation are cached across calls, so the signal is delivered at the call that always runs
WORK = {"plan": "planner.formats.inputs.plan", "plan --html": "planner.formats.inputs.plan", "compare": "planner.formats.inputs.plan",
        "fleet": "planner.app.fleet.rank_fleet", "project": "planner.app.cli.plan.calibrate_decode",
        "catalog": "planner.app.cli.plan.load_catalog", "cache": "planner.app.cli.measure.cache_entries",
        "hardware": "planner.app.cli.measure.fingerprint"}
SIGNALS = {"SIGINT": (signal.SIGINT, 130, "interrupted (Ctrl-C)"), "SIGTERM": (signal.SIGTERM, 143, "terminated (SIGTERM)")}


def _raiser(signum):
    """Deliver the real signal to this process at this moment: main's own handlers turn it into the exception."""
    def boom(*args, **kwargs):
        os.kill(os.getpid(), signum)
        for _ in range(100):  # the handler runs at the next bytecode boundary; never fall through to the real work
            time.sleep(0.01)
        raise AssertionError("the signal handler did not run")
    return boom


def _check(code, capsys, expected_code, words, out_dir):
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert code == expected_code, err
    assert len(lines) == 1 and lines[0].startswith("error: ") and words in lines[0] and "Traceback" not in err, err
    assert not any(out_dir.iterdir()), "a stopped command left a file behind"


@pytest.mark.parametrize("signal_name", sorted(SIGNALS))
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_signal_while_the_command_starts(command, signal_name, tmp_path, monkeypatch, capsys):
    signum, expected, words = SIGNALS[signal_name]
    monkeypatch.setattr(cli, "_app", _raiser(signum))  # arrives while the command modules are still importing
    args = [a.replace("{out}", str(tmp_path / "r.html")) for a in COMMANDS[command]]
    _check(main(args), capsys, expected, words, tmp_path)


@pytest.mark.parametrize("signal_name", sorted(SIGNALS))
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_signal_while_the_command_works(command, signal_name, tmp_path, monkeypatch, capsys):
    """Issue 21 #5: Ctrl-C or SIGTERM during `fleet` exited 0 with nothing printed."""
    signum, expected, words = SIGNALS[signal_name]
    monkeypatch.setenv("LLM_PLANNER_CACHE", str(tmp_path / "cache"))
    (tmp_path / "cache").mkdir()
    monkeypatch.setattr(WORK[command], _raiser(signum))
    args = [a.replace("{out}", str(tmp_path / "r.html")) for a in COMMANDS[command]]
    out_dir = tmp_path / "outputs"
    out_dir.mkdir()
    args = [a.replace(str(tmp_path / "r.html"), str(out_dir / "r.html")) for a in args]
    _check(main(args), capsys, expected, words, out_dir)


def test_a_nonzero_code_handed_back_by_click_is_the_exit_status(monkeypatch):
    """standalone_mode=False makes click return ctx.exit(n)'s code instead of raising it: main must not turn it into 0
    (typer 0.29 also returns 130 for a KeyboardInterrupt it caught)."""
    import typer
    app = typer.Typer()

    @app.command()
    def stop():
        raise typer.Exit(7)

    @app.command()
    def fine():
        pass
    monkeypatch.setattr(cli, "_app", lambda: app)
    assert main(["stop"]) == 7
    assert main(["fine"]) == 0
