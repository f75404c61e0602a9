"""One planning question answered end to end: profile + instance + API price + workload → costs and break-even.

`Workload` is what a user writes in plan.yaml; `plan()` is pure (no files) so notebooks, the CLI and the
report all compute the same numbers the same way.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator

from . import costmodel as cm
from .capacity import capacity_at_slo, capacity_table, serving_capacity_table
from .catalog import Provenance
from .errors import PlannerError
from .schema import Profile


class Workload(BaseModel):
    """The traffic to plan for. Defaults: a chat-style request, 10⁶ requests a month, a 2 s / 200 ms SLO."""

    model_config = ConfigDict(extra="forbid")

    requests_per_month: float = Field(1e6, gt=0, description="the volume the summary is quoted at")
    volume_min: float = Field(1e3, gt=0)
    volume_max: float = Field(1e9, gt=0)
    volume_points: int = Field(121, ge=2, le=100_000)
    tokens_in: float = Field(512, ge=0, description="prompt tokens per request (mean)")
    tokens_out: float = Field(128, ge=1, description="output tokens per request (mean)")
    cached_fraction: float = Field(0.0, ge=0, le=1, description="share of input tokens served from the provider's prompt cache")
    peak_to_avg: float = Field(2.0, ge=1, description="peak hour load ÷ average load; replicas are sized for the peak")
    max_utilisation: float = Field(0.8, gt=0, le=1, description="headroom: replicas run at most this busy at peak")
    ttft_slo_s: float = Field(2.0, gt=0, description="time to first token limit (p95)")
    itl_slo_s: float = Field(0.2, gt=0, description="inter-token latency limit (p95)")
    min_replicas: int = Field(1, ge=1, description="always-on replicas")
    monthly_active_users: float | None = Field(None, ge=0, description="checked against model licence limits")

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
    replica_hardware: tuple[str, int, int, str] | None = None  # (accelerator, count, vCPUs, instance) for the hardware check

    @classmethod
    def from_rows(cls, instance: pd.Series, api: pd.Series, *, price_kind: str = "on_demand") -> "PriceChoice":
        from .catalog import provenance
        column = f"{price_kind}_usd_per_hour" if price_kind != "reserved" else "reserved_1y_usd_per_hour"
        if column not in instance or pd.isna(instance[column]):
            raise PlannerError(f"instances: '{instance['instance']}' has no {price_kind} price; use --price on_demand")
        cache = api.get("cache_read_usd_per_mtok")
        return cls(
            replica_usd_per_hour=float(instance[column]), replica_label=f"{instance['instance']} ({price_kind})",
            replica_provenance=provenance(instance, "instances"),
            api_usd_per_input_token=float(api["input_usd_per_mtok"]) / 1e6,
            api_usd_per_output_token=float(api["output_usd_per_mtok"]) / 1e6,
            api_usd_per_cached_input_token=None if cache is None or pd.isna(cache) else float(cache) / 1e6,
            api_label=str(api["model"]), api_provenance=provenance(api, "api_prices"),
            replica_hardware=(str(instance.get("accelerator", "")), int(instance.get("accelerator_count", 0) or 0),
                              int(instance.get("vcpus", 0) or 0), str(instance["instance"])),
        )


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
    at_target: dict
    warnings: list[str] = field(default_factory=list)

    @property
    def self_host_ever_cheaper(self) -> bool:
        return bool(np.isfinite(self.break_even_first))

    def summary(self) -> pd.DataFrame:
        w, t = self.workload, self.at_target
        rows = [
            ("profile", self.profile_label, self.profile_ref),
            ("capacity per replica at SLO", f"{self.capacity_rps:.3g} req/s (concurrency {self.concurrency:g})",
             f"TTFT ≤ {w.ttft_slo_s:g} s, ITL p95 ≤ {w.itl_slo_s * 1000:g} ms"),
            ("replica price", f"${self.prices.replica_usd_per_hour:.4g}/h = ${self.replica_usd_per_month:,.0f}/month",
             self.prices.replica_provenance.describe()),
            ("API price per request", f"${self.api_usd_per_request:.4g}", self.prices.api_provenance.describe()),
            (f"replicas at {w.requests_per_month:,.0f} req/month", f"{t['replicas']:.0f}", f"peak-to-average {w.peak_to_avg:g}, max utilisation {w.max_utilisation:g}"),
            ("self-hosted per month", f"${t['selfhost_usd_per_month']:,.2f}", f"${t['selfhost_usd_per_request']:.3g} per request"),
            ("API per month", f"${t['api_usd_per_month']:,.2f}", f"${self.api_usd_per_request:.3g} per request"),
            ("break-even volume", _fmt_volume(self.break_even_first), "first volume where self-hosting costs no more than the API"),
            ("self-hosting always cheaper above", _fmt_volume(self.break_even_always), "every replica step stays under the API line"),
        ]
        return pd.DataFrame(rows, columns=["quantity", "value", "basis"])


def _fmt_volume(v: float) -> str:
    return "never (the API is cheaper at every volume)" if not np.isfinite(v) else f"{v:,.0f} requests/month"


def profile_capacity(profile: Profile, workload: Workload) -> tuple[pd.DataFrame, float, float]:
    if profile.serving:
        table = serving_capacity_table(profile)
        rps, conc = capacity_at_slo(table.assign(requests_per_s=table["goodput_requests_per_s"].fillna(table["requests_per_s"])),
                                    workload.ttft_slo_s, workload.itl_slo_s)
    else:
        table = capacity_table(profile, workload.tokens_in, workload.tokens_out)
        rps, conc = capacity_at_slo(table, workload.ttft_slo_s, workload.itl_slo_s)
    return table, float(rps), float(conc)


def plan(profile: Profile, prices: PriceChoice, workload: Workload, *, profile_ref: str = "", card: pd.Series | None = None) -> PlanResult:
    """Capacity at the SLO, cost curves over the volume grid, break-even volumes and the target-volume summary.

    `card` (the model's row of model_cards) enables the licence guard.
    """
    from .licence import licence_warnings
    from .selection import instance_mismatch
    table, rps, conc = profile_capacity(profile, workload)
    warnings = [f"profile note: {n}" for n in profile.notes if ("clone" in n or "derived" in n) and n != profile.projection]
    if prices.replica_hardware and (mismatch := instance_mismatch(profile, *prices.replica_hardware)):
        warnings.append(mismatch)
    warnings += licence_warnings(card, workload.monthly_active_users)
    if profile.projection:
        warnings.insert(0, f"projection: {profile.projection}")
    if profile.status != "complete":
        warnings.append("the profile is partial (interrupted run): figures use the tests that finished")
    if rps <= 0:
        raise PlannerError(
            f"no measured load level of {profile.label} meets TTFT ≤ {workload.ttft_slo_s:g} s and ITL ≤ {workload.itl_slo_s:g} s "
            f"for {workload.tokens_in:g}→{workload.tokens_out:g} tokens; relax the SLO or choose faster hardware"
        )
    replica_month = float(cm.replica_monthly_usd(prices.replica_usd_per_hour))
    api_req = float(cm.api_cost_per_request(workload.tokens_in, workload.tokens_out, prices.api_usd_per_input_token,
                                            prices.api_usd_per_output_token, workload.cached_fraction,
                                            prices.api_usd_per_cached_input_token))
    common = dict(tokens_in=workload.tokens_in, tokens_out=workload.tokens_out, capacity_rps=rps,
                  replica_usd_per_month=replica_month, usd_per_input_token=prices.api_usd_per_input_token,
                  usd_per_output_token=prices.api_usd_per_output_token, cached_fraction=workload.cached_fraction,
                  usd_per_cached_input_token=prices.api_usd_per_cached_input_token, peak_to_avg=workload.peak_to_avg,
                  max_utilisation=workload.max_utilisation, min_replicas=workload.min_replicas)
    curves = pd.DataFrame(cm.cost_table(workload.volumes(), **common))
    target = {k: float(v) for k, v in pd.DataFrame(cm.cost_table([workload.requests_per_month], **common)).iloc[0].items()}
    first, always = cm.break_even(rps, replica_month, api_req, workload.peak_to_avg, workload.max_utilisation, workload.min_replicas)
    return PlanResult(
        workload=workload, prices=prices, profile_label=profile.label, profile_ref=profile_ref or profile.model.sha256[:12],
        capacity=table, capacity_rps=rps, concurrency=conc, replica_usd_per_month=replica_month, api_usd_per_request=api_req,
        curves=curves, break_even_first=float(first), break_even_always=float(always), at_target=target, warnings=warnings,
    )


class PlanParams(BaseModel):
    """A plan file (plan.yaml): which profile, instance and API to compare, for which workload, and where the report goes."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field("plan", pattern=r"^[A-Za-z0-9._-]+$", description="report file stem")
    title: str | None = None
    profile: str | None = Field(None, description="profile JSON; default: the newest under profiles/")
    instance: str | None = Field(None, description="row of data/instances.csv; default: one like the profiled machine")
    api: str | None = Field(None, description="row of data/api_prices.csv; default: gpt-4o-mini")
    price: Literal["on_demand", "spot", "reserved"] = "on_demand"
    output_dir: str = "reports"
    pdf: bool = False
    workload: Workload = Field(default_factory=Workload)


def load_params(path: str | Path) -> PlanParams:
    """Read plan.yaml; a file holding only workload fields is accepted too."""
    import yaml
    from pydantic import ValidationError
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except OSError:
        raise PlannerError(f"plan file not found: {path} — pass an existing YAML file") from None
    except yaml.YAMLError as exc:
        raise PlannerError(f"{path.name}: not valid YAML ({exc.__class__.__name__})") from None
    if not isinstance(raw, dict):
        raise PlannerError(f"{path.name}: expected a mapping of plan fields")
    if raw and set(raw) <= set(Workload.model_fields):
        raw = {"workload": raw}
    try:
        return PlanParams.model_validate(raw)
    except ValidationError as exc:
        e = exc.errors()[0]
        raise PlannerError(f"{path.name}: field '{'.'.join(map(str, e['loc']))}' {e['msg'].lower()}") from None
