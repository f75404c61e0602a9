"""The plan file (plan.yaml): which profile, instance and API to compare, for which workload, where the report goes."""
from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from planner.core.errors import DataError
from planner.core.plan import Workload
from planner.formats.files import read_text


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
    _source_path: Path | None = PrivateAttr(None)  # the file it was read from: no output may land on it

    @property
    def source_path(self) -> Path | None:
        return self._source_path


def load_params(path: str | Path) -> PlanParams:
    """Read plan.yaml; a file holding only workload fields is accepted too."""
    path = Path(path)
    text = read_text(path, "plan file", "pass an existing YAML file", missing=DataError)
    try:
        raw = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise DataError(f"{path.name}: not valid YAML{f' (line {mark.line + 1})' if mark else ''} ({exc.__class__.__name__})") from None
    except RecursionError:
        raise DataError(f"{path.name}: YAML nested too deeply to be a plan file") from None
    if not isinstance(raw, dict):
        raise DataError(f"{path.name}: expected a mapping of plan fields")
    if raw and set(raw) <= set(Workload.model_fields):
        raw = {"workload": raw}
    try:
        params = PlanParams.model_validate(raw)
    except ValidationError as exc:
        e = exc.errors()[0]
        raise DataError(f"{path.name}: field '{'.'.join(map(str, e['loc']))}' {e['msg'].lower()}") from None
    params._source_path = path
    return params
