"""Statistics of repeated measurements: pure functions, no I/O, no clock (repetitions are timed by
`planner.measure.session.repeat_until_stable`)."""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import stats as _st

from planner.core.errors import MeasurementError
from planner.core.records import Summary


def summarize(samples: Sequence[float], unit: str) -> Summary:
    """Mean, std, 95% CI of the mean (Student-t, on the log scale for positive samples), percentiles; raises on empty or non-finite input."""
    values = np.asarray(samples, dtype=float)
    if values.size == 0:
        raise MeasurementError("samples: need at least one measurement")
    if not np.all(np.isfinite(values)):
        raise MeasurementError("samples: contain NaN or infinity")
    n = int(values.size)
    mean = float(values.mean())
    std = float(values.std(ddof=1)) if n > 1 else 0.0
    if n > 1 and np.all(values > 0):
        # rates and times are positive and their noise multiplicative: a Student-t interval on the log scale, around the
        # mean, never crosses zero (a ±t·s/√n interval on 3 noisy samples can: "54.8 tok/s, CI [−27.5, 249.3]")
        half_log = float(_st.t.ppf(0.975, n - 1) * np.log(values).std(ddof=1) / math.sqrt(n))
        low, high = mean * math.exp(-half_log), mean * math.exp(half_log)
    elif n > 1:
        half = float(_st.t.ppf(0.975, n - 1) * std / math.sqrt(n))
        low, high = mean - half, mean + half
    else:
        low = high = None
    p50, p95, p99 = (float(x) for x in np.percentile(values, [50, 95, 99]))
    return Summary(
        unit=unit, n=n, mean=mean, std=std, ci95_low=low, ci95_high=high,
        median=p50, p95=p95, p99=p99, min=float(values.min()), max=float(values.max()),
        samples=[float(v) for v in values],
    )


def relative_ci_half_width(samples: Sequence[float]) -> float:
    """95% CI half-width as a fraction of the mean; infinity with fewer than two samples."""
    n = len(samples)
    if n < 2:
        return math.inf
    values = np.asarray(samples, dtype=float)
    mean = values.mean()
    if mean == 0:
        return math.inf
    return float(_st.t.ppf(0.975, n - 1) * values.std(ddof=1) / math.sqrt(n) / abs(mean))
