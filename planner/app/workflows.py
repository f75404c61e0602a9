"""Workflows the CLI and the notebooks share: pick the profile and catalog rows a plan needs, plan from a plan file."""
from __future__ import annotations

from pathlib import Path

from planner.core.cards import ModelCard
from planner.core.errors import InputError, PlannerError
from planner.core.matching import card_for_profile, matching_instance
from planner.core.plan import PlanResult, PriceChoice, Workload, plan
from planner.core.records import Profile, ServingProfile
from planner.core.rows import ApiPriceRow, InstanceRow, PriceKind
from planner.formats.catalog import DEFAULT_API_MODEL, record, records, reference_bandwidth
from planner.formats.plan_file import PlanParams, load_params
from planner.formats.profiles import load_profile
from planner.formats.validation import validation_for
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


def plan_profile(profile_path: str | Path | None, instance: str | None, api_model: str | None, workload: Workload, *,
                 price_kind: PriceKind = "on_demand") -> tuple[PlanResult, Profile, Path]:
    """Resolve the inputs and plan: the one path from names to a `PlanResult` (CLI, report, demo)."""
    path, profile, inst, api = resolve(profile_path, instance, api_model)
    result = plan(profile, PriceChoice.from_rows(inst, api, price_kind=price_kind), workload, profile_ref=str(path), card=card_of(profile),
                  bandwidth_bytes_s=reference_bandwidth(profile)[0], validation=validation_for(profile)[0])
    return result, profile, path


def engine_profiles_beside(path: Path, profile: Profile) -> list[ServingProfile]:
    """Serving profiles of the same model (same file stem) in the profile's folder: the engines to compare."""
    stem = profile.model.file_name.split(".")[0]
    found = []
    for f in sorted(Path(path).parent.glob("*.json")):
        try:
            other = load_profile(f)
        except PlannerError:
            continue  # a damaged neighbour does not stop the report
        if isinstance(other, ServingProfile) and other.model.file_name.split(".")[0] == stem:
            found.append(other)
    return found


def build_report(params: PlanParams | str | Path, *, pdf: bool | None = None) -> list[Path]:
    """The report a plan file describes: the same code path the 03_report notebook runs."""
    params = params if isinstance(params, PlanParams) else load_params(params)
    result, profile, path = plan_profile(params.profile, params.instance, params.api, params.workload, price_kind=params.price)
    out = Path(params.output_dir) / f"{params.name}.html"
    return write_report(result, profile, out, profile_path=path, pdf=params.pdf if pdf is None else pdf, title=params.title,
                        engines=engine_profiles_beside(path, profile))
