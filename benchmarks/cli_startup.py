"""How long the command line takes to answer `--help` and `--version`. Target: under 0.5 s on a quiet machine.

    python benchmarks/cli_startup.py [--runs 7]

Each figure is the median wall time of whole processes (`python -m planner …`, interpreter start-up included), after
one warm-up run so the files are in the page cache. The command modules import pandas, the engines and the catalogs
inside the commands, not at the top: this is the figure that keeps them there.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

COMMANDS = (["--version"], ["--help"], ["plan", "--help"], ["fleet", "--help"], ["profile", "--help"])


def wall_s(args: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "planner", *args], check=True, capture_output=True, env={**os.environ, "NO_COLOR": "1"})
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    runs = ap.parse_args().runs
    for args in COMMANDS:
        wall_s(args)
        times = [wall_s(args) for _ in range(runs)]
        print(f"llm-planner {' '.join(args):<16} median {statistics.median(times):.2f} s (min {min(times):.2f}, max {max(times):.2f}; "
              f"{runs} runs; target < 0.5 s)")


if __name__ == "__main__":
    main()
