"""Traffic as it was: a usage log's requests summarised into what a plan needs — monthly volume, prompt and output
length distributions, the share of prompt tokens served from a cache, the busiest hour against the average, and the
hour-of-day shape. Pure: the log is read by `planner.formats.traffic` into `TrafficRecords` (arrays).

A row may stand for many requests (`requests`: 1 for a per-request log, `num_model_requests` for a bucket of an
aggregated usage export); lengths of such a row are its bucket's means, so its distributions are of bucket means, and
the summary says so. What a log does not say stays None — never a default.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from planner.core.errors import InputError
from planner.core.lengths import MIN_REPLAY_GAPS, RequestMix, weighted_quantiles
from planner.core.units import SECONDS_PER_MONTH

HOUR_S = 3600.0
MIN_SPAN_FOR_PEAK_S = 24 * HOUR_S  # a busiest hour against the average means something over at least a day
MAX_REPLAY_GAPS = 4096  # logged gaps a plan keeps to replay: 10× a simulated run's requests, and a plan file stays small
MAX_ZERO_GAP_SHARE = 0.5  # more gaps of 0 than this: the log's clock is coarser than its arrivals


@dataclass(frozen=True)
class TrafficRecords:
    """A usage log as arrays, one entry per row (`formats.traffic.read_traffic`)."""

    tokens_in: np.ndarray  # prompt tokens per request (a bucket's mean where a row is a bucket)
    tokens_out: np.ndarray
    requests: np.ndarray  # requests each row stands for (1 in a per-request log)
    cached_in: np.ndarray  # prompt tokens per request served from the provider's cache; NaN: the row does not say
    time_s: np.ndarray  # when the row's requests were made (Unix seconds; a bucket's start); NaN: no timestamp
    models: tuple[str, ...]  # per row ("" where the row names none)
    per_request: bool  # False: rows are aggregated buckets
    source: str  # the file and its format, as read


@dataclass(frozen=True)
class LengthStats:
    mean: float
    p50: float
    p95: float
    p99: float
    max: float


@dataclass(frozen=True)
class TrafficSummary:
    n_requests: int
    span_s: float | None  # first to last timestamp (a bucketed log: to the end of its last hour); None without timestamps
    requests_per_month: float | None  # the log's rate over its span, scaled to a month; None without timestamps
    tokens_in: LengthStats
    tokens_out: LengthStats
    cached_fraction: float | None  # cached prompt tokens ÷ prompt tokens; None when no row says
    peak_to_avg: float | None  # busiest clock hour's requests ÷ the mean hour's over the span; None under a day of log
    hour_of_day: np.ndarray | None  # share of requests in each UTC hour 0…23; None without a day of timestamps
    gap_cv: float | None  # coefficient of variation of the inter-arrival gaps (Poisson 1); None: no per-request timestamps
    models: dict[str, int]  # requests per model name, most first
    per_request: bool
    source: str
    notes: tuple[str, ...]

    def rows(self) -> list[tuple[str, str, str]]:
        """(quantity, value, basis) rows, as `plan`'s summary prints them."""
        unknown = "unknown (the log does not say)"
        length = lambda ls: f"mean {ls.mean:,.0f}, p50 {ls.p50:,.0f}, p95 {ls.p95:,.0f}, p99 {ls.p99:,.0f}, max {ls.max:,.0f}"  # noqa: E731
        kind = "per request" if self.per_request else "of bucket means (an aggregated log)"
        busiest = int(np.argmax(self.hour_of_day)) if self.hour_of_day is not None else None
        return [
            ("requests", f"{self.n_requests:,}", self.source),
            ("span", unknown if self.span_s is None else f"{self.span_s / 86400:.2f} days" if self.span_s >= 86400 else
             f"{self.span_s / 3600:.2f} hours", "first to last timestamp"),
            ("requests per month", unknown if self.requests_per_month is None else f"{self.requests_per_month:,.0f}",
             "the log's rate over its span × 2,628,000 s"),
            ("prompt tokens", length(self.tokens_in), kind),
            ("output tokens", length(self.tokens_out), kind),
            ("cached share of prompt tokens", unknown if self.cached_fraction is None else f"{self.cached_fraction:.1%}",
             "cached prompt tokens ÷ prompt tokens"),
            ("peak-to-average", unknown if self.peak_to_avg is None else f"{self.peak_to_avg:.2f}",
             "the busiest clock hour's requests ÷ the mean hour's over the span"),
            ("busiest hour of day (UTC)", unknown if busiest is None else f"{busiest:02d}:00, {self.hour_of_day[busiest]:.1%} of requests",
             "share of requests by clock hour"),
            ("arrivals", unknown if self.gap_cv is None else f"replayed: inter-arrival gaps' CV {self.gap_cv:.2f} (Poisson 1.00)",
             f"the first {MAX_REPLAY_GAPS:,} gaps between timestamps, each relative to its hour's mean gap, in order"),
            ("models", ", ".join(f"{m} {k:,}" for m, k in self.models.items()), "requests per model name"),
        ]

    def as_dict(self) -> dict:
        """Plain data (`traffic summarize --format json`): unknowns are None."""
        return {"n_requests": self.n_requests, "span_s": self.span_s, "requests_per_month": self.requests_per_month,
                "tokens_in": self.tokens_in.__dict__, "tokens_out": self.tokens_out.__dict__, "cached_fraction": self.cached_fraction,
                "peak_to_avg": self.peak_to_avg, "gap_cv": self.gap_cv, "hour_of_day": None if self.hour_of_day is None else [float(x) for x in self.hour_of_day],
                "models": self.models, "per_request": self.per_request, "source": self.source, "notes": list(self.notes)}

    def describe(self) -> str:
        """One sentence saying what the plan takes from the log."""
        parts = [f"{self.n_requests:,} requests"]
        if self.span_s is not None:
            parts.append(f"over {self.span_s / 86400:.1f} days" if self.span_s >= 86400 else f"over {self.span_s / 3600:.1f} hours")
        if self.requests_per_month is not None:
            parts.append(f"{self.requests_per_month:,.0f} a month")
        parts.append(f"prompt mean {self.tokens_in.mean:,.0f} tokens (p95 {self.tokens_in.p95:,.0f}), output mean "
                     f"{self.tokens_out.mean:,.0f} (p95 {self.tokens_out.p95:,.0f})")
        parts.append("cached share unknown" if self.cached_fraction is None else f"cached share {self.cached_fraction:.1%}")
        parts.append("peak-to-average unknown" if self.peak_to_avg is None else f"peak-to-average {self.peak_to_avg:.2f} (busiest hour)")
        if self.gap_cv is not None:
            parts.append(f"arrivals replayed (gaps' CV {self.gap_cv:.2f}, Poisson 1)")
        return ", ".join(parts)


def _lengths(values: np.ndarray, weights: np.ndarray) -> LengthStats:
    p50, p95, p99 = weighted_quantiles(values, weights, (0.5, 0.95, 0.99))
    return LengthStats(float(np.average(values, weights=weights)), p50, p95, p99, float(values.max()))


def summarize(rec: TrafficRecords) -> TrafficSummary:
    """The log's volume, lengths, cache share and daily shape (see the module docstring)."""
    w = np.asarray(rec.requests, float)
    if w.size == 0 or w.sum() <= 0:
        raise InputError(f"{rec.source}: no requests in the log")
    n = int(round(w.sum()))
    notes = [] if rec.per_request else ["rows are aggregated buckets: the length percentiles are of bucket means, not of requests"]
    said = ~np.isnan(rec.cached_in)
    cached = None
    if said.any():
        prompt_tokens = float((rec.tokens_in * w)[said].sum())
        cached = float((rec.cached_in * w)[said].sum()) / prompt_tokens if prompt_tokens > 0 else 0.0
        if not said.all():
            notes.append(f"cached share from the {int(w[said].sum()):,} requests whose rows state it")
    timed = ~np.isnan(rec.time_s)
    span = per_month = peak = shape = None
    if timed.any():
        if not timed.all():
            notes.append(f"{int(w[~timed].sum()):,} requests without a timestamp left out of the volume and the daily shape")
        t, wt = rec.time_s[timed], w[timed]
        starts = np.unique(t)
        width = 0.0 if rec.per_request else float(np.diff(starts).min()) if starts.size > 1 else HOUR_S  # a bucket's length
        start = np.floor(t.min() / HOUR_S) * HOUR_S
        end = t.max() + width  # the last bucket covers its whole width
        span = float(end - t.min())
        if span >= HOUR_S:
            per_month = float(wt.sum()) / span * SECONDS_PER_MONTH
        else:
            notes.append(f"the log spans {span / 60:.0f} minutes: too short to state a monthly volume")
        hours = np.floor((t - start) / HOUR_S).astype(int)
        per_hour = np.bincount(hours, weights=wt, minlength=int(np.ceil((end - start) / HOUR_S)))
        if width > HOUR_S:
            notes.append(f"buckets of {width / 3600:g} hours: no busiest hour or hour-of-day shape in the log")
        elif span >= MIN_SPAN_FOR_PEAK_S:
            peak = float(per_hour.max() / per_hour.mean())
        else:
            notes.append(f"the log spans {span / 3600:.1f} hours: under a day, so no peak-to-average or hour-of-day shape is taken from it")
        if width <= HOUR_S and span >= MIN_SPAN_FOR_PEAK_S:  # under a day of log, its clock hours are no daily shape
            clock = ((t % 86400) // HOUR_S).astype(int)
            shape = np.bincount(clock, weights=wt, minlength=24) / wt.sum()
    else:
        notes.append("no timestamps: the volume, peak-to-average and daily shape are not in the log")
    gaps, why = _replay(rec)
    gap_cv = None if gaps is None else float(np.std(gaps) / np.mean(gaps))
    if why is not None and timed.any():
        notes.append(why)
    models: dict[str, int] = {}
    for name, k in zip(rec.models, w, strict=True):
        models[name or "(unnamed)"] = models.get(name or "(unnamed)", 0) + int(k)
    return TrafficSummary(n, span, per_month, _lengths(np.asarray(rec.tokens_in, float), w), _lengths(np.asarray(rec.tokens_out, float), w),
                          cached, peak, shape, gap_cv, dict(sorted(models.items(), key=lambda kv: -kv[1])), rec.per_request, rec.source,
                          tuple(notes))


def arrival_gaps(rec: TrafficRecords) -> np.ndarray | None:
    """The gaps between a per-request log's timestamps in arrival order (its first `MAX_REPLAY_GAPS`), each relative
    to the mean gap of its hour of the log, which a plan replays instead of Poisson arrivals. Relative to the hour:
    the swing from hour to hour is the peak-to-average's, for which replicas are sized (`Workload.peak_to_avg`), so
    the replay keeps only the bursts and lulls within an hour — replaying a day's swing too would count the peak
    twice. Requests logged at the same instant arrive together (a gap of 0), but a log where most gaps are 0 has
    timestamps too coarse to replay (Mooncake's trace ticks every 3 s: ~90 % of its gaps are 0, and replaying them
    would turn the clock's resolution into bursts). None then, for an aggregated log, and with fewer than
    `MIN_REPLAY_GAPS` gaps (`replay_note` says which)."""
    return _replay(rec)[0]


def replay_note(rec: TrafficRecords) -> str | None:
    """Why a log's arrivals are not replayed (None: they are)."""
    return _replay(rec)[1]


def _replay(rec: TrafficRecords) -> tuple[np.ndarray | None, str | None]:
    """(the gaps `arrival_gaps` replays, None) or (None, why not): the log's timestamps sorted and differenced once."""
    if not rec.per_request:
        return None, "an aggregated log: arrivals are Poisson"
    t = np.sort(rec.time_s[~np.isnan(rec.time_s)])
    gaps = np.diff(t)
    kept = gaps[:MAX_REPLAY_GAPS]
    if kept.size < MIN_REPLAY_GAPS:
        return None, f"{t.size} timed requests: too few to replay their arrivals, arrivals are Poisson"
    if np.mean(kept == 0) > MAX_ZERO_GAP_SHARE:
        return None, f"{np.mean(kept == 0):.0%} of the gaps between timestamps are 0: too coarse a clock to replay, arrivals are Poisson"
    hour = np.floor((t[1:] - t[0]) / HOUR_S).astype(int)
    per_hour = np.bincount(hour, weights=gaps) / np.maximum(np.bincount(hour), 1)
    local = np.divide(gaps, per_hour[hour], out=np.ones_like(gaps), where=per_hour[hour] > 0)
    return local[:MAX_REPLAY_GAPS], None


def request_mix(rec: TrafficRecords, summary: TrafficSummary) -> RequestMix:
    """The log's requests as the distribution a plan simulates: each row's (prompt, output, cached) lengths, weighted
    by the requests it stands for. A row of 0 tokens counts as 1 (a request always computes one prompt token and
    yields one); a row that does not say how much was cached takes the log's cached share of its prompt; the number of
    distinct prefixes is not in a log, so it stays unknown (`lengths.RequestMix`). A per-request log with timestamps
    has its arrivals replayed (`arrival_gaps`)."""
    t_in = np.maximum(1.0, np.asarray(rec.tokens_in, float))
    cached = None
    if summary.cached_fraction is not None:
        cached = np.minimum(t_in, np.where(np.isnan(rec.cached_in), t_in * summary.cached_fraction, rec.cached_in))
    return RequestMix.from_arrays(t_in, np.maximum(1.0, np.asarray(rec.tokens_out, float)), weights=rec.requests, cached_in=cached,
                                  label=f"the lengths of {rec.source}", arrival_gaps=arrival_gaps(rec))


def workload_fields(summary: TrafficSummary, rec: TrafficRecords | None = None) -> dict[str, object]:
    """The `Workload` fields the log determines: its volume, cached share, peak-to-average and hour-of-day shape —
    each only where the log states it — and its lengths: with the records, the whole distribution (`lengths`, whose means become tokens_in
    and tokens_out), without them the mean lengths alone."""
    fields: dict[str, object] = {"tokens_in": summary.tokens_in.mean, "tokens_out": max(1.0, summary.tokens_out.mean)}
    if summary.cached_fraction is not None:
        fields["cached_fraction"] = summary.cached_fraction
    if rec is not None:
        from planner.core.plan import LengthMix  # the plan's typed workload field (core.plan does not import this module)

        mix = request_mix(rec, summary)
        fields.update(tokens_in=mix.mean_in, tokens_out=mix.mean_out, lengths=LengthMix.from_mix(mix, rec.source))
        if summary.cached_fraction is not None:
            fields["cached_fraction"] = mix.cached_fraction
    if summary.requests_per_month is not None:
        fields["requests_per_month"] = summary.requests_per_month
    if summary.peak_to_avg is not None:
        fields["peak_to_avg"] = max(1.0, summary.peak_to_avg)
        if summary.hour_of_day is not None:  # a day or more of hourly timestamps: the autoscaled cost follows its shape
            fields["hour_of_day"] = [float(x) for x in summary.hour_of_day]
    return fields
