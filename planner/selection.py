"""Choosing catalog rows that fit a profile: the instance that matches the measured hardware, a default API."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from .catalog import load_catalog, lookup
from .errors import PlannerError
from .schema import Profile, load_profile

DEFAULT_API_MODEL = "gpt-4o-mini"


def matching_instance(profile: Profile, instances: pd.DataFrame) -> pd.Series:
    """Cheapest on-demand instance like the profiled machine: same GPU (by name) × count, or a CPU instance with as many vCPUs."""
    hw = profile.hardware
    if hw.gpus and profile.engine.backend != "cpu":
        gpu = hw.gpus[0].name.lower()
        pool = instances[instances["accelerator"].astype(str).str.lower().map(lambda a: bool(a) and a != "cpu" and _gpu_match(a, gpu))]
        pool = pool[pool["accelerator_count"] == len(hw.gpus)] if not pool.empty else pool
    else:
        pool = instances[(instances["accelerator"] == "cpu") & (instances["vcpus"] >= hw.logical_cores)]
        if not pool.empty:
            pool = pool[pool["vcpus"] == pool["vcpus"].min()]
    if pool.empty:
        raise PlannerError("instances: no catalog instance matches the profiled hardware; pass --instance NAME (see `llm-planner catalog instances`)")
    return pool.sort_values("on_demand_usd_per_hour").iloc[0]


def _gpu_match(catalog_name: str, nvml_name: str) -> bool:
    tokens = [t for t in catalog_name.replace("-", " ").split() if t not in {"nvidia", "sxm", "pcie"}]
    return all(t in nvml_name for t in tokens)


def default_api(api: pd.DataFrame) -> pd.Series:
    return lookup(api, "api_prices", DEFAULT_API_MODEL)


def newest_profile(profiles_dir: str | Path = "profiles") -> Path:
    files = sorted(Path(profiles_dir).rglob("*.json"), key=lambda p: p.stat().st_mtime)
    if not files:
        raise PlannerError(f"no profile in {profiles_dir}/ — run `llm-planner profile` first or pass --profile FILE")
    return files[-1]


def resolve(profile_path: str | Path | None, instance: str | None, api_model: str | None, *, profiles_dir="profiles"):
    """Load the profile and the catalog rows a plan needs, with defaults that fit the profile."""
    path = Path(profile_path) if profile_path else newest_profile(profiles_dir)
    profile = load_profile(path)
    instances = load_catalog("instances")
    api = load_catalog("api_prices")
    inst_row = lookup(instances, "instances", instance) if instance else matching_instance(profile, instances)
    api_row = lookup(api, "api_prices", api_model) if api_model else default_api(api)
    return path, profile, inst_row, api_row


def card_of(profile: Profile) -> pd.Series | None:
    """The profiled model's card (for its licence), when the catalog has one."""
    from .licence import card_for_profile
    return card_for_profile(profile, load_catalog("model_cards"))
