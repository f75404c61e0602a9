"""The error taxonomy. The core raises these; the CLI, notebooks and dashboard turn them into one line.

Each message names the option, file, row or field at fault and says how to fix it. The class says whose move it is:
the user's input, a data file, a measurement, or a fit that the data cannot support.
"""


class PlannerError(Exception):
    """Anything the user can act on; printed as one line, without a traceback (exit status 2).

    `field` names the argument at fault as the Python API spells it (`tokens_in`, or `tokens_in/tokens_out` for a
    pair): the message reads "tokens_in: …" in a notebook, and the CLI prints the flag the user typed instead
    ("--tokens-in: …", see `planner.app.cli.flags.flag_for`). The core never names a CLI flag.
    """

    exit_code = 2

    def __init__(self, message: str, *, field: str | None = None) -> None:
        self.field = field
        self.detail = message
        super().__init__(f"{field}: {message}" if field else message)


class InputError(PlannerError):
    """A bad option or argument value (a number out of range, an unknown name)."""


class DataError(PlannerError):
    """A catalog, profile or plan file that cannot be read or fails validation."""


class MeasurementError(PlannerError):
    """A profile lacks a measurement the question needs, or its numbers are not physical."""


class FitError(PlannerError):
    """A model cannot be fitted or applied: too few distinct points, or outside what the data determine."""


class Terminated(KeyboardInterrupt):
    """SIGTERM (`timeout`, a CI cancel, systemd), raised by the CLI's handler: it unwinds like Ctrl-C, so finished
    measurements are saved and every server the process started is stopped by its context manager — but it is told
    apart from Ctrl-C when the exit code is chosen (143, not 130)."""


class Interrupted(PlannerError):
    """Ctrl-C during a measurement; the finished part is saved (status partial)."""

    exit_code = 130


class TerminatedRun(Interrupted):
    """SIGTERM during a measurement; the finished part is saved (status partial)."""

    exit_code = 143


def stopped(exc: BaseException, saved: str) -> Interrupted:
    """The error to raise when a measurement loop is stopped by `exc` (Ctrl-C or SIGTERM): the right class (and so
    exit code) and one line saying what was kept."""
    if isinstance(exc, Terminated):
        return TerminatedRun(f"terminated (SIGTERM): {saved}")
    return Interrupted(f"interrupted (Ctrl-C): {saved}")


class UntrustworthyMeasurement(PlannerError):
    """A measurement finished and was saved, but says nothing reliable (no request succeeded, the server died)."""

    exit_code = 3


class SetupError(PlannerError):
    """The machine cannot do what was asked (an engine not installed, too little memory, a port in use)."""


class PlannerWarning(UserWarning):
    """Something the user should know that does not stop the command (a damaged file skipped, a default taken). The
    CLI prints it as one `warning: ...` line; notebooks show it as Python shows warnings."""
