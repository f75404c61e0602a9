#!/usr/bin/env python3
"""Build benchmarks/data/gpu_serving_corpus.csv from the committed extracts in data/sources/gpu_serving/.

Reads nothing but those extracts (plus data/hardware.csv and data/model_cards.csv for name
normalisation), checks every extract's sha256 against data/sources/gpu_serving/MANIFEST.json, and
writes the CSV deterministically (sorted rows, fixed float formatting, temp file + os.replace).

    python scripts/extract_gpu_serving_corpus.py           # (re)write the CSV
    python scripts/extract_gpu_serving_corpus.py --check   # exit 1 if the CSV on disk differs

Sources (all Apache-2.0; see MANIFEST.json and benchmarks/data/gpu_serving_corpus.md):
  ix-tokpos   InferenceX experimental vLLM runs on 8xH200 (experimental/token_position_decode_slo)
  mlperf41    MLPerf Inference v4.1 closed LLM summaries (verbatim excerpt lines)
  mlperf51    MLPerf Inference v5.1 closed LLM summaries (verbatim excerpt lines)
  gpustack    GPUStack performance-lab documents (docs/performance-lab/*/*.md, whole files): the `vllm bench serve`
              result blocks of their vLLM runs on A100 SXM 80GB, H100 SXM and H200 SXM
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import os
import re
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "data" / "sources" / "gpu_serving"
MANIFEST = SRC / "MANIFEST.json"
OUT = ROOT / "benchmarks" / "data" / "gpu_serving_corpus.csv"
HARDWARE_CSV = ROOT / "data" / "hardware.csv"
CARDS_CSV = ROOT / "data" / "model_cards.csv"

COLUMNS = [
    "id", "source_id", "source", "source_licence", "engine", "engine_version", "load_mode", "date", "hardware",
    "hardware_raw", "num_gpus", "tp", "ep", "dp_attention", "disaggregated", "multinode", "precision",
    "spec_decoding", "model", "model_raw", "card", "isl_tokens", "osl_tokens", "length_note", "concurrency",
    "request_rate_per_s", "total_tok_s_per_gpu", "output_tok_s_per_gpu", "input_tok_s_per_gpu", "per_gpu_basis",
    "output_tok_s_total", "ttft_mean_ms", "ttft_p50_ms", "ttft_p90_ms", "ttft_p99_ms", "tpot_mean_ms", "tpot_p50_ms",
    "tpot_p90_ms", "tpot_p99_ms", "e2el_p50_ms", "e2el_p99_ms", "value_precision", "note",
    # added after the first release (appended so that older readers keep working)
    "accelerator", "num_nodes", "submitter", "system", "scenario", "ttft_limit_p99_ms", "tpot_limit_p99_ms",
    "samples_per_s", "mean_output_tokens", "pp", "max_batch",
    # the requests a client-driven run sent, and the server's vLLM batch limits where its serving command sets them
    "num_requests", "max_num_batched_tokens", "max_num_seqs", "server_limits",
]

# Only these licences may be committed under data/sources/gpu_serving/ (this project is Apache-2.0): permissive ones.
ALLOWED_LICENCES = ("Apache-2.0", "MIT", "BSD-2-Clause", "BSD-3-Clause", "CC-BY-4.0")
LIC_IX = "Apache-2.0 (SemiAnalysisAI/InferenceX LICENSE)"
LIC_MLPERF = "Apache-2.0 (MLCommons inference results)"
LIC_GPUSTACK = "Apache-2.0 (gpustack/gpustack LICENSE)"

# hardware key -> name of its row in data/hardware.csv (the build stops if that row is missing)
HARDWARE = {
    "h200": "NVIDIA H200 SXM 141GB",
}

# raw model id -> (display name, candidate card name in data/model_cards.csv)
MODELS = {
    "MiniMaxAI/MiniMax-M2.5": ("MiniMax-M2.5", "MiniMax-M2.5"),
    "zai-org/GLM-5-FP8": ("GLM-5", None),
    "Qwen/Qwen3.5-397B-A17B": ("Qwen3.5-397B-A17B", "Qwen3.5-397B-A17B"),
    "llama2-70b": ("Llama-2-70B", "Llama-2-70B"),
    "mixtral-8x7b": ("Mixtral-8x7B-v0.1", "Mixtral-8x7B-v0.1"),
    "llama3.1-8b": ("Llama-3.1-8B", "Llama-3.1-8B"),
    "llama3.1-405b": ("Llama-3.1-405B", "Llama-3.1-405B"),
    "deepseek-r1": ("DeepSeek-R1", "DeepSeek-R1"),
    # GPUStack performance lab (served checkpoint, quantisation suffix removed)
    "Qwen/Qwen3-8B": ("Qwen3-8B", "Qwen3-8B"),
    "Qwen/Qwen3-14B": ("Qwen3-14B", "Qwen3-14B"),
    "Qwen/Qwen3-32B": ("Qwen3-32B", "Qwen3-32B"),
    "Qwen/Qwen3-235B-A22B-Instruct-2507": ("Qwen3-235B-A22B", "Qwen3-235B-A22B"),  # same architecture, later weights
    "openai/gpt-oss-20b": ("gpt-oss-20b", "gpt-oss-20b"),
    "openai/gpt-oss-120b": ("gpt-oss-120b", "gpt-oss-120b"),
    "deepseek-ai/DeepSeek-R1-0528": ("DeepSeek-R1", "DeepSeek-R1"),  # same architecture, later weights
}


class Fail(Exception):
    pass


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_manifest() -> dict[str, dict]:
    man = json.loads(MANIFEST.read_text(encoding="utf-8"))
    entries = {e["local_path"]: e for e in man["files"]}
    on_disk = {p.relative_to(SRC).as_posix() for p in SRC.rglob("*") if p.is_file()}
    on_disk.discard("MANIFEST.json")
    if on_disk != set(entries):
        raise Fail(f"files and MANIFEST differ: only on disk {sorted(on_disk - set(entries))[:5]}, "
                   f"only in MANIFEST {sorted(set(entries) - on_disk)[:5]}")
    for rel, e in entries.items():
        if e["licence"].split(" ")[0] not in ALLOWED_LICENCES:  # the SPDX id, before "(where it was read)"
            raise Fail(f"{rel}: licence {e['licence']!r} is not one of {ALLOWED_LICENCES}")
        got = sha256(SRC / rel)
        if got != e["sha256"]:
            raise Fail(f"sha256 mismatch for {rel}: {got} != {e['sha256']}")
    return entries


def names(path: Path) -> set[str]:
    with path.open(encoding="utf-8", newline="") as f:
        return {row["name"] for row in csv.DictReader(f)}


class Norm:
    def __init__(self) -> None:
        self.hw = names(HARDWARE_CSV)
        self.cards = names(CARDS_CSV)

    def hardware(self, raw: str) -> str:
        return self.hardware_name(HARDWARE[raw])

    def hardware_name(self, name: str) -> str:
        if name not in self.hw:
            raise Fail(f"{name!r} has no row in {HARDWARE_CSV.relative_to(ROOT)}")
        return name

    def model(self, raw: str) -> tuple[str, str]:
        display, card = MODELS[raw]
        return display, (card if card in self.cards else "")


def src_ref(e: dict) -> str:
    return f"{e['repo']}@{e['commit']}:{e['path']}"


def ms(v) -> float | None:
    return None if v is None else float(v) * 1000.0


def base_row(**kw) -> dict:
    unknown = set(kw) - set(COLUMNS)
    if unknown:
        raise Fail(f"unknown columns {sorted(unknown)}")
    row = {c: None for c in COLUMNS}
    row.update(kw)
    return row


# ---------------------------------------------------------------- InferenceX experimental vLLM (8xH200)
TOKPOS = {
    "glm-5": dict(precision="fp8", spec="mtp", version="vllm/vllm-openai:nightly",
                  note="vllm serve --tensor-parallel-size 8 --speculative-config.method mtp num_speculative_tokens 1"),
    "minimax-m2.5": dict(precision=None, spec="none",
                         version="vLLM wheel dea63512bb9bdf7521d591546c52138d9d79e8ce on vllm/vllm-openai:nightly",
                         note="checkpoint MiniMaxAI/MiniMax-M2.5 (precision not restated in the run)"),
    "qwen3.5": dict(precision=None, spec="none", version="vllm/vllm-openai:nightly",
                    note="--enable-prefix-caching on, random prompts; checkpoint Qwen/Qwen3.5-397B-A17B"),
}


def tokpos_rows(norm: Norm, entries: dict) -> list[dict]:
    out = []
    hw = norm.hardware("h200")
    for rel in sorted(p for p in entries if p.startswith("inferencex_token_position/")):
        e = entries[rel]
        folder, fname = rel.split("/")[1], rel.split("/")[2]
        cfg = TOKPOS[folder]
        d = json.loads((SRC / rel).read_text(encoding="utf-8"))
        tag = re.search(r"_(tp8|tep8|dep8)_", fname).group(1)
        tp, ep, dpa, tag_note = {"tp8": (8, 1, False, ""), "tep8": (8, 8, False, "TEP8: TP8 + expert parallel"),
                                 "dep8": (None, 8, True, "DEP8 per file name (data parallel 8 + expert parallel); "
                                          "its serve script is not in the repository")}[tag]
        n = d["num_prompts"]
        isl, osl = d["total_input_tokens"] // n, d["total_output_tokens"] // n
        model, card = norm.model(d["model_id"])
        date = f"{d['date'][0:4]}-{d['date'][4:6]}-{d['date'][6:8]}"
        out.append(base_row(
            id=f"ix-tokpos:{folder}:{fname[:-5]}", source_id="ix-tokpos", source=src_ref(e), source_licence=LIC_IX,
            engine="vLLM", engine_version=cfg["version"], load_mode="max_concurrency", date=date, hardware=hw,
            hardware_raw="8xH200 (plot titles, Slurm partition h200)", num_gpus=8,
            tp=tp, ep=ep, dp_attention=dpa, disaggregated=False, multinode=False, precision=cfg["precision"],
            spec_decoding=cfg["spec"], model=model, model_raw=d["model_id"], card=card, isl_tokens=isl,
            osl_tokens=osl, length_note=f"fixed lengths ({d['total_input_tokens']} in / {d['total_output_tokens']} out "
                                        f"over {n} prompts), --ignore-eos",
            concurrency=d["max_concurrency"], num_requests=n,
            total_tok_s_per_gpu=(d["input_throughput"] + d["output_throughput"]) / 8,
            output_tok_s_per_gpu=d["output_throughput"] / 8, input_tok_s_per_gpu=d["input_throughput"] / 8,
            per_gpu_basis="all GPUs (8)", output_tok_s_total=d["output_throughput"],
            ttft_p50_ms=ms(d["median_ttft"]), ttft_p99_ms=ms(d["p99_ttft"]), tpot_p50_ms=ms(d["median_tpot"]),
            tpot_p99_ms=ms(d["p99_tpot"]), e2el_p50_ms=ms(d["median_e2el"]), e2el_p99_ms=ms(d["p99_e2el"]),
            value_precision="full (result JSON)", accelerator="H200-SXM-141GB", num_nodes=1,
            note="; ".join(x for x in ("experimental folder, not official InferenceX results", tag_note, cfg["note"],
                                       f"{d['completed']}/{n} completed") if x),
        ))
    return out


# ---------------------------------------------------------------- MLPerf Inference (v4.1, v5.1)
# Each excerpt file holds "=== file: <path>" blocks of verbatim lines from systems/*.json, measurements/**/*.json and
# results/**/performance/run_1/mlperf_log_summary.txt of one results repository at one commit.
MLPERF_FILES = {  # local extract -> (source_id, MLPerf round, publication date)
    "mlperf_v4.1/llm_summary_excerpts.txt": ("mlperf41", "v4.1", "2024-08-28"),
    "mlperf_v4.1/llm_summary_excerpts_more.txt": ("mlperf41", "v4.1", "2024-08-28"),
    "mlperf_v5.1/llm_summary_excerpts.txt": ("mlperf51", "v5.1", "2025-09-09"),
}
# MLPerf benchmark folder (accuracy suffix removed) -> key of MODELS
MLPERF_BENCH = {"llama2-70b": "llama2-70b", "mixtral-8x7b": "mixtral-8x7b", "llama3.1-8b": "llama3.1-8b",
                "llama3_1-8b": "llama3.1-8b", "llama3.1-405b": "llama3.1-405b", "llama3_1-405b": "llama3.1-405b",
                "deepseek-r1": "deepseek-r1"}
MLPERF_DATASET = {
    "llama2-70b": "MLPerf llama2-70b set (OpenOrca), variable lengths",
    "mixtral-8x7b": "MLPerf mixtral-8x7b set (OpenOrca + GSM8K + MBXP), variable lengths",
    "llama3.1-8b": "MLPerf llama3.1-8b set (CNN/DailyMail summarisation), variable lengths",
    "llama3.1-405b": "MLPerf llama3.1-405b long-context set, variable lengths",
    "deepseek-r1": "MLPerf deepseek-r1 reasoning set, variable (long) output lengths",
}
# accelerator_model_name in the system JSON -> (accelerator, row name in data/hardware.csv or None, note)
MLPERF_ACCEL = {
    "NVIDIA H100-SXM-80GB": ("H100-SXM-80GB", "NVIDIA H100 SXM 80GB", ""),
    "NVIDIA H100-PCIe-80GB": ("H100-PCIe-80GB", "NVIDIA H100 PCIe 80GB", ""),
    "NVIDIA H100-NVL-94GB": ("H100-NVL-94GB", "NVIDIA H100 NVL 94GB", ""),
    "NVIDIA H200-SXM-141GB": ("H200-SXM-141GB", "NVIDIA H200 SXM 141GB", ""),
    "Virtualized NVIDIA H200-SXM-141GB": ("H200-SXM-141GB", "NVIDIA H200 SXM 141GB", "virtualised H200 (per system JSON)"),
    "NVIDIA H200-SXM-141GB-CTS": ("H200-SXM-141GB", "NVIDIA H200 SXM 141GB",
                                  "H200-SXM-141GB-CTS (custom thermal solution variant)"),
    "NVIDIA H200-NVL-141GB": ("H200-NVL-141GB", None, ""),
    "NVIDIA GH200 Grace Hopper Superchip 144GB": ("GH200-144GB", None, ""),
    "NVIDIA GH200 Grace Hopper Superchip 96GB": ("GH200-96GB", None, ""),
    "NVIDIA B200-SXM-180GB": ("B200-SXM-180GB", "NVIDIA B200", ""),
    "NVIDIA GB200": ("GB200", None, ""),
    "NVIDIA GB300": ("GB300", None, ""),
    "NVIDIA L40S": ("L40S", "NVIDIA L40S", ""),
    "NVIDIA RTX PRO 6000 Blackwell Server Edition": ("RTX-PRO-6000-Blackwell-Server", None, ""),
    "AMD Instinct MI300X-NPS1-SPX-192GB-750W": ("MI300X", "AMD Instinct MI300X", ""),
    "AMD MI300X-NPS1-SPX-192GB-750W": ("MI300X", "AMD Instinct MI300X", ""),
    "AMD Instinct MI300X 192GB HBM3": ("MI300X", "AMD Instinct MI300X", ""),
    "AMD Instinct MI325X 256GB HBM3e": ("MI325X", None, ""),
    "[MAXSUN] MS-Intel Arc Pro B60 Dual 48G Turbo": (
        "Arc-Pro-B60-Dual-48GB", None,
        "Intel Arc Pro B60 Dual board (the product is a two-GPU board); num_gpus counts boards as the system JSON does"),
}


def mlperf_blocks(text: str) -> dict[str, dict[str, str]]:
    """Parse "=== file:" blocks: JSON lines ("key": value) and summary lines (key : value); later keys win."""
    blocks: dict[str, dict] = {}
    cur: dict | None = None
    nested: list[str] | None = None
    nested_key = ""
    depth = 0
    for line in text.split("\n"):
        if nested is not None:
            nested.append(line.strip())
            depth += line.count("{") - line.count("}")
            if depth <= 0:
                cur[nested_key] = " ".join(nested).rstrip(",")
                nested = None
            continue
        if line.startswith("#") or not line.strip():
            continue
        if line.startswith("=== file: "):
            cur = blocks.setdefault(line[len("=== file: "):], {})
            continue
        m = re.match(r'^\s*"([^"]+)"\s*:\s*(.*?)\s*$', line)
        if m:
            k, v = m.group(1), m.group(2).rstrip(",").strip()
            if v.startswith("{"):
                nested, nested_key, depth = [v], k, v.count("{") - v.count("}")
                if depth <= 0:
                    cur[k], nested = v, None
                continue
            val = json.loads(v)
            cur[k] = str(val) if not isinstance(val, str) else val.strip()
        else:
            k, v = line.split(":", 1)
            cur[" ".join(k.split())] = v.strip()
    return blocks


MLPERF_PAR = "mlperf_v5.1/parallelism_from_configs.tsv"  # derived values, see the file header


def mlperf_parallelism() -> dict[tuple[str, str, str, str], dict]:
    lines = [x for x in (SRC / MLPERF_PAR).read_text(encoding="utf-8").split("\n") if x and not x.startswith("#")]
    rows = list(csv.DictReader(lines, delimiter="\t"))
    return {(r["submitter"], r["system"], r["benchmark"], r["scenario"]): r for r in rows}


def mlperf_engine(s: dict) -> tuple[str, str]:
    """Engine label from the system JSON's framework (and software) fields, plus a note on how it was decided."""
    fw = s.get("framework", "")
    other = s.get("other_software_stack", "")
    if "LLMBoost" in fw:
        return "other", ("engine: MangoBoost LLMBoost (framework field" +
                         (" also lists vLLM" if "vllm" in fw.lower() else " names no vLLM version") + "), not labelled vLLM")
    if fw.startswith("vLLM"):
        return "vLLM", ""
    if "TensorRT" in fw:
        return "TensorRT-LLM", ("engine: NVIDIA's MLPerf LLM harness (used by the *_TRT systems) runs TensorRT-LLM; "
                                "the framework field names TensorRT only")
    if '"vllm"' in other:
        return "vLLM", "engine: vLLM per the system JSON other_software_stack (framework field names CUDA only)"
    raise Fail(f"cannot label the engine of {s.get('system_name')!r} (framework {fw!r})")


def mlperf_rows(norm: Norm, entries: dict) -> list[dict]:
    out = []
    par_all = mlperf_parallelism()
    par_src = entries[MLPERF_PAR]
    for rel, (source_id, rnd, date) in MLPERF_FILES.items():
        e = entries[rel]
        blocks = mlperf_blocks((SRC / rel).read_text(encoding="utf-8"))
        for path in sorted(p for p in blocks if p.endswith("/mlperf_log_summary.txt")):
            b = blocks[path]
            parts = path.split("/")
            submitter, system, bench, scen_dir = parts[1], parts[3], parts[4], parts[5]
            s = blocks[f"closed/{submitter}/systems/{system}.json"]
            meas = next((v for k, v in blocks.items()
                         if k.startswith(f"closed/{submitter}/measurements/{system}/{bench}/{scen_dir}/")), {})
            if b["Result is"] != "VALID":
                raise Fail(f"{path}: not VALID")
            scenario = scen_dir.capitalize()
            if b["Scenario"] != ("Server" if scenario == "Interactive" else scenario):
                raise Fail(f"{path}: log scenario {b['Scenario']!r} does not fit folder {scen_dir!r}")
            server = scenario in ("Server", "Interactive")
            nodes = int(s.get("number_of_nodes", "1") or 1)
            gpus = int(s["accelerators_per_node"]) * nodes
            tok = float(b["Completed tokens per second"] if server else b["Tokens per second"])
            smp = float(b["Completed samples per second"] if server else b["Samples per second"])
            acc_raw = s["accelerator_model_name"]
            accel, hw_name, hw_note = MLPERF_ACCEL[acc_raw]
            hw = norm.hardware_name(hw_name) if hw_name else None
            acc = re.search(r"-(99(?:\.9)?)$", bench)
            bench_base = bench[: acc.start()] if acc else bench
            model, card = norm.model(MLPERF_BENCH[bench_base])
            engine, engine_note = mlperf_engine(s)
            par = par_all.get((submitter, system, bench, scenario)) if source_id == "mlperf51" else None

            def pint(key):
                return int(par[key]) if par and par[key] else None

            tp, pp, ep = pint("tensor_parallelism"), pint("pipeline_parallelism"), pint("moe_expert_parallelism")
            if tp is None and gpus == 1:
                tp = 1

            def ns(key):
                return float(b[key]) / 1e6 if key in b else None

            ttft_lim = float(b["ttft_latency (ns)"]) / 1e6 if server else None
            tpot_lim = float(b["tpot_latency (ns)"]) / 1e6 if server else None
            notes = [f"MLPerf {rnd} closed {scenario} scenario, accuracy target "
                     f"{acc.group(1) + '%' if acc else 'single target'}",
                     f"system framework field: {s['framework']}", f"{smp:g} samples/s completed",
                     f"mean output tokens per sample {tok / smp:.1f} (tokens/s / samples/s)"]
            if server:
                notes.append(f"latency limits TTFT {ttft_lim:g} ms, TPOT {tpot_lim:g} ms at p99")
            notes += [x for x in (engine_note, hw_note) if x]
            if meas.get("weight_data_types"):
                notes.append(f"weights {meas['weight_data_types']} per measurements JSON")
            if par:
                notes.append(f"tp/pp/ep/batch from {par['config_path']} ({par_src['repo']}@{par_src['commit'][:8]}, "
                             f"read into {MLPERF_PAR})")
            if nodes > 1:
                notes.append(f"{nodes} nodes x {s['accelerators_per_node']} accelerators")
            if s.get("hw_notes") and s["hw_notes"] not in ("N/A",):
                notes.append(f"hw_notes: {s['hw_notes']}")
            if s.get("status") == "preview":
                notes.append("preview system")
            out.append(base_row(
                id=f"{source_id}:{submitter}:{system}:{bench}:{scenario}", source_id=source_id,
                source=f"{e['repo']}@{e['commit']}:{path}", source_licence=LIC_MLPERF,
                engine=engine, engine_version=s["framework"],
                load_mode="mlperf_server_poisson" if server else "mlperf_offline",
                date=date, hardware=hw, hardware_raw=acc_raw,
                num_gpus=gpus, tp=tp, ep=ep, dp_attention=(par["enable_attention_dp"] == "True") if par and
                par["enable_attention_dp"] else None, disaggregated=False, multinode=nodes > 1,
                precision=meas.get("weight_data_types") or None,
                model=model, model_raw=bench_base, card=card,
                length_note=f"{MLPERF_DATASET[MLPERF_BENCH[bench_base]]}; MLPerf counts generated tokens",
                request_rate_per_s=float(b["target_qps"]) if server else None,
                output_tok_s_per_gpu=tok / gpus, per_gpu_basis=f"all GPUs ({gpus})", output_tok_s_total=tok,
                ttft_mean_ms=ns("Mean First Token latency (ns)"),
                ttft_p50_ms=ns("50.00 percentile first token latency (ns)"),
                ttft_p90_ms=ns("90.00 percentile first token latency (ns)"),
                ttft_p99_ms=ns("99.00 percentile first token latency (ns)"),
                tpot_mean_ms=ns("Mean Time to Output Token (ns)"),
                tpot_p50_ms=ns("50.00 percentile time to output token (ns)"),
                tpot_p90_ms=ns("90.00 percentile time to output token (ns)"),
                tpot_p99_ms=ns("99.00 percentile time to output token (ns)"),
                e2el_p50_ms=ns("50.00 percentile latency (ns)") if server else None,
                e2el_p99_ms=ns("99.00 percentile latency (ns)") if server else None,
                value_precision="MLPerf summary (as printed)", note="; ".join(notes),
                accelerator=accel, num_nodes=nodes, submitter=submitter, system=system, scenario=scenario,
                ttft_limit_p99_ms=ttft_lim, tpot_limit_p99_ms=tpot_lim, samples_per_s=smp,
                mean_output_tokens=tok / smp, pp=pp, max_batch=pint("gpu_batch_size"),
            ))
    return out


# ---------------------------------------------------------------- GPUStack performance lab (vLLM runs)
# Whole documents from gpustack/gpustack docs/performance-lab/<model>/<gpu>.md. Each compares engines: a "Serving script"
# block (the server command) is followed by a "Benchmark result(s)" block holding one or more `vllm bench serve` result
# blocks, each optionally labelled by "# ..." comment lines above it. Only blocks whose serving script runs `vllm serve`
# become rows; SGLang and TensorRT-LLM blocks are counted in GPUSTACK_SKIPPED and left out.
GPUSTACK_DIR = "gpustack_perflab/"
# the GPU named by the document's Hardware line -> (row name in data/hardware.csv, accelerator, note)
GPUSTACK_HW = {
    "NVIDIA A100 SXM 80GB": ("NVIDIA A100 SXM 80GB", "A100-SXM-80GB", ""),
    "NVIDIA H100 SXM": ("NVIDIA H100 SXM 80GB", "H100-SXM-80GB", "the H100 SXM is an 80 GB part"),
    "NVIDIA H200 SXM": ("NVIDIA H200 SXM 141GB", "H200-SXM-141GB", "the H200 SXM is a 141 GB part"),
}
GPUSTACK_QUANT = {"FP8": "fp8", "AWQ": "awq"}  # served checkpoint suffix -> precision (AWQ: 4-bit weights)
GPUSTACK_SAME_ARCH = ("Qwen/Qwen3-235B-A22B-Instruct-2507", "deepseek-ai/DeepSeek-R1-0528")  # later weights of a card's model
GPUSTACK_KEYS = {  # printed block line -> field
    "Successful requests": "n", "Maximum request concurrency": "conc", "Total input tokens": "tin",
    "Total generated tokens": "tout", "Output token throughput (tok/s)": "out_tps",
    "Total Token throughput (tok/s)": "tot_tps", "Mean TTFT (ms)": "ttft_mean", "Median TTFT (ms)": "ttft_p50",
    "P99 TTFT (ms)": "ttft_p99", "Mean TPOT (ms)": "tpot_mean", "Median TPOT (ms)": "tpot_p50", "P99 TPOT (ms)": "tpot_p99",
}
GPUSTACK_SKIPPED: Counter = Counter()  # why result blocks were not made rows (filled by gpustack_rows)


def gpustack_doc(text: str) -> dict:
    """The document's setup (model, hardware line, vLLM version, random prompt shapes) and its result blocks, each with
    the serving script above it, its "# ..." label lines, its section heading and the 1-based line of its header."""
    lines = text.split("\n")

    def after(heading: str) -> str:
        i = lines.index(heading)
        return next(x.strip() for x in lines[i + 1:] if x.strip())

    shapes = [(int(a), int(b)) for a, b in re.findall(r"prompt: (\d+) input tokens, (\d+) output tokens", text)]
    version = re.search(r"^- vLLM:? (v[0-9.]+\S*)", text, re.M).group(1)
    blocks, serve, section, want, fence, label, cur = [], None, "", "", None, [], None
    for no, line in enumerate(lines, 1):
        st = line.strip()
        if fence is None and re.match(r"#{2,3} ", line):
            section = line.lstrip("#").strip()
        elif fence is None and st.startswith("???"):
            low = st.lower()
            want = "serve" if "serving script" in low else "result" if "benchmark result" in low else ""
        elif st.startswith("```"):
            if fence is None:  # opening
                fence, label = [], []
            else:  # closing: a serving script replaces the one before; either kind of block is used up
                if want == "serve":
                    serve = " ".join(" ".join(fence).split())
                fence, want = None, ""
        elif fence is not None and want == "serve":
            if not st.startswith("#"):  # a comment in a serving script is prose, not a flag
                fence.append(st.rstrip("\\").strip())
        elif fence is not None and want == "result":
            if "Serving Benchmark Result" in st:
                cur = {"line": no, "serve": serve, "section": section, "label": label, "vals": {}, "raw": []}
                label = []
            elif cur is not None and st.startswith("=" * 20):
                blocks.append(cur)
                cur = None
            elif cur is not None:
                cur["raw"].append(st)
                k, _, v = st.partition(":")
                if k.strip() in GPUSTACK_KEYS:
                    cur["vals"][GPUSTACK_KEYS[k.strip()]] = float(v)
            elif st.startswith("#"):
                label.append(st.lstrip("#").strip())
    return {"model": after("### Model"), "hardware": after("### Hardware"), "version": version, "shapes": shapes,
            "blocks": blocks}


def gpustack_rows(norm: Norm, entries: dict) -> list[dict]:
    out, seen = [], set()
    GPUSTACK_SKIPPED.clear()
    for rel in sorted(p for p in entries if p.startswith(GPUSTACK_DIR)):
        e = entries[rel]
        doc = gpustack_doc((SRC / rel).read_text(encoding="utf-8"))
        m = re.match(r"(?:A single|(\d+) ×) (NVIDIA [A-Z0-9]+ SXM(?: \d+GB)?) GPUs?", doc["hardware"])
        if not m or m.group(2) not in GPUSTACK_HW:
            raise Fail(f"{rel}: hardware line {doc['hardware']!r} names no GPU of GPUSTACK_HW")
        node_gpus, (hw_name, accel, hw_note) = int(m.group(1) or 1), GPUSTACK_HW[m.group(2)]
        hw = norm.hardware_name(hw_name)
        for b in doc["blocks"]:
            serve = b["serve"] or ""
            sm = re.search(r"(?:^|\s)vllm serve (\S+)", serve)
            if not sm:
                engine = "SGLang" if "sglang" in serve else "TensorRT-LLM" if "trtllm-serve" in serve else "unknown"
                GPUSTACK_SKIPPED[f"not vLLM ({engine} serving script)"] += 1
                continue
            served = sm.group(1)
            q = re.search(r"-(FP8|AWQ)$", served)
            base = served[: q.start()] if q else served
            flag = lambda pat: re.search(rf"(?:^|\s)(?:{pat})[ =](\d+)", serve)  # noqa: E731
            tp = int(flag("-tp|--tensor-parallel-size").group(1)) if flag("-tp|--tensor-parallel-size") else 1
            pp = int(flag("-pp|--pipeline-parallel-size").group(1)) if flag("-pp|--pipeline-parallel-size") else 1
            why = ""
            if doc["model"].lower().split("/")[-1] not in base.lower():
                why = "the serving script serves another model than the document's"
            elif flag("-dp|--data-parallel-size"):
                why = "data parallel"
            elif tp * pp > node_gpus:
                why = "more GPUs than the document's node"
            elif (rel, serve, tuple(b["raw"])) in seen:
                why = "the same block quoted again (same serving script, same numbers)"
            if why:
                GPUSTACK_SKIPPED[why] += 1
                continue
            seen.add((rel, serve, tuple(b["raw"])))
            v, gpus = b["vals"], tp * pp
            n = int(v["n"])
            isl, osl = v["tin"] / n, v["tout"] / n
            label = "; ".join(b["label"])
            if "random" in label.lower():
                shape = next(((a, o) for a, o in doc["shapes"] if abs(isl - a) <= 0.01 * a), None)
                if shape is None:
                    raise Fail(f"{rel}:{b['line']}: random block with mean input {isl:.1f} fits none of {doc['shapes']}")
                lnote = (f"random dataset, {shape[0]} in / {shape[1]} out requested (the document's dataset list); no "
                         f"--ignore-eos, so a request may stop at EOS before {shape[1]}: means {isl:.1f} in / {osl:.2f} out "
                         f"({int(v['tin'])} / {int(v['tout'])} tokens over {n} requests)")
            else:  # unlabelled blocks, "ShareGPT batch size N", "BS=N", and labels naming a tuned flag
                lnote = (f"ShareGPT (the document's benchmark command), variable lengths: means {isl:.1f} in / {osl:.1f} "
                         f"out ({int(v['tin'])} / {int(v['tout'])} tokens over {n} requests)")
            conc = int(v["conc"]) if "conc" in v else None
            # the server's batch limits: its script's flags; a label naming another value leaves the limit unknown
            limits, limit_notes, source = {}, [], "serving script"
            for field, pat in (("max_num_batched_tokens", "--max-num-batched-tokens"), ("max_num_seqs", "--max-num-seqs")):
                in_script = flag(pat)
                in_label = re.search(rf"{pat}[ =](\d+)", label)
                if in_label and (not in_script or in_label.group(1) != in_script.group(1)):
                    limits[field], source = None, "unknown: a block label and the serving script disagree"
                    limit_notes.append(f"{pat}: the label says {in_label.group(1)}, the script "
                                       f"{in_script.group(1) if in_script else 'sets none'}: unknown")
                else:
                    limits[field] = int(in_script.group(1)) if in_script else None
            if source == "serving script" and not all(limits.values()):
                source = "serving script; vLLM's defaults for what it does not set"
            model, card = norm.model(base)
            ep = tp if "--enable-expert-parallel" in serve else None
            notes = [f"GPUStack performance lab, section \"{b['section']}\"", f"serving script: {serve}",
                     "date: the page's last change at the extracted commit (MANIFEST page_last_changed, git log -1); the page "
                     "states no run date"]
            if label:
                notes.append(f"block label: {label}")
            if not flag("-tp|--tensor-parallel-size"):
                notes.append("no -tp in the serving script: vLLM's default, TP1 on one GPU")
            if base in GPUSTACK_SAME_ARCH:
                notes.append(f"served checkpoint {served}: later weights of the {card} architecture")
            if ep:
                notes.append("--enable-expert-parallel: experts spread over the TP GPUs")
            if conc is None:
                notes.append(f"load: --request-rate inf (the default) and no --max-concurrency, so all {n} requests "
                             "are sent at once and the server's own limits (max-num-seqs, KV cache) set the batch")
            if q and q.group(1) == "FP8" and accel.startswith("A100"):
                notes.append("FP8 weights on an A100 (no FP8 units): vLLM runs them as W8A16 (Marlin)")
            if hw_note:
                notes.append(hw_note)
            notes += limit_notes
            out.append(base_row(
                id=f"gpustack:{rel[len(GPUSTACK_DIR):-3]}:L{b['line']}", source_id="gpustack",
                source=f"{e['repo']}@{e['commit']}:{e['path']}#L{b['line']}", source_licence=LIC_GPUSTACK,
                engine="vLLM", engine_version=f"vLLM {doc['version']}",
                load_mode="max_concurrency" if conc is not None else "all_at_once", date=e["page_last_changed"], hardware=hw,
                hardware_raw=doc["hardware"], num_gpus=gpus, tp=tp, ep=ep, disaggregated=False, multinode=False,
                precision=GPUSTACK_QUANT[q.group(1)] if q else None, spec_decoding="none", model=model,
                model_raw=served, card=card, isl_tokens=isl, osl_tokens=osl, length_note=lnote, concurrency=conc,
                total_tok_s_per_gpu=v["tot_tps"] / gpus, output_tok_s_per_gpu=v["out_tps"] / gpus,
                input_tok_s_per_gpu=(v["tot_tps"] - v["out_tps"]) / gpus, per_gpu_basis=f"engine GPUs (TP{tp}×PP{pp})",
                output_tok_s_total=v["out_tps"], ttft_mean_ms=v["ttft_mean"], ttft_p50_ms=v["ttft_p50"],
                ttft_p99_ms=v["ttft_p99"], tpot_mean_ms=v["tpot_mean"], tpot_p50_ms=v["tpot_p50"],
                tpot_p99_ms=v["tpot_p99"], value_precision="as printed (2 decimals)", note="; ".join(notes),
                accelerator=accel, num_nodes=1, pp=pp, num_requests=n, **limits, server_limits=source,
            ))
    return out


# ---------------------------------------------------------------- output
def fmt(v) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if v != v:
            return ""
        if v == int(v) and abs(v) < 1e15:
            return str(int(v))
        s = f"{v:.6g}"
        if "e" in s:
            s = f"{v:.4f}".rstrip("0").rstrip(".")
        return s
    return str(v)


SORT_KEY = ("engine", "hardware", "model", "precision", "isl_tokens", "osl_tokens", "tp", "concurrency", "date", "id")


def sort_key(row: dict) -> tuple:
    key = []
    for c in SORT_KEY:
        v = row[c]
        key.append((0, v, "") if isinstance(v, (int, float)) and not isinstance(v, bool) else (1, 0, fmt(v)))
    return tuple(key)


def build() -> tuple[str, dict]:
    entries = load_manifest()
    norm = Norm()
    rows = tokpos_rows(norm, entries) + mlperf_rows(norm, entries) + gpustack_rows(norm, entries)
    ids = [r["id"] for r in rows]
    if len(ids) != len(set(ids)):
        raise Fail("duplicate row ids")
    for r in rows:
        for c in COLUMNS:
            v = r[c]
            if c.endswith(("_ms", "_tok_s_per_gpu", "_tok_s_total", "_per_s")) and v is not None and v <= 0:
                raise Fail(f"{r['id']}: non-positive {c}={v}")
    rows.sort(key=sort_key)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMNS)
    for r in rows:
        w.writerow([fmt(r[c]) for c in COLUMNS])
    stats = {"rows": len(rows), "ix-tokpos": sum(r["source_id"] == "ix-tokpos" for r in rows),
             "mlperf41": sum(r["source_id"] == "mlperf41" for r in rows),
             "mlperf51": sum(r["source_id"] == "mlperf51" for r in rows),
             "gpustack": sum(r["source_id"] == "gpustack" for r in rows)}
    return buf.getvalue(), stats


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true", help="exit 1 if the CSV on disk differs from a rebuild")
    args = ap.parse_args(argv)
    try:
        text, stats = build()
    except Fail as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    data = text.encode("utf-8")
    if args.check:
        same = OUT.exists() and OUT.read_bytes() == data
        print(f"{OUT.relative_to(ROOT)}: {'up to date' if same else 'DIFFERS from a rebuild'}")
        return 0 if same else 1
    OUT.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=OUT.parent, prefix=".gpu_serving_corpus.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, OUT)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    print(f"wrote {OUT.relative_to(ROOT)}: " + ", ".join(f"{k} {v}" for k, v in stats.items()))
    print("gpustack result blocks left out: " + "; ".join(f"{why} {n}" for why, n in sorted(GPUSTACK_SKIPPED.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
