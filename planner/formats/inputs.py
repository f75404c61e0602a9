"""One path from names to a plan: the profile, the instance and API rows, the model card, the bandwidth to judge the
profile against, the capacity model's validation, and the memory of the priced device — resolved once, in one typed
record, and planned by one function. The CLI (`plan`, `compare`, `report`, `demo`), the dashboard, the claims and the
notebooks all go through here, so the same inputs give the same numbers and the same warnings everywhere.

Also the one home of an API's price per request (`api_usd_per_request`).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from planner.core.capacity import PricedMemory
from planner.core.cards import ModelCard
from planner.core.errors import InputError
from planner.core.matching import card_for_profile, matching_instance
from planner.core.plan import PlanResult, PriceChoice, Workload, evaluate_plan, plan
from planner.core.records import Profile
from planner.core.rows import ApiPriceRow, InstanceRow, PriceKind
from planner.core.validation import ModelError, ServerCalibration
from planner.formats.catalog import DEFAULT_API_MODEL, cache_rule, record, records, reference_bandwidth
from planner.formats.profiles import load_profile
from planner.formats.validation import validation_for


def newest_profile(profiles_dir: str | Path = "profiles") -> Path:
    files = sorted(Path(profiles_dir).rglob("*.json"), key=lambda p: p.stat().st_mtime)
    if not files:
        raise InputError(f"--profile: no profile in {profiles_dir}/ — run `llm-planner profile` first or pass --profile FILE")
    return files[-1]


@dataclass(frozen=True)
class PlanInputs:
    """Everything a plan needs, resolved: what `run_plan` turns into a `PlanResult`."""

    profile: Profile
    profile_path: Path | None  # the file it was read from (None: built in memory)
    profile_ref: str  # how the plan names it: the path as given, or "" (the model's hash) for a profile passed as an object
    instance: InstanceRow
    api: ApiPriceRow
    prices: PriceChoice
    workload: Workload
    card: ModelCard | None  # the profiled model's card (licence guard); None when the catalog has none
    bandwidth_bytes_s: float | None  # to judge the measured decode against the roofline; None when unknown
    validation: str | None  # the capacity model's measured error on this engine (or why there is none)
    model_error: ModelError | None  # that error in numbers; None where no validation covers this hardware
    calibration: ServerCalibration | None  # server overheads, applied only on the machine they were measured on
    priced: PricedMemory | None  # the priced device's memory, which bounds the KV cache; None when the catalog lacks it


def priced_memory(profile: Profile, inst: InstanceRow) -> PricedMemory | None:
    """The memory a replica of `profile` has on `inst`: one GPU's (its hardware row) for a GPU profile, the instance's
    RAM for a CPU one. None when the catalog does not say (the plan then says the KV figure is the profiling machine's)."""
    if profile.on_gpu:
        if not inst.has_gpu:
            return None
        row = _hardware(inst.accelerator)
        if row is None or not row.memory_gib:
            return None
        return PricedMemory(int(row.memory_gib * 2**30), f"{inst.instance}'s {row.name} ({row.memory_gib:g} GiB)")
    if not inst.ram_gib:
        return None
    return PricedMemory(int(inst.ram_gib * 2**30), f"{inst.instance} RAM ({inst.ram_gib:g} GiB)")


def _hardware(name: str | None):
    try:
        return record("hardware", name) if name else None
    except InputError:
        return None


def resolve(profile: Profile | str | Path | None, instance: str | InstanceRow | None, api: str | ApiPriceRow | None, workload: Workload, *,
            price_kind: PriceKind = "on_demand", batch: bool = False, profiles_dir: str | Path = "profiles") -> PlanInputs:
    """Names (or rows, or a loaded profile) → `PlanInputs`, with the defaults that fit the profile: the newest profile,
    an instance like the profiled machine, the default API."""
    if isinstance(profile, Profile):
        path, ref = profile._path, ""
    else:
        path = Path(profile) if profile else newest_profile(profiles_dir)
        ref, profile = str(path), load_profile(path)
    inst = instance if isinstance(instance, InstanceRow) else (record("instances", instance) if instance else
                                                                matching_instance(profile, records("instances")))
    api_row = api if isinstance(api, ApiPriceRow) else record("api_prices", api or DEFAULT_API_MODEL)
    prices = PriceChoice.from_rows(inst, api_row, price_kind=price_kind, batch=batch, cache_rule=cache_rule(api_row.provider))
    note, error, _record, server = validation_for(profile)
    return PlanInputs(profile=profile, profile_path=Path(path) if path else None, profile_ref=ref, instance=inst, api=api_row, prices=prices,
                      workload=workload, card=card_for_profile(profile, records("model_cards")),
                      bandwidth_bytes_s=reference_bandwidth(profile)[0], validation=note, model_error=error, calibration=server,
                      priced=priced_memory(profile, inst))


def run_plan(inputs: PlanInputs, workload: Workload | None = None) -> PlanResult:
    """The one evaluation every front-end shows (`workload` replaces the resolved one: the dashboard's and the
    tornado's what-ifs)."""
    return plan(inputs.profile, inputs.prices, workload or inputs.workload, profile_ref=inputs.profile_ref, card=inputs.card,
                bandwidth_bytes_s=inputs.bandwidth_bytes_s, validation=inputs.validation,
                model_error=inputs.model_error,
                calibration=inputs.calibration,
                priced=inputs.priced)


def api_usd_per_request(api: ApiPriceRow, workload: Workload, *, batch: bool = False) -> float:
    """What one request of the workload costs on this API: list prices, the cached share at the cache price where the
    provider caches a prefix that long — the same `evaluate_plan` the plan uses for its API line."""
    prices = PriceChoice.from_rows(None, api, batch=batch, cache_rule=cache_rule(api.provider))
    return float(evaluate_plan(workload.requests_per_month, 1.0, workload, prices).api_usd_per_request)
