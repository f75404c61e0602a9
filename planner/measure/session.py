"""One measuring session, shared by the three profilers (llama.cpp, vLLM offline, a server under load).

What every measurement run owes the user, written once:
- the profile is written atomically after every finished test (status `partial` until the end), with the memory and
  machine load sampled so far;
- a test taken while other work crowded the machine is measured again, and if it is still crowded the profile is
  marked noisy (a note `core.quality.trust_problems` reads) rather than passing its figures off as quiet;
- Ctrl-C or SIGTERM saves the finished part and raises the matching error (exit 130 / 143) with one line saying where.

The clock lives here, not in the pure core: `repeat_until_stable` times repetitions.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from planner.core.errors import InputError, Terminated, stopped
from planner.core.quality import NOISY_NOTE
from planner.core.records import Profile
from planner.core.stats import relative_ci_half_width
from planner.formats.profiles import save_profile
from planner.measure.probes.telemetry import LoadMeter, contention_note

T = TypeVar("T")


def repeat_until_stable(measure: Callable[[], float], *, min_reps: int = 3, max_reps: int = 30, target_rel_ci: float = 0.03,
                        time_budget_s: float = 30.0, clock: Callable[[], float] = time.perf_counter) -> list[float]:
    """Call `measure` until the 95% CI half-width is within `target_rel_ci` of the mean, or a limit is hit.

    `min_reps` are always taken (even past the budget) so every figure has a CI.
    """
    if min_reps < 2:
        raise InputError("min_reps: must be at least 2 so a confidence interval exists")
    if max_reps < min_reps:
        raise InputError("max_reps: must be >= min_reps")
    samples: list[float] = []
    start = clock()
    while len(samples) < max_reps:
        samples.append(float(measure()))
        if len(samples) < min_reps:
            continue
        if relative_ci_half_width(samples) <= target_rel_ci or clock() - start >= time_budget_s:
            break
    return samples


class MeasuringSession:
    """`with MeasuringSession(profile, path, what="tests") as run:` — save after each test with `run.save()`, take
    repeated measurements through `run.measured(...)`; leaving the block normally marks the profile complete."""

    def __init__(self, profile: Profile, path: str | Path, *, what: str = "tests", memory: Callable[[], object] | None = None):
        self.profile, self.path, self.what = profile, Path(path), what
        self._memory = memory  # the memory sampler's usage(), when the run samples memory
        self._load = LoadMeter()
        self._stopped_early: str | None = None

    def save(self) -> None:
        if self._memory is not None:
            self.profile.memory = self._memory()
        self.profile.load = self._load.stop()
        save_profile(self.profile, self.path)

    def measured(self, take: Callable[[], T], *, may_repeat: Callable[[T], bool] = lambda _: True) -> T:
        """One test: `take()` runs with the machine's load measured around it; run again once if other work crowded
        the machine (unless `may_repeat(result)` says the result must stand: a load level whose server died), and the
        profile marked noisy if it stayed crowded."""
        for _attempt in range(2):
            meter = LoadMeter()
            result = take()
            load = meter.stop()
            if not load.contended or not may_repeat(result):
                return result
        self.profile.notes.append(f"{NOISY_NOTE} a test was measured twice while other work took {load.other_cpu_fraction:.0%} of the "
                                  f"CPUs (the hypervisor {load.steal_fraction:.0%}); its figures are kept but suspect")
        return result

    def repeat(self, measure: Callable[[], float], *, min_reps: int, max_reps: int, target_rel_ci: float, time_budget_s: float) -> list[float]:
        """Repetitions until the CI is tight (`repeat_until_stable`), as one test of `measured`."""
        return self.measured(lambda: repeat_until_stable(measure, min_reps=min_reps, max_reps=max_reps, target_rel_ci=target_rel_ci,
                                                         time_budget_s=time_budget_s))

    def stop_early(self, why: str) -> None:
        """End the run before its plan (the server stopped answering): the profile stays partial, with why."""
        self.profile.notes.append(why)
        self._stopped_early = why

    def __enter__(self) -> MeasuringSession:
        self.save()
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is not None and issubclass(exc_type, KeyboardInterrupt):
            self.profile.notes.append(f"{'terminated' if isinstance(exc, Terminated) else 'interrupted'}: the {self.what} still running were dropped")
            self.save()
            raise stopped(exc, f"the finished {self.what} are saved in {self.path} (status: partial)") from None
        if exc_type is None and self._stopped_early is None:
            self.profile.status = "complete"
            final = self._load.stop()
            if final.contended:
                self.profile.notes.append(contention_note(final))
            self.save()
        return False
