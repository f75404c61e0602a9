"""Dashboard redraw time: one control change → plan() → figure and summary updated. Target: < 100 ms.

    python benchmarks/dashboard_redraw.py [--n 50] [--traffic data/examples/traffic-litellm-spendlogs.csv]

`--traffic LOG|PRESET`: the dashboard holds that log's workload (its length distribution, cached share and replayed
arrivals, issue 23), as `PlanDashboard(..., workload=...)` does for a notebook; the first draw (the simulation) is
reported apart from the redraws.
"""
from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from pathlib import Path

from planner.core.plan import Workload
from planner.formats.catalog import load_catalog
from planner.formats.profiles import load_profile
from planner.present.dashboard import PlanDashboard

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=50)
    ap.add_argument("--traffic", default=None, help="a usage log or a preset's name")
    args = ap.parse_args()
    workload = Workload(tokens_in=128, tokens_out=16, ttft_slo_s=5, itl_slo_s=0.5)
    if args.traffic:
        from planner.core.traffic import summarize, workload_fields
        from planner.formats.traffic import read_traffic
        rec = read_traffic(args.traffic)
        workload = Workload(**{**workload.model_dump(exclude={"lengths"}), "ttft_slo_s": 60, **workload_fields(summarize(rec), rec)})
    profiles = {p.label: p for p in (load_profile(f) for f in sorted((ROOT / "profiles" / "reference").rglob("*.json")))}
    cpu = next(p for p in profiles.values() if p.engine.backend == "cpu" and p.model.quant_label == "Q4_1")
    dash = PlanDashboard(profiles, load_catalog("instances"), load_catalog("api_prices"), api_models=["gpt-4o-mini", "gpt-4o"],
                         workload=workload)
    start = time.perf_counter()
    dash.profile.value = cpu.label
    first_ms = (time.perf_counter() - start) * 1000
    times = []
    for i in range(args.n):
        start = time.perf_counter()
        dash.volume.value = 10 ** (3 + 6 * (i % 10) / 10)  # each assignment triggers one redraw
        times.append(time.perf_counter() - start)
    if dash.result is None:  # the dashboard refused the workload (its message says why): nothing was drawn to time
        sys.exit(f"{args.traffic}: the dashboard shows an error instead of a plan — {re.sub('<[^>]+>', '', dash.message.value)}")
    ms = sorted(t * 1000 for t in times)
    print(f"{args.n} redraws of {len(dash.result.curves)} volume points: median {statistics.median(ms):.1f} ms, "
          f"p95 {ms[int(0.95 * (len(ms) - 1))]:.1f} ms, max {ms[-1]:.1f} ms (target: < 100 ms); the profile's first draw "
          f"{first_ms:.0f} ms{f' (workload: {args.traffic})' if args.traffic else ''}")


if __name__ == "__main__":
    main()
