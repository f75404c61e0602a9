"""planner/app/cli/__init__.py: `main` (the one entry of every command) and its signal and exit-code handling. The file
is test_main.py, not test___init__.py: the one exception to the mirror, listed in tests/unit/test_layout.py.

Signals in-process: Ctrl-C (KeyboardInterrupt) and SIGTERM (`Terminated`, what the CLI's handler raises) arriving at a
chosen moment of every planning command — while it starts (its command modules still importing) and while it computes
(inside the capacity simulation or a catalog read) — end with the documented code (130 / 143), one line saying which
signal, and no output file. The same signals sent to real processes, and during real measurements and server start-up,
are in tests/integration/test_signals.py.

Bad values across all the commands (one line naming the option, exit 2, never a traceback) are here too; those of one
command are beside it (test_plan.py, test_measure.py, test_serve.py)."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

import planner.app.cli as cli
from planner.app.cli import main
from tests.conftest import REPO
from tests.unit.app.cli.conftest import WL, one_line, run
from tests.unit.conftest import SMOL

pytestmark = pytest.mark.fault

H100 = sorted((REPO / "profiles/reference/h100").glob("*.json"))

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
        "fleet": "planner.app.fleet.rank_fleet", "project": "planner.core.projection.calibrate_decode",
        "catalog": "planner.formats.catalog.load_catalog", "cache": "planner.app.cli.measure.cache_entries",
        "hardware": "planner.measure.probes.hardware.fingerprint"}  # the commands import these where they run them
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


@pytest.mark.parametrize("args,needle", [
    (("project", "--calibrate", str(SMOL), "--card", "Mistral-7B-v0.1", "--quant", "Q99"), "--quant: 'Q99' is not a llama.cpp quant type"),
    (("project", "--calibrate", str(SMOL), "--calibrate", str(SMOL), "--card", "Mistral-7B-v0.1"), "one model at several depths"),
    (("clone", "Mistral-7B-v0.1", "--quant", "Q99"), "--quant: 'Q99'"),
    (("clone", "Mistral-7B-v0.1", "--layers", "0"), "--layers: must be between 1 and 32"),
    (("cache", "--clear", "--kind", "../x"), "--kind: must be one of"),
    (("serve-profile", "--engine", "llama-cpp", "--rate", "nan"), "--rate: levels must be positive finite"),
    (("serve-profile", "--engine", "llama-cpp", "--duration", "nan"), "--duration: must be a positive finite"),
    (("serve-profile", "--engine", "llama-cpp", "--n-threads", "0"), "--n-threads: must be a positive finite"),
    (("profile", "--budget", "nan", "--quick"), "--budget: must be a positive number"),
    (("catalog", "nonsense"), "KIND: must be api_prices, instances"),
    (("profile", "--quick", "--out", "/tmp"), "--out: /tmp is a directory"),
])
def test_lookups_and_fits_are_one_line(args, needle, capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("LLM_PLANNER_CACHE", str(tmp_path / "cache"))
    code, line = run(capsys, *args)
    assert code == 2 and needle in line, line


@pytest.mark.parametrize("command", [["profile", "--quick"], ["profile", "--engine", "vllm"],
                                     ["serve-profile", "--url", "http://127.0.0.1:9/v1", "--model-name", "m"],
                                     ["serve-profile", "--engine", "llama-server"]])
def test_out_never_overwrites_an_existing_file(command, tmp_path, capsys):
    existing = tmp_path / "old.json"
    shutil.copy(SMOL, existing)
    before = existing.read_bytes()
    code = main([*command, "--out", str(existing)])
    line = one_line(capsys)
    assert code == 2 and "--out" in line and "already exists" in line, line
    assert existing.read_bytes() == before


def _commands():
    import typer.main
    group = typer.main.get_command(__import__("planner.app.cli", fromlist=["app"]).app)
    return group, sorted(group.commands)


def test_every_command_has_help_and_refuses_one_bad_value_per_option(capsys):
    """Every subcommand answers --help; every option that takes a value refuses a wrong one in one line."""
    group, names = _commands()
    assert {"plan", "profile", "serve-profile", "catalog", "cache", "clone", "project", "report", "demo", "hardware"} <= set(names)
    tried = 0
    for name in names:
        assert main([name, "--help"]) == 0, name
        assert "Usage: " in capsys.readouterr().out
        for param in group.commands[name].params:
            if not param.opts[0].startswith("--") or getattr(param, "is_flag", False):
                continue
            if param.bare_type() not in ("int", "float"):
                continue  # paths and names are checked where they are used (tests above)
            code = main([name, param.opts[0], "nope"])
            line = one_line(capsys)
            assert code == 2 and param.opts[0] in line, (name, param.opts[0], line)
            tried += 1
    assert tried >= 25  # the numeric options of all commands (27 today)


def test_the_command_line_starts_without_the_heavy_libraries():
    # `--help` and `--version` must answer in a fraction of a second (benchmarks/cli_startup.py has the figure): the
    # command modules import pandas, numpy, gguf, plotly and the engines inside the commands, never at the top
    code = ("import sys, planner.app.cli as c; c._app(); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pandas', 'numpy', 'scipy', 'gguf', 'plotly', 'pydantic', 'vllm') "
            "or m in ('planner.formats.catalog', 'planner.measure.engines.vllm', 'planner.present.report')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_version(capsys):
    from planner import __version__
    assert main(["--version"]) == 0 and capsys.readouterr().out == f"llm-planner {__version__}\n"
