"""The `llm-planner` command line, one module per command group. User errors print one line (`error: ...`) and
exit 2; no tracebacks."""
from __future__ import annotations

import signal
import sys

import typer

from planner.app.cli import measure, plan, serve
from planner.core.errors import PlannerError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False, rich_markup_mode=None,
                  help="Profile LLM inference on this machine and price self-hosting against the APIs.")
for group in (measure, plan, serve):
    for command in group.app.registered_commands:
        app.registered_commands.append(command)


EXIT_OK, EXIT_BAD_INPUT, EXIT_UNTRUSTWORTHY, EXIT_INTERRUPTED, EXIT_TERMINATED = 0, 2, 3, 130, 143


class Terminated(KeyboardInterrupt):
    """SIGTERM (`timeout`, a CI cancel, systemd): unwinds like Ctrl-C, so finished measurements are saved and every
    server this process started is stopped by its context manager."""


def _on_sigterm(signum, frame):
    raise Terminated()


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the app; turn user errors and usage errors into one line on stderr.

    Exit status: 0 ok; 2 bad input or an unusable environment; 3 measured but not trustworthy (saved, with the
    reason); 130 interrupted (Ctrl-C); 143 terminated (SIGTERM).
    """
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        app(args=argv, standalone_mode=False)
    except PlannerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except Terminated:
        print("error: terminated (SIGTERM); finished measurements are saved", file=sys.stderr)
        return EXIT_TERMINATED
    except (KeyboardInterrupt, typer.Abort):
        print("error: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except OSError as exc:  # a filesystem error no layer above foresaw: still one line, naming the path
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"error: {where}{exc.strerror or exc} — check the path and its permissions", file=sys.stderr)
        return EXIT_BAD_INPUT
    except Exception as exc:
        if hasattr(exc, "format_message") and hasattr(exc, "exit_code"):  # click's usage errors, as typer raises them
            print(f"error: {exc.format_message()} (see --help)", file=sys.stderr)
            return exc.exit_code or EXIT_BAD_INPUT
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())

