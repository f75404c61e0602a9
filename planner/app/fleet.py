"""The fleet workflow: catalog rows and the measured GPU efficiency in, ranked multi-GPU deployments out.

The efficiency comes from the committed GPU engine profiles (`profiles/reference/h100`, llama.cpp CUDA on an H100
SXM): fitted once per process, with its leave-one-out error, and shown beside every fleet answer.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from planner.core.cards import ModelCard
from planner.core.deploy import Device, GpuEfficiency, fit_gpu_efficiency
from planner.core.errors import DataError, InputError, PlannerError
from planner.core.fleet import ApiLine, FleetResult, fleet_verdict, rank_fleet
from planner.core.licence import licence_warnings
from planner.core.matching import norm_name
from planner.core.plan import Workload
from planner.core.records import EngineProfile
from planner.core.rows import InstanceRow, PriceKind
from planner.formats.catalog import ONPREM_PROVIDER, device_for, device_row, load_card, record, records
from planner.formats.files import resource_root
from planner.formats.inputs import api_usd_per_request
from planner.formats.profiles import load_profile

ROOT = resource_root()
REFERENCE_GPU_PROFILES = ROOT / "profiles" / "reference" / "h100"
PUBLISHED_CHECK = ROOT / "benchmarks" / "results" / "fleet-vs-published.json"


@lru_cache(maxsize=1)
def _published() -> dict | None:
    """benchmarks/results/fleet-vs-published.json, read once; None when it is missing or unreadable."""
    try:
        return json.loads(PUBLISHED_CHECK.read_text())
    except (OSError, json.JSONDecodeError):
        return None


def _published_rows(card: ModelCard) -> list[dict]:
    """The published-check rows of models of this card's kind (dense or MoE)."""
    cards = {c.name: c for c in records("model_cards")}
    return [r for r in (_published() or {}).get("rows", []) if r["card"] in cards and cards[r["card"]].is_moe == card.is_moe]


def published_error_pct(card: ModelCard) -> float | None:
    """The median |error| of the GPU step model on published vLLM speeds of models of this card's kind (dense or MoE);
    None when the check is missing or has none of that kind."""
    rows = _published_rows(card)
    return float(np.median([abs(r["error_pct"]) for r in rows])) if rows else None


def published_check(card: ModelCard, tp_max: int) -> list[str]:
    """What `benchmarks/fleet_vs_published.py` found against published vLLM decode speeds, as it applies to this card:
    the error on dense or MoE models, and the TP scaling it saw (the step model is validated nowhere else on GPUs)."""
    result = _published()
    if result is None:
        return ["not validated against vLLM on GPUs: benchmarks/results/fleet-vs-published.json is missing; run "
                "`python benchmarks/fleet_vs_published.py`"]
    cards = {c.name: c for c in records("model_cards")}
    rows = _published_rows(card)
    if not rows:
        return []
    errors = sorted(r["error_pct"] for r in rows)
    kind = "MoE" if card.is_moe else "dense"
    notes = [f"checked against {len(rows)} published vLLM GPU decode speeds of {kind} models: predicted time per token "
             f"{errors[0]:+.0f} % to {errors[-1]:+.0f} % off the measurement (median |error| "
             f"{float(np.median(np.abs(errors))):.0f} %; + = predicted slower) — benchmarks/fleet_vs_published.py"]
    if card.is_moe and errors[-1] < 0:
        notes.append("MoE capacity is optimistic: every published MoE speed was slower than predicted (expert kernels run further from "
                     "the roofline than dense ones); size MoE fleets with that margin")
    for name, sc in result.get("tp_scaling", {}).items():
        if tp_max > min(sc["tp"]) and cards.get(name) is not None and cards[name].is_moe == card.is_moe:
            notes.append(f"TP scaling of {name} (TP {sc['tp']}): step time measured {sc['measured_ratio']} of the smallest TP's, "
                         f"predicted {sc['predicted_ratio']} — larger TP gains less than the model says")
    return notes


@lru_cache(maxsize=4)
def gpu_efficiency(folder: str | None = None) -> GpuEfficiency:
    """The roofline efficiency of the GPU engine profiles in `folder` (default: the committed H100 set)."""
    paths = sorted(Path(folder or REFERENCE_GPU_PROFILES).rglob("*.json"))
    profiles = [p for p in (load_profile(f) for f in paths) if isinstance(p, EngineProfile) and p.on_gpu]
    if not profiles:
        raise DataError(f"{folder or REFERENCE_GPU_PROFILES}: no GPU engine profiles to fit the efficiency on")
    names = {p.hardware.gpus[0].name for p in profiles}
    if len(names) > 1:
        raise DataError(f"{folder}: the efficiency is fitted on one GPU at a time; found {sorted(names)}")
    gpu = profiles[0].hardware.gpus[0]
    row = device_row(gpu.name, gpu.memory_total_bytes)
    flops = row and (row.fp16_tflops_dense or row.bf16_tflops_dense)
    if row is None or not row.memory_bandwidth_gb_s or not flops:
        raise DataError(f"hardware: no single data/hardware.csv row with bandwidth and FP16 TFLOPS matches {gpu.name}")
    return fit_gpu_efficiency(profiles, row.memory_bandwidth_gb_s * 1e9, flops * 1e12, device=row.name)


def fleet_candidates(hardware: list[str] | None = None, instances: list[str] | None = None, providers: list[str] | None = None,
                     onprem: bool = False) -> tuple[list[tuple[InstanceRow, Device]], list[str]]:
    """GPU instances of the catalog (optionally only these devices, instance names or providers; owned hardware only
    with `onprem` or when named) with their device; and one note per device the catalog cannot model."""
    wanted_hw = {norm_name(record("hardware", h).name) for h in hardware or []}  # an unknown name raises with close names
    if providers:
        known = sorted({i.provider for i in records("instances") if i.has_gpu})
        unknown = [p for p in providers if p not in known]
        if unknown:
            raise InputError(f"--provider: no GPU instances from {', '.join(map(repr, unknown))}; providers in the catalog: {', '.join(known)}")
    devices: dict[str, Device | None] = {}
    notes = []
    out = []
    for inst in records("instances"):
        if not inst.has_gpu or (instances and inst.instance not in instances) or (providers and inst.provider not in providers):
            continue
        if inst.provider == ONPREM_PROVIDER and not (onprem or instances or (providers and ONPREM_PROVIDER in providers)):
            continue
        if wanted_hw and norm_name(inst.accelerator) not in wanted_hw:
            continue
        if inst.accelerator not in devices:
            try:
                devices[inst.accelerator] = device_for(record("hardware", inst.accelerator))
            except PlannerError as exc:
                devices[inst.accelerator] = None
                notes.append(f"{inst.accelerator}: skipped ({exc})")
        dev = devices[inst.accelerator]
        if dev is not None:
            out.append((inst, dev))
    if instances:
        missing = set(instances) - {i.instance for i, _ in out}
        for name in sorted(missing):
            row = record("instances", name)  # an unknown name raises with close names
            if not row.has_gpu:
                raise InputError(f"--instance: {name} has no GPU; the fleet plans GPU deployments (use `plan` for CPU profiles)")
    return out, notes


@dataclass(frozen=True)
class FleetAnswer:
    """What every fleet front-end shows (CLI table, `fleet --html`, notebook 05): the ranking, what it rests on, each
    API's line and verdict, and the capacity model's error those verdicts carry."""

    card: str
    workload: Workload
    result: FleetResult
    notes: list[str]
    apis: list[ApiLine]
    error_pct: float | None  # the GPU step model's median |error| on published vLLM speeds of this card's kind


def plan_fleet(card_name: str, workload: Workload, **options) -> tuple[FleetResult, list[str]]:
    """Rank deployments of a model card for a workload; notes say what the answer rests on (`answer_fleet`)."""
    answer = answer_fleet(card_name, workload, **options)
    return answer.result, answer.notes


def answer_fleet(card_name: str, workload: Workload, *, precisions: tuple[str, ...] = ("bf16",), hardware: list[str] | None = None,
                 instances: list[str] | None = None, providers: list[str] | None = None, price_kind: PriceKind = "on_demand",
                 top: int = 15, apis: list[str] = (), onprem: bool = False, distinct_instances: bool = True) -> FleetAnswer:
    """Rank deployments of a model card for a workload, with notes on what the answer rests on, and each API of `apis`
    quoted at the same volume and judged against the best deployment."""
    card = load_card(card_name)
    longest = workload.longest_tokens()
    if card.context_length and longest > card.context_length:
        where = "--traffic: its longest request" if workload.lengths is not None else "--tokens-in / --tokens-out"
        raise InputError(f"{where}: {longest:,.0f} tokens exceed the {card.context_length:,}-token context of {card.name}")
    candidates, notes = fleet_candidates(hardware, instances, providers, onprem)
    api_usd = {api: api_usd_per_request(record("api_prices", api), workload) for api in apis}  # an unknown name raises first
    eff = gpu_efficiency()
    result = rank_fleet(card, candidates, eff, workload, precisions=precisions, price_kind=price_kind, top=top, serve_name=card.hf_repo,
                        distinct_instances=distinct_instances)  # the ranking reads self-hosted costs only: no API price
    notes = [
        f"capacity model: roofline step times with the efficiency fitted on {eff.source}, llama.cpp CUDA: {eff.bandwidth_eff:.0%} "
        f"of datasheet bandwidth, {eff.flops_eff:.0%} of dense FLOP/s in prefill; its error on held-out profiles "
        f"{eff.median_abs_error_pct:.0f} % median, {eff.max_abs_error_pct:.0f} % worst ({eff.n_checks} timings); vLLM on GPUs and "
        "TP > 1 were not measured here",
        *notes,
    ]
    notes += licence_warnings(card, workload.monthly_active_users)
    if not result.ranked.empty and (result.ranked["pp"] > 1).any():
        notes.append("pipeline-parallel layouts assume vLLM keeps every stage busy (micro-batches without bubbles, no scheduler "
                     "overhead per stage): no PP measurement backs that — prefer the best TP-only layout when the two are close")
    tp_max = int(result.ranked["tp"].max()) if not result.ranked.empty else 1
    others = sorted(set(result.ranked.get("device", [])) - {eff.device})
    if others:
        notes.append(f"{', '.join(others)}: ranked with the efficiency measured on the H100 — not measured on these devices"
                     + (" (nor on any non-NVIDIA kernel)" if any(not d.startswith("NVIDIA") for d in others) else ""))
    notes += published_check(card, tp_max)
    error_pct = published_error_pct(card)
    lines = []
    for api, usd in api_usd.items():
        notes.append(f"API {api}: ${usd:.4g}/request, ${usd * workload.requests_per_month:,.0f}/month at "
                     f"{workload.requests_per_month:,.0f} requests")
        monthly = usd * workload.requests_per_month
        lines.append(ApiLine(api, monthly, fleet_verdict(result.ranked, api, monthly, error_pct)))
    return FleetAnswer(card_name, workload, result, notes, lines, error_pct)
