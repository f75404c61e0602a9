"""Units and conventions shared by every calculation: one home for each constant."""
from __future__ import annotations

import math

GIB = 1 << 30
MIB = 1 << 20
HOURS_PER_MONTH = 730.0  # 24 × 365 / 12, the cloud providers' convention
SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600.0

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})


def is_loopback(host: str | None) -> bool:
    """Whether a host name is this machine's loopback (servers started here listen only there)."""
    return (host or "") in LOOPBACK_HOSTS


def human_bytes(n: int | float | None) -> str:
    """Bytes as people read them (binary units): "512 B", "3.5 KiB", "1.25 GiB"; "—" for unknown."""
    if n is None or n != n:
        return "—"
    for unit, size in (("GiB", GIB), ("MiB", MIB), ("KiB", 1024)):
        if abs(n) >= size:
            return f"{n / size:,.{2 if unit == 'GiB' else 1}f} {unit}"
    return f"{n:,.0f} B"


def usd(value: float | None, *, per: str = "") -> str:
    """Dollars as people read them: "$1,234.56", "$0.0123", "$0.0000576" (three significant digits below a cent,
    never "5.76e-05"); "—" for unknown or not-a-number."""
    if value is None or value != value or value in (float("inf"), float("-inf")):
        return "—"
    a = abs(value)
    if a >= 100:
        text = f"{value:,.0f}" if a >= 10_000 else f"{value:,.2f}"
    elif a >= 0.01 or a == 0:
        text = f"{value:,.4g}" if a < 1 else f"{value:,.2f}"
    else:
        digits = 2 - math.floor(math.log10(a))
        text = f"{value:.{digits}f}"
    return f"${text}{per}"
