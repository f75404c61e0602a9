"""Workflows the CLI and the notebooks share: plan from names, compare options, write the report a plan file describes.
The inputs are resolved by `formats.inputs` (one resolver) and planned by its `run_plan` (one evaluation)."""
from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path

import numpy as np

from planner.core.compare import Comparison, Option, compare
from planner.core.errors import PlannerError, PlannerWarning
from planner.core.matching import card_for_profile
from planner.core.plan import PlanResult, Workload
from planner.core.records import Profile, ServingProfile
from planner.core.rows import PriceKind
from planner.formats.catalog import DEFAULT_API_MODEL, hosted_baselines, record, records
from planner.formats.inputs import api_usd_per_request, resolve, run_plan
from planner.formats.plan_file import PlanParams, load_params
from planner.formats.profiles import load_profile
from planner.present.report import write_report


def plan_profile(profile_path: str | Path | None, instance: str | None, api_model: str | None, workload: Workload, *,
                 price_kind: PriceKind = "on_demand", batch: bool = False) -> tuple[PlanResult, Profile, Path]:
    """Names → (plan, profile, its path), through the one resolver (`formats.inputs`): CLI, report, demo."""
    inputs = resolve(profile_path, instance, api_model, workload, price_kind=price_kind, batch=batch)
    return run_plan(inputs), inputs.profile, inputs.profile_path  # type: ignore[return-value]


def compare_options(profile_paths: list[str | Path], instances: list[str], api_models: list[str], workload: Workload, *,
                    price_kind: PriceKind = "on_demand", batch: bool = False) -> Comparison:
    """Every (profile × instance) self-hosted and every API on the workload's volume grid, ranked — and each priced at
    the workload's exact volume (the grid is for the bands and charts only).

    Self-hosted options go through the one resolver and `run_plan` (capacity at the SLO, replicas, the model's
    validation error); an option whose SLO cannot be met stays in the comparison as infeasible, with what it can
    achieve. API options through `api_usd_per_request`, the plan's own API price.
    """
    workload = workload.model_copy(update={"volume_points": max(workload.volume_points, 1201)})  # band edges within ~1.2 %
    volumes = workload.volumes()
    options: list[Option] = []
    apis = [record("api_prices", name) for name in (api_models or [DEFAULT_API_MODEL])]
    for path in profile_paths:
        profile = load_profile(path)
        rows = [record("instances", name) for name in instances] or [None]
        for inst in rows:
            inputs = resolve(profile, inst, apis[0], workload, price_kind=price_kind, batch=batch)
            label = f"{profile.label} on {inputs.instance.instance}"
            try:
                r = run_plan(inputs)
            except PlannerError as exc:
                options.append(Option(label, "self-hosted", np.full(volumes.shape, np.nan), note=f"infeasible: {exc}"))
                continue
            error = f" (model error {inputs.model_error.describe()})" if inputs.model_error else ""
            alone = r.capacity.iloc[0]
            options.append(Option(label, "self-hosted", r.curves["selfhost_usd_per_month"].to_numpy(),
                                  note=f"{r.capacity_rps:.3g} req/s per replica at the SLO{error}, ${r.replica_usd_per_month:,.0f}/replica-month",
                                  best_latency=(float(alone["ttft_s"]), float(alone["itl_p95_s"])),
                                  usd_at_volume=r.at_target.selfhost_usd_per_month, no_verdict=tuple(r.no_verdict),
                                  error_pct=inputs.model_error.median_pct if inputs.model_error else None))
    for api in apis:
        per_request = api_usd_per_request(api, workload, batch=batch)
        options.append(Option(f"{api.model} (batch)" if batch else api.model, "api", per_request * volumes,
                              note=f"${api.input_usd_per_mtok:g} / ${api.output_usd_per_mtok:g} per M input / output tokens ({api.provenance.describe()})",
                              usd_at_volume=per_request * workload.requests_per_month))
    return compare(volumes, options, requests_per_month=workload.requests_per_month, slo=(workload.ttft_slo_s, workload.itl_slo_s),
                   tokens=(workload.tokens_in, workload.tokens_out))


def engine_profiles_beside(path: Path, profile: Profile) -> list[ServingProfile]:
    """Serving profiles of the same model (same file stem) in the profile's folder: the engines to compare."""
    stem = profile.model.file_name.split(".")[0]
    found = []
    for f in sorted(Path(path).parent.glob("*.json")):
        if f.resolve() == Path(path).resolve():
            continue
        try:
            other = load_profile(f)
        except (PlannerError, OSError) as exc:  # a damaged or unreadable neighbour does not stop the report: it is named
            warnings.warn(f"skipped {f} beside the profile (not a readable profile: {exc})", PlannerWarning, stacklevel=2)
            continue
        if isinstance(other, ServingProfile) and other.model.file_name.split(".")[0] == stem:
            found.append(other)
    return found


def build_report(params: PlanParams | str | Path, *, pdf: bool | None = None) -> list[Path]:
    """The report a plan file describes: the same code path the 03_report notebook runs."""
    params = params if isinstance(params, PlanParams) else load_params(params)
    result, profile, path = plan_profile(params.profile, params.instance, params.api, params.workload, price_kind=params.price)
    out = Path(params.output_dir) / f"{params.name}.html"
    return write_report(result, profile, out, profile_path=path, pdf=params.pdf if pdf is None else pdf, title=params.title,
                        engines=engine_profiles_beside(path, profile), comparison=report_comparison(result, path, params.workload, params.price),
                        inputs={"the plan file": params.source_path}, option="output_dir/name")


def report_comparison(result: PlanResult, path: Path, workload: Workload, price_kind: PriceKind = "on_demand") -> Comparison:
    """The report's compare view: the plan's deployment against its API, a frontier API and the like-for-like baseline
    — the cheapest host of the profiled model's card where the price catalog has one, else a hosted 7B model."""
    card = card_for_profile(load_profile(path), records("model_cards"))
    hosted = hosted_baselines(card.name) if card else []
    apis = list(dict.fromkeys([result.prices.api_label, *REPORT_APIS[:2], hosted[0].model if hosted else REPORT_APIS[2]]))
    instance = [result.prices.instance.instance] if result.prices.instance else []
    comparison = compare_options([path], instance, apis, workload, price_kind=price_kind)
    if not hosted:  # the hosted 7B model answers "what does an open model cost as a service", not "this model's host"
        model = card.name if card else result.profile_label
        comparison.options[:] = [dataclasses.replace(o, stand_in_for=model, note=(o.note + "; " if o.note else "")
                                                     + f"stand-in: no API in the catalog hosts {model}")
                                 if o.kind == "api" and o.label == REPORT_APIS[2] else o for o in comparison.options]
    return comparison


# the report's default API line-up: the default small API, a frontier model, and (when the profiled model has no
# hosted price) an open 7B model served by a host
REPORT_APIS = (DEFAULT_API_MODEL, "gpt-4o", "fireworks_ai/accounts/fireworks/models/mistral-7b")
