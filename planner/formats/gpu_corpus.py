"""The published GPU serving measurements as typed points for the step-model fit (`core.gpufit`), with why each row
that cannot be one is left out.

Read: `benchmarks/data/published_vllm_decode.csv` (single-stream/batch-2 vLLM decode figures from issues, each quoted)
and `benchmarks/data/gpu_serving_corpus.csv` (built by `scripts/extract_gpu_serving_corpus.py`). A corpus row becomes a
point only when everything the step model needs is known: a model card and a hardware row, no speculative decoding,
the TP size (no attention-DP, no pipeline stages), a weight precision the planner can express (a run that does not
name one: its checkpoint's, `checkpoint_precision.csv`), fixed prompt and output lengths, the load and a measured
TPOT. MLPerf rows are kept out: their datasets' mean prompt lengths are not stated in MLCommons' own sources
(`benchmarks/data/mlperf_dataset_lengths.md`), and the prefill load cannot be guessed. A run that sent every request at
once with no client cap (`load_mode` all_at_once) is a `burst` point: the server's batch limits bound it — its command's
flags, else vLLM's defaults (`vllm_server_limits`) — simulated as it ran (`gpufit.burst_rows`, `predict_burst`).
"""
from __future__ import annotations

import dataclasses
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from planner.core.deploy import PRECISION_BITS, GpuEfficiency
from planner.core.errors import DataError, PlannerError
from planner.core.gpufit import ServingPoint
from planner.formats.catalog import device_for, load_card, record
from planner.formats.files import resource_root

DATA = resource_root() / "benchmarks" / "data"
CORPUS = DATA / "gpu_serving_corpus.csv"
DECODE = DATA / "published_vllm_decode.csv"
CHECKPOINTS = DATA / "checkpoint_precision.csv"
PRECISION_NAMES = {"fp16": "bf16", "bf16": "bf16", "fp8": "fp8", "mxfp4": "mxfp4", "int4": "int4"}  # corpus label → planner's
# corpus models without a card on purpose: why the card schema cannot express them (data/sources/model_configs/RESEARCH-GLM5-Qwen35.md)
NO_CARD = {
    "GLM-5": "no model card for GLM-5: its MTP speculative decoding (acceptance rate unpublished) and DeepSeek Sparse Attention "
             "(top-2048 tokens, an indexer key cache on every layer) are not modelled",
}

# usable rows kept out of every fit and predicted by the fit on the others (reported apart, as "outside the fit"): an
# architecture whose measured costs the step model has no term for would bend the shared efficiencies of every model
FIT_EXCLUDED = {
    "Qwen3.5-397B-A17B": "hybrid Gated DeltaNet model: its InferenceX runs (H200 TP8, bf16) take far longer than the step model "
                         "allows — TTFT p50 4.57 s at 1,024-token prompts and concurrency 4 against 0.48 s for MiniMax-M2.5 on "
                         "the same GPUs, TPOT p50 101 → 1,361 ms from 1K to 16K prompts at concurrency 64 — and fitted with the "
                         "rest it worsened the other models' held-out errors (MiniMax TPOT 26 → 92 %); predicted, never fitted",
}


def vllm_server_limits(device) -> tuple[int, int]:
    """(max_num_batched_tokens, max_num_seqs) of `vllm serve` when its command sets neither: EngineArgs' defaults for
    the OpenAI server in the v0.10–v0.11 line that the GPUStack runs used (vllm/engine/arg_utils.py, read in the code
    index in a copy that deprecates `disable_log_requests` "to be removed in v0.12.0"): 8192 and 1024 on a GPU of at
    least 70 GiB that is not an A100 ("For GPUs like H100 and MI300x"; PR #17885: the large budget lowered A100
    throughput), else 2048 and 256; max_num_seqs is then capped at max_num_batched_tokens."""
    big = device.memory_gib >= 70 and "A100" not in device.name
    tokens, seqs = (8192, 1024) if big else (2048, 256)
    return tokens, min(seqs, tokens)


@dataclass
class Corpus:
    points: list[ServingPoint]
    skipped: Counter = field(default_factory=Counter)  # reason → rows


def _seconds(ms) -> float | None:
    """A corpus cell in milliseconds as seconds; None where it is empty."""
    return None if pd.isna(ms) else float(ms) / 1000


def load_points(corpus: Path = CORPUS, decode: Path = DECODE) -> Corpus:
    out = Corpus([])
    for _, r in pd.read_csv(decode).iterrows():
        card, dev = load_card(r["card"]), device_for(record("hardware", r["hardware"]))
        out.points.append(ServingPoint(
            id=str(r["id"]), engine="vLLM", card=card, device=dev, tp=int(r["tp"]), precision=str(r["precision"]),
            tokens_in=float(r["tokens_in"]), tokens_out=float(r["tokens_out"]), kind="decode", concurrency=float(r["batch"]),
            output_tok_s=None, ttft_p50_s=None, tpot_p50_s=float(r["measured_ms_per_token"]) / 1000, source=str(r["source"])))
    checkpoint = {r["card"]: r["precision"] for _, r in pd.read_csv(CHECKPOINTS).iterrows()}
    for _, r in pd.read_csv(corpus).iterrows():
        why = _unusable(r, checkpoint)
        if why:
            out.skipped[why] += 1
            continue
        tp = int(r["tp"])
        try:
            dev = device_for(record("hardware", r["hardware"]))
            card = load_card(r["card"])
        except PlannerError as exc:
            out.skipped[f"catalog: {exc}"] += 1
            continue
        precision = PRECISION_NAMES[str(r["precision"]).lower()] if not pd.isna(r["precision"]) else checkpoint[r["card"]]
        common = dict(id=str(r["id"]), engine=str(r["engine"]), card=card, device=dev, tp=tp, precision=precision,
                      tokens_in=float(r["isl_tokens"]), tokens_out=float(r["osl_tokens"]),
                      output_tok_s=float(r["output_tok_s_per_gpu"]) * tp, ttft_p50_s=_seconds(r["ttft_p50_ms"]),
                      tpot_p50_s=_seconds(r["tpot_p50_ms"]), source=str(r["source"]))
        if r["load_mode"] == "all_at_once":  # a burst: the server's own limits bound the batch
            tokens, seqs = vllm_server_limits(dev)
            out.points.append(ServingPoint(
                **common, kind="burst", concurrency=float(r["num_requests"]),
                max_num_seqs=seqs if pd.isna(r["max_num_seqs"]) else int(r["max_num_seqs"]),
                max_num_batched_tokens=tokens if pd.isna(r["max_num_batched_tokens"]) else int(r["max_num_batched_tokens"])))
        else:
            out.points.append(ServingPoint(**common, kind="concurrency", concurrency=float(r["concurrency"])))
    return out


def _unusable(r: pd.Series, checkpoint: dict[str, str]) -> str:
    """Why a corpus row cannot be a point ('' when it can)."""
    if str(r["source_id"]).startswith("mlperf"):
        return "MLPerf: the dataset's prompt lengths are not stated in MLCommons' sources"
    if pd.isna(r["card"]):
        return NO_CARD.get(r["model"], f"no model card for {r['model']}")
    if not pd.isna(r["spec_decoding"]) and str(r["spec_decoding"]).lower() != "none":
        return f"speculative decoding ({r['spec_decoding']}) not modelled: a step emits an unknown number of tokens"
    if pd.isna(r["hardware"]):
        return f"no hardware row for {r['accelerator']}"
    if pd.isna(r["tp"]) or str(r["dp_attention"]).lower() == "true" or (not pd.isna(r["pp"]) and int(r["pp"]) > 1):
        return "TP not recorded, attention-DP or pipeline stages (not modelled)"
    precision = str(r["precision"]).lower() if not pd.isna(r["precision"]) else checkpoint.get(r["card"])
    if precision not in PRECISION_NAMES or PRECISION_NAMES[precision] not in PRECISION_BITS:
        return f"weight precision {r['precision']} not expressible"
    if r["load_mode"] == "all_at_once":
        if pd.isna(r["num_requests"]) or str(r["server_limits"]).startswith("unknown"):
            return "all at once, but the requests sent or the server's batch limits are not known"
        if pd.isna(r["isl_tokens"]) or pd.isna(r["osl_tokens"]) or pd.isna(r["output_tok_s_per_gpu"]):
            return "lengths or throughput not recorded"
        return ""
    if pd.isna(r["isl_tokens"]) or pd.isna(r["osl_tokens"]) or pd.isna(r["concurrency"]) or pd.isna(r["tpot_p50_ms"]):
        return "lengths, concurrency or TPOT not recorded"
    return ""


# --------------------------------------------------------------------------------------------------- the fitted file

FIT_FILE = resource_root() / "data" / "gpu_step_fit.json"
FIT_SCHEMA_VERSION = 2  # 2: held-out speed error by model kind, the TP-scaling check, the models outside the fit; 1 by `_migrate`


class HeldOut(BaseModel):
    """Held-out error of the fit, as `benchmarks/gpu_vs_published.py` measured it (|error| %, None: nothing to check).

    "Speed" is what a capacity rests on, one figure per row: the output throughput where the row measured one, else
    the decode speed its TPOT implies (measured ÷ predicted TPOT − 1: tokens/s at the same batch). It is split by model
    kind because dense and MoE models sit at different distances from the roofline (expert kernels, routing)."""

    model_config = ConfigDict(extra="forbid")
    split: str  # "model" (leave one model out), "gpu" (leave one GPU out) or "outside" (models never fitted)
    median_abs_error_pct_throughput: float | None
    max_abs_error_pct_throughput: float | None
    median_abs_error_pct_tpot_p50: float | None
    median_abs_error_pct_ttft_p50: float | None
    n_rows: int
    median_abs_error_pct_speed_dense: float | None = None
    n_rows_dense: int = 0
    median_abs_error_pct_speed_moe: float | None = None
    n_rows_moe: int = 0
    # capacity at an SLO on the closed-loop sweeps (leave one model out: `gpu_vs_published.capacity_at_slo`)
    median_abs_error_pct_capacity_at_slo: float | None = None
    max_abs_error_pct_capacity_at_slo: float | None = None
    n_capacity_at_slo: int = 0  # points whose measured and predicted latencies both crossed the SLO inside the sweep
    n_capacity_unbracketed: int = 0  # points whose predicted latencies did not (no error given)
    median_abs_error_pct_capacity_at_slo_all_at_least: float | None = None  # every point, the unbracketed at their least |error|
    capacity_models: list[str] = Field(default_factory=list)


class TpScaling(BaseModel):
    """Decode step time at each TP ÷ at the smallest, measured vs predicted with the model left out of the fit."""

    model_config = ConfigDict(extra="forbid")
    tp: list[int]
    measured_ratio: list[float]
    predicted_ratio: list[float]
    max_abs_ratio_error_pct: float


class GpuFitFile(BaseModel):
    """data/gpu_step_fit.json: one engine's efficiency fitted on every usable corpus row, where it came from, and its
    held-out error; written by `python benchmarks/gpu_vs_published.py`, read by `llm-planner predict` and `fleet`."""

    model_config = ConfigDict(extra="forbid")
    schema_version: int = Field(FIT_SCHEMA_VERSION)
    engine: str
    efficiency: dict[str, float | str | int | None]  # `GpuEfficiency`'s fields
    fitted_on: list[str]  # row ids
    gpus: list[str]
    models: list[str]
    held_out: list[HeldOut]
    tp_scaling: dict[str, TpScaling] = Field(default_factory=dict)  # "<model> on <GPU>" → the check
    # the rows of models kept out of every fit (`FIT_EXCLUDED`), predicted by this fit: their error, and why they are out
    outside_fit: HeldOut | None = None
    outside_models: dict[str, str] = Field(default_factory=dict)
    command: str
    date: str

    def held_out_split(self, split: str) -> HeldOut | None:
        return next((h for h in self.held_out if h.split == split), None)


def _migrate(raw: dict) -> dict:
    """A version-1 file as version 2: it had no speed error by kind (None: not measured), no TP-scaling check and no
    record of the models kept outside the fit."""
    if raw.get("schema_version") == 1:
        raw = {**raw, "schema_version": 2}
    return raw


def efficiency_to_json(eff: GpuEfficiency) -> dict:
    return dataclasses.asdict(eff)


def read_fit(path: Path = FIT_FILE) -> tuple[GpuEfficiency, GpuFitFile]:
    """The fitted efficiency and its file; a missing or malformed file is one DataError naming it and the refit command."""
    try:
        raw = _migrate(json.loads(Path(path).read_text()))
        if raw.get("schema_version") != FIT_SCHEMA_VERSION:
            raise DataError(f"{path}: schema_version {raw.get('schema_version')!r}, this version reads {FIT_SCHEMA_VERSION}; "
                            "refit with `python benchmarks/gpu_vs_published.py`")
        fit = GpuFitFile.model_validate(raw)
        return GpuEfficiency(**fit.efficiency), fit
    except (OSError, json.JSONDecodeError, ValidationError, TypeError) as exc:
        raise DataError(f"{path}: cannot read the GPU step-model fit ({str(exc).splitlines()[0]}); refit with "
                        "`python benchmarks/gpu_vs_published.py`") from None
