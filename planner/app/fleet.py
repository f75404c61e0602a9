"""The fleet workflow: catalog rows and the vLLM GPU step model in, ranked multi-GPU deployments out.

The step model is the one fitted on published vLLM serving measurements (data/gpu_step_fit.json, the one `predict`
uses); its held-out error for the card's kind (dense or MoE) is shown beside every fleet answer and bounds its verdicts.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

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
from planner.formats.gpu_corpus import FIT_FILE, GpuFitFile, read_fit
from planner.formats.inputs import api_usd_per_request
from planner.formats.profiles import load_profile

ROOT = resource_root()
REFERENCE_GPU_PROFILES = ROOT / "profiles" / "reference" / "h100"


@lru_cache(maxsize=1)
def fleet_fit() -> tuple[GpuEfficiency, GpuFitFile]:
    """The vLLM GPU step model the fleet plans with — data/gpu_step_fit.json, fitted on published vLLM serving
    measurements (`benchmarks/gpu_vs_published.py`), the one `llm-planner predict` uses — read once per process."""
    return read_fit()


def speed_error_pct(card: ModelCard, fit: GpuFitFile) -> float | None:
    """The fit's held-out speed error (`HeldOut`: each model predicted by a fit without it) on models of this card's
    kind, dense or MoE: the error a fleet capacity and its verdicts carry. None: no held-out row of that kind."""
    held = fit.held_out_split("model")
    if held is None:
        return None
    return held.median_abs_error_pct_speed_moe if card.is_moe else held.median_abs_error_pct_speed_dense


def _pct(v: float | None) -> str:
    return "unknown" if v is None else f"{v:.0f}%"


def saturation_note(fit: GpuFitFile) -> str | None:
    """The fit's check at saturation: published runs that sent every request at once, each model's predicted by the fit
    on the others (`gpufit.predict_burst`); None when the file has none."""
    b = fit.held_out_split("burst")
    if b is None:
        return None
    return (f"at saturation (every request sent at once, the server's own batch limits; {b.n_rows} published runs, each model "
            f"held out): throughput median |error| {_pct(b.median_abs_error_pct_throughput)}, worst "
            f"{_pct(b.max_abs_error_pct_throughput)}; TTFT p50 {_pct(b.median_abs_error_pct_ttft_p50)}, TPOT p50 "
            f"{_pct(b.median_abs_error_pct_tpot_p50)}")


def fit_notes(card: ModelCard, eff: GpuEfficiency, fit: GpuFitFile, devices: set[str], tp_max: int) -> list[str]:
    """What a fleet answer rests on: the fitted model and its provenance, its held-out error for this card's kind, the
    devices the fit never saw, and the TP-scaling check where the ranking uses TP > 1."""
    model, gpu = fit.held_out_split("model"), fit.held_out_split("gpu")
    kind = "MoE" if card.is_moe else "dense"
    notes = [f"capacity model: the vLLM GPU step model fitted on {eff.source} ({FIT_FILE.name}, {fit.date}; refit with "
             f"`{fit.command}`), the one `llm-planner predict` uses: {eff.bandwidth_eff:.0%} of datasheet bandwidth plus "
             f"{1e3 * eff.per_layer_s:.3f} ms per layer per step (+{1e3 * eff.per_moe_layer_s:.3f} ms per mixture-of-experts layer), "
             f"{1e3 * eff.per_tp_rank_s:.2f} ms per step per GPU worker beyond the first, "
             f"{eff.flops_eff:.0%} of dense FLOP/s in prefill, attention at "
             f"{eff.attention_flops_eff:.0%}, {1e3 * (eff.server_ttft_s or 0):.0f} ms of server time per first token"]
    if model is not None:
        err = speed_error_pct(card, fit)
        n = model.n_rows_moe if card.is_moe else model.n_rows_dense
        notes.append(f"held-out error (each model predicted by a fit without it): speed median |error| "
                     f"{_pct(model.median_abs_error_pct_speed_dense)} on {model.n_rows_dense} dense-model rows, "
                     f"{_pct(model.median_abs_error_pct_speed_moe)} on {model.n_rows_moe} MoE rows; TTFT p50 "
                     f"{_pct(model.median_abs_error_pct_ttft_p50)}. {card.name} is {kind}: "
                     + (f"its capacities and verdicts carry that {err:.0f}% ({n} rows)" if err is not None else
                        f"no held-out {kind} row measures that error"))
    if model is not None and model.n_capacity_at_slo:
        notes.append(f"capacity at an SLO (held out by model: published closed-loop sweeps of {', '.join(model.capacity_models)}, the "
                     f"SLO at each interior point's measured TTFT and TPOT p50): median |error| "
                     f"{_pct(model.median_abs_error_pct_capacity_at_slo)} on {model.n_capacity_at_slo} points; "
                     f"{model.n_capacity_unbracketed} more where the predicted latencies never crossed the SLO inside the sweep "
                     f"(with them, at least {_pct(model.median_abs_error_pct_capacity_at_slo_all_at_least)})")
    if (sat := saturation_note(fit)) is not None:
        notes.append(sat)
    unseen = sorted(devices - set(fit.gpus))
    if unseen:
        notes.append(f"{', '.join(unseen)}: no published measurement in the fit"
                     + (f" (each GPU predicted by a fit without it: speed median |error| {_pct(gpu.median_abs_error_pct_speed_dense)} "
                        f"dense, {_pct(gpu.median_abs_error_pct_speed_moe)} MoE)" if gpu is not None else "")
                     + (" and no non-NVIDIA kernel in it" if any(not d.startswith("NVIDIA") for d in unseen) else ""))
    for name, sc in fit.tp_scaling.items():
        if tp_max > min(sc.tp):
            notes.append(f"TP scaling of {name} (TP {sc.tp}): step time measured {sc.measured_ratio} of the smallest TP's, "
                         f"predicted {sc.predicted_ratio} with the model held out (worst {sc.max_abs_ratio_error_pct:.0f}% off)")
    return notes


@lru_cache(maxsize=4)
def gpu_efficiency(folder: str | None = None) -> GpuEfficiency:
    """The roofline efficiency of the llama.cpp CUDA engine profiles in `folder` (default: the committed H100 set): what
    projects a measured GPU profile to another device and `predict --engine llama.cpp` (the fleet plans vLLM with
    `fleet_fit`)."""
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
    error_pct: float | None  # the GPU step model's held-out speed error on models of this card's kind (`speed_error_pct`)


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
    eff, fit = fleet_fit()
    result = rank_fleet(card, candidates, eff, workload, precisions=precisions, price_kind=price_kind, top=top, serve_name=card.hf_repo,
                        distinct_instances=distinct_instances)  # the ranking reads self-hosted costs only: no API price
    tp_max = int(result.ranked["tp"].max()) if not result.ranked.empty else 1
    notes = [*fit_notes(card, eff, fit, set(result.ranked.get("device", [])), tp_max), *notes]
    notes += licence_warnings(card, workload.monthly_active_users)
    if not result.ranked.empty and (result.ranked["pp"] > 1).any():
        notes.append("pipeline-parallel layouts assume vLLM keeps every stage busy (micro-batches without bubbles; each worker's "
                     "per-step cost is the one fitted on TP runs): no PP measurement backs that — prefer the best TP-only layout "
                     "when the two are close")
    error_pct = speed_error_pct(card, fit)
    lines = []
    for api, usd in api_usd.items():
        notes.append(f"API {api}: ${usd:.4g}/request, ${usd * workload.requests_per_month:,.0f}/month at "
                     f"{workload.requests_per_month:,.0f} requests")
        monthly = usd * workload.requests_per_month
        lines.append(ApiLine(api, monthly, fleet_verdict(result.ranked, api, monthly, error_pct)))
    return FleetAnswer(card_name, workload, result, notes, lines, error_pct)
