"""Headless report generation from a plan file: the same code path the 03_report notebook runs."""
from __future__ import annotations

from pathlib import Path

from .plan import PlanParams, PriceChoice, load_params, plan
from .report import write_report
from .selection import card_of, resolve


def plan_from_params(params: PlanParams):
    path, profile, inst, api = resolve(params.profile, params.instance, params.api)
    result = plan(profile, PriceChoice.from_rows(inst, api, price_kind=params.price), params.workload, profile_ref=str(path),
                  card=card_of(profile))
    return result, profile, path


def build_report(params: PlanParams | str | Path, *, pdf: bool | None = None) -> list[Path]:
    params = params if isinstance(params, PlanParams) else load_params(params)
    result, profile, path = plan_from_params(params)
    out = Path(params.output_dir) / f"{params.name}.html"
    return write_report(result, profile, out, profile_path=path, pdf=params.pdf if pdf is None else pdf, title=params.title)
