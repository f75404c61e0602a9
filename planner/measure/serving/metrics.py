"""A load level's figures: TTFT/ITL/E2E summaries, goodput under an SLO, and the knee of a sweep."""
from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from planner.core.errors import MeasurementError
from planner.core.records import ServingLevel
from planner.core.stats import summarize
from planner.measure.serving.client import RequestRecord
from planner.measure.serving.scheduler import Mode


@dataclass(frozen=True)
class Slo:
    """Goodput limits: time to first token, and each request's own p95 inter-token latency (seconds)."""

    ttft_s: float = float("inf")
    itl_s: float = float("inf")

    def met(self, records: Sequence[RequestRecord]) -> np.ndarray:
        """Per request: succeeded within both limits."""
        ok = np.array([r.outcome == "ok" for r in records], bool)
        ttft = np.array([r.ttft_s if r.outcome == "ok" else np.nan for r in records], float)
        itl95 = np.array([np.percentile(r.itl_s, 95) if r.itl_s else 0.0 for r in records], float)
        return ok & (ttft <= self.ttft_s) & (itl95 <= self.itl_s)

    def as_dict(self) -> dict[str, float] | None:
        limits = {"ttft_s": self.ttft_s, "itl_p95_s": self.itl_s}
        return {k: v for k, v in limits.items() if np.isfinite(v)} or None


def summarize_level(records: Sequence[RequestRecord], elapsed_s: float, *, mode: Mode, target: float, slo: Slo) -> ServingLevel:
    """Throughput, latency percentiles, goodput and the exact accounting of one level."""
    if not records or elapsed_s <= 0:
        raise MeasurementError("a load level sent no requests; give more --duration or --requests")
    outcomes = Counter(r.outcome for r in records)
    sent, succeeded, failed, timed_out = len(records), outcomes["ok"], outcomes["failed"], outcomes["timed_out"]
    assert sent == succeeded + failed + timed_out, "every request ends in exactly one bucket"
    ok = [r for r in records if r.outcome == "ok"]
    met = slo.met(records)
    itl_ms = [g * 1000 for r in ok for g in r.itl_s]
    usage = {r.usage_reported for r in ok}
    return ServingLevel(
        mode=mode, target=float(target), duration_s=elapsed_s, sent=sent, succeeded=succeeded, failed=failed, timed_out=timed_out,
        request_s=succeeded / elapsed_s,
        output_tok_s=sum(r.output_tokens for r in ok) / elapsed_s,
        ttft_ms=summarize([r.ttft_s * 1000 for r in ok], "ms") if ok else None,
        itl_ms=summarize(itl_ms, "ms") if itl_ms else None,
        e2e_ms=summarize([r.e2e_s * 1000 for r in ok], "ms") if ok else None,
        goodput_request_s=int(met.sum()) / elapsed_s,
        slo=slo.as_dict(),
        errors=dict(sorted(Counter(r.error for r in records if r.error).items())),
        slo_attainment=float(met.mean()),
        prompt_tokens_mean=float(np.mean([r.prompt_tokens for r in ok])) if ok else None,
        output_tokens_mean=float(np.mean([r.output_tokens for r in ok])) if ok else None,
        tokens_source=None if not ok else "mixed" if len(usage) > 1 else "usage" if True in usage else "stream",
        usage_implausible=sum(r.usage_implausible for r in records),
    )


# --------------------------------------------------------------------------------------------------- sweep → profile

@dataclass(frozen=True)
class SweepConfig:
    mode: Mode = "concurrency"
    levels: tuple[float, ...] = (1, 2, 4, 8)  # run in increasing order
    requests_per_level: int = 32
    max_duration_s: float = 120.0
    max_tokens: int = 32
    timeout_s: float = 60.0
    warmup_requests: int = 1
    stop_at_knee: bool = True
    max_error_rate: float = 0.5  # stop once more requests than this fail or time out
    min_attainment: float = 0.9  # a level "meets the SLO" when this share of its requests does (DistServe's goodput)
    max_goodput_drop: float = 0.25  # stop when goodput falls this far below the best so far (beyond timing noise)


def knee(levels: Sequence[ServingLevel], config: SweepConfig = SweepConfig()) -> ServingLevel | None:
    """Highest load level that meets the SLO with goodput not yet fallen: the most load worth offering."""
    best, found = 0.0, None
    for lvl in sorted(levels, key=lambda x: x.target):
        goodput = lvl.goodput_request_s or 0.0
        if past_knee(lvl, best, config):
            break
        best, found = max(best, goodput), lvl
    return found


def past_knee(lvl: ServingLevel, best_goodput: float, config: SweepConfig) -> bool:
    error_rate = (lvl.failed + lvl.timed_out) / lvl.sent
    return (error_rate > config.max_error_rate or (lvl.slo_attainment or 0.0) < config.min_attainment
            or (lvl.goodput_request_s or 0.0) < (1 - config.max_goodput_drop) * best_goodput)


