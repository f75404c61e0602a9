"""Which catalog rows fit a profile: the instance like the profiled machine, the model card it measures, and a
warning when a plan prices capacity on hardware other than the one it was measured on. Pure: rows come in typed."""
from __future__ import annotations

import re

from planner.core.cards import ModelCard
from planner.core.errors import InputError
from planner.core.records import Profile
from planner.core.rows import InstanceRow
from planner.core.units import is_loopback

_VENDOR_WORDS = {"nvidia", "geforce", "amd", "instinct", "tesla"}
# NVML's form-factor words (nvidia-smi names: "NVIDIA H100 80GB HBM3" is the SXM5 part, "NVIDIA H100 PCIe", "NVIDIA H100 NVL",
# "NVIDIA A100-SXM4-80GB", "NVIDIA A100 80GB PCIe", "NVIDIA A100-PCIE-40GB", "NVIDIA H200" (SXM), "NVIDIA H200 NVL")
_FORMS = {"sxm": "sxm", "sxm2": "sxm", "sxm4": "sxm", "sxm5": "sxm", "hbm3": "sxm", "hbm3e": "sxm", "pcie": "pcie", "nvl": "nvl"}


def _gpu_words(name: str) -> tuple[frozenset[str], str | None, float | None]:
    """(model words, form factor, memory GB) of a GPU name, catalog or NVML."""
    words = [w for w in re.split(r"[\s\-_/]+", name.lower()) if w]
    forms = {_FORMS[w] for w in words if w in _FORMS}
    gb = next((float(w[:-2]) for w in words if re.fullmatch(r"\d+gb", w)), None)
    model = frozenset(w for w in words if w not in _VENDOR_WORDS and w not in _FORMS and not re.fullmatch(r"\d+gb", w))
    return model, (forms.pop() if len(forms) == 1 else None), gb


def gpu_match(catalog_name: str, nvml_name: str, memory_total_bytes: int | None = None) -> bool:
    """Whether a catalog GPU is the device NVML reports: the same model words ("L4" is not "L40S"), the same form factor
    where both names state one (SXM ≠ PCIe ≠ NVL: 3.35 vs 2.0 TB/s on an H100; an H200 without a suffix is SXM), and the
    same memory where both are known (A100 40 GB ≠ 80 GB; NVML's total is in bytes, a little under the marketed GB)."""
    c_model, c_form, c_gb = _gpu_words(catalog_name)
    n_model, n_form, n_gb = _gpu_words(nvml_name)
    if not c_model or c_model != n_model:
        return False
    if n_form is None and "h200" in n_model:
        n_form = "sxm"
    if c_form and n_form and c_form != n_form:
        return False
    if n_gb is None and memory_total_bytes:
        n_gb = memory_total_bytes / 1e9
    return not (c_gb and n_gb and abs(n_gb / c_gb - 1) > 0.15)


def matching_instance(profile: Profile, instances: list[InstanceRow]) -> InstanceRow:
    """Cheapest on-demand instance like the profiled machine: same GPU (by name) × count, or a CPU instance with as many vCPUs."""
    hw = profile.hardware
    instances = [r for r in instances if r.provider != "on-prem"] or instances  # owned hardware only when named
    if profile.on_gpu:
        gpu = hw.gpus[0].name
        pool = [r for r in instances if r.has_gpu and gpu_match(r.accelerator or "", gpu) and r.accelerator_count == len(hw.gpus)]
    else:
        pool = [r for r in instances if not r.has_gpu and (r.vcpus or 0) >= hw.logical_cores]
        if pool:
            fewest = min(r.vcpus or 0 for r in pool)
            pool = [r for r in pool if r.vcpus == fewest]
    if not pool:
        raise InputError("no catalog instance matches the profiled hardware; name one (see `llm-planner catalog instances`)",
                         field="instance")
    return min(pool, key=lambda r: r.on_demand_usd_per_hour)


def same_accelerator(profile: Profile, instance: InstanceRow) -> bool:
    """Whether the instance runs the profile's kind of hardware: the same GPU × count, or a CPU instance for a CPU
    profile. When it does not, the plan prices one machine at another's speed (the dashboard's red banner)."""
    if not profile.on_gpu:
        return not instance.has_gpu
    hw = profile.hardware
    return bool(instance.has_gpu and gpu_match(instance.accelerator or "", hw.gpus[0].name) and instance.accelerator_count == len(hw.gpus))


def instance_mismatch(profile: Profile, instance: InstanceRow) -> str | None:
    """Say so when a plan prices a replica on hardware other than the one its capacity was measured (or projected) on."""
    hw = profile.hardware
    host = (profile.engine.endpoint_host or "").rsplit(":", 1)[0]
    if profile.engine.name == "openai-http" and not is_loopback(host):
        return None  # a remote endpoint: the fingerprint is the client's, the server's hardware is unknown
    on_gpu = profile.on_gpu
    measured = f"{len(hw.gpus)}× {hw.gpus[0].name}" if on_gpu else f"{hw.cpu_model} ({profile.engine.n_threads or hw.logical_cores} threads)"
    rented = f"{instance.accelerator_count}× {instance.accelerator}" if instance.has_gpu else f"{instance.vcpus} vCPUs"
    if not on_gpu and not instance.has_gpu:
        threads = profile.engine.n_threads or hw.logical_cores
        if instance.vcpus and threads and instance.vcpus >= 4 * threads:
            return (f"capacity measured with {threads} threads on {hw.cpu_model}, priced as {instance.instance} with {instance.vcpus:g} vCPUs "
                    f"({instance.vcpus / threads:.0f}× the threads measured): the plan pays for {instance.vcpus:g} vCPUs but counts the "
                    f"speed of {threads}; profile with about {instance.vcpus:g} threads on that machine, or pick an instance with "
                    f"about {threads} vCPUs")
        return f"capacity measured on {measured}; {instance.instance} ({rented}) is assumed to be as fast — its CPU may differ"
    if on_gpu and same_accelerator(profile, instance):
        return None
    return (f"capacity measured on {measured} but priced as {instance.instance} ({rented}): the figures assume that instance runs "
            f"as fast; profile on it, project with `llm-planner project`, or pick a matching instance")


def norm_name(text: str) -> str:
    """A name without case or punctuation ("GPT-4o-Mini" → "gpt4omini"): how catalog names and model names are compared."""
    return re.sub(r"[^a-z0-9]", "", str(text).lower())


def card_for_profile(profile: Profile, cards: list[ModelCard]) -> ModelCard | None:
    """The model card a profile measures: the clone's card, else the longest card name the model name or file contains."""
    if profile.model.clone_of:
        return next((c for c in cards if c.name == profile.model.clone_of), None)
    haystack = norm_name(profile.model.name) + norm_name(profile.model.file_name)
    matches = [c for c in cards if norm_name(c.name) in haystack]
    return max(matches, key=lambda c: len(c.name)) if matches else None
