"""Is a profile's measurement trustworthy enough to quote money on? The reasons it is not, in words.

Why: on a shared 2-core VM a profile taken beside another job can read 4× slow with a confidence interval wider than
its mean, and a verdict computed from it flips. A plan states these reasons next to its numbers; `demo` and the
quickstart stop before printing a verdict from such a profile.
"""
from __future__ import annotations

from planner.core.records import EngineProfile, Profile, Summary

WIDE_CI_PCT = 25.0  # a 95 % CI half-width above this share of the mean is too wide to plan on
NOISY_NOTE = "noisy:"  # the profiler's note on a test that stayed contended after a repeat


def _half_width_pct(s: Summary) -> float | None:
    if s.ci95_low is None or s.ci95_high is None or s.mean <= 0:
        return None
    return 100 * (s.ci95_high - s.ci95_low) / 2 / s.mean


def trust_problems(profile: Profile) -> list[str]:
    """Contention while measuring, intervals too wide to plan on, decode speed rising with context (not physical)."""
    out = []
    load = profile.load
    if load is not None and load.contended:
        out.append(f"the machine was busy while measuring (other work took {load.other_cpu_fraction or 0:.0%} of the CPUs, the hypervisor "
                   f"{load.steal_fraction or 0:.0%}): re-run the profile on a quiet machine")
    noisy = [n[len(NOISY_NOTE):].strip() for n in profile.notes if n.startswith(NOISY_NOTE)]
    if noisy:
        out.append(noisy[0] if len(noisy) == 1 else f"{len(noisy)} tests stayed contended after a repeat (first: {noisy[0]})")
    if not isinstance(profile, EngineProfile):
        return out
    tests = [(f"prefill {p.prompt_tokens}", p.tok_s) for p in profile.prefill] + [(f"decode at depth {d.context_depth}", d.tok_s) for d in profile.decode]
    wide = [f"{name} ±{hw:.0f}%" for name, s in tests if (hw := _half_width_pct(s)) is not None and hw > WIDE_CI_PCT]
    if wide:
        out.append(f"95% confidence intervals wider than ±{WIDE_CI_PCT:g}% ({', '.join(wide)}): the timings swung too much to plan on")
    decode = sorted(profile.decode, key=lambda d: d.context_depth)
    for shallow, deep in zip(decode, decode[1:]):
        if deep.tok_s.ci95_low is not None and shallow.tok_s.ci95_high is not None and deep.tok_s.ci95_low > shallow.tok_s.ci95_high:
            out.append(f"decode at depth {deep.context_depth} ({deep.tok_s.mean:,.1f} tok/s) is faster than at depth {shallow.context_depth} "
                       f"({shallow.tok_s.mean:,.1f} tok/s) beyond their intervals — a longer context cannot be faster; the machine's load changed")
    return out
