"""Serving profiles: a load sweep against an OpenAI-compatible endpoint, written as a versioned profile.

The profile is saved after every level, so a server that dies mid-run leaves a valid `partial` profile with its
failures counted. The sweep stops at the knee: when goodput stops rising or errors take over.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from tqdm.auto import tqdm

from . import __version__
from .errors import PlannerError
from .fsutil import sha256_file
from .gguf_meta import read_model_info
from .hardware import fingerprint
from .loadgen import Endpoint, Prompt, Slo, run_level, summarize_level
from .schema import EngineInfo, ModelInfo, Profile, ProfileSettings, save_profile


@dataclass(frozen=True)
class SweepConfig:
    mode: str = "concurrency"  # or "rate" (Poisson arrivals, requests/s)
    levels: tuple[float, ...] = (1, 2, 4, 8)
    requests_per_level: int = 32
    max_duration_s: float = 120.0
    max_tokens: int = 32
    timeout_s: float = 60.0
    stop_at_knee: bool = True
    max_error_rate: float = 0.5


def _model_info(endpoint: Endpoint, model_path: Path | None) -> ModelInfo:
    if model_path is not None:
        return read_model_info(model_path, sha256=sha256_file(model_path))
    return ModelInfo(file_name=endpoint.model, sha256="", size_bytes=0, name=endpoint.model, architecture="unknown",
                     quant_label="unknown", n_params=0, tensor_bytes=0, bits_per_weight=0.0, tensor_types=[])


def _answers(endpoint: Endpoint) -> bool:
    import httpx
    try:
        return httpx.get(endpoint.base_url + "/models", headers=endpoint.headers(), timeout=3.0).status_code < 500
    except httpx.HTTPError:
        return False


def serving_profile(endpoint: Endpoint, prompts: list[Prompt], config: SweepConfig, *, out_path: str | Path, slo: Slo = Slo(),
                    backend: str = "openai-compatible", model_path: str | Path | None = None, server_notes: list[str] | None = None,
                    progress: bool = True, on_record=None) -> Profile:
    if config.mode not in ("concurrency", "rate"):
        raise PlannerError(f"mode: use 'concurrency' or 'rate' (got {config.mode!r})")
    endpoint.headers()  # fail now, not mid-sweep, when the key variable is missing
    profile = Profile(
        created_at=datetime.now(timezone.utc), tool_version=__version__, status="partial",
        model=_model_info(endpoint, Path(model_path) if model_path else None),
        engine=EngineInfo(name="openai-http", version=__version__, backend=backend, endpoint_host=endpoint.host,
                          server_notes=list(server_notes or [])),
        hardware=fingerprint(),
        settings=ProfileSettings(warmup_runs=0, min_reps=1, max_reps=1, target_ci_pct=0.0, time_budget_s=config.max_duration_s,
                                 extra={"mode": config.mode, "levels": [int(x) if float(x).is_integer() else x for x in config.levels],
                                        "requests_per_level": config.requests_per_level, "max_tokens": config.max_tokens,
                                        "chat": endpoint.chat, "prompt_tokens_mean": int(sum(p.approx_tokens for p in prompts) / len(prompts))}),
        notes=["serving profile: measured through the OpenAI HTTP API under load (load generator of llm-planner)"],
    )
    out_path = Path(out_path)
    save_profile(profile, out_path)
    best = -1.0
    try:
        for target in tqdm(config.levels, desc=f"load levels ({config.mode})", disable=not progress):
            records, elapsed = asyncio.run(run_level(endpoint, prompts, mode=config.mode, target=float(target),
                                                     max_requests=config.requests_per_level, max_duration_s=config.max_duration_s,
                                                     max_tokens=config.max_tokens, timeout_s=config.timeout_s, on_record=on_record))
            level = summarize_level(records, elapsed, mode=config.mode, target=float(target), slo=slo)
            profile.serving.append(level)
            save_profile(profile, out_path)
            error_rate = (level.failed + level.timed_out) / level.sent
            if level.errors.get("ConnectError") and not _answers(endpoint):
                profile.notes.append(f"the server stopped answering during {config.mode} {target:g}; later levels were not run")
                save_profile(profile, out_path)
                return profile  # status stays partial
            goodput = level.goodput_request_s or 0.0
            if config.stop_at_knee and (error_rate > config.max_error_rate or (best > 0 and goodput < 0.9 * best)):
                profile.notes.append(f"sweep stopped at {config.mode} {target:g}: past the knee (goodput {goodput:.3g} req/s, errors {error_rate:.0%})")
                break
            best = max(best, goodput)
        profile.status = "complete"
    except KeyboardInterrupt:
        save_profile(profile, out_path)
        raise PlannerError(f"interrupted: the finished load levels are saved in {out_path} (status: partial)") from None
    save_profile(profile, out_path)
    return profile
