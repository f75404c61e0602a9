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
    if profile.on_gpu:
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


def instance_mismatch(profile: Profile, accelerator: str, accelerator_count: int, vcpus: int, instance: str) -> str | None:
    """Say so when a plan prices a replica on hardware other than the one its capacity was measured (or projected) on."""
    hw = profile.hardware
    host = (profile.engine.endpoint_host or "").rsplit(":", 1)[0]
    if profile.engine.name == "openai-http" and host not in ("127.0.0.1", "localhost", "::1", "[::1]"):
        return None  # a remote endpoint: the fingerprint is the client's, the server's hardware is unknown
    on_gpu = profile.on_gpu
    rented_gpu = bool(accelerator) and accelerator.lower() != "cpu"
    measured = f"{len(hw.gpus)}× {hw.gpus[0].name}" if on_gpu else f"{hw.cpu_model} ({profile.engine.n_threads or hw.logical_cores} threads)"
    rented = f"{accelerator_count}× {accelerator}" if rented_gpu else f"{vcpus} vCPUs"
    if not on_gpu and not rented_gpu:
        return f"capacity measured on {measured}; {instance} ({rented}) is assumed to be as fast — its CPU may differ"
    if on_gpu and rented_gpu and _gpu_match(accelerator, hw.gpus[0].name) and accelerator_count == len(hw.gpus):
        return None
    return (f"capacity measured on {measured} but priced as {instance} ({rented}): the figures assume that instance runs as fast; "
            f"profile on it, project with `llm-planner project`, or pick a matching instance")


def _gpu_match(catalog_name: str, nvml_name: str) -> bool:
    """Whole-word match ("L4" is not "L40S"), ignoring vendor and form-factor words NVML does not report."""
    wanted = set(catalog_name.lower().replace("-", " ").split()) - {"nvidia", "geforce", "sxm", "pcie"}
    return bool(wanted) and wanted <= set(nvml_name.lower().replace("-", " ").split())


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


def roofline_bandwidth_bytes_s(profile: Profile) -> tuple[float | None, str]:
    """Bandwidth to judge a profile's efficiency against: the GPU's datasheet figure for GPU runs (from the hardware
    catalog), the machine's measured RAM bandwidth for CPU runs."""
    if profile.engine.backend == "cuda" and profile.hardware.gpus:
        gpu = profile.hardware.gpus[0].name.lower()
        hw = load_catalog("hardware")
        rows = hw[(hw["kind"] == "gpu") & hw["name"].map(lambda n: _gpu_match(n, gpu))]
        if rows.empty:
            return None, f"no datasheet bandwidth for {profile.hardware.gpus[0].name} in data/hardware.csv"
        row = rows.iloc[0]
        return float(row["memory_bandwidth_gb_s"]) * 1e9, f"{row['name']} datasheet ({row['source']}, {row['as_of']})"
    bw = profile.hardware.memory_bandwidth_gb_s
    return (bw * 1e9 if bw else None), (profile.hardware.memory_bandwidth_method or "not measured")
