"""A serving profile: load levels in increasing order against one endpoint (see `client` for how each request is
counted and what is never written), the profile saved after every level, the sweep stopped at the knee."""
from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import httpx
import numpy as np
from pydantic import ValidationError
from tqdm.auto import tqdm

from planner import __version__
from planner.core.errors import InputError, MeasurementError, SetupError, UntrustworthyMeasurement
from planner.core.records import EngineInfo, ModelInfo, Profile, ProfileSettings, ServingLevel, ServingProfile
from planner.formats.files import sha256_file
from planner.formats.profiles import first_error
from planner.measure.gguf.meta import read_model_info
from planner.measure.probes.hardware import fingerprint
from planner.measure.serving.client import Endpoint, RequestRecord, answers, one_request
from planner.measure.serving.metrics import Slo, SweepConfig, knee, past_knee, summarize_level
from planner.measure.serving.prompts import Prompt
from planner.measure.serving.scheduler import run_level
from planner.measure.session import MeasuringSession


def model_info(endpoint: Endpoint, model_path: str | Path | None) -> ModelInfo:
    """From the GGUF when its path is known; otherwise the served name, with None where nothing is known."""
    if model_path is not None:
        return read_model_info(model_path, sha256=sha256_file(model_path))
    return ModelInfo(file_name=endpoint.model, sha256=None, size_bytes=None, name=endpoint.model, architecture=None,
                     quant_label=None, n_params=None, tensor_bytes=None, bits_per_weight=None, expert_tensor_bytes=None,
                     lookup_only_bytes=None,
                     note="served model: architecture and weights unknown to the load generator")




def _warm_up(endpoint: Endpoint, prompts: Sequence[Prompt], config: SweepConfig) -> list[str]:
    """Uncounted requests before the first level; turns errors a user must fix into one-line errors."""
    async def go(prompt: Prompt) -> RequestRecord:
        async with endpoint.client(timeout=httpx.Timeout(config.timeout_s, connect=5.0)) as client:
            return await one_request(client, endpoint, prompt, max_tokens=config.max_tokens, timeout_s=config.timeout_s)

    notes = []
    for i in range(config.warmup_requests):
        rec = asyncio.run(go(prompts[-1 - i % len(prompts)]))  # from the end: the levels start at the front
        if rec.error == "connection_error":
            raise SetupError(f"--url: nothing answers at {endpoint.host} (connection refused); start the server or fix the URL")
        if rec.error in ("http_401", "http_403"):
            raise MeasurementError(f"{endpoint.host} refused the request ({rec.error[5:]}): check the key in the variable named by --api-key-env")
        if rec.error == "http_404":
            raise MeasurementError(f"{endpoint.host} answered 404: the URL must end with /v1 (e.g. http://127.0.0.1:8000/v1) "
                               "and --model-name must be a model the server serves")
        if rec.error:
            notes.append(f"warm-up request {i + 1} ended with {rec.error}")
    return notes


def _server_alive(level: tuple[list[RequestRecord], float]) -> bool:
    """A level may be measured again on a quieter machine only if its server was still there: a level that lost its
    connections is a finding, not noise."""
    return not any(r.error in ("connection_error", "connection_lost") for r in level[0])


def serving_profile(endpoint: Endpoint, prompts: Sequence[Prompt], config: SweepConfig, *, out_path: str | Path, slo: Slo = Slo(),
                    backend: str = "api", model_path: str | Path | None = None, model: ModelInfo | None = None, server_notes: Sequence[str] = (),
                    engine_version: str = "unknown", n_ctx: int | None = None, n_threads: int | None = None,
                    progress: bool = True, on_record: Callable[[RequestRecord], None] | None = None,
                    on_level: Callable[[ServingLevel], None] | None = None) -> Profile:
    """Sweep the load levels in increasing order and write the profile atomically after each one.

    Stops at the knee (a level missing the SLO, goodput falling, errors above the bound) unless told not to, and
    when the server stops answering (status stays `partial`). Ctrl-C keeps the finished levels.
    """
    levels = sorted({float(x) for x in config.levels})
    if not levels or config.requests_per_level < 1:
        raise InputError("--concurrency / --rate / --requests: give at least one level and one request per level")
    endpoint.headers()  # a missing key variable fails now, not mid-sweep
    local = endpoint.is_loopback
    profile = ServingProfile(
        created_at=datetime.now(UTC), tool_version=__version__, status="partial",
        model=model or model_info(endpoint, model_path),
        engine=EngineInfo(name="openai-http", version=engine_version, backend=backend, endpoint_host=endpoint.host,
                          n_ctx=n_ctx, n_threads=n_threads, server_notes=list(server_notes)),
        hardware=fingerprint(),
        settings=ProfileSettings(
            warmup_runs=config.warmup_requests, min_reps=1, max_reps=1, target_ci_pct=0.0, time_budget_s=config.max_duration_s,
            extra={"mode": config.mode, "levels": [int(x) if x.is_integer() else x for x in levels] if config.mode == "concurrency" else
                   ",".join(f"{x:g}" for x in levels), "requests_per_level": config.requests_per_level,
                   "max_tokens": config.max_tokens, "timeout_s": config.timeout_s, "chat": endpoint.chat,
                   "prompt_tokens_mean": round(float(np.mean([p.approx_tokens for p in prompts])), 1), "n_prompts": len(prompts)}),
        notes=["serving profile: streamed requests through the OpenAI HTTP API under load (llm-planner load generator); "
               "ITL is the gap between streamed content chunks"]
        + ([] if local else ["hardware describes the client that generated the load, not the server"]),
    )
    out_path = Path(out_path)
    profile.notes += _warm_up(endpoint, prompts, config)  # a dead endpoint fails here, before any file is written
    best = 0.0
    with MeasuringSession(profile, out_path, what="load levels") as run:
        for target in tqdm(levels, desc=f"load levels ({config.mode})", disable=not progress):
            records, elapsed = run.measured(lambda: asyncio.run(run_level(  # noqa: B023 - run now, inside this iteration
                endpoint, prompts, mode=config.mode, target=target, max_requests=config.requests_per_level,
                max_duration_s=config.max_duration_s, max_tokens=config.max_tokens, timeout_s=config.timeout_s,
                seed=len(profile.serving), on_record=on_record)), may_repeat=_server_alive)
            try:
                level = summarize_level(records, elapsed, mode=config.mode, target=target, slo=slo)
            except (ValidationError, MeasurementError) as exc:  # the finished levels stay in the file whatever this one did
                why = first_error(exc) if isinstance(exc, ValidationError) else str(exc)
                profile.notes.append(f"{config.mode} {target:g}: not recorded — {why}")
                run.stop_early(f"the sweep stopped at {config.mode} {target:g}")
                run.save()
                raise UntrustworthyMeasurement(f"{config.mode} {target:g} gave figures that are not physical ({why}); "
                                               f"the {len(profile.serving)} finished levels are saved in {out_path} (status: partial)") from None
            profile.serving.append(level)
            run.save()
            if on_level is not None:
                on_level(level)
            if (level.errors.get("connection_error") or level.errors.get("connection_lost")) and not answers(endpoint):
                run.stop_early(f"the server stopped answering during {config.mode} {target:g}; later levels were not run")
                run.save()
                return profile  # status stays partial
            if config.stop_at_knee and past_knee(level, best, config):
                profile.notes.append(f"sweep stopped after {config.mode} {target:g}: past the knee")
                break
            best = max(best, level.goodput_request_s or 0.0)
        found = knee(profile.serving, config)
        if found is not None:
            profile.settings.extra["knee_target"] = found.target
            profile.notes.append(f"knee: {config.mode} {found.target:g} — goodput {found.goodput_request_s:.3g} req/s, "
                                 f"{found.slo_attainment:.0%} of requests within the SLO")
    return profile

