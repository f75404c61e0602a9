"""The open-model essays' claims, checked against measured profiles and dated catalogs (notebook 04)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from planner.app.fleet import gpu_efficiency
from planner.core.cards import ModelCard
from planner.core.deploy import Device, memory_plan
from planner.core.plan import Workload
from planner.core.projection import calibrate_decode, predict_card, project_profile
from planner.core.records import Profile
from planner.core.roofline import active_weight_bytes
from planner.formats.catalog import device_for, hosted_baselines, load_card, record
from planner.formats.inputs import resolve, run_plan
from planner.formats.profiles import load_profile


def load_profiles(folder: str | Path) -> list[Profile]:
    return [load_profile(f) for f in sorted(Path(folder).rglob("*.json"))]


def moe_speed_table(profiles: list[Profile]) -> pd.DataFrame:
    """Decode speed of the Mixtral clone beside dense clones of its active size and of its total size (same depth)."""
    rows = []
    for p in profiles:
        if not p.model.clone_of or "Mixtral" not in p.model.clone_of:
            continue
        conc = {c.concurrency: c.aggregate_decode_tok_s.mean for c in p.concurrency_sweep}
        rows.append({"clone": p.model.clone_of, "layers": p.model.n_layers, "experts (active/total)":
                     f"{p.model.n_experts_active}/{p.model.n_experts}" if p.model.n_experts else "dense",
                     "weights GiB": p.model.tensor_bytes / 2**30, "read per token GiB": active_weight_bytes(p.model) / 2**30,
                     "decode tok/s (1 stream)": p.decode_tok_s, "decode CI ±%": p.decode[0].tok_s.ci95_half_width_pct,
                     "aggregate tok/s at 64 streams": conc.get(64, np.nan), "measured on": p.hardware.gpus[0].name if p.hardware.gpus else "cpu"})
    return pd.DataFrame(rows).sort_values("read per token GiB").reset_index(drop=True)


def full_depth_moe_prediction(calibration_profiles: list[Profile], reference_bandwidth_bytes_s: float) -> pd.DataFrame:
    """Full 32-layer Mixtral vs the dense models, predicted from the roofline fit on the measured clones."""
    cal = calibrate_decode(calibration_profiles, reference_bandwidth_bytes_s)
    mix = load_card("Mixtral-8x7B-v0.1")
    cards = [mix, load_card("Mistral-7B-v0.1"),
             ModelCard(**{**mix.__dict__, "name": "dense 46.7B (Mixtral's total size)", "n_experts": 0, "n_experts_active": 0,
                          "ffn_dim": mix.ffn_dim * mix.n_experts})]
    return pd.DataFrame([predict_card(cal, c, "Q4_K_M") for c in cards])


def project_to(profile: Profile, source_hw: str, target_hw: str) -> Profile:
    """A GPU profile on other hardware through the roofline split of the efficiency fitted on the committed H100 profiles."""
    return project_profile(profile, record("hardware", source_hw), record("hardware", target_hw), gpu_efficiency() if profile.on_gpu else None)


# how notebook 04 shows `cost_at_scale` (present.notebook.styled): whole requests and replicas, dollars, cents
COST_AT_SCALE_FORMATS = {"requests/month": "{:,.0f}", "replicas": "{:.0f}", "self-hosted $/month": "${:,.2f}", "self-hosted ¢/request": "{:.3f}¢",
                         "API $/month": "${:,.2f}", "API ¢/request": "{:.3f}¢", "break-even req/month": "{:,.0f}"}


def cost_at_scale(profile: Profile, instance: str, api_models: list[str], volumes: list[float], workload: Workload) -> pd.DataFrame:
    """Monthly self-hosted cost on `instance` vs each API, at each volume."""
    rows = []
    for model in api_models:
        inputs = resolve(profile, instance, model, workload)
        for v in volumes:
            r = run_plan(inputs, workload.model_copy(update={"requests_per_month": v}))
            t = r.at_target
            rows.append({"API": model, "requests/month": v, "replicas": t.replicas,
                         "self-hosted $/month": t.selfhost_usd_per_month, "self-hosted ¢/request": 100 * t.selfhost_usd_per_request,
                         "API $/month": t.api_usd_per_month, "API ¢/request": 100 * t.api_usd_per_request,
                         "break-even req/month": r.break_even_first})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------------- verdicts
# Each claim's verdict is computed from the tables above, with the numbers it rests on, so the notebook's words cannot
# drift from its measurements. SAME = how close two speeds must be to count as "the same speed".
SAME = 0.10


def _close(a: float, b: float, tol: float = SAME) -> bool:
    return abs(a - b) <= tol * max(abs(b), 1e-12)


def moe_verdict(table: pd.DataFrame) -> dict[str, str | bool]:
    """Claim 1 on the measured clones: one stream at the active size's speed? under load? memory?"""
    by = {("moe" if "dense" not in c else "active" if "active" in c else "total"): row for c, row in zip(table["clone"], table.to_dict("records"))}
    moe, active, total = by["moe"], by["active"], by["total"]
    one = moe["decode tok/s (1 stream)"] / active["decode tok/s (1 stream)"]
    vs_total = moe["decode tok/s (1 stream)"] / total["decode tok/s (1 stream)"]
    loaded = moe["aggregate tok/s at 64 streams"] / total["aggregate tok/s at 64 streams"]
    loaded_active = moe["aggregate tok/s at 64 streams"] / active["aggregate tok/s at 64 streams"]
    return {
        "holds_one_stream": _close(moe["decode tok/s (1 stream)"], active["decode tok/s (1 stream)"]),
        "holds_under_load": _close(moe["aggregate tok/s at 64 streams"], active["aggregate tok/s at 64 streams"]),
        "text": (f"One stream: the MoE decodes at {one:.2f}× the speed of the dense model of its active size and {vs_total:.1f}× that of the "
                 f"dense model of its total size — the claim **{'holds' if _close(one, 1.0) else 'breaks'}**. At 64 streams its aggregate "
                 f"throughput is {loaded_active:.2f}× the active-size model's and {loaded:.2f}× the total-size model's — the claim "
                 f"**{'holds' if _close(loaded_active, 1.0) else 'breaks'}** under load. Its weights take {moe['weights GiB']:.2f} GiB, "
                 f"{moe['weights GiB'] / active['weights GiB']:.1f}× the active-size model's: memory follows the total size."),
    }


def held_out_verdict(prediction: pd.DataFrame, model: str, measured_tok_s: float) -> dict[str, str | bool | float]:
    """The roofline fit's prediction for a model left out of the fit, against its measurement."""
    predicted = float(prediction.loc[prediction["model"] == model, "predicted_decode_tok_s"].iloc[0])
    err = 100 * (predicted - measured_tok_s) / measured_tok_s
    return {"error_pct": err, "holds": abs(err) <= 100 * SAME,
            "text": f"Held-out check: {model} predicted {predicted:,.1f} tok/s, measured {measured_tok_s:,.1f} tok/s ({err:+.1f}%)."}


def scale_verdict(costs: pd.DataFrame, cheap_api: str) -> dict[str, str | bool]:
    """Claim 2: a fraction of a cent per request at scale — and against the cheapest API?"""
    top = costs["requests/month"].max()
    at_scale = costs[(costs["requests/month"] == top)].iloc[0]
    low = costs[(costs["requests/month"] == costs["requests/month"].min())].iloc[0]
    cheap = costs[costs["API"] == cheap_api]
    ever = bool((cheap["self-hosted ¢/request"] < cheap["API ¢/request"]).any())
    return {"holds_at_scale": bool(at_scale["self-hosted ¢/request"] < 1.0), "beats_cheap_api": ever,
            "text": (f"At {top:,.0f} requests/month a request costs {at_scale['self-hosted ¢/request']:.3f}¢ self-hosted "
                     f"({at_scale['replicas']:.0f} replicas) — the claim **{'holds' if at_scale['self-hosted ¢/request'] < 1 else 'breaks'}** "
                     f"at scale; at {low['requests/month']:,.0f} it costs {low['self-hosted ¢/request']:.3f}¢. Against {cheap_api} "
                     f"({cheap['API ¢/request'].iloc[0]:.4f}¢ a request) self-hosting is {'cheaper at some' if ever else 'dearer at every'} volume.")}


def millions_verdict(costs: pd.DataFrame) -> dict[str, str | bool]:
    """Claim 3: at millions of requests, tens of thousands of dollars on an API vs thousands self-hosted."""
    rows = []
    holds = {}
    for api, grp in costs.groupby("API", sort=False):
        big = grp[grp["requests/month"] >= 1e6]
        ok = bool(((big["API $/month"] >= 1e4) & (big["self-hosted $/month"] < big["API $/month"])).any())
        holds[api] = ok
        best = big.loc[(big["API $/month"] - big["self-hosted $/month"]).idxmax()]
        rows.append(f"{api}: at {best['requests/month']:,.0f} requests/month ${best['API $/month']:,.0f} API vs ${best['self-hosted $/month']:,.0f} "
                    f"self-hosted — **{'holds' if ok else 'breaks'}**")
    return {"holds": holds, "text": "; ".join(rows) + "."}


# --------------------------------------------------------------------------------------------------- fleet claims

def a10g_kv_verdict(card_name: str = "Mistral-7B-v0.1", context: int = 4096) -> dict[str, str | bool | int]:
    """"A 7B model in fp16 fits one A10G": the weights do, but how many 4k-context requests does its KV cache hold?"""
    row = record("hardware", "NVIDIA A10G")
    card = load_card(card_name)
    # memory only: vLLM's budget on a 24 GiB card (the A10G row has no datasheet TFLOPS; none are needed here)
    mem = memory_plan(card, "bf16", Device(row.name, row.memory_gib, row.memory_bandwidth_gb_s or 0.0, 0.0), 1, 1, context)
    return {"fits": mem.fits, "kv_tokens": mem.kv_tokens, "requests": mem.max_seqs_by_kv,
            "text": (f"{card.name} in bf16 on one {row.name} ({row.memory_gib:g} GiB, vLLM's 90 % budget): weights {mem.weights_gib:.1f} GiB + "
                     f"runtime {mem.runtime_gib:.1f} GiB leave {mem.kv_gib:.1f} GiB of KV cache = {mem.kv_tokens:,} tokens — "
                     f"{mem.max_seqs_by_kv} requests at a {context:,}-token context at once. The claim **"
                     f"{'holds' if mem.fits else 'breaks'}** for the weights; concurrency is capped at {mem.max_seqs_by_kv}.")}


def mixtral_fit_table(card_name: str = "Mixtral-8x7B-v0.1", context: int = 4096,
                      devices: tuple[str, ...] = ("NVIDIA H100 SXM 80GB", "NVIDIA A100 SXM 80GB", "NVIDIA L40S", "NVIDIA L4")) -> pd.DataFrame:
    """Which TP sizes of a model fit which GPU, per precision (memory at `context` tokens, vLLM's accounting)."""
    card = load_card(card_name)
    rows = []
    for name in devices:
        dev = device_for(record("hardware", name))
        for prec in ("bf16", "fp8", "int4"):
            for tp in (1, 2, 4, 8):
                if card.n_heads % tp:
                    continue
                mem = memory_plan(card, prec, dev, tp, 1, context)
                rows.append({"device": name, "precision": prec, "tp": tp, "fits": mem.fits, "weights GiB/GPU": round(mem.weights_gib, 1),
                             "requests in KV": mem.max_seqs_by_kv if mem.fits else 0, "why not": mem.why})
    return pd.DataFrame(rows)


def smallest_fit(table: pd.DataFrame) -> dict[str, int | None]:
    """The smallest TP that fits, per device, at bf16 (None: not even TP8)."""
    bf16 = table[(table["precision"] == "bf16") & table["fits"]]
    return {d: (int(bf16.loc[bf16["device"] == d, "tp"].min()) if (bf16["device"] == d).any() else None) for d in table["device"].unique()}


def like_for_like_apis(card_name: str, frontier: str = "gpt-4o") -> list[str]:
    """The APIs a self-hosted open model should be priced against: a frontier API and the cheapest host of the same model."""
    hosted = hosted_baselines(card_name)
    return [frontier, *([hosted[0].model] if hosted else [])]
