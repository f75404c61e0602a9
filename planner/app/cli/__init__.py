"""The `llm-planner` command line, one module per command group. User errors print one line (`error: ...`) and
exit 2; no tracebacks."""
from __future__ import annotations

import sys

import typer

from planner.app.cli import measure, plan, serve
from planner.core.errors import PlannerError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Profile LLM inference on this machine and price self-hosting against the APIs.")
for group in (measure, plan, serve):
    for command in group.app.registered_commands:
        app.registered_commands.append(command)


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the app; turn user errors and usage errors into one line on stderr."""
    try:
        app(args=argv, standalone_mode=False)
    except PlannerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, typer.Abort):
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if hasattr(exc, "format_message") and hasattr(exc, "exit_code"):  # click's usage errors, as typer raises them
            print(f"error: {exc.format_message()} (see --help)", file=sys.stderr)
            return exc.exit_code or 2
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main())

