"""How fast is capacity at an SLO from the simulator? Target: 1,000 (workload × SLO) points in under 2 s on 2 cores.

    python benchmarks/capacity_speed.py [--workloads 10] [--slos 100] [--traffic]

Each workload's latency-vs-rate curve is simulated once (16 rates up to saturation, 400 requests each, cached); every
SLO on it is then answered from the cached curve (bracket + log-rate interpolation, `refine=0`). The plan itself
refines by bisection (`refine=5`): its time per new (workload, SLO) is printed too. Cold caches for every figure.
`--traffic` (issue 23): each workload is a distribution instead — 400 lognormal (prompt, output) pairs around its
shape (σ 0.7 and 0.8, the long-tailed chat of capacity_vs_measured), a quarter of each prompt in one of 4 shared
prefixes (the simulator's prefix cache), arrivals replayed from the azure-conversation-2023 preset's gaps.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from planner.core.capacity import scheduler_for
from planner.core.lengths import RequestMix
from planner.core.simulate import _rate_point, capacity_at_slo_sim
from planner.core.stepmodel import fit_step_model
from planner.formats.profiles import load_profile

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workloads", type=int, default=10)
    ap.add_argument("--slos", type=int, default=100)
    ap.add_argument("--traffic", action="store_true", help="distributions with shared prefixes and replayed arrivals")
    args = ap.parse_args()
    profile = load_profile(sorted((ROOT / "profiles" / "reference" / "validation").glob("*__vllm__*.json"))[-1])
    step = fit_step_model(profile)
    sched, _ = scheduler_for(profile)
    rng = np.random.default_rng(0)
    shapes = [(int(i), int(o)) for i, o in zip(rng.choice([128, 256, 512, 1024, 2048], args.workloads), rng.choice([16, 64, 128, 256, 512], args.workloads))]
    side = int(np.ceil(np.sqrt(args.slos)))
    slos = [(t, i) for t in np.geomspace(0.3, 20, side) for i in np.geomspace(0.05, 1.0, side)][:args.slos]
    mixes = {shape: None for shape in shapes}
    if args.traffic:
        from planner.core.traffic import arrival_gaps
        from planner.formats.traffic import read_traffic
        gaps = arrival_gaps(read_traffic("azure-conversation-2023"))
        for n_in, n_out in shapes:
            t_in = np.clip(np.rint(rng.lognormal(np.log(n_in), 0.7, 400)), 16, 3000)
            mixes[(n_in, n_out)] = RequestMix.from_arrays(t_in, np.clip(np.rint(rng.lognormal(np.log(n_out), 0.8, 400)), 2, 1000),
                                                          cached_in=np.rint(t_in / 4), n_prefixes=4, arrival_gaps=gaps)
    _rate_point.cache_clear()
    start = time.perf_counter()
    caps = [capacity_at_slo_sim(step, sched, n_in, n_out, t, i, refine=0, mix=mixes[(n_in, n_out)]).requests_per_s
            for n_in, n_out in shapes for t, i in slos]
    bulk = time.perf_counter() - start
    n = len(caps)
    _rate_point.cache_clear()
    start = time.perf_counter()
    for n_in, n_out in shapes[:3]:
        capacity_at_slo_sim(step, sched, n_in, n_out, 2.0, 0.2, mix=mixes[(n_in, n_out)])
    plan_s = (time.perf_counter() - start) / 3
    print(f"profile: {profile.model.name} (vLLM CPU); {len(shapes)} {'distributions' if args.traffic else 'workloads'} × "
          f"{len(slos)} SLO pairs = {n:,} points, {sum(c > 0 for c in caps):,} feasible")
    print(f"capacity at the SLO for all points: {bulk:.2f} s ({bulk / n * 1e3:.2f} ms a point; target: 1,000 points < 2 s)")
    print(f"one plan's capacity (grid + 5 bisection steps, cold cache): {plan_s:.2f} s")


if __name__ == "__main__":
    main()
