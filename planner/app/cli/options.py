"""Parsing of option values shared by the command groups: one line naming the option when a value is bad."""
from __future__ import annotations

from planner.core.errors import InputError


def _ints(text: str | None, field: str) -> tuple[int, ...]:
    if text is None or text == "":
        return ()
    try:
        return tuple(int(v) for v in text.split(","))
    except ValueError:
        raise InputError(f"{field}: expected comma-separated integers like 1,2,4 (got {text!r})") from None


