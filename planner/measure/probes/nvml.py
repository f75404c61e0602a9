"""NVIDIA GPU telemetry through NVML (package nvidia-ml-py, imported as pynvml).

Every query may be unsupported on a given GPU or driver: each one turns an NVML error into
`None` ("metric unavailable") for that metric only, never a crash, and records why in `Nvml.unavailable`
(gpustat's pattern). Without a driver nothing is reported.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from planner.core.records import GpuInfo

T = TypeVar("T")

try:  # nvidia-ml-py is a hard dependency, but keep the CPU path alive if the import itself breaks
    import pynvml
except Exception:  # pragma: no cover - depends on the installed wheel
    pynvml = None  # type: ignore[assignment]


def _safe(call: Callable[[], T], metric: str | None = None, why: dict[str, str] | None = None) -> T | None:
    """The call's value, or None when NVML refuses it; the reason goes into `why[metric]`."""
    try:
        return call()
    except Exception as exc:  # pynvml.NVMLError and its many subclasses, or a driver that vanished
        if why is not None and metric is not None:
            why[metric] = f"{type(exc).__name__}: {exc}"
        return None


class Nvml:
    """Context manager: initialises NVML if a driver exists, shuts it down on exit."""

    def __init__(self) -> None:
        self.available = False
        self.handles: list = []
        self.unavailable: dict[str, str] = {}  # metric → why NVML refused it

    def __enter__(self) -> Nvml:
        if self._init_ok():
            count = _safe(pynvml.nvmlDeviceGetCount) or 0
            self.handles = [h for i in range(count) if (h := _safe(lambda i=i: pynvml.nvmlDeviceGetHandleByIndex(i))) is not None]
            self.available = bool(self.handles)
            if not self.available:
                _safe(pynvml.nvmlShutdown)
        return self

    def _init_ok(self) -> bool:
        # nvmlInit returns None on success, so success is "no exception"
        if pynvml is None:
            self.unavailable["nvml"] = "nvidia-ml-py could not be imported"
            return False
        try:
            pynvml.nvmlInit()
            return True
        except Exception as exc:  # no driver: the CPU path goes on
            self.unavailable["nvml"] = f"{type(exc).__name__}: {exc}"
            return False

    def __exit__(self, *exc) -> None:
        if self.available:
            _safe(pynvml.nvmlShutdown)

    def gpus(self) -> list[GpuInfo]:
        driver = _safe(pynvml.nvmlSystemGetDriverVersion) if self.available else None
        out = []
        for i, h in enumerate(self.handles):
            name = _safe(lambda: pynvml.nvmlDeviceGetName(h)) or "unknown NVIDIA GPU"
            mem = _safe(lambda: pynvml.nvmlDeviceGetMemoryInfo(h))
            limit_mw = _safe(lambda: pynvml.nvmlDeviceGetPowerManagementLimit(h))
            out.append(GpuInfo(
                index=i,
                name=name.decode() if isinstance(name, bytes) else str(name),
                memory_total_bytes=int(mem.total) if mem is not None else None,
                driver_version=driver.decode() if isinstance(driver, bytes) else driver,
                power_limit_w=limit_mw / 1000.0 if limit_mw is not None else None,
            ))
        return out

    def memory_used_bytes(self) -> int | None:
        used = [_safe(lambda h=h: pynvml.nvmlDeviceGetMemoryInfo(h).used, "memory", self.unavailable) for h in self.handles]
        return sum(u for u in used if u is not None) if any(u is not None for u in used) else None

    def memory_free_bytes(self) -> int | None:
        free = [_safe(lambda h=h: pynvml.nvmlDeviceGetMemoryInfo(h).free, "memory", self.unavailable) for h in self.handles]
        return sum(f for f in free if f is not None) if any(f is not None for f in free) else None

    def energy_mj(self) -> int | None:
        """Total energy counter (Volta+), summed over GPUs; None if any GPU lacks it."""
        values = [_safe(lambda h=h: pynvml.nvmlDeviceGetTotalEnergyConsumption(h), "energy", self.unavailable) for h in self.handles]
        return sum(values) if values and all(v is not None for v in values) else None
