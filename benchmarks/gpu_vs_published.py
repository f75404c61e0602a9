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
from planner.core.validation import slo_crossing  # noqa: E402
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


def capacity_summary(capacity: pd.DataFrame) -> dict:
    """The capacity-at-SLO fields of the leave-one-model-out split (`HeldOut`)."""
    if capacity.empty:
        return {"median_abs_error_pct_capacity_at_slo": None, "n_capacity_at_slo": 0, "n_capacity_unbracketed": 0}
    e = pd.to_numeric(capacity["error_pct_capacity_at_slo"]).astype(float)  # None (unbracketed) → NaN
    every = e.abs().fillna(pd.to_numeric(capacity["abs_error_pct_at_least"]).astype(float))  # a bound where unbracketed: the median of them bounds the median
    return {"median_abs_error_pct_capacity_at_slo": _median(e), "max_abs_error_pct_capacity_at_slo": _max(e),
            "median_abs_error_pct_capacity_at_slo_all_at_least": _median(every) if every.notna().all() else None,
            "n_capacity_at_slo": int(e.notna().sum()), "n_capacity_unbracketed": int(e.isna().sum()),
            "capacity_models": sorted(capacity.loc[e.notna(), "model"].unique().tolist())}


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


SWEEP = ["model", "gpu", "tp", "precision", "tokens_in", "tokens_out"]


def capacity_at_slo(frame: pd.DataFrame) -> pd.DataFrame:
    """Capacity at an SLO on the closed-loop sweeps, each model held out: for every interior point of a sweep (three
    concurrencies or more, one deployment and token shape), the SLO is that point's own measured TTFT p50 and TPOT p50;
    the measured capacity is the output tok/s where the measured latencies first reach it, the predicted one where the
    predicted latencies do (`validation.slo_crossing`: the worse ratio, interpolated in log concurrency; throughput
    interpolated log-log). Unbracketed when the predicted latencies meet the SLO at every concurrency of the sweep,
    or at none — recorded with why, never given an error."""
    f = frame[(frame["split"] == "model") & (frame["kind"] == "concurrency")]
    cols = ["measured_ttft_p50_ms", "measured_tpot_p50_ms", "predicted_ttft_p50_ms", "predicted_tpot_p50_ms",
            "measured_output_tok_s", "predicted_output_tok_s"]
    rows = []
    for key, g in f.groupby(SWEEP):
        g = g.sort_values("concurrency")
        if len(g) < 3 or g[cols].isna().any().any():
            continue
        conc = g["concurrency"].to_numpy(float)
        v = {c: g[c].to_numpy(float) for c in cols}

        def at(c: float, thr: np.ndarray) -> float:
            return float(np.exp(np.interp(np.log(c), np.log(conc), np.log(thr))))
        for i in range(1, len(g) - 1):
            slo_ttft, slo_tpot = v["measured_ttft_p50_ms"][i], v["measured_tpot_p50_ms"][i]
            worst_m = np.maximum(v["measured_ttft_p50_ms"] / slo_ttft, v["measured_tpot_p50_ms"] / slo_tpot)
            worst_p = np.maximum(v["predicted_ttft_p50_ms"] / slo_ttft, v["predicted_tpot_p50_ms"] / slo_tpot)
            cm, cp = slo_crossing(conc, worst_m), slo_crossing(conc, worst_p)
            measured = at(cm, v["measured_output_tok_s"]) if cm is not None else None
            predicted = at(cp, v["predicted_output_tok_s"]) if cp is not None else None
            why = ("" if cp is not None else "predicted latencies meet the SLO at every concurrency measured" if worst_p.max() <= 1
                   else "predicted latencies miss the SLO at the lowest concurrency measured" if worst_p[0] > 1 else
                   "predicted latencies do not cross the SLO between two measured concurrencies")
            # unbracketed: the predicted capacity lies beyond the sweep's end, so |error| is at least the distance to it
            end = (None if cp is not None or measured is None else v["predicted_output_tok_s"][-1] if worst_p.max() <= 1
                   else v["predicted_output_tok_s"][0] if worst_p[0] > 1 else None)
            bound = None if end is None else max(0.0, 100 * (end / measured - 1) if worst_p.max() <= 1 else 100 * (1 - end / measured))
            rows.append({**dict(zip(SWEEP, key)), "slo_ttft_p50_ms": slo_ttft, "slo_tpot_p50_ms": slo_tpot,
                         "measured_concurrency_at_slo": cm, "predicted_concurrency_at_slo": cp,
                         "measured_output_tok_s_at_slo": measured, "predicted_output_tok_s_at_slo": predicted,
                         "error_pct_capacity_at_slo": error_pct(predicted, measured), "abs_error_pct_at_least": bound,
                         "why_not_predicted": why})
    return pd.DataFrame(rows)


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
    capacity = capacity_at_slo(frame)
    splits[0].update(capacity_summary(capacity))
    today = dt.date.today().isoformat()
    result = {
        **{k: v for k, v in splits[0].items() if k != "split"},  # top level: leave one model out, the stricter for a new model
        "capacity_at_slo_note": "the closed-loop sweeps held out by model, at an SLO set at each interior point's measured TTFT "
                                "and TPOT p50 (`capacity_at_slo`); no MLPerf server/interactive row is usable: their datasets' "
                                "prompt lengths are not stated in MLCommons' sources (benchmarks/data/mlperf_dataset_lengths.md)",
        "capacity_at_slo": json.loads(capacity.round(4).to_json(orient="records")),
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
    s = splits[0]
    print(f"capacity at an SLO (each sweep's measured TTFT and TPOT p50 at its interior points), each model held out: median "
          f"|error| {s['median_abs_error_pct_capacity_at_slo']} %, worst {s.get('max_abs_error_pct_capacity_at_slo')} % on "
          f"{s['n_capacity_at_slo']} points of {', '.join(s.get('capacity_models', []))}; {s['n_capacity_unbracketed']} not bracketed "
          f"(with them at the least error they can have, the median is at least {s.get('median_abs_error_pct_capacity_at_slo_all_at_least')} %)")
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
