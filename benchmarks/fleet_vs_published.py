"""How far the fleet's step model is from real vLLM on GPUs: published decode speeds vs the planner's prediction.

No GPU is lent to most sessions of this project, so the check uses measurements others published (each row of
`benchmarks/data/published_vllm_decode.csv` cites its issue and quotes the figure): vLLM decode time per token at
batch 1–2 for known models, GPUs and TP sizes, including TP scaling on one model. The planner predicts the same
number from the card, the hardware catalog and the GPU efficiency fitted on the committed llama.cpp H100 profiles —
none of these rows is used to fit anything.

    python benchmarks/fleet_vs_published.py            # prints the table, writes benchmarks/results/fleet-vs-published.json
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from planner.app.fleet import gpu_efficiency  # noqa: E402
from planner.core.deploy import memory_plan, step_model  # noqa: E402
from planner.formats.catalog import device_for, load_card, record  # noqa: E402
from planner.formats.files import atomic_write_text  # noqa: E402

DATA = ROOT / "benchmarks" / "data" / "published_vllm_decode.csv"
RESULT = ROOT / "benchmarks" / "results" / "fleet-vs-published.json"


def predictions() -> pd.DataFrame:
    eff = gpu_efficiency()
    rows = []
    for _, r in pd.read_csv(DATA).iterrows():
        card, dev = load_card(r["card"]), device_for(record("hardware", r["hardware"]))
        mem = memory_plan(card, r["precision"], dev, int(r["tp"]), 1, r["tokens_in"] + r["tokens_out"])
        step, _ = step_model(card, r["precision"], dev, eff, int(r["tp"]), 1, mem)
        b = int(r["batch"])
        ms = 1000 * float(step.step_s(b, b * (r["tokens_in"] + r["tokens_out"] / 2), 0))
        rows.append({"id": r["id"], "card": r["card"], "hardware": r["hardware"], "tp": int(r["tp"]), "precision": r["precision"],
                     "fits": mem.fits, "measured_ms": float(r["measured_ms_per_token"]), "predicted_ms": ms,
                     "error_pct": 100 * (ms / r["measured_ms_per_token"] - 1)})
    return pd.DataFrame(rows)


def summary(frame: pd.DataFrame) -> dict:
    err = frame["error_pct"].abs()
    scaling = {}
    for card, g in frame.groupby("card"):
        if g["tp"].nunique() > 1:  # TP scaling: time at each TP ÷ time at the smallest, measured vs predicted
            g = g.sort_values("tp")
            scaling[card] = {"tp": g["tp"].tolist(), "measured_ratio": (g["measured_ms"] / g["measured_ms"].iloc[0]).round(3).tolist(),
                             "predicted_ratio": (g["predicted_ms"] / g["predicted_ms"].iloc[0]).round(3).tolist()}
    eff = gpu_efficiency()
    return {"n_points": len(frame), "median_abs_error_pct": float(err.median()), "max_abs_error_pct": float(err.max()),
            "mean_signed_error_pct": float(frame["error_pct"].mean()), "tp_scaling": scaling,
            "efficiency": {"source": eff.source, "bandwidth_eff": eff.bandwidth_eff, "flops_eff": eff.flops_eff,
                           "held_out_median_abs_error_pct": eff.median_abs_error_pct},
            "rows": json.loads(frame.round(4).to_json(orient="records"))}


def main() -> None:
    frame = predictions()
    with pd.option_context("display.width", 160):
        print(frame.round(2).to_string(index=False))
    s = summary(frame)
    print(f"\n{s['n_points']} published vLLM decode speeds: |error| median {s['median_abs_error_pct']:.1f} %, worst "
          f"{s['max_abs_error_pct']:.1f} %, mean signed {s['mean_signed_error_pct']:+.1f} % (+ = predicted slower)")
    for card, sc in s["tp_scaling"].items():
        print(f"TP scaling of {card}: TP {sc['tp']} time ratio measured {sc['measured_ratio']} predicted {sc['predicted_ratio']}")
    atomic_write_text(RESULT, json.dumps(s, indent=2) + "\n")
    print(f"written {RESULT.relative_to(ROOT)}")
    if not np.isfinite(frame["predicted_ms"]).all():
        sys.exit(1)


if __name__ == "__main__":
    main()
