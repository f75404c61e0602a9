"""The `llm-planner` command line, one module per command group. User errors print one line (`error: ...`) and
exit 2; no tracebacks.

This module stays light: `main` installs the signal handlers first and imports the command groups inside its own
`try`, so a Ctrl-C in the first second is one line and exit 130 like any other. The command modules import only
typer and light modules at the top; pandas, the engines, the catalogs and plotly are imported inside the command that
needs them, so `--help` and `--version` start in a fraction of a second (`benchmarks/cli_startup.py`).
"""
from __future__ import annotations

import os
import signal
import sys
import warnings
from functools import cache

from planner.app.cli.flags import cli_message
from planner.core.errors import Interrupted, PlannerError, PlannerWarning, Terminated

EXIT_OK, EXIT_BAD_INPUT, EXIT_UNTRUSTWORTHY, EXIT_INTERRUPTED, EXIT_TERMINATED = 0, 2, 3, 130, 143


@cache
def _app():
    import typer

    from planner.app.cli import measure, plan, serve, traffic

    app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False, rich_markup_mode=None,
                      help="Profile LLM inference on this machine and price self-hosting against the APIs.")

    def version(value: bool) -> None:
        if value:
            from planner import __version__
            typer.echo(f"llm-planner {__version__}")
            raise typer.Exit()

    @app.callback()
    def root(_: bool = typer.Option(False, "--version", is_eager=True, callback=version, help="print the version and exit")) -> None:
        """Profile LLM inference on this machine and price self-hosting against the APIs."""

    for group in (measure, plan, serve):
        for command in group.app.registered_commands:
            app.registered_commands.append(command)
    app.add_typer(traffic.app, name="traffic")  # `llm-planner traffic summarize FILE`
    return app


def __getattr__(name: str):
    if name == "app":  # `from planner.app.cli import app`: built on first use
        return _app()
    raise AttributeError(name)


_received: list[int] = []  # the signals this run was stopped by, in order (typer turns any KeyboardInterrupt into exit 130)


def _on_signal(signum, frame):
    """SIGINT raises KeyboardInterrupt, SIGTERM `Terminated` (a KeyboardInterrupt): both unwind through every `finally`
    and context manager, so measurements are saved and servers stopped; the signal is remembered for the exit code."""
    _received.append(signum)
    if signum == signal.SIGTERM:
        raise Terminated()
    raise KeyboardInterrupt()


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """The tool's own warnings as one line on stderr, like its errors (no file name, no source line)."""
    if issubclass(category, PlannerWarning):
        print(f"warning: {message}", file=sys.stderr)
    else:
        _PYTHON_SHOWWARNING(message, category, filename, lineno, file, line)


_PYTHON_SHOWWARNING = warnings.showwarning


def _stopped(terminated: bool) -> int:
    if terminated:
        print("error: terminated (SIGTERM); nothing more was done", file=sys.stderr)
        return EXIT_TERMINATED
    print("error: interrupted (Ctrl-C); nothing more was done", file=sys.stderr)
    return EXIT_INTERRUPTED


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the app; turn user errors and usage errors into one line on stderr.

    Exit status: 0 ok; 2 bad input or an unusable environment; 3 measured but not trustworthy (saved, with the
    reason); 130 interrupted (Ctrl-C); 143 terminated (SIGTERM).
    """
    previous = {s: signal.signal(s, _on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    shown = warnings.showwarning
    warnings.showwarning = _one_line_warning
    _received.clear()
    try:
        rv = _app()(args=argv, standalone_mode=False)
        # standalone_mode=False hands back what click would have exited with (ctx.exit(n), typer.Exit(n), and 130 for a
        # KeyboardInterrupt it caught) instead of raising it: a non-zero code must reach the shell, never become 0
        if rv == EXIT_INTERRUPTED:
            return _stopped(signal.SIGTERM in _received)
        return rv if isinstance(rv, int) and not isinstance(rv, bool) else EXIT_OK
    except PlannerError as exc:
        if _received and not isinstance(exc, Interrupted):  # a signal arrived and some import swallowed its KeyboardInterrupt:
            # the run was still stopped (an Interrupted error is the stop itself, saying what was saved)
            return _stopped(signal.SIGTERM in _received)
        print(f"error: {cli_message(exc)}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt as exc:  # before typer runs (imports) or outside its handling
        return _stopped(isinstance(exc, Terminated) or signal.SIGTERM in _received)
    except Exception as exc:
        if _received or type(exc).__name__ == "Abort":  # a signal arrived: whatever the interrupted code made of it (a C
            return _stopped(signal.SIGTERM in _received)  # extension's import turns it into ImportError), the run was stopped
        if isinstance(exc, OSError):  # a filesystem error no layer above foresaw: still one line, naming the path
            where = f"{exc.filename}: " if exc.filename else ""
            print(f"error: {where}{exc.strerror or exc} — check the path and its permissions", file=sys.stderr)
            return EXIT_BAD_INPUT
        if hasattr(exc, "format_message") and hasattr(exc, "exit_code"):  # click's usage errors (typer vendors click)
            print(f"error: {exc.format_message()} (see --help)", file=sys.stderr)
            return exc.exit_code or EXIT_BAD_INPUT
        raise
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        warnings.showwarning = shown


def entry() -> None:
    """The console script (`llm-planner`) and `python -m planner`: `main`, then the exit.

    After an interrupt the process leaves through `os._exit`: CPython remembers a KeyboardInterrupt that passed through
    C-level code run during an import (even one `main` caught) and at shutdown kills itself with SIGINT, which the shell
    sees as -2 instead of the documented 130 (seen here, 1 run in 14). Every file is already written atomically and
    every server stopped by then; only the streams are left to flush."""
    code = main()
    if code in (EXIT_INTERRUPTED, EXIT_TERMINATED):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    entry()
