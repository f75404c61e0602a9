"""Where the GPU model's latency error lies: in a request's end-to-end time, or in how that time splits into TTFT
and decode. Reads the committed held-out validation (`gpu_vs_published.py`'s rows, held out by model) and the
corpus's measured end-to-end medians; no simulation, no fit.

    python benchmarks/gpu_e2e_split.py [--validation FILE]   # default: the newest benchmarks/results/gpu-validation-*.json

For each loaded (closed-loop) row with a measured end-to-end p50, the predicted end-to-end time is taken as
TTFT p50 + (output tokens − 1) × TPOT p50 — a sum of medians, not the median of the sums; the same sum of the
*measured* medians is printed against the measured end-to-end p50 to show how close that approximation is.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from planner.core.validation import abs_median, error_pct  # noqa: E402

CORPUS = ROOT / "benchmarks" / "data" / "gpu_serving_corpus.csv"
RESULTS = ROOT / "benchmarks" / "results"


def split_errors(validation: dict, corpus: pd.DataFrame) -> pd.DataFrame:
    """One row per held-out-by-model loaded point: end-to-end, TTFT and TPOT p50 errors (%, predicted vs measured)."""
    e2e = corpus.set_index("id")["e2el_p50_ms"]
    out = []
    for r in validation["rows"]:
        if r["split"] != "model" or r["kind"] != "concurrency" or r["predicted_ttft_p50_ms"] is None:
            continue
        measured = e2e.get(r["id"])
        if measured is None or pd.isna(measured):
            continue
        n = r["tokens_out"] - 1
        predicted = r["predicted_ttft_p50_ms"] + n * r["predicted_tpot_p50_ms"]
        summed = r["measured_ttft_p50_ms"] + n * r["measured_tpot_p50_ms"]
        out.append({"model": r["model"], "error_pct_e2e_p50": error_pct(predicted, measured),
                    "sum_of_medians_vs_e2e_pct": error_pct(summed, measured),
                    "error_pct_ttft_p50": r["error_pct_ttft_p50"], "error_pct_tpot_p50": r["error_pct_tpot_p50"]})
    return pd.DataFrame(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--validation", type=Path, default=None, help="a gpu_vs_published result (default: the newest)")
    args = ap.parse_args()
    if args.validation is None:  # the files are dated gpu-validation-YYYYMMDD.json: the last by name is the newest
        args.validation = max(RESULTS.glob("gpu-validation-*.json"), default=RESULTS / "gpu-validation-*.json")
    if not args.validation.is_file():
        sys.exit(f"--validation: no such file {args.validation}; run `python benchmarks/gpu_vs_published.py` first")
    df = split_errors(json.loads(args.validation.read_text()), pd.read_csv(CORPUS))
    if df.empty:
        sys.exit(f"--validation: {args.validation} has no held-out loaded row with a measured end-to-end p50")
    table = df.groupby("model").agg(rows=("error_pct_e2e_p50", "size"), e2e_p50=("error_pct_e2e_p50", abs_median),
                                    e2e_p50_signed=("error_pct_e2e_p50", "median"), ttft_p50=("error_pct_ttft_p50", abs_median),
                                    tpot_p50=("error_pct_tpot_p50", abs_median),
                                    sum_of_medians_vs_e2e=("sum_of_medians_vs_e2e_pct", "median"))
    print(f"held out by model, loaded rows with a measured end-to-end p50 ({args.validation.name}); median |error| %:")
    print(table.round(1).to_string())
    print(f"all {len(df)} rows: end-to-end {abs_median(df.error_pct_e2e_p50):.1f} %, TTFT {abs_median(df.error_pct_ttft_p50):.1f} %, "
          f"TPOT {abs_median(df.error_pct_tpot_p50):.1f} %")


if __name__ == "__main__":
    main()
