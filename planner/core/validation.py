"""How far the capacity model's predictions were from a real server: the typed result of
`benchmarks/capacity_vs_measured.py`, and the one figure a plan shows beside its capacity.

Pure: the file is read by `planner.formats.validation`.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

import numpy as np
from pydantic import Field

from planner.core.records import HardwareFingerprint, MachineLoad, _Model  # one base: unknown fields and NaN refused

VALIDATION_KIND = "llm-planner/capacity-validation"


class RatePointCheck(_Model):
    """One offered Poisson rate: p95 latencies predicted from the engine profile and measured at the server."""

    rate_per_s: float = Field(gt=0)
    n_sent: int
    n_ok: int
    predicted_ttft_p95_s: float
    measured_ttft_p95_s: float | None
    predicted_itl_p95_s: float
    measured_itl_p95_s: float | None
    error_pct_ttft_p95: float | None
    error_pct_itl_p95: float | None
    # the engine model alone, without the server calibration
    raw_predicted_ttft_p95_s: float | None = None
    raw_predicted_itl_p95_s: float | None = None
    raw_error_pct_ttft_p95: float | None = None
    raw_error_pct_itl_p95: float | None = None
    steady_state: bool | None = Field(None, description="the run stopped before its request cap because its TTFTs had "
                                      "stopped growing (`steady_state`); False: it ran to the cap; None: not checked (older files)")


class WorkloadCheck(_Model):
    engine: str
    tokens_in: int
    tokens_out: int
    ttft_slo_s: float
    itl_slo_s: float
    predicted_requests_per_s: float
    measured_requests_per_s: float | None = Field(description="interpolated between measured rates; None when not bracketed")
    error_pct_rate: float | None
    raw_predicted_requests_per_s: float | None = None
    raw_error_pct_rate: float | None = None
    points: list[RatePointCheck]
    note: str | None = None
    traffic: str | None = Field(None, description="the length distribution and shared prefixes, when not one fixed shape "
                                "(tokens_in/tokens_out are then its rounded means)")
    name: str | None = Field(None, description="the workload's name in the benchmark's suites (None in older files)")
    load: MachineLoad | None = Field(None, description="what other work took while this workload ran")
    ttft_overhead_s: float | None = Field(None, description="the server calibration this workload's predictions used, when it "
                                          "differs from its engine's (files merged from several runs)")
    step_overhead_offset_s: float | None = None
    step_per_seq_offset_s: float | None = None
    step_per_prefill_token_offset_s: float | None = None
    prefill_scale: float | None = Field(None, gt=0)


class EngineCalibration(_Model):
    """What was fitted, and on what: the step model on the engine profile (`step_model`: after the server calibration),
    the server's own overheads on single requests at a token shape no validation workload uses."""

    engine: str
    engine_profile: str
    step_model: dict[str, float]
    step_fit_rms_pct: float
    scheduler: dict[str, float | int | str | None]
    overhead_shape: tuple[int, int]
    ttft_overhead_s: float
    step_overhead_offset_s: float = Field(0.0, description="server's decode step minus the offline engine's, at batch 1 (or the "
                                          "intercept of that difference over `calibration_batches`)")
    step_per_seq_offset_s: float = Field(0.0, description="slope of that difference per sequence in the batch (0: batch 1 only)")
    calibration_batches: list[int] = Field(default_factory=lambda: [1], description="batch sizes the server calibration measured")
    step_per_prefill_token_offset_s: float = Field(0.0, description="server's TTFT minus the engine's, slope per prompt token over "
                                                   "`calibration_prompts` (0: not measured)")
    calibration_prompts: list[int] = Field(default_factory=list, description="prompt lengths of the TTFT calibration")
    prefill_scale: float = Field(1.0, gt=0, description="the server's prefill time as a multiple of the engine's, fitted over "
                                 "`calibration_prompts` (`fit_prefill_scale`; 1: not measured, or an older file's additive offset)")
    median_abs_error_pct_rate: float | None = None
    max_abs_error_pct_rate: float | None = None
    median_abs_error_pct_ttft_p95: float | None = None
    median_abs_error_pct_itl_p95: float | None = None
    raw_median_abs_error_pct_rate: float | None = None
    raw_max_abs_error_pct_rate: float | None = None
    raw_median_abs_error_pct_ttft_p95: float | None = None
    raw_median_abs_error_pct_itl_p95: float | None = None
    n_workloads: int = 0
    n_with_measured_rate: int | None = None


class CapacityValidation(_Model):
    kind: Literal["llm-planner/capacity-validation"] = VALIDATION_KIND
    schema_version: Literal[1] = 1
    created_at: datetime
    tool_version: str
    command: str
    machine: HardwareFingerprint
    load: MachineLoad | None = None
    engines: list[str]
    n_workloads: int
    n_with_measured_rate: int | None = Field(None, description="workloads whose measured rates bracketed the SLO (the rate errors' sample)")
    median_abs_error_pct_rate: float | None
    max_abs_error_pct_rate: float | None
    median_abs_error_pct_ttft_p95: float | None
    median_abs_error_pct_itl_p95: float | None
    calibrations: list[EngineCalibration]
    records: list[WorkloadCheck]
    notes: list[str] = Field(default_factory=list)

    def for_engine(self, backend: str) -> EngineCalibration | None:
        return next((c for c in self.calibrations if c.engine == backend), None)


def abs_median(values) -> float | None:
    v = np.abs(np.asarray([x for x in values if x is not None], float))
    return float(np.median(v)) if v.size else None


def abs_max(values) -> float | None:
    v = np.abs(np.asarray([x for x in values if x is not None], float))
    return float(v.max()) if v.size else None


def error_pct(predicted: float | None, measured: float | None) -> float | None:
    """(predicted − measured) ÷ measured, in percent; None when either is unknown or the measurement is 0."""
    if predicted is None or measured is None or not np.isfinite(measured) or measured == 0:
        return None
    return float(100 * (predicted - measured) / measured)


def slo_crossing(load, worst) -> float | None:
    """Where the worse latency ratio (latency ÷ its limit, the larger of TTFT's and ITL's) first rises through 1, as a
    load (a rate, a concurrency) interpolated in log load between the two measured points that bracket it; `load`
    ascending. None when no pair brackets it (every point meets the limits, or none does)."""
    x, w = np.asarray(load, float), np.asarray(worst, float)
    for k in range(len(x) - 1):
        if w[k] <= 1 < w[k + 1]:
            f = (1 - w[k]) / (w[k + 1] - w[k])
            return float(np.exp(np.log(x[k]) + f * (np.log(x[k + 1]) - np.log(x[k]))))
    return None


def summarize_engine(cal: EngineCalibration, records: list[WorkloadCheck]) -> EngineCalibration:
    mine = [r for r in records if r.engine == cal.engine]
    pts = [p for r in mine for p in r.points]
    return cal.model_copy(update=dict(
        median_abs_error_pct_rate=abs_median(r.error_pct_rate for r in mine), max_abs_error_pct_rate=abs_max(r.error_pct_rate for r in mine),
        median_abs_error_pct_ttft_p95=abs_median(p.error_pct_ttft_p95 for p in pts),
        median_abs_error_pct_itl_p95=abs_median(p.error_pct_itl_p95 for p in pts), n_workloads=len(mine),
        n_with_measured_rate=sum(r.measured_requests_per_s is not None for r in mine),
        raw_median_abs_error_pct_rate=abs_median(r.raw_error_pct_rate for r in mine), raw_max_abs_error_pct_rate=abs_max(r.raw_error_pct_rate for r in mine),
        raw_median_abs_error_pct_ttft_p95=abs_median(p.raw_error_pct_ttft_p95 for p in pts),
        raw_median_abs_error_pct_itl_p95=abs_median(p.raw_error_pct_itl_p95 for p in pts)))


STEADY_TOLERANCE = 0.25  # the last third's median TTFT may exceed the middle third's by this share (2-core timing noise)


def steady_state(ttft_s: np.ndarray | list[float], min_requests: int, tolerance: float = STEADY_TOLERANCE) -> bool:
    """Has an open-loop run (TTFTs in arrival order) reached its steady state? At least `min_requests`, and the median
    TTFT of the last third no more than `tolerance` above the middle third's: a queue that still grows (a rate above
    capacity, or a transient not yet over) makes TTFT rise with arrival order; the first third is the warm-up.

    Why the median: a p95 of a third of 60 requests is one request, and the growth this guards against moves every
    request's wait, so the median shows it with less noise.
    """
    t = np.asarray(ttft_s, float)
    if t.size < max(min_requests, 3):
        return False
    third = t.size // 3
    middle, last = t[third:2 * third], t[2 * third:]
    return bool(np.median(last) <= (1 + tolerance) * np.median(middle))


@dataclass(frozen=True)
class ServerCalibration:
    """A server's own overheads beyond the offline engine's, measured on single requests (see EngineCalibration)."""

    step_overhead_offset_s: float
    ttft_overhead_s: float
    step_per_seq_offset_s: float = 0.0  # fitted over several batch sizes (`calibration_batches`); 0 from batch 1 alone
    step_per_prefill_token_offset_s: float = 0.0  # older files' prompt calibration (additive); 0 without
    prefill_scale: float = 1.0  # the prompt calibration (`fit_prefill_scale`): the engine's prefill terms × this

    @classmethod
    def of(cls, cal: EngineCalibration | WorkloadCheck) -> ServerCalibration:
        """The calibration an engine's (or, in a file merged from several runs, a workload's) record states."""
        return cls(cal.step_overhead_offset_s or 0.0, cal.ttft_overhead_s or 0.0, cal.step_per_seq_offset_s or 0.0,
                   cal.step_per_prefill_token_offset_s or 0.0, cal.prefill_scale or 1.0)

    def apply(self, step, sched):
        """(step model, scheduler) with the server's offsets added (no time below 0) and its TTFT overhead: the one
        place a calibration changes the model, for plans and the validation alike."""
        return (replace(step, overhead_s=max(0.0, step.overhead_s + self.step_overhead_offset_s),
                        pass_s=step.overhead_s if step.pass_s is None else step.pass_s,
                        per_seq_s=max(0.0, step.per_seq_s + self.step_per_seq_offset_s),
                        per_prefill_token_s=max(0.0, step.per_prefill_token_s * self.prefill_scale + self.step_per_prefill_token_offset_s),
                        per_prefill_pair_s=step.per_prefill_pair_s * self.prefill_scale),
                replace(sched, ttft_overhead_s=self.ttft_overhead_s))


def fit_prefill_scale(measured_ttft_s, without_prefill_s, with_prefill_s) -> tuple[float, float]:
    """(scale, intercept s): a server's TTFT on single requests at several prompt lengths as
    `without + scale · (with − without) + intercept`, least squares — `with`/`without` being the engine model's TTFT
    for the same request with and without its prefill terms (per prompt token and per attended pair).

    Multiplicative because a server that prefills faster than the offline engine (vLLM's server on the Xeon VMs,
    2026-12-04: 0.68× the profile's prefill) does so by a ratio of the same kernels' work. The additive offset per
    prompt token used before, fitted on a long and a short prompt, cancelled almost all of a short prompt's cost (0.24 →
    0.04 ms a token): on the issue-23 suite it was +50 % optimistic on 128 → 16 and +80 % on the long-tailed chat mix,
    where this form is -28 % and +13 % (`suite23-validation-vllm-xeon-20261204-*.json`). ValueError unless the prefill
    times differ and the scale is > 0.
    """
    y = np.asarray(measured_ttft_s, float) - np.asarray(without_prefill_s, float)
    x = np.asarray(with_prefill_s, float) - np.asarray(without_prefill_s, float)
    if x.size < 2 or np.ptp(x) <= 0:
        raise ValueError("fit_prefill_scale: two or more prompt lengths with different prefill times are needed")
    scale, intercept = (float(v) for v in np.polyfit(x, y, 1))
    if not scale > 0:
        raise ValueError(f"fit_prefill_scale: the server's TTFT does not grow with the prompt (scale {scale:.3g})")
    return scale, intercept


def _errors(cal: EngineCalibration, calibrated: bool) -> tuple[float | None, float | None, float | None, float | None]:
    """(rate median, rate worst, TTFT p95 median, ITL p95 median) |error| % of the model variant the plan uses."""
    if calibrated:
        return (cal.median_abs_error_pct_rate, cal.max_abs_error_pct_rate, cal.median_abs_error_pct_ttft_p95, cal.median_abs_error_pct_itl_p95)
    return (cal.raw_median_abs_error_pct_rate, cal.raw_max_abs_error_pct_rate, cal.raw_median_abs_error_pct_ttft_p95,
            cal.raw_median_abs_error_pct_itl_p95)


@dataclass(frozen=True)
class ModelError:
    """The capacity model's held-out |error| on the rate at the SLO, for the variant a plan uses."""

    median_pct: float
    worst_pct: float | None

    def describe(self) -> str:
        """The figure a plan shows in its value column: "±27% median, worst 38%"."""
        return f"±{self.median_pct:.0f}% median" + (f", worst {self.worst_pct:.0f}%" if self.worst_pct is not None else "")


def model_error(cal: EngineCalibration | None, *, calibrated: bool = False) -> ModelError | None:
    """None when there is no validation or it measured no rate."""
    if cal is None:
        return None
    rate, worst, _, _ = _errors(cal, calibrated)
    return None if rate is None else ModelError(rate, worst)


def validation_note(cal: EngineCalibration | None, source: str, *, calibrated: bool = False) -> str:
    """The line a plan prints beside a predicted capacity: the error of the model variant the plan used."""
    if cal is None:
        return "not validated on this engine: no capacity-validation result for it (run benchmarks/capacity_vs_measured.py)"
    rate, worst, ttft, itl = _errors(cal, calibrated)
    how = "engine model + this server's calibration" if calibrated else "engine model alone"
    if rate is None:
        return f"not validated: the {cal.engine} validation bracketed no workload's capacity ({source})"
    fmt = lambda v: "n/a" if v is None else f"{v:.0f}%"  # noqa: E731
    measured = "" if cal.n_with_measured_rate is None else f"; rates measured for {cal.n_with_measured_rate} of {cal.n_workloads} workloads"
    return (f"validated against a real {cal.engine} server ({how}): median |error| {fmt(rate)} on the rate at the SLO (worst {fmt(worst)}"
            f"{measured}), p95 TTFT {fmt(ttft)}, p95 ITL {fmt(itl)} ({source})")
