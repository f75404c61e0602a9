"""How long the fleet search takes: every catalog GPU instance × TP/PP/data-parallel layout × weight precision
(bf16, fp8, int4) for one model and workload, on this machine. Target: under 5 s on 2 cores (for scale, Vidur's
capacity search takes about a CPU-hour, AIConfigurator seconds).

    python benchmarks/fleet_speed.py [--card Llama-3.1-70B] [--repeat 3]

Prints the number of candidates, how many fit, how many engines were simulated, and the time per run (each run in
a fresh process state: the simulator's caches are cleared between runs).
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from planner.app.fleet import fleet_candidates, fleet_fit  # noqa: E402
from planner.core import simulate  # noqa: E402
from planner.core.fleet import rank_fleet  # noqa: E402
from planner.core.plan import Workload  # noqa: E402
from planner.formats.catalog import load_card  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--card", default="Llama-3.1-70B")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--top", type=int, default=15)
    args = ap.parse_args()
    card = load_card(args.card)
    w = Workload(tokens_in=1000, tokens_out=300, ttft_slo_s=2, itl_slo_s=0.1, requests_per_month=5e6)
    t0 = time.perf_counter()
    eff, _ = fleet_fit()
    candidates, _ = fleet_candidates(onprem=True)
    setup = time.perf_counter() - t0
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}")
    print(f"setup (catalogs + efficiency fit with its leave-one-out check): {setup:.2f} s; {len(candidates)} GPU instances")
    times = []
    for _ in range(args.repeat):
        simulate._rate_point.cache_clear()
        t = time.perf_counter()
        r = rank_fleet(card, candidates, eff, w, precisions=("bf16", "fp8", "int4"), top=args.top)
        times.append(time.perf_counter() - t)
    best = r.ranked.iloc[0]
    print(f"{args.card}, 1000 → 300 tokens, TTFT p95 ≤ 2 s, ITL p95 ≤ 100 ms, 5 M requests/month:")
    print(f"  {r.n_candidates:,} candidates (instance × layout × precision), {r.n_fitting:,} fit in memory, "
          f"{r.n_engines_simulated} engines simulated for the exact top {args.top}")
    print(f"  search time: {' / '.join(f'{x:.2f}' for x in times)} s (min {min(times):.2f} s; target < 5 s)")
    print(f"  best: {best['instances']:.0f} × {best['instance']} as {best['layout']} at {best['precision']}: ${best['usd_per_month']:,.0f}/month")


if __name__ == "__main__":
    main()
