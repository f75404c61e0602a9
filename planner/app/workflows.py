"""Workflows the CLI and the notebooks share: pick the profile and catalog rows a plan needs, plan from a plan file."""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from planner.core.cards import ModelCard
from planner.core.compare import Comparison, Option, compare
from planner.core.errors import InputError, PlannerError, PlannerWarning
from planner.core.matching import card_for_profile, matching_instance
from planner.core.plan import PlanResult, PriceChoice, Workload, evaluate_plan, plan
from planner.core.records import Profile, ServingProfile
from planner.core.rows import ApiPriceRow, InstanceRow, PriceKind
from planner.formats.catalog import DEFAULT_API_MODEL, cache_rule, hosted_baselines, record, records, reference_bandwidth
from planner.formats.plan_file import PlanParams, load_params
from planner.formats.profiles import load_profile
from planner.formats.validation import plan_validation, validation_for
from planner.present.report import write_report


def newest_profile(profiles_dir: str | Path = "profiles") -> Path:
    files = sorted(Path(profiles_dir).rglob("*.json"), key=lambda p: p.stat().st_mtime)
    if not files:
        raise InputError(f"--profile: no profile in {profiles_dir}/ — run `llm-planner profile` first or pass --profile FILE")
    return files[-1]


def resolve(profile_path: str | Path | None, instance: str | None, api_model: str | None, *,
            profiles_dir="profiles") -> tuple[Path, Profile, InstanceRow, ApiPriceRow]:
    """Load the profile and the catalog rows a plan needs, with defaults that fit the profile."""
    path = Path(profile_path) if profile_path else newest_profile(profiles_dir)
    profile = load_profile(path)
    inst = record("instances", instance) if instance else matching_instance(profile, records("instances"))
    api = record("api_prices", api_model or DEFAULT_API_MODEL)
    return path, profile, inst, api


def card_of(profile: Profile) -> ModelCard | None:
    """The profiled model's card (for its licence), when the catalog has one."""
    return card_for_profile(profile, records("model_cards"))


def prices_for(inst: InstanceRow, api: ApiPriceRow, *, price_kind: PriceKind = "on_demand", batch: bool = False) -> PriceChoice:
    """The price pair a plan uses, with the API provider's caching rules attached."""
    return PriceChoice.from_rows(inst, api, price_kind=price_kind, batch=batch, cache_rule=cache_rule(api.provider))


def plan_profile(profile_path: str | Path | None, instance: str | None, api_model: str | None, workload: Workload, *,
                 price_kind: PriceKind = "on_demand", batch: bool = False) -> tuple[PlanResult, Profile, Path]:
    """Resolve the inputs and plan: the one path from names to a `PlanResult` (CLI, report, demo)."""
    path, profile, inst, api = resolve(profile_path, instance, api_model)
    result = plan(profile, prices_for(inst, api, price_kind=price_kind, batch=batch), workload, profile_ref=str(path), card=card_of(profile),
                  bandwidth_bytes_s=reference_bandwidth(profile)[0], **plan_validation(profile))
    return result, profile, path


def compare_options(profile_paths: list[str | Path], instances: list[str], api_models: list[str], workload: Workload, *,
                    price_kind: PriceKind = "on_demand", batch: bool = False) -> Comparison:
    """Every (profile × instance) self-hosted and every API on the workload's volume grid, ranked.

    Self-hosted options go through `plan()` (capacity at the SLO, replicas, the model's validation error); an option
    whose SLO cannot be met stays in the comparison as infeasible, with what it can achieve. API options go through the
    same `evaluate_plan()` with the API's prices.
    """
    workload = workload.model_copy(update={"volume_points": max(workload.volume_points, 1201)})  # band edges within ~1.2 %
    volumes = workload.volumes()
    options: list[Option] = []
    apis = [record("api_prices", name) for name in (api_models or [DEFAULT_API_MODEL])]
    for path in profile_paths:
        profile = load_profile(path)
        rows = [record("instances", name) for name in instances] or [matching_instance(profile, records("instances"))]
        for inst in rows:
            label = f"{profile.label} on {inst.instance}"
            note, cal, server = validation_for(profile)
            try:
                r = plan(profile, prices_for(inst, apis[0], price_kind=price_kind, batch=batch), workload, card=card_of(profile),
                         bandwidth_bytes_s=reference_bandwidth(profile)[0], validation=note, calibration=server)
            except PlannerError as exc:
                options.append(Option(label, "self-hosted", np.full(volumes.shape, np.nan), note=f"infeasible: {exc}"))
                continue
            median = (cal.median_abs_error_pct_rate if server else cal.raw_median_abs_error_pct_rate) if cal else None
            error = f" (model error ±{median:.0f}% median)" if median is not None else ""
            alone = r.capacity.iloc[0]
            options.append(Option(label, "self-hosted", r.curves["selfhost_usd_per_month"].to_numpy(),
                                  note=f"{r.capacity_rps:.3g} req/s per replica at the SLO{error}, ${r.replica_usd_per_month:,.0f}/replica-month",
                                  best_latency=(float(alone["ttft_s"]), float(alone["itl_p95_s"]))))
    for api in apis:
        e = evaluate_plan(volumes, 1.0, workload, **api.per_token(batch), replica_usd_per_hour=0.0)
        options.append(Option(f"{api.model} (batch)" if batch else api.model, "api", np.asarray(e.api_usd_per_month, float),
                              note=f"${api.input_usd_per_mtok:g} / ${api.output_usd_per_mtok:g} per M input / output tokens ({api.provenance.describe()})"))
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
    card = card_of(load_profile(path))
    hosted = hosted_baselines(card.name) if card else []
    apis = list(dict.fromkeys([result.prices.api_label, *REPORT_APIS[:2], hosted[0].model if hosted else REPORT_APIS[2]]))
    instance = [result.prices.instance.instance] if result.prices.instance else []
    return compare_options([path], instance, apis, workload, price_kind=price_kind)


# the report's default API line-up: the default small API, a frontier model, and (when the profiled model has no
# hosted price) an open 7B model served by a host
REPORT_APIS = (DEFAULT_API_MODEL, "gpt-4o", "fireworks_ai/accounts/fireworks/models/mistral-7b")
