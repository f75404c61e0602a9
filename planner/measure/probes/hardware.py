"""Hardware fingerprint of the machine a profile was measured on, and its achievable memory bandwidth."""
from __future__ import annotations

import os
import platform
import threading
import time

import numpy as np
import psutil

from planner.core.records import HardwareFingerprint
from planner.measure.probes.nvml import Nvml


def cpu_model_name() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def fingerprint(*, bandwidth: bool = False) -> HardwareFingerprint:
    """Describe this machine; `bandwidth=True` also measures memory bandwidth (about a second)."""
    vm = psutil.virtual_memory()
    with Nvml() as nvml:
        gpus = nvml.gpus()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    bw = measure_memory_bandwidth_gb_s() if bandwidth else None
    return HardwareFingerprint(
        cpu_model=cpu_model_name(),
        physical_cores=psutil.cpu_count(logical=False),
        logical_cores=psutil.cpu_count(logical=True) or 1,
        ram_total_bytes=vm.total,
        ram_available_bytes=vm.available,
        os=platform.platform(terse=True),
        kernel=platform.release(),
        python=platform.python_version(),
        gpus=gpus,
        load_avg_1m=load,
        memory_bandwidth_gb_s=bw,
        memory_bandwidth_method=(
            f"numpy copy, {_BW_MIB} MiB per array, {usable_threads()} threads, best of {_BW_REPS}; bytes read + written"
            if bw is not None else None
        ),
    )


def usable_threads() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return psutil.cpu_count(logical=True) or 1


_BW_MIB = 256
_BW_REPS = 7


def measure_memory_bandwidth_gb_s(mib: int = _BW_MIB, reps: int = _BW_REPS, threads: int | None = None) -> float:
    """STREAM-like copy: each thread copies its slice of a large array; counts bytes read + written.

    numpy's copy releases the GIL, so several threads load the memory system like llama.cpp's threads do.
    Arrays are far larger than any cache, so this is DRAM bandwidth, the ceiling of memory-bound decode.
    """
    threads = threads or usable_threads()
    n = mib * (1 << 20) // 8
    src = np.ones(n, dtype=np.float64)
    dst = np.empty_like(src)
    bounds = np.linspace(0, n, threads + 1, dtype=np.int64)

    def copy_slice(i: int) -> None:
        np.copyto(dst[bounds[i]:bounds[i + 1]], src[bounds[i]:bounds[i + 1]])

    best = float("inf")
    for _ in range(reps):
        workers = [threading.Thread(target=copy_slice, args=(i,)) for i in range(threads)]
        start = time.perf_counter()
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        best = min(best, time.perf_counter() - start)
    return 2 * src.nbytes / best / 1e9
