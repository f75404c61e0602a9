"""Held-out validation of the GPU step model fitted on published serving measurements (`planner.core.gpufit`).

Every usable row of `benchmarks/data/gpu_serving_corpus.csv` and `published_vllm_decode.csv` (`formats.gpu_corpus`
says which rows are usable and why the others are not) is predicted by a fit that never saw it, twice: once with its
model left out of the fit, once with its GPU left out. Per row: predicted vs measured output tokens/s of the engine,
TPOT p50 and TTFT p50; per split the summary fields; the TP-scaling ratios of the decode figures (time at each TP ÷
time at the smallest) predicted with the model left out. Then the fit on every usable row is written to
data/gpu_step_fit.json with those held-out errors — what `llm-planner predict` uses and shows.

    python benchmarks/gpu_vs_published.py        # writes benchmarks/results/gpu-validation-<date>.json and data/gpu_step_fit.json
"""
from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from planner.core.errors import FitError  # noqa: E402
from planner.core.gpufit import above_roofline, error_pct, fit_efficiency, predict  # noqa: E402
from planner.formats.files import atomic_write_text  # noqa: E402
from planner.formats.gpu_corpus import (  # noqa: E402
    FIT_EXCLUDED,
    FIT_FILE,
    FIT_SCHEMA_VERSION,
    GpuFitFile,
    HeldOut,
    TpScaling,
    efficiency_to_json,
    load_points,
)

ENGINE = "vLLM"
COMMAND = "python benchmarks/gpu_vs_published.py"


def _median(x: pd.Series) -> float | None:
    x = x.dropna().abs()
    return round(float(x.median()), 2) if len(x) else None


def _max(x: pd.Series) -> float | None:
    x = x.dropna().abs()
    return round(float(x.max()), 2) if len(x) else None


def predicted_rows(train, test, split: str, group: str, no_fit: str) -> list[dict]:
    """`test`'s rows predicted by the fit on `train` (which never holds them), measured beside predicted."""
    try:
        eff = fit_efficiency(train, ENGINE)
        why_fit = ""
    except FitError as exc:
        eff, why_fit = None, f"{no_fit}: {exc}"
    rows = []
    for p in test:
        pr = predict(p, eff) if eff is not None else None
        rows.append({
            "id": p.id, "split": split, "held_out": group, "model": p.model, "gpu": p.gpu, "tp": p.tp, "precision": p.precision,
            "kind": p.kind, "concurrency": p.concurrency, "tokens_in": p.tokens_in, "tokens_out": p.tokens_out,
            "fitted_on_rows": len(train), "measured_output_tok_s": p.output_tok_s,
            "predicted_output_tok_s": pr and pr.output_tok_s, "measured_tpot_p50_ms": p.tpot_p50_s and 1000 * p.tpot_p50_s,
            "predicted_tpot_p50_ms": pr and pr.tpot_p50_s and 1000 * pr.tpot_p50_s,
            "measured_ttft_p50_ms": p.ttft_p50_s and 1000 * p.ttft_p50_s,
            "predicted_ttft_p50_ms": pr and pr.ttft_p50_s and 1000 * pr.ttft_p50_s,
            "error_pct_throughput": pr and error_pct(pr.output_tok_s, p.output_tok_s),
            "error_pct_tpot_p50": pr and error_pct(pr.tpot_p50_s, p.tpot_p50_s),
            "error_pct_ttft_p50": pr and error_pct(pr.ttft_p50_s, p.ttft_p50_s),
            "moe": p.card.is_moe, "error_pct_speed": pr and speed_error_pct(pr, p),
            "why_not_predicted": why_fit or (pr.why if pr else ""), "source": p.source})
    return rows


def speed_error_pct(pr, p) -> float | None:
    """The row's speed error (`HeldOut`): output throughput where measured, else the decode speed its TPOT implies."""
    if p.output_tok_s is not None and pr.output_tok_s is not None:
        return error_pct(pr.output_tok_s, p.output_tok_s)
    return error_pct(p.tpot_p50_s, pr.tpot_p50_s) if p.tpot_p50_s and pr.tpot_p50_s else None  # tokens/s ∝ 1/TPOT


def held_out(points, split: str, *, by: str | None = None, test=None) -> pd.DataFrame:
    """Each model's (GPU's: `by`, default the split's name) rows of `test` (default `points`) predicted by a fit on
    `points` without that model (GPU)."""
    key = (lambda p: p.model) if (by or split) == "model" else (lambda p: p.gpu)
    test = points if test is None else test
    rows = []
    for group in sorted({key(p) for p in test}):
        rows += predicted_rows([p for p in points if key(p) != group], [p for p in test if key(p) == group], split, group,
                               f"no fit without {group}")
    return pd.DataFrame(rows)


def outside_fit(points, outside) -> pd.DataFrame:
    """The rows of models the fit never takes (`FIT_EXCLUDED`), predicted by the fit on all of `points`."""
    return pd.DataFrame(predicted_rows(points, outside, "outside", "outside the fit", "no fit") if outside else [])


def summary(frame: pd.DataFrame, split: str) -> dict:
    f = frame[frame["split"] == split]
    return {"split": split, "median_abs_error_pct_throughput": _median(f["error_pct_throughput"]),
            "max_abs_error_pct_throughput": _max(f["error_pct_throughput"]),
            "median_abs_error_pct_tpot_p50": _median(f["error_pct_tpot_p50"]),
            "median_abs_error_pct_ttft_p50": _median(f["error_pct_ttft_p50"]), "n_rows": int(len(f)),
            **{k: v for kind, moe in (("dense", False), ("moe", True)) for k, v in (
                (f"median_abs_error_pct_speed_{kind}", _median(f.loc[f["moe"] == moe, "error_pct_speed"])),
                (f"n_rows_{kind}", int(f.loc[f["moe"] == moe, "error_pct_speed"].notna().sum())))}}


def tp_scaling(frame: pd.DataFrame) -> dict:
    """Step time at each TP ÷ at the smallest, measured vs predicted with the model left out (decode figures)."""
    out = {}
    f = frame[(frame["split"] == "model") & (frame["kind"] == "decode")]
    for (model, gpu), g in f.groupby(["model", "gpu"]):
        if g["tp"].nunique() < 2 or g["predicted_tpot_p50_ms"].isna().any():
            continue
        g = g.sort_values("tp")
        m = g["measured_tpot_p50_ms"] / g["measured_tpot_p50_ms"].iloc[0]
        p = g["predicted_tpot_p50_ms"] / g["predicted_tpot_p50_ms"].iloc[0]
        out[f"{model} on {gpu}"] = {"tp": g["tp"].tolist(), "measured_ratio": m.round(3).tolist(), "predicted_ratio": p.round(3).tolist(),
                                    "max_abs_ratio_error_pct": round(float((100 * (p / m - 1)).abs().max()), 1)}
    return out


def main() -> None:
    corpus = load_points()
    usable = [p for p in corpus.points if p.engine == ENGINE]
    # every request at once (`gpufit.burst_rows`): fitted like the rest, each reported with its own model held out
    bursts = [p for p in usable if p.kind == "burst" and p.model not in FIT_EXCLUDED]
    points = [p for p in usable if p.model not in FIT_EXCLUDED and p.kind != "burst"]
    outside = [p for p in usable if p.model in FIT_EXCLUDED]
    fitted = points + bursts
    flagged = [p.id for p in usable if above_roofline(p)]
    frame = pd.concat([held_out(fitted, "model", test=points), held_out(fitted, "gpu", test=points), outside_fit(fitted, outside),
                       held_out(fitted, "burst", by="model", test=bursts)], ignore_index=True)
    splits = [summary(frame, s) for s in ("model", "gpu")]
    burst = summary(frame, "burst")
    beyond = summary(frame, "outside")
    scaling = tp_scaling(frame)
    today = dt.date.today().isoformat()
    result = {
        **{k: v for k, v in splits[0].items() if k != "split"},  # top level: leave one model out, the stricter for a new model
        "median_abs_error_pct_capacity_at_slo": None,
        "capacity_at_slo_note": "no MLPerf server/interactive row is usable: their datasets' prompt lengths are not stated in "
                                "MLCommons' sources (benchmarks/data/mlperf_dataset_lengths.md), so their prefill load is unknown",
        "n_rows": len(fitted), "n_gpus": len({p.gpu for p in fitted}), "n_models": len({p.model for p in fitted}),
        "engines": [ENGINE], "splits": splits, "tp_scaling": scaling, "above_roofline": flagged,
        "outside_fit": {**beyond, "models": {m: FIT_EXCLUDED[m] for m in sorted({p.model for p in outside})}},
        "burst": burst,
        "skipped_corpus_rows": dict(corpus.skipped.most_common()), "date": today, "command": COMMAND,
        "rows": json.loads(frame.round(4).to_json(orient="records")),
    }
    out = ROOT / "benchmarks" / "results" / f"gpu-validation-{today.replace('-', '')}.json"
    atomic_write_text(out, json.dumps(result, indent=1) + "\n")
    eff = fit_efficiency(fitted, ENGINE)
    fit = GpuFitFile(schema_version=FIT_SCHEMA_VERSION, engine=ENGINE, efficiency=efficiency_to_json(eff),
                     fitted_on=[p.id for p in fitted], gpus=sorted({p.gpu for p in fitted}), models=sorted({p.model for p in fitted}),
                     held_out=[HeldOut(**s) for s in (*splits, burst) if s["n_rows"]], tp_scaling={k: TpScaling(**v) for k, v in scaling.items()},
                     outside_fit=HeldOut(**beyond) if beyond["n_rows"] else None,
                     outside_models={m: FIT_EXCLUDED[m] for m in sorted({p.model for p in outside})}, command=COMMAND, date=today)
    atomic_write_text(FIT_FILE, fit.model_dump_json(indent=1) + "\n")
    with pd.option_context("display.width", 200, "display.max_rows", 400):
        cols = ["split", "held_out", "id", "error_pct_throughput", "error_pct_tpot_p50", "error_pct_ttft_p50", "why_not_predicted"]
        print(frame[cols].round(1).to_string(index=False))
    for s in splits:
        print(f"leave one {s['split']} out ({s['n_rows']} rows): throughput |error| median {s['median_abs_error_pct_throughput']} %, "
              f"worst {s['max_abs_error_pct_throughput']} %; TPOT p50 median {s['median_abs_error_pct_tpot_p50']} %; TTFT p50 median "
              f"{s['median_abs_error_pct_ttft_p50']} %; speed (throughput, or from TPOT) median dense {s['median_abs_error_pct_speed_dense']} % "
              f"({s['n_rows_dense']} rows), MoE {s['median_abs_error_pct_speed_moe']} % ({s['n_rows_moe']} rows)")
    if beyond["n_rows"]:
        print(f"outside the fit ({beyond['n_rows']} rows of {', '.join(sorted({p.model for p in outside}))}): throughput |error| median "
              f"{beyond['median_abs_error_pct_throughput']} %, worst {beyond['max_abs_error_pct_throughput']} %; TPOT p50 median "
              f"{beyond['median_abs_error_pct_tpot_p50']} %; TTFT p50 median {beyond['median_abs_error_pct_ttft_p50']} %")
    if burst["n_rows"]:
        print(f"bursts, each model held out ({burst['n_rows']} rows of {len({p.model for p in bursts})} models, every request at once): "
              f"throughput |error| median {burst['median_abs_error_pct_throughput']} %, worst {burst['max_abs_error_pct_throughput']} %; "
              f"TPOT p50 median {burst['median_abs_error_pct_tpot_p50']} %; TTFT p50 median {burst['median_abs_error_pct_ttft_p50']} %")
    for name, sc in scaling.items():
        print(f"TP scaling {name}: TP {sc['tp']} measured {sc['measured_ratio']} predicted {sc['predicted_ratio']}")
    print(f"rows above the roofline: {len(flagged)}; corpus rows not usable: {sum(corpus.skipped.values())}")
    print(f"written {out.relative_to(ROOT)} and {FIT_FILE.relative_to(ROOT)}")
    if not np.isfinite(pd.to_numeric(frame["predicted_tpot_p50_ms"]).dropna()).all():
        sys.exit(1)


if __name__ == "__main__":
    main()
