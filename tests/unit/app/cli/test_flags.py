"""The core names fields, the CLI names flags: one error, two spellings, and every field the core names is a flag."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import click
import pytest
import typer

from planner.app.cli import _app
from planner.app.cli.flags import FIELD_FLAGS, cli_message, flag_for
from planner.core.errors import InputError
from planner.core.plan import Workload
from planner.formats.inputs import resolve, run_plan
from tests.unit.app.cli.conftest import run
from tests.unit.conftest import SMOL

CORE = Path(__file__).resolve().parents[4] / "planner" / "core"


def _core_raises() -> list[tuple[str, ast.Call]]:
    """Every `raise SomeError(...)` call in the core, with its file."""
    out = []
    for path in sorted(CORE.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
                out.append((path.name, node.exc))
    return out


def _cli_flags() -> set[str]:
    command = typer.main.get_command(_app())
    flags: set[str] = set()

    def walk(cmd: click.Command) -> None:
        for param in cmd.params:
            flags.update(o for o in param.opts if o.startswith("--"))
        for sub in getattr(cmd, "commands", {}).values():
            walk(sub)
    walk(command)
    return flags


def test_flag_for_by_hand():
    assert flag_for("tokens_in") == "--tokens-in"
    assert flag_for("tokens_in/tokens_out") == "--tokens-in/--tokens-out"
    assert flag_for("price_kind") == "--price" and flag_for("n_layers") == "--layers"
    exc = InputError("need at least 1", field="tokens_in/tokens_out")
    assert str(exc) == "tokens_in/tokens_out: need at least 1" and exc.detail == "need at least 1"
    assert cli_message(exc) == "--tokens-in/--tokens-out: need at least 1"
    assert cli_message(InputError("no field")) == "no field"


def test_no_core_error_message_names_a_cli_flag():
    offenders = []
    for name, call in _core_raises():
        for node in ast.walk(call):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and re.search(r"(?<![\w-])--[a-z]", node.value):
                offenders.append(f"{name}:{call.lineno}: {node.value[:60]!r}")
    assert not offenders, offenders


def test_every_field_the_core_names_is_a_flag_of_some_command():
    fields = {kw.value.value for _, call in _core_raises() for kw in call.keywords
              if kw.arg == "field" and isinstance(kw.value, ast.Constant)}
    assert {"tokens_in/tokens_out", "precision", "quant", "price_kind"} <= fields  # the scan sees them
    flags = _cli_flags()
    missing = {f: flag_for(f) for f in fields if not set(flag_for(f).split("/")) <= flags}
    assert not missing, missing
    assert set(FIELD_FLAGS.values()) <= flags


def test_the_same_error_reads_as_a_field_in_python_and_as_a_flag_on_the_command_line(capsys):
    wl = Workload(tokens_in=100_000, tokens_out=8, ttft_slo_s=30, itl_slo_s=5, requests_per_month=1e6)
    with pytest.raises(InputError) as exc:
        run_plan(resolve(SMOL, None, None, wl))
    assert str(exc.value).startswith("tokens_in/tokens_out: 100,000 + 8 tokens per request exceed the 8,192-token context")
    code, line = run(capsys, "plan", "--profile", str(SMOL), "--tokens-in", "100000", "--tokens-out", "8")
    assert code == 2 and line == f"error: --tokens-in/--tokens-out: {exc.value.detail}"
