#!/usr/bin/env python3
"""Write data/examples/traffic-litellm-spendlogs.csv: a synthetic week of chat traffic in litellm's spend-log columns.

No user's data: every row is drawn from a seeded generator, so the project can demonstrate `llm-planner traffic
summarize` and `plan --traffic` without one. The shape is stated here, not measured anywhere:
- arrivals: Poisson per clock hour at 12 requests/hour × (1 + 0.7 · cos(2π (hour − 15) / 24)) — a 15:00 UTC peak,
  ~5.7× the 03:00 trough — lower on Saturday and Sunday (× 0.4);
- prompt tokens: lognormal, median 420, σ 0.9 (clipped to 16 … 16,000): chat with a long-tailed share of pasted
  documents; output tokens: lognormal, median 140, σ 0.7 (clipped to 1 … 4,000);
- model: gpt-4o-mini for 80 % of requests, gpt-4o for the rest; cache_hit "False" (litellm's own response cache).

    python scripts/make_example_traffic.py          # rewrite the file (byte-for-byte the same: seed 0)
"""
from __future__ import annotations

import csv
import io
import os
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parents[1] / "data" / "examples" / "traffic-litellm-spendlogs.csv"
START = datetime(2026, 11, 2, tzinfo=UTC)  # a Monday
DAYS = 7


def main() -> None:
    rng = np.random.default_rng(0)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["request_id", "call_type", "startTime", "endTime", "model", "prompt_tokens", "completion_tokens", "total_tokens", "cache_hit"])
    k = 0
    for hour in range(DAYS * 24):
        t0 = START + timedelta(hours=hour)
        rate = 12 * (1 + 0.7 * np.cos(2 * np.pi * (t0.hour - 15) / 24)) * (0.4 if t0.weekday() >= 5 else 1.0)
        for offset in np.sort(rng.uniform(0, 3600, rng.poisson(rate))):
            n_in = int(np.clip(rng.lognormal(np.log(420), 0.9), 16, 16_000))
            n_out = int(np.clip(rng.lognormal(np.log(140), 0.7), 1, 4_000))
            model = "gpt-4o-mini" if rng.random() < 0.8 else "gpt-4o"
            start = t0 + timedelta(seconds=float(offset))
            end = start + timedelta(seconds=0.3 + n_out * 0.012)
            w.writerow([f"example-{k:06d}", "acompletion", start.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                        end.isoformat(timespec="milliseconds").replace("+00:00", "Z"), model, n_in, n_out, n_in + n_out, "False"])
            k += 1
    OUT.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=OUT.parent, suffix=".tmp")
    with os.fdopen(fd, "w", newline="") as f:
        f.write(buf.getvalue())
    os.chmod(tmp, 0o644)
    os.replace(tmp, OUT)
    print(f"wrote {OUT} ({k} requests)")


if __name__ == "__main__":
    main()
