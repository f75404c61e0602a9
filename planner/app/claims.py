"""The open-model essays' claims, checked against measured profiles and dated catalogs (notebook 04)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from planner.core.cards import ModelCard
from planner.core.plan import PriceChoice, Workload, plan
from planner.core.projection import calibrate_decode, predict_card, project_profile
from planner.core.records import Profile
from planner.core.roofline import active_weight_bytes
from planner.formats.catalog import load_card, record
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
    return project_profile(profile, record("hardware", source_hw), record("hardware", target_hw))


def cost_at_scale(profile: Profile, instance: str, api_models: list[str], volumes: list[float], workload: Workload) -> pd.DataFrame:
    """Monthly self-hosted cost on `instance` vs each API, at each volume."""
    rows = []
    for model in api_models:
        prices = PriceChoice.from_rows(record("instances", instance), record("api_prices", model))
        for v in volumes:
            r = plan(profile, prices, workload.model_copy(update={"requests_per_month": v}))
            t = r.at_target
            rows.append({"API": model, "requests/month": v, "replicas": t.replicas,
                         "self-hosted $/month": t.selfhost_usd_per_month, "self-hosted ¢/request": 100 * t.selfhost_usd_per_request,
                         "API $/month": t.api_usd_per_month, "API ¢/request": 100 * t.api_usd_per_request,
                         "break-even req/month": r.break_even_first})
    return pd.DataFrame(rows)
