"""Background samplers for memory (process RSS, GPU VRAM) and energy (NVML counter or Linux RAPL).

Energy is reported only from a real counter; when none is readable the reason is recorded instead.
"""
from __future__ import annotations

import glob
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from planner.core.records import CONTENDED_FRACTION, EnergyUsage, MachineLoad, MemoryUsage
from planner.measure.probes.nvml import Nvml


class MemorySampler:
    """Samples this process's RSS (and GPU memory used, when NVML is present) every `interval_s`. With
    `children=True` the RSS of its child processes is added (vLLM runs its engine core in one)."""

    def __init__(self, interval_s: float = 0.02, nvml: Nvml | None = None, *, children: bool = False):
        # listing child processes costs far more than reading one RSS: sample them 10× less often, and look for new
        # children once a second, so the sampler does not take CPU from the engine it measures
        self.interval_s = interval_s * 10 if children else interval_s
        self.children = children
        self._kids: list[psutil.Process] = []
        self._kids_listed = 0.0
        self.nvml = nvml if nvml is not None and nvml.available else None
        self._proc = psutil.Process()
        self.baseline_rss = self._proc.memory_info().rss
        self.peak_rss = self.baseline_rss
        self.vram_baseline = self.nvml.memory_used_bytes() if self.nvml else None
        self.vram_peak = self.vram_baseline
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def _rss(self) -> int:
        rss = self._proc.memory_info().rss
        if self.children:
            if time.monotonic() - self._kids_listed > 1.0:
                self._kids, self._kids_listed = self._proc.children(recursive=True), time.monotonic()
            for child in self._kids:
                try:
                    rss += child.memory_info().rss
                except psutil.Error:  # exited between listing and reading
                    pass
        return rss

    def _sample(self) -> None:
        rss = self._rss()
        self.peak_rss = max(self.peak_rss, rss)
        if self.nvml:
            used = self.nvml.memory_used_bytes()
            if used is not None:
                self.vram_peak = max(self.vram_peak or 0, used)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._sample()

    def start(self) -> MemorySampler:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        self._sample()

    def usage(self) -> MemoryUsage:
        self._sample()
        return MemoryUsage(
            baseline_rss_bytes=self.baseline_rss,
            peak_rss_bytes=self.peak_rss,
            sample_interval_ms=self.interval_s * 1000,
            vram_used_peak_bytes=self.vram_peak,
            vram_used_baseline_bytes=self.vram_baseline,
        )


RAPL_GLOB = "/sys/class/powercap/intel-rapl:*/energy_uj"


def _rapl_files() -> list[Path]:
    """Package-level RAPL counters (intel-rapl:N, not their sub-zones)."""
    return [Path(p) for p in sorted(glob.glob(RAPL_GLOB)) if Path(p).parent.name.count(":") == 1]


def _read_rapl_uj(files: list[Path]) -> int | None:
    try:
        return sum(int(f.read_text()) for f in files)
    except (OSError, ValueError):
        return None


@dataclass
class EnergyMeter:
    """Reads an energy counter before and after a measured phase."""

    nvml: Nvml | None = None
    source: str | None = None
    reason: str | None = None
    _start: int | None = None
    _t0: float = 0.0
    _rapl: list[Path] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.nvml is not None and self.nvml.available and self.nvml.energy_mj() is not None:
            self.source = "nvml"
            return
        self._rapl = _rapl_files()
        if self._rapl and _read_rapl_uj(self._rapl) is not None:
            self.source = "rapl"
            return
        if self.nvml is not None and self.nvml.available:
            self.reason = f"the GPU's NVML energy counter is unsupported ({self.nvml.unavailable.get('energy', 'no value')})"
        elif not self._rapl:
            self.reason = "no NVIDIA GPU, and no RAPL counter under /sys/class/powercap on this machine"
        else:
            self.reason = "RAPL counters exist but are not readable (root-only on most kernels)"

    def _read(self) -> int | None:
        """Counter in microjoules."""
        if self.source == "nvml":
            mj = self.nvml.energy_mj()
            return mj * 1000 if mj is not None else None
        if self.source == "rapl":
            return _read_rapl_uj(self._rapl)
        return None

    def start(self) -> None:
        self._start = self._read()
        self._t0 = time.perf_counter()

    def stop(self, output_tokens: int) -> EnergyUsage:
        end = self._read()
        elapsed = time.perf_counter() - self._t0
        if self.source is None or self._start is None or end is None:
            return EnergyUsage(source=None, unavailable_reason=self.reason or "energy counter could not be read")
        delta_j = (end - self._start) / 1e6
        if delta_j <= 0:  # counter wrapped or reset between reads
            return EnergyUsage(source=None, unavailable_reason=f"{self.source} counter reset during the measurement")
        return EnergyUsage(
            source=self.source,  # type: ignore[arg-type]
            joules_per_output_token=delta_j / output_tokens,
            mean_power_w=delta_j / elapsed if elapsed > 0 else None,
        )


class LoadMeter:
    """CPU time other processes (and, on a VM, the hypervisor's other guests) took while this process measured.

    System busy time minus this process tree's own CPU time, from /proc/stat and the process accounting (psutil).
    """

    def __init__(self) -> None:
        self._t0 = time.monotonic()
        self._sys0 = psutil.cpu_times()
        self._own0 = self._own_cpu_s()

    @staticmethod
    def _busy_s(t) -> float:
        return sum(getattr(t, k, 0.0) for k in ("user", "nice", "system", "irq", "softirq"))

    @staticmethod
    def _own_cpu_s() -> float:
        """This process tree's CPU seconds: itself, its live descendants, and the descendants it has already reaped (a
        server started and stopped during the measurement: the kernel folds a waited-for child's time, and its own
        waited-for children's, into the parent's children_user/children_system). Without the reaped part a load test's
        own server counted as other work (the capacity validations recorded 58–80 % "other" CPU that was the server)."""
        me = psutil.Process()
        mine = me.cpu_times()
        total = mine.user + mine.system + getattr(mine, "children_user", 0.0) + getattr(mine, "children_system", 0.0)
        for p in me.children(recursive=True):
            try:
                c = p.cpu_times()
                total += c.user + c.system
            except psutil.Error:  # a child that just exited
                pass
        return total

    def stop(self) -> MachineLoad:
        wall = max(time.monotonic() - self._t0, 1e-9)
        cores = psutil.cpu_count(logical=True) or 1
        sys1 = psutil.cpu_times()
        other = max(self._busy_s(sys1) - self._busy_s(self._sys0) - (self._own_cpu_s() - self._own0), 0.0)
        steal = max(getattr(sys1, "steal", 0.0) - getattr(self._sys0, "steal", 0.0), 0.0)
        frac, steal_frac = other / (wall * cores), steal / (wall * cores)
        load = psutil.getloadavg()[0] if hasattr(psutil, "getloadavg") else None
        return MachineLoad(other_cpu_fraction=round(frac, 4), steal_fraction=round(steal_frac, 4), load_avg_end=load,
                           contended=frac + steal_frac > CONTENDED_FRACTION)


def contention_note(load: MachineLoad) -> str:
    return (f"contended: other work took {load.other_cpu_fraction:.0%} of the CPUs (and the hypervisor {load.steal_fraction:.0%}) "
            f"during the run — speeds may be low; re-run on a quiet machine")
