"""Will it fit? One check, before anything is allocated or written: weights + KV cache + margin against the free
memory of the device that will hold them (GPU memory when layers are offloaded, else RAM)."""
from __future__ import annotations

import psutil

from planner.core.errors import SetupError
from planner.core.roofline import Footprint
from planner.core.units import GIB
from planner.measure.probes.nvml import Nvml


def free_memory(n_gpu_layers: int, nvml: Nvml | None) -> tuple[int, str]:
    """(free bytes, what they are) on the device that will hold the model."""
    if n_gpu_layers != 0 and nvml is not None and nvml.available:
        return nvml.memory_free_bytes() or 0, "free GPU memory"
    return psutil.virtual_memory().available, "available RAM"


def require_fits(need: Footprint, what: str, fix: str, *, n_gpu_layers: int, nvml: Nvml | None) -> str:
    """The estimate, described; raises SetupError naming the numbers and the fix when it does not fit."""
    free, where = free_memory(n_gpu_layers, nvml)
    if need.total_bytes > free:
        raise SetupError(f"{what} needs about {need.describe()}, but only {free / GIB:.1f} GiB {where} is left — {fix}")
    return need.describe()
