"""Units and conventions shared by every calculation: one home for each constant."""
from __future__ import annotations

GIB = 1 << 30
MIB = 1 << 20
HOURS_PER_MONTH = 730.0  # 24 × 365 / 12, the cloud providers' convention
SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600.0

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})


def is_loopback(host: str | None) -> bool:
    """Whether a host name is this machine's loopback (servers started here listen only there)."""
    return (host or "") in LOOPBACK_HOSTS
