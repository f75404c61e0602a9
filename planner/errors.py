"""One exception type for everything the user can fix: the CLI prints it as one line, without a traceback."""


class PlannerError(Exception):
    """Bad input or an unusable environment; the message names the field and the fix."""
