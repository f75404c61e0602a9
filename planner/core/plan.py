"""One planning question answered end to end: profile + instance + API price + workload → costs and break-even.

`evaluate()` is the one place the money is computed: vectorised over any number of scenarios, it is what `plan()`,
the uncertainty interval, the tornado table, the hybrid split, the dashboard and the benchmarks all call, so they
cannot disagree. `plan()` adds capacity at the SLO and the warnings. Pure: no files (plan.yaml is read by
`planner.formats.plan_file`).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from planner.core import cost as cm
from planner.core.capacity import (
    PricedMemory,
    capacity_at_slo,
    engine_capacity,
    kv_capacity,
    level_rate,
    measured_latency_cdf,
    serving_capacity_table,
    serving_shape_mismatch,
)
from planner.core.cards import ModelCard
from planner.core.errors import InputError, MeasurementError
from planner.core.lengths import RequestMix
from planner.core.licence import licence_warnings
from planner.core.matching import instance_mismatch
from planner.core.quality import trust_problems
from planner.core.records import EngineProfile, Profile, ServingProfile
from planner.core.roofline import active_weight_bytes, decode_ceiling_tok_s, model_kv_bytes_per_token
from planner.core.rows import ApiPriceRow, CacheRuleRow, InstanceRow, PriceKind, Provenance
from planner.core.simulate import LatencyCdf
from planner.core.units import SECONDS_PER_MONTH, usd
from planner.core.validation import ModelError, ServerCalibration

MAX_REQUESTS_PER_MONTH = 1e15


class LengthMix(BaseModel):
    """Requests' token lengths as a distribution (a plan file's `workload.lengths`, or a usage log's, `plan --traffic`):
    one entry per request, or per bucket of `weights` requests. `cached_in`: leading prompt tokens a warm prompt cache
    serves (a shared system prompt or document); `n_prefixes`: how many distinct prefixes share them (None: unknown —
    see `lengths.RequestMix`)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    tokens_in: list[float] = Field(min_length=1, description="prompt tokens of each request (or bucket)")
    tokens_out: list[float] = Field(min_length=1, description="output tokens of each request (or bucket)")
    weights: list[float] | None = Field(None, description="requests each entry stands for (default: 1 each)")
    cached_in: list[float] | None = Field(None, description="cached prompt tokens of each entry (default: none)")
    n_prefixes: int | None = Field(None, ge=1, description="distinct shared prefixes (None: unknown)")
    source: str = Field("given", description="where the lengths come from (a log file, a preset)")
    arrival_gaps: list[float] | None = Field(None, description="a log's inter-arrival gaps in arrival order (any unit), replayed "
                                             "at each offered rate instead of Poisson arrivals (None: Poisson)")
    _mix: RequestMix | None = PrivateAttr(None)

    @model_validator(mode="after")
    def _consistent(self):
        self._mix = None
        self.mix()  # the checks (equal lengths, ≥ 1 token, spans within prompts, weights) live in RequestMix
        return self

    def mix(self) -> RequestMix:
        if self._mix is None:
            self._mix = RequestMix.from_arrays(self.tokens_in, self.tokens_out, weights=self.weights, cached_in=self.cached_in,
                                               n_prefixes=self.n_prefixes, label=self.source, arrival_gaps=self.arrival_gaps)
        return self._mix

    def scaled(self, f_in: float, f_out: float, cached_share: float | None) -> RequestMix:
        """The mix with every prompt × f_in and output × f_out, cached spans scaled or (`cached_share`) that share of
        each prompt: a what-if that moved the means (`_scaled_mix`, cached: the dashboard asks again at every move)."""
        return _scaled_mix(self.mix(), f_in, f_out, cached_share)

    @classmethod
    def from_mix(cls, mix: RequestMix, source: str) -> LengthMix:
        """The merged points of a mix (a log of a million rows becomes its distinct shapes with their counts)."""
        return cls(tokens_in=list(mix.tokens_in), tokens_out=list(mix.tokens_out), weights=list(mix.weights),
                   cached_in=list(mix.cached_in) if any(mix.cached_in) else None, n_prefixes=mix.n_prefixes, source=source,
                   arrival_gaps=None if mix.arrival_gaps is None else list(mix.arrival_gaps))


@lru_cache(maxsize=256)
def _scaled_mix(mix: RequestMix, f_in: float, f_out: float, cached_share: float | None) -> RequestMix:
    cached = None if cached_share is None else np.asarray(mix.tokens_in, float) * f_in * cached_share
    return mix.scaled(f_in, f_out, cached)


MEAN_TOLERANCE = 0.005  # a stated mean within 0.5 % (or half a token) of the lengths' own is the same number, rounded


class Workload(BaseModel):
    """The traffic to plan for. Defaults: a chat-style request, 10⁶ requests a month, a 2 s / 200 ms SLO."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    # upper bounds are plausibility limits (10¹⁵ requests a month is ~4·10⁸ per second; 10⁸ prompt tokens is beyond
    # any model's context): past them a number is a typo, and the plan would print replicas by the trillion
    requests_per_month: float = Field(1e6, gt=0, le=MAX_REQUESTS_PER_MONTH, description="the volume the summary is quoted at")
    volume_min: float = Field(1e3, gt=0, le=MAX_REQUESTS_PER_MONTH)
    volume_max: float = Field(1e9, gt=0, le=MAX_REQUESTS_PER_MONTH)
    volume_points: int = Field(121, ge=2, le=100_000)
    tokens_in: float = Field(512, ge=0, le=1e8, description="prompt tokens per request (mean)")
    tokens_out: float = Field(128, ge=1, le=1e7, description="output tokens per request (mean)")
    cached_fraction: float = Field(0.0, ge=0, le=1, description="share of input tokens served from the provider's prompt cache")
    peak_to_avg: float = Field(2.0, ge=1, description="peak hour load ÷ average load; replicas are sized for the peak")
    max_utilisation: float = Field(0.8, gt=0, le=1, description="headroom: replicas run at most this busy at peak")
    ttft_slo_s: float = Field(2.0, gt=0, description="time to first token limit (p95)")
    itl_slo_s: float = Field(0.2, gt=0, description="inter-token latency limit (p95)")
    itl_metric: Literal["itl", "tpot"] = Field("itl", description="what itl_slo_s limits: 'itl' the p95 of every gap pooled over "
                                               "requests (vllm bench serve's ITL), 'tpot' the p95 over requests of each one's mean "
                                               "time per output token (MLPerf's TPOT); see simulate.ITL_METRICS")
    min_replicas: int = Field(1, ge=1, description="always-on replicas")
    monthly_active_users: float | None = Field(None, ge=0, description="checked against model licence limits")
    lengths: LengthMix | None = Field(None, description="prompt/output lengths as a distribution; tokens_in, tokens_out (and "
                                      "cached_fraction, where it gives cached spans) are then its means")
    hour_of_day: list[float] | None = Field(None, min_length=24, max_length=24,
                                            description="share of requests in each UTC hour 0…23 (a log's); autoscaling follows it "
                                            "instead of the stated sinusoid")

    @field_validator("hour_of_day")
    @classmethod
    def _a_day(cls, v):
        if v is not None and (min(v) < 0 or sum(v) <= 0):
            raise ValueError("hour_of_day must be 24 non-negative shares, not all zero")
        return v

    def day_shape(self) -> np.ndarray:
        """Hourly demand ÷ average (mean 1): the log's hour-of-day shape when the workload has one, else the stated
        sinusoid with the workload's peak-to-average (`cost.diurnal_shape`)."""
        if self.hour_of_day is not None:
            shares = np.asarray(self.hour_of_day, float)
            return shares / shares.mean()
        return cm.diurnal_shape(self.peak_to_avg)

    @model_validator(mode="after")
    def _means_of_the_lengths(self):
        """With `lengths`, tokens_in/tokens_out/cached_fraction are the distribution's means: taken from it, and a
        different number given beside it is refused rather than silently replaced."""
        if self.lengths is None:
            return self
        mix = self.lengths.mix()
        means = {"tokens_in": mix.mean_in, "tokens_out": mix.mean_out}
        if self.lengths.cached_in is not None:
            means["cached_fraction"] = mix.cached_fraction
        for name, mean in means.items():
            given = getattr(self, name)
            if name in self.model_fields_set and abs(given - mean) > max(MEAN_TOLERANCE * mean, 0.5 if name != "cached_fraction" else 0.005):
                raise ValueError(f"{name} {given:g} is not the mean of lengths ({mean:g}); give one of them, or make them agree")
            setattr(self, name, mean)
        return self

    def longest_tokens(self) -> float:
        """The longest request (prompt + output) the workload sends: what the model's context, one sequence's KV cache
        and vLLM's `--max-model-len` must hold."""
        mix = self.request_mix()
        return mix.max_tokens if mix is not None else self.tokens_in + self.tokens_out

    def request_mix(self) -> RequestMix | None:
        """The requests the simulator draws: the lengths' distribution (each request's cached span as given, or the
        workload's cached share of its prompt), or the fixed shape with the cached share as every request's prefix.
        None: one fixed shape, nothing cached. A what-if that moved tokens_in/tokens_out away from the lengths' means
        (the tornado, the dashboard) scales every request by the same factor, so the shape of the distribution holds."""
        if self.lengths is None:
            if not self.cached_fraction:
                return None
            return RequestMix.fixed(self.tokens_in, self.tokens_out, self.tokens_in * self.cached_fraction)
        mix = self.lengths.mix()
        f_in, f_out = self.tokens_in / mix.mean_in, self.tokens_out / mix.mean_out
        if f_in == 1 and f_out == 1 and (self.lengths.cached_in is not None or not self.cached_fraction):
            return mix
        share = None if self.lengths.cached_in is not None else self.cached_fraction
        return self.lengths.scaled(f_in, f_out, share)

    @field_validator("volume_max")
    @classmethod
    def _grid_ordered(cls, v, info):
        if "volume_min" in info.data and v <= info.data["volume_min"]:
            raise ValueError("volume_max must be greater than volume_min")
        return v

    def volumes(self) -> np.ndarray:
        return np.geomspace(self.volume_min, self.volume_max, self.volume_points)


@dataclass(frozen=True)
class PriceChoice:
    """A self-host replica price and an API price, with where each came from."""

    replica_usd_per_hour: float
    replica_label: str
    replica_provenance: Provenance
    api_usd_per_input_token: float
    api_usd_per_output_token: float
    api_usd_per_cached_input_token: float | None
    api_label: str
    api_provenance: Provenance
    instance: InstanceRow | None = None  # the rented machine, for the measured-vs-priced hardware check
    cache_rule: CacheRuleRow | None = None  # the API provider's caching rules (minimum prefix, write premium)

    @classmethod
    def from_rows(cls, instance: InstanceRow | None, api: ApiPriceRow, *, price_kind: PriceKind = "on_demand", batch: bool = False,
                  cache_rule: CacheRuleRow | None = None) -> PriceChoice:
        """`instance` None: the API alone (no replica priced), for an API's own cost per request."""
        per_token = api.per_token(batch)
        return cls(
            replica_usd_per_hour=instance.usd_per_hour(price_kind) if instance else 0.0,
            replica_label=f"{instance.instance} ({price_kind})" if instance else "no replica",
            replica_provenance=instance.provenance if instance else api.provenance,
            api_usd_per_input_token=per_token.usd_per_input_token, api_usd_per_output_token=per_token.usd_per_output_token,
            api_usd_per_cached_input_token=per_token.usd_per_cached_input_token,
            api_label=f"{api.model} (batch)" if batch else api.model, api_provenance=api.provenance, instance=instance,
            cache_rule=cache_rule,
        )

    def cache_warnings(self, workload: Workload) -> list[str]:
        """Where the provider's caching rules make the workload's cached share cost more than the plan assumes."""
        rule = self.cache_rule
        if not workload.cached_fraction or rule is None:
            return []
        out = []
        prefix = workload.tokens_in * workload.cached_fraction
        if rule.min_cacheable_tokens and prefix < rule.min_cacheable_tokens:
            out.append(f"cache: a cached prefix of {prefix:,.0f} tokens is below {rule.provider}'s minimum of {rule.min_cacheable_tokens:,} "
                       "cacheable tokens — it is billed as plain input")
        if rule.cache_write_multiplier and rule.cache_write_multiplier > 1:
            out.append(f"cache: {rule.provider} bills cache writes at {rule.cache_write_multiplier:g}× the input price (TTL "
                       f"{rule.cache_ttl or 'unknown'}); the plan assumes each cached prefix is reused many times within it")
        return out

    def cacheable(self, tokens_in, cached_fraction) -> np.ndarray:
        """Whether a cached share is long enough for the provider to cache at all (vectorised; True when no rule is known)."""
        floor = self.cache_rule.min_cacheable_tokens if self.cache_rule and self.cache_rule.min_cacheable_tokens else 0
        return np.asarray(tokens_in, float) * np.asarray(cached_fraction, float) >= floor


@dataclass(frozen=True)
class Evaluation:
    """Costs of equally shaped arrays of scenarios (NaN where self-hosting is infeasible: capacity 0)."""

    requests_per_month: np.ndarray
    replicas: np.ndarray
    utilisation: np.ndarray
    selfhost_usd_per_month: np.ndarray
    selfhost_usd_per_request: np.ndarray
    api_usd_per_request: np.ndarray
    api_usd_per_month: np.ndarray
    break_even_first: np.ndarray
    break_even_always: np.ndarray

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame({k: np.ravel(v) for k, v in self.__dict__.items()})


def evaluate(requests_per_month, *, capacity_rps, replica_usd_per_month, api_usd_per_request, peak_to_avg=1.0,
             max_utilisation=1.0, min_replicas=1) -> Evaluation:
    """Self-hosted vs API cost and the break-even volumes for every scenario (all inputs broadcast together).

    A capacity of 0 (no load level meets the SLO) makes that scenario's self-hosted figures NaN, never a huge number.
    """
    cap = np.asarray(capacity_rps, float)
    if np.any(~np.isfinite(cap)) or np.any(cap < 0):
        raise MeasurementError(f"capacity_rps: must be finite and >= 0 (got {cap.min():g})")
    feasible = cap > 0
    safe_cap = np.where(feasible, cap, 1.0)
    volume = cm.checked("requests_per_month", requests_per_month)
    api_req = cm.checked("api_usd_per_request", api_usd_per_request, allow_zero=True)
    replicas = cm.replicas_needed(volume, safe_cap, peak_to_avg, max_utilisation, min_replicas)
    selfhost = replicas * cm.checked("replica_usd_per_month", replica_usd_per_month, allow_zero=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        first, always = cm.break_even(safe_cap, replica_usd_per_month, np.maximum(api_req, 1e-300), peak_to_avg, max_utilisation, min_replicas)
    shape = np.broadcast_shapes(selfhost.shape, np.shape(api_req), np.shape(volume), feasible.shape)
    ok = np.broadcast_to(feasible, shape)
    everywhere = bool(feasible.all())

    def full(a):  # a read-only view where the input is smaller than the grid: no copy of a volume-free quantity
        return np.broadcast_to(np.asarray(a, dtype=float), shape)

    def nan_unless(a):
        return full(a) if everywhere else np.where(ok, full(a), np.nan)
    return Evaluation(
        requests_per_month=full(volume), replicas=nan_unless(replicas), utilisation=nan_unless(volume / SECONDS_PER_MONTH / (replicas * safe_cap)),
        selfhost_usd_per_month=nan_unless(selfhost), selfhost_usd_per_request=nan_unless(selfhost / volume),
        api_usd_per_request=full(api_req), api_usd_per_month=full(api_req * volume),
        break_even_first=nan_unless(first), break_even_always=nan_unless(always),
    )


_PRICE_FIELDS = ("usd_per_input_token", "usd_per_output_token", "usd_per_cached_input_token", "replica_usd_per_hour")


def evaluate_plan(requests_per_month, capacity_rps, workload: Workload, prices: PriceChoice | None = None, **overrides) -> Evaluation:
    """`evaluate()` with the workload's and the prices' fields; `overrides` replace any of them by arrays of scenarios
    (tokens_in, tokens_out, cached_fraction, peak_to_avg, max_utilisation, min_replicas, and the price fields
    usd_per_input_token, usd_per_output_token, usd_per_cached_input_token, replica_usd_per_hour — all four are needed
    when `prices` is None)."""
    a = dict(tokens_in=workload.tokens_in, tokens_out=workload.tokens_out, cached_fraction=workload.cached_fraction,
             peak_to_avg=workload.peak_to_avg, max_utilisation=workload.max_utilisation, min_replicas=workload.min_replicas)
    if prices is not None:
        a.update(usd_per_input_token=prices.api_usd_per_input_token, usd_per_output_token=prices.api_usd_per_output_token,
                 usd_per_cached_input_token=prices.api_usd_per_cached_input_token, replica_usd_per_hour=prices.replica_usd_per_hour)
    unknown = set(overrides) - set(a) - set(_PRICE_FIELDS)
    missing = set(_PRICE_FIELDS) - set(a) - set(overrides)
    if unknown or missing:
        raise TypeError(f"evaluate_plan: unknown override(s) {sorted(unknown)}, missing price field(s) {sorted(missing)}")
    a.update(overrides)
    mix = workload.request_mix() if not {"tokens_in", "tokens_out", "cached_fraction"} & set(overrides) else None
    if mix is not None and not mix.is_fixed:
        # the expectation over the distribution: prices are linear in tokens, but a provider caches only spans at least
        # its minimum long — so the cached tokens billed at the cache price are counted request by request
        floor = prices.cache_rule.min_cacheable_tokens if prices is not None and prices.cache_rule is not None else None
        a["tokens_in"], a["tokens_out"] = mix.mean_in, mix.mean_out
        a["cached_fraction"] = mix.expected_cacheable_tokens(floor or 0) / mix.mean_in
    elif prices is not None and prices.cache_rule is not None and a["usd_per_cached_input_token"] is not None:
        # a prefix shorter than the provider's minimum is not cached: billed as plain input
        a["usd_per_cached_input_token"] = np.where(prices.cacheable(a["tokens_in"], a["cached_fraction"]), a["usd_per_cached_input_token"],
                                                   a["usd_per_input_token"])
    api_req = cm.api_cost_per_request(a["tokens_in"], a["tokens_out"], a["usd_per_input_token"], a["usd_per_output_token"],
                                      a["cached_fraction"], a["usd_per_cached_input_token"])
    return evaluate(requests_per_month, capacity_rps=capacity_rps, replica_usd_per_month=cm.replica_monthly_usd(a["replica_usd_per_hour"]),
                    api_usd_per_request=api_req, peak_to_avg=a["peak_to_avg"], max_utilisation=a["max_utilisation"],
                    min_replicas=a["min_replicas"])


@dataclass(frozen=True)
class CostAtVolume:
    """The plan at the workload's own volume."""

    requests_per_month: float
    replicas: float
    utilisation: float
    selfhost_usd_per_month: float
    selfhost_usd_per_request: float
    api_usd_per_month: float
    api_usd_per_request: float


@dataclass
class PlanResult:
    workload: Workload
    prices: PriceChoice
    profile_label: str
    profile_ref: str
    capacity: pd.DataFrame
    capacity_rps: float
    concurrency: float
    replica_usd_per_month: float
    api_usd_per_request: float
    curves: pd.DataFrame
    break_even_first: float
    break_even_always: float
    at_target: CostAtVolume
    warnings: list[str] = field(default_factory=list)
    capacity_source: str = "engine-model"  # "serving-measured": a load test's goodput; "engine-model": from engine tests
    kv_bytes_per_token: float | None = None  # from the architecture; None when unknown
    max_concurrency_by_memory: int | None = None  # sequences of this workload the measured KV cache holds; None: not measured
    capacity_notes: list[str] = field(default_factory=list)  # how the capacity was obtained (simulated server, measured)
    autoscaled_usd_per_month: float | None = None  # the same replicas scaled to a 24-h demand shape (cost.diurnal_shape)
    validation: str | None = None  # the capacity model's measured error on this engine, or why there is none
    model_error: ModelError | None = None  # that error in numbers; None: not validated on this hardware
    no_verdict: list[str] = field(default_factory=list)  # why this plan may not answer "self-host or API?" (see `verdict`)
    planned_rps: float | None = None  # what each replica is offered at the quoted volume's peak hour (≤ capacity_rps)
    latency_cdf: LatencyCdf | None = None  # TTFT/ITL distributions at planned_rps; None: the profile kept no samples
    mean_shape_capacity_rps: float | None = None  # with a length distribution: the capacity if every request had the mean shape

    @property
    def trustworthy(self) -> bool:
        """The one trust policy: a plan whose measurement is untrustworthy (contended, intervals too wide, unphysical)
        or breaks physics gives no verdict anywhere — the CLI exits 3, the report, dashboard and notebooks say
        "no verdict" in red instead of naming a winner."""
        return not self.no_verdict

    @property
    def self_host_ever_cheaper(self) -> bool:
        return bool(np.isfinite(self.break_even_first))

    @property
    def at_level(self) -> pd.Series:
        """The capacity table's row of the chosen load level (the one whose rate is the capacity)."""
        t = self.capacity
        return t[np.isclose(level_rate(t), self.capacity_rps, rtol=1e-12, atol=0)].iloc[0]

    def as_dict(self) -> dict:
        """The plan as plain data (`plan --format json`): NaN and infinity become None."""
        finite = lambda v: None if v is None or not np.isfinite(v) else float(v)  # noqa: E731
        level = self.at_level
        t, w = self.at_target, self.workload
        return {
            "profile": {"label": self.profile_label, "ref": self.profile_ref},
            "workload": w.model_dump(),
            "capacity": {"requests_per_s": self.capacity_rps, "concurrency": finite(self.concurrency), "source": self.capacity_source,
                         "ttft_p95_s": finite(level.get("ttft_s")), "itl_p95_s": finite(level.get("itl_p95_s")),
                         "kv_bytes_per_token": self.kv_bytes_per_token, "max_concurrency_by_memory": self.max_concurrency_by_memory,
                         "notes": list(self.capacity_notes), "validation": self.validation,
                         "model_error": self.model_error.describe() if self.model_error else None,
                         "mean_shape_requests_per_s": finite(self.mean_shape_capacity_rps)},
            "replicas": t.replicas, "selfhost_usd_per_month": t.selfhost_usd_per_month, "selfhost_usd_per_request": t.selfhost_usd_per_request,
            "selfhost_autoscaled_usd_per_month": finite(self.autoscaled_usd_per_month),
            "api_usd_per_month": t.api_usd_per_month, "api_usd_per_request": t.api_usd_per_request,
            "replica_usd_per_month": self.replica_usd_per_month,
            "break_even": {"first": finite(self.break_even_first), "always": finite(self.break_even_always)},
            "prices": {"replica": self.prices.replica_label, "replica_source": self.prices.replica_provenance.describe(),
                       "api": self.prices.api_label, "api_source": self.prices.api_provenance.describe()},
            "latency_at_planned_rate": None if self.latency_cdf is None else {
                "requests_per_s": self.latency_cdf.rate_per_s, "basis": self.latency_cdf.basis,
                **{f"{k}_p{q}_s": v for q in (50, 95, 99) for k, v in zip(("ttft", "itl"), self.latency_cdf.at(q), strict=True)}},
            "warnings": list(self.warnings),
            "trustworthy": self.trustworthy, "verdict": self.verdict(),
        }

    def verdict(self) -> str:
        """One line: which side is cheaper at the workload's volume, and from where self-hosting wins — or, for a plan
        that is not `trustworthy`, why there is no verdict."""
        if self.no_verdict:
            return "no verdict: " + "; ".join(self.no_verdict) + " — re-measure before deciding"
        t, w = self.at_target, self.workload
        cheaper = "self-hosting" if t.selfhost_usd_per_month < t.api_usd_per_month else f"the API ({self.prices.api_label})"
        tail = (f"; self-hosting breaks even at {self.break_even_first:,.0f} requests/month and is always cheaper above "
                f"{self.break_even_always:,.0f}" if self.self_host_ever_cheaper else "; the API is cheaper at every volume")
        error = (f"; the capacity behind it is a prediction with a held-out error of {self.model_error.describe()}" if self.model_error else
                 "; the capacity behind it is measured" if self.capacity_source == "serving-measured" else
                 "; the capacity model is not validated on this hardware")
        return (f"verdict: at {w.requests_per_month:,.0f} requests/month {cheaper} is cheaper "
                f"({usd(t.selfhost_usd_per_month)} self-hosted vs {usd(t.api_usd_per_month)} API a month){tail}{error}")

    def summary(self) -> pd.DataFrame:
        w, t = self.workload, self.at_target
        rows = [
            ("profile", self.profile_label, self.profile_ref),
            ("capacity per replica at SLO", f"{self.capacity_rps:.3g} req/s (concurrency {self.concurrency:.3g})",
             f"TTFT p95 ≤ {w.ttft_slo_s:g} s, {'TPOT p95 (per request)' if w.itl_metric == 'tpot' else 'ITL p95 (pooled gaps)'} ≤ "
             f"{w.itl_slo_s * 1000:g} ms; {self.capacity_source}"),
            *([("capacity model error", self.model_error.describe() if self.model_error else "not validated", self.validation)]
              if self.validation else []),
            *([("capacity if every request had the mean shape", f"{self.mean_shape_capacity_rps:.3g} req/s",
                f"{w.tokens_in:,.0f} → {w.tokens_out:,.0f} tokens each: what a single-shape plan says; the capacity above draws each "
                f"request from {w.lengths.source if w.lengths else 'the distribution'}")]
              if self.mean_shape_capacity_rps is not None else []),
            ("replica price", f"{usd(self.prices.replica_usd_per_hour)}/h ({usd(self.replica_usd_per_month)} a month)",
             self.prices.replica_provenance.describe()),
            ("API price per request", usd(self.api_usd_per_request), self.prices.api_provenance.describe()),
            ("self-hosted $ per 1M output tokens", usd(float(cm.usd_per_million_tokens(self.prices.replica_usd_per_hour, self.capacity_rps * w.tokens_out))),
             "one replica busy at its SLO capacity; prompt tokens ride along"),
            (f"replicas at {w.requests_per_month:,.0f} req/month", f"{t.replicas:.0f}", f"peak-to-average {w.peak_to_avg:g}, max utilisation {w.max_utilisation:g}"),
            *([("latency at the peak hour", _latency_line(self.latency_cdf),
                f"each replica offered {self.latency_cdf.rate_per_s:.3g} req/s; {self.latency_cdf.basis}")] if self.latency_cdf else []),
            ("self-hosted per month", usd(t.selfhost_usd_per_month), f"{usd(t.selfhost_usd_per_request)} per request; always on, sized for the peak"),
            *([("self-hosted per month, autoscaled", usd(self.autoscaled_usd_per_month),
                ("replicas follow the log's hour-of-day shape" if w.hour_of_day is not None else
                 "replicas follow a 24-h sinusoid with the same peak-to-average") + f", never below {w.min_replicas}; rented by the hour")]
              if self.autoscaled_usd_per_month is not None else []),
            ("API per month", usd(t.api_usd_per_month), f"{usd(self.api_usd_per_request)} per request"),
            ("break-even volume", _fmt_volume(self.break_even_first), "first volume where self-hosting costs no more than the API"),
            ("self-hosting always cheaper above", _fmt_volume(self.break_even_always), "every replica step stays under the API line"),
        ]
        return pd.DataFrame(rows, columns=["quantity", "value", "basis"])


def _latency_line(c: LatencyCdf) -> str:
    (t50, i50), (t95, i95), (t99, i99) = c.at(50), c.at(95), c.at(99)
    return f"TTFT p50/p95/p99 {t50:.3g}/{t95:.3g}/{t99:.3g} s; ITL {i50 * 1e3:.3g}/{i95 * 1e3:.3g}/{i99 * 1e3:.3g} ms"


def _fmt_volume(v: float) -> str:
    return "never (the API is cheaper at every volume)" if not np.isfinite(v) else f"{v:,.0f} requests/month"


@dataclass
class ProfileCapacity:
    """What a profile can serve at the workload's SLO: the latency-vs-load table, the capacity, the concurrency there,
    how it was obtained, and the latency distribution at any rate (simulated for an engine profile, measured for a
    serving profile; None where the profile kept no samples)."""

    table: pd.DataFrame
    requests_per_s: float
    concurrency: float
    notes: list[str]
    latency_at: Callable[[float], LatencyCdf | None]


def profile_capacity(profile: Profile, workload: Workload, calibration: ServerCalibration | None = None,
                     priced: PricedMemory | None = None) -> ProfileCapacity:
    if isinstance(profile, ServingProfile):
        if why := serving_shape_mismatch(profile, workload.tokens_in, workload.tokens_out):
            raise InputError(why, field="profile")
        if workload.itl_metric != "itl":
            raise InputError("a serving profile measured the pooled inter-token gaps (ITL), not each request's TPOT; plan it with the "
                             "itl metric, or plan the engine profile", field="itl_metric")
        if workload.lengths is not None and not workload.lengths.mix().is_fixed:
            raise InputError("a serving profile measured one token shape; a length distribution needs the simulated server — plan "
                             "an engine profile", field="lengths")
        table = serving_capacity_table(profile)
        rps, conc = capacity_at_slo(table, workload.ttft_slo_s, workload.itl_slo_s)
        return ProfileCapacity(table, float(rps), float(conc),
                               ["capacity: measured by the load generator at this token shape (p95 latencies vs the plan's SLO)"],
                               lambda rate: measured_latency_cdf(profile, rate))
    cap = engine_capacity(profile, workload.tokens_in, workload.tokens_out, workload.ttft_slo_s, workload.itl_slo_s, calibration=calibration,
                          priced=priced, itl_metric=workload.itl_metric, mix=workload.request_mix())
    return ProfileCapacity(cap.table, cap.requests_per_s, cap.concurrency, cap.notes,
                           lambda rate: cap.latency_at(workload.tokens_in, workload.tokens_out, rate))


def physics_warnings(profile: Profile, workload: Workload, bandwidth_bytes_s: float | None) -> tuple[list[str], list[str]]:
    """Refuse a request longer than the model's context; flag a decode speed above the memory-bandwidth roofline.
    Returns (violations: the plan gets no verdict, notes: a check that could not be made and why)."""
    ctx = profile.model.context_length
    if ctx and workload.longest_tokens() > ctx:
        if workload.lengths is not None:
            raise InputError(f"the longest request, {workload.longest_tokens():,.0f} tokens, exceeds the {ctx:,}-token context of "
                             f"{profile.model.display_name}; choose a longer-context model", field="lengths")
        raise InputError(f"{workload.tokens_in:,.0f} + {workload.tokens_out:,.0f} tokens per request exceed "
                         f"the {ctx:,}-token context of {profile.model.display_name}; shorten the request or choose a longer-context model",
                         field="tokens_in/tokens_out")
    if not (bandwidth_bytes_s and isinstance(profile, EngineProfile) and profile.decode and profile.model.tensor_bytes):
        return [], []
    first = min(profile.decode, key=lambda d: d.context_depth)
    try:
        weights = active_weight_bytes(profile.model)
    except MeasurementError as exc:
        return [], [f"physics: no roofline check ({exc})"]
    try:
        kv_term, basis = (model_kv_bytes_per_token(profile.model), first.context_depth), "weights + KV per token"
    except MeasurementError:  # the architecture is unknown: the weights alone are fewer bytes, so a higher ceiling, still a ceiling
        kv_term, basis = (0.0, 0), "weights per token; KV bytes unknown"
    ceiling = float(decode_ceiling_tok_s(bandwidth_bytes_s, weights, *kv_term))
    if first.tok_s.mean > ceiling:
        return [f"physics: measured decode {first.tok_s.mean:,.1f} tok/s is above the memory-bandwidth roofline {ceiling:,.1f} tok/s "
                f"({bandwidth_bytes_s / 1e9:,.0f} GB/s ÷ {basis}) — the profile or the bandwidth figure is wrong; do not trust this plan"], []
    return [], []


def achievable(table: pd.DataFrame, workload: Workload) -> str:
    """What the hardware can do when the SLO cannot be met: the level closest to it, and the SLO it would meet."""
    rows = table.dropna(subset=["ttft_s", "itl_p95_s"])
    if rows.empty:
        return "the profile holds no latency figures; re-run it"
    ratio = np.maximum(rows["ttft_s"] / workload.ttft_slo_s, rows["itl_p95_s"] / workload.itl_slo_s)
    best = rows.loc[ratio.idxmin()]
    conc = best.get("concurrency", np.nan)
    where = f" at concurrency {conc:g}" if np.isfinite(conc) and float(conc).is_integer() else ""  # a measured level, not a simulated mean
    return (f"the closest level{where} reaches TTFT {best['ttft_s']:.3g} s and ITL p95 {best['itl_p95_s']:.3g} s "
            f"({best['requests_per_s']:.3g} req/s) — an SLO of TTFT ≤ {best['ttft_s']:.3g} s and ITL ≤ {best['itl_p95_s']:.3g} s "
            f"would be met; relax the SLO to that or choose faster hardware")


def plan(profile: Profile, prices: PriceChoice, workload: Workload, *, profile_ref: str = "", card: ModelCard | None = None,
         bandwidth_bytes_s: float | None = None, validation: str | None = None, model_error: ModelError | None = None,
         calibration: ServerCalibration | None = None,
         priced: PricedMemory | None = None) -> PlanResult:
    """Capacity at the SLO, cost curves over the volume grid, break-even volumes and the target-volume summary.

    `card` (the model's card) enables the licence guard; `bandwidth_bytes_s` (the device's memory bandwidth) the
    roofline check of the measured decode speed; `validation` is the sentence stating how far the capacity model was
    from a real server on this engine (shown beside the capacity); `calibration` the server overheads measured with it;
    `priced` the memory of the device the plan prices, which bounds the KV cache (None: the profiling machine's).
    """
    physics, physics_notes = physics_warnings(profile, workload, bandwidth_bytes_s)
    cap = profile_capacity(profile, workload, calibration, priced)
    table, rps, conc, capacity_notes = cap.table, cap.requests_per_s, cap.concurrency, cap.notes
    mean_shape = None
    if workload.lengths is not None and not workload.lengths.mix().is_fixed:  # the answer a single shape would have given, beside it
        mean_shape = profile_capacity(profile, workload.model_copy(update={"lengths": None}), calibration, priced).requests_per_s
    warnings = [f"profile note: {n}" for n in profile.notes if ("clone" in n or "derived" in n) and n != profile.projection]
    if prices.instance is not None and (mismatch := instance_mismatch(profile, prices.instance)):
        warnings.append(mismatch)
    warnings += licence_warnings(card, workload.monthly_active_users)
    warnings += prices.cache_warnings(workload)
    if prices.api_provenance.second_source_agrees is False:  # two maintained price lists disagree: say which and by how much
        warnings.append(f"API price: {prices.api_provenance.second_source} — check the provider's page before deciding")
    if profile.projection:
        warnings.insert(0, f"projection: {profile.projection}")
    if profile.status != "complete":
        warnings.append("the profile is partial (interrupted run): figures use the tests that finished")
    untrustworthy = [f"untrustworthy measurement: {why}" for why in trust_problems(profile)]
    warnings += untrustworthy
    warnings = physics + warnings + physics_notes
    warnings += [n for n in capacity_notes if n.startswith(("extrapolated", "memory"))]
    mix = workload.request_mix() if isinstance(profile, EngineProfile) else None
    if mix is not None and model_error is not None:
        replayed = ", the replayed arrivals" if mix.arrival_gaps is not None else ""
        warnings.append(f"capacity model error: {model_error.describe()} was measured on fixed token shapes, Poisson arrivals and no "
                        f"prompt cache; this workload's length distribution{replayed} and prefix caching are simulated, their error "
                        "on a real server is not in that figure")
    if rps <= 0:
        raise MeasurementError(
            f"no load level of {profile.label} meets TTFT ≤ {workload.ttft_slo_s:g} s and ITL ≤ {workload.itl_slo_s:g} s "
            f"for {workload.tokens_in:g}→{workload.tokens_out:g} tokens; {achievable(table, workload)}"
        )
    try:
        kv = float(model_kv_bytes_per_token(profile.model))
    except MeasurementError:
        kv = None
    kv_tokens, kv_basis = kv_capacity(profile, priced if isinstance(profile, EngineProfile) else None)
    by_memory = int(kv_tokens // (workload.tokens_in + workload.tokens_out)) if kv_tokens else None
    capacity_notes.append(f"KV cache: {kv_tokens:,} tokens ({kv_basis}) hold {by_memory:,} requests of this size at once"
                          if kv_tokens else f"KV cache: {kv_basis}")
    grid = evaluate_plan(workload.volumes(), rps, workload, prices)
    target = evaluate_plan(workload.requests_per_month, rps, workload, prices)
    at = CostAtVolume(**{f: float(getattr(target, f)) for f in CostAtVolume.__dataclass_fields__})
    # the latency distribution each replica serves at the quoted volume's peak hour (never above the capacity)
    peak_rps = workload.requests_per_month / SECONDS_PER_MONTH * workload.peak_to_avg
    planned_rps = min(rps, peak_rps / at.replicas) if at.replicas > 0 else rps
    autoscaled = float(cm.autoscaled_monthly_usd(workload.requests_per_month, rps, prices.replica_usd_per_hour, workload.day_shape(),
                                                 workload.max_utilisation, workload.min_replicas))
    return PlanResult(
        workload=workload, prices=prices, profile_label=profile.label, profile_ref=profile_ref or (profile.model.sha256 or "")[:12],
        capacity=table, capacity_rps=rps, concurrency=conc, replica_usd_per_month=float(cm.replica_monthly_usd(prices.replica_usd_per_hour)),
        api_usd_per_request=at.api_usd_per_request,
        curves=grid.frame().drop(columns=["break_even_first", "break_even_always"]),
        break_even_first=float(target.break_even_first), break_even_always=float(target.break_even_always), at_target=at, warnings=warnings,
        capacity_source="serving-measured" if isinstance(profile, ServingProfile) else "engine-model",
        kv_bytes_per_token=kv, max_concurrency_by_memory=by_memory, capacity_notes=capacity_notes, validation=validation, model_error=model_error,
        autoscaled_usd_per_month=autoscaled, no_verdict=physics + untrustworthy, planned_rps=planned_rps, mean_shape_capacity_rps=mean_shape,
        latency_cdf=cap.latency_at(max(planned_rps, rps * 1e-4)),  # far below capacity requests never overlap: that rate's
    )
