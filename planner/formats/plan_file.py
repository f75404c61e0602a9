"""The plan file (plan.yaml): which profile, instance and API to compare, for which workload, where the report goes."""
from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from planner.core.errors import DataError
from planner.core.plan import Workload


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
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except OSError:
        raise DataError(f"plan file not found: {path} — pass an existing YAML file") from None
    except yaml.YAMLError as exc:
        raise DataError(f"{path.name}: not valid YAML ({exc.__class__.__name__})") from None
    if not isinstance(raw, dict):
        raise DataError(f"{path.name}: expected a mapping of plan fields")
    if raw and set(raw) <= set(Workload.model_fields):
        raw = {"workload": raw}
    try:
        return PlanParams.model_validate(raw)
    except ValidationError as exc:
        e = exc.errors()[0]
        raise DataError(f"{path.name}: field '{'.'.join(map(str, e['loc']))}' {e['msg'].lower()}") from None
