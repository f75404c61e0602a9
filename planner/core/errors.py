"""The error taxonomy. The core raises these; the CLI, notebooks and dashboard turn them into one line.

Each message names the option, file, row or field at fault and says how to fix it. The class says whose move it is:
the user's input, a data file, a measurement, or a fit that the data cannot support.
"""


class PlannerError(Exception):
    """Anything the user can act on; printed as one line, without a traceback (exit status 2)."""

    exit_code = 2


class InputError(PlannerError):
    """A bad option or argument value (a number out of range, an unknown name)."""


class DataError(PlannerError):
    """A catalog, profile or plan file that cannot be read or fails validation."""


class MeasurementError(PlannerError):
    """A profile lacks a measurement the question needs, or its numbers are not physical."""


class FitError(PlannerError):
    """A model cannot be fitted or applied: too few distinct points, or outside what the data determine."""


class Interrupted(PlannerError):
    """Ctrl-C or SIGTERM during a measurement; the finished part is saved (status partial)."""

    exit_code = 130


class UntrustworthyMeasurement(PlannerError):
    """A measurement finished and was saved, but says nothing reliable (no request succeeded, the server died)."""

    exit_code = 3


class SetupError(PlannerError):
    """The machine cannot do what was asked (an engine not installed, too little memory, a port in use)."""
