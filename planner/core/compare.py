"""Several ways to serve the same traffic, side by side: monthly cost of each at every volume, the cheapest in each
volume band, and the recommendation in one sentence with its conditions.

Pure: each option arrives as its monthly cost over the workload's volume grid (NaN where it cannot serve the SLO),
computed by the one plan evaluation (`plan.evaluate_plan`) — this module only ranks and words them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from planner.core.errors import InputError

Kind = Literal["self-hosted", "api"]
BandKind = Literal["self-hosted", "api", "toss-up"]


@dataclass(frozen=True)
class Option:
    label: str
    kind: Kind
    usd_per_month: np.ndarray  # over the volume grid; NaN where the option cannot serve the workload
    note: str = ""  # capacity, model error, or why the option is infeasible
    best_latency: tuple[float, float] | None = None  # self-hosted: (TTFT p95 s, ITL p95 s) of one request alone
    usd_at_volume: float | None = None  # the monthly cost at the workload's own volume, evaluated there (not read off the grid)
    no_verdict: tuple[str, ...] = ()  # why this option's figures may not decide (`PlanResult.no_verdict`); () when they may
    error_pct: float | None = None  # self-hosted: the capacity model's held-out median |error| (a cost off by about as much)
    stand_in_for: str | None = None  # an API priced in place of a host of this model (the catalog has none): say so


@dataclass(frozen=True)
class Band:
    """A volume range over which one option is the cheapest — or a toss-up: the cheapest self-hosted option and the
    cheapest API are closer than the self-hosted capacity's held-out error, so the model cannot tell them apart."""

    volume_from: float
    volume_to: float
    label: str
    kind: BandKind
    members: tuple[str, ...] = ()  # the options it names: the cheapest one, or the two a toss-up cannot tell apart


@dataclass
class Comparison:
    volumes: np.ndarray
    options: list[Option]
    bands: list[Band]
    requests_per_month: float
    slo: tuple[float, float]
    tokens: tuple[float, float]
    infeasible: list[Option] = field(default_factory=list)

    def frame(self) -> pd.DataFrame:
        """Long form: one row per (volume, option), with whether it is the cheapest there."""
        cheapest = self._cheapest_index()
        rows = [{"requests_per_month": v, "option": o.label, "kind": o.kind, "usd_per_month": o.usd_per_month[i],
                 "usd_per_request": o.usd_per_month[i] / v, "cheapest": bool(cheapest[i] == k)}
                for k, o in enumerate(self.options) for i, v in enumerate(self.volumes)]
        return pd.DataFrame(rows)

    def at_volume(self) -> pd.DataFrame:
        """Each option at the workload's own volume, evaluated there — inside, below or beyond the chart's grid alike —
        cheapest first (infeasible ones last, with why)."""
        v = self.requests_per_month
        rows = [{"option": o.label, "kind": o.kind, "usd_per_month": o.usd_at_volume, "usd_per_request": o.usd_at_volume / v,
                 "note": o.note} for o in self.options]
        rows += [{"option": o.label, "kind": o.kind, "usd_per_month": np.nan, "usd_per_request": np.nan, "note": o.note} for o in self.infeasible]
        return pd.DataFrame(rows).sort_values("usd_per_month", na_position="last").reset_index(drop=True)

    def _cheapest_index(self) -> np.ndarray:
        costs = np.vstack([o.usd_per_month for o in self.options])
        return np.where(np.all(np.isnan(costs), axis=0), -1, np.nanargmin(np.where(np.isnan(costs), np.inf, costs), axis=0))

    @property
    def untrusted(self) -> list[Option]:
        """Options that win some volume band on an untrustworthy measurement: then there is no recommendation (the one
        trust policy, `PlanResult.trustworthy`)."""
        return [o for o in self.options if o.no_verdict and any(o.label in b.members for b in self.bands)]

    def recommendation(self) -> str:
        """One sentence: which option in which volume band, and the conditions it rests on — or why there is none."""
        if not self.bands:
            return "no option can serve this workload at this SLO: " + "; ".join(f"{o.label}: {o.note}" for o in self.infeasible)
        if untrusted := self.untrusted:
            return "no verdict: " + "; ".join(f"{o.label} rests on {'; '.join(o.no_verdict)}" for o in untrusted) + " — re-measure before deciding"
        parts = []
        for k, b in enumerate(self.bands):
            verb = {"api": "use the API", "self-hosted": "self-host", "toss-up": "it is a"}[b.kind]
            upto = self.bands[k + 1].volume_from if k + 1 < len(self.bands) else None  # where the next option takes over
            if len(self.bands) == 1:
                where = f"at every volume from {_vol(b.volume_from)} to {_vol(b.volume_to)} requests/month"
            elif k == 0:
                where = f"below {_vol(upto)} requests/month"
            elif upto is None:
                where = f"from {_vol(b.volume_from)}"
            else:
                where = f"from {_vol(b.volume_from)} to {_vol(upto)}"
            parts.append(f"{where} {verb} {b.label}")
        sentence = "; ".join(parts)
        sentence = sentence[0].upper() + sentence[1:]
        hosted = [o for o in self.options if o.kind == "self-hosted" and any(o.label in b.members for b in self.bands)]
        ttft, itl = self.slo
        n_in, n_out = self.tokens
        conditions = [f"{n_in:g} → {n_out:g} tokens a request"]
        if hosted:
            conditions.append(f"an SLO of TTFT p95 ≤ {ttft:g} s and ITL p95 ≤ {itl:g} s")
            best = [o.best_latency for o in hosted if o.best_latency]
            if best:
                t, i = max(b[0] for b in best), max(b[1] for b in best)
                conditions.append(f"self-hosting cannot meet an SLO tighter than TTFT {t:.3g} s / ITL {i:.3g} s (one request alone)")
            conditions += [o.note for o in hosted if o.note]
        return f"{sentence}. Conditions: " + "; ".join(conditions) + "."


def _vol(v: float) -> str:
    for div, unit in ((1e9, " G"), (1e6, " M"), (1e3, " k")):
        if v >= div:
            return f"{v / div:.3g}{unit}"
    return f"{v:.3g}"


def compare(volumes, options: list[Option], *, requests_per_month: float, slo: tuple[float, float], tokens: tuple[float, float]) -> Comparison:
    """Rank the options at every volume; infeasible options (NaN everywhere) are kept aside with their reasons."""
    volumes = np.asarray(volumes, float)
    if not options:
        raise InputError("compare: give at least one option (an engine profile priced on an instance, or an API model)")
    for o in options:
        if np.shape(o.usd_per_month) != volumes.shape:
            raise InputError(f"compare: option {o.label!r} is not priced on the volume grid")
        if o.usd_at_volume is None and not np.all(np.isnan(o.usd_per_month)):
            raise InputError(f"compare: option {o.label!r} has no cost at the workload's own volume")
    feasible = [o for o in options if not np.all(np.isnan(o.usd_per_month))]
    infeasible = [o for o in options if np.all(np.isnan(o.usd_per_month))]
    result = Comparison(volumes, feasible, [], requests_per_month, slo, tokens, infeasible)
    if not feasible:
        return result
    idx = result._cheapest_index()
    bands: list[Band] = []
    for i, k in enumerate(idx):
        if k < 0:
            continue
        label, kind, members = _toss_up(feasible, i) or (feasible[k].label, feasible[k].kind, (feasible[k].label,))
        if bands and bands[-1].label == label:
            bands[-1] = Band(bands[-1].volume_from, float(volumes[i]), label, kind, members)
        else:
            bands.append(Band(float(volumes[i]), float(volumes[i]), label, kind, members))
    result.bands = bands
    return result


def _toss_up(options: list[Option], i: int) -> tuple[str, BandKind, tuple[str, ...]] | None:
    """At grid point i: a toss-up when the cheapest self-hosted option and the cheapest API differ by less than that
    self-hosted option's held-out error (staircase steps inside the error used to flip the answer six times)."""
    def cheapest(kind: Kind) -> Option | None:
        pool = [o for o in options if o.kind == kind and np.isfinite(o.usd_per_month[i])]
        return min(pool, key=lambda o: o.usd_per_month[i]) if pool else None
    hosted, api = cheapest("self-hosted"), cheapest("api")
    if hosted is None or api is None or hosted.error_pct is None:
        return None
    s, a = hosted.usd_per_month[i], api.usd_per_month[i]
    if abs(s - a) > hosted.error_pct / 100 * s:
        return None
    return f"toss-up: {hosted.label} or {api.label} (within ±{hosted.error_pct:.0f}%)", "toss-up", (hosted.label, api.label)
