"""OpenAI-compatible load generator: streaming requests at a fixed concurrency or a Poisson rate, with goodput.

It speaks the OpenAI HTTP API (`/completions` or `/chat/completions` with `stream: true`), so the same code measures
llama-cpp-python's server, llama.cpp's `llama-server`, `vllm serve` and hosted APIs. Every request sent ends in
exactly one bucket — succeeded, failed (HTTP error, refused or lost connection, malformed stream, stream closed
without `[DONE]`) or timed out — so `sent == succeeded + failed + timed_out` holds for every level, including one
cut short by a dying server. Loops are bounded by request count and by wall time and stop by themselves.

The API key is read from a named environment variable when requests are sent; neither the key nor the variable's
name nor the URL (which may carry credentials) is written into a profile: only `host:port`.
"""
from __future__ import annotations

import asyncio
import json
import os
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

import httpx
import numpy as np

from . import __version__
from .errors import PlannerError
from .fsutil import sha256_file
from .gguf_meta import read_model_info
from .hardware import fingerprint
from .schema import EngineInfo, ModelInfo, Profile, ProfileSettings, ServingLevel, save_profile
from .stats import summarize

Mode = Literal["concurrency", "rate"]
Outcome = Literal["ok", "failed", "timed_out"]

# Common English words: one token each for most tokenizers, so a prompt of N words is about N tokens.
_WORDS = np.array((
    "the of and to in is that for it as was with be by on not he this are or his from at which but have an they you were "
    "her she there been one all we their has would when if so no will can more other who its time about up out them only "
    "into some could these than first new very like then now over such our man me even most made after also did many "
    "before must through back years where much your way well down should because each just those people how too little "
    "state good make world still own see men work long get here between both life being under never day same another "
    "know while last might us great old year off come since against go came right used take three").split())


# --------------------------------------------------------------------------------------------------- prompts

@dataclass(frozen=True)
class Prompt:
    body: dict  # {"prompt": ...} or {"messages": [...]}, merged into the request
    approx_tokens: int  # words; used when the server reports no usage


def synthetic_prompts(n: int, *, mean_tokens: int, std_tokens: float = 0.0, distribution: Literal["normal", "lognormal"] = "normal",
                      seed: int = 0, chat: bool = False) -> list[Prompt]:
    """`n` distinct prompts of random common words (distinct, so no server prefix cache makes them free)."""
    if n < 1 or mean_tokens < 1 or std_tokens < 0:
        raise PlannerError("--prompt-tokens / --requests: must be positive (and the spread non-negative)")
    rng = np.random.default_rng(seed)
    if std_tokens == 0:
        lengths = np.full(n, mean_tokens)
    elif distribution == "lognormal":  # real prompt lengths are right-skewed
        sigma2 = np.log1p((std_tokens / mean_tokens) ** 2)
        lengths = rng.lognormal(np.log(mean_tokens) - sigma2 / 2, np.sqrt(sigma2), n)
    elif distribution == "normal":
        lengths = rng.normal(mean_tokens, std_tokens, n)
    else:
        raise PlannerError(f"prompt length distribution: use normal or lognormal (got {distribution!r})")
    lengths = np.maximum(1, np.rint(lengths)).astype(int)
    words = _WORDS[rng.integers(len(_WORDS), size=int(lengths.sum()))]
    texts = [" ".join(chunk) for chunk in np.split(words, np.cumsum(lengths)[:-1])]
    return [Prompt({"messages": [{"role": "user", "content": t}]} if chat else {"prompt": t}, int(k)) for t, k in zip(texts, lengths)]


def jsonl_prompts(path: str | Path, *, chat: bool) -> list[Prompt]:
    """Real prompts, one JSON object per line: {"prompt": "..."} or, for chat, {"messages": [...]}."""
    path = Path(path)
    if not path.is_file():
        raise PlannerError(f"--prompts: file not found: {path}")
    prompts = []
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            raise PlannerError(f"{path.name}: line {i} is not JSON") from None
        messages = row.get("messages") if isinstance(row, dict) else None
        text = row.get("prompt") if isinstance(row, dict) else None
        if messages is not None:
            if not chat:
                raise PlannerError(f"{path.name}: line {i} has chat 'messages'; add --chat (or give a 'prompt' string)")
            if not isinstance(messages, list) or not all(isinstance(m, dict) and isinstance(m.get("content"), str) for m in messages):
                raise PlannerError(f"{path.name}: line {i}: 'messages' must be a list of {{\"role\": ..., \"content\": \"...\"}}")
            prompts.append(Prompt({"messages": messages}, sum(len(m["content"].split()) for m in messages)))
        elif isinstance(text, str):
            prompts.append(Prompt({"messages": [{"role": "user", "content": text}]} if chat else {"prompt": text}, len(text.split())))
        else:
            raise PlannerError(f"{path.name}: line {i} needs a 'prompt' string (or, with --chat, 'messages')")
    if not prompts:
        raise PlannerError(f"{path.name}: no prompts found")
    return prompts


# --------------------------------------------------------------------------------------------------- one request

@dataclass(frozen=True)
class Endpoint:
    """Where requests go. `api_key_env` names the environment variable holding the key (never the key itself)."""

    base_url: str  # e.g. http://127.0.0.1:8000/v1
    model: str
    chat: bool = False
    api_key_env: str | None = None

    def __post_init__(self) -> None:
        try:
            url = httpx.URL(self.base_url)
        except (httpx.InvalidURL, TypeError):
            url = None
        if url is None or url.scheme not in ("http", "https") or not url.host or not 0 < (url.port or 80) < 65536:
            raise PlannerError("--url: expected an http(s) URL such as http://127.0.0.1:8000/v1")
        object.__setattr__(self, "base_url", self.base_url.rstrip("/"))

    @property
    def host(self) -> str:
        """host:port only — no scheme, credentials, path or query."""
        url = httpx.URL(self.base_url)
        host = f"[{url.host}]" if ":" in url.host else url.host
        return f"{host}:{url.port or (443 if url.scheme == 'https' else 80)}"

    @property
    def is_loopback(self) -> bool:
        return httpx.URL(self.base_url).host in ("127.0.0.1", "localhost", "::1")

    @property
    def url(self) -> str:
        return self.base_url + ("/chat/completions" if self.chat else "/completions")

    def headers(self) -> dict[str, str]:
        if not self.api_key_env:
            return {}
        key = os.environ.get(self.api_key_env)
        if not key:
            raise PlannerError(f"--api-key-env: the environment variable {self.api_key_env} is not set (or empty)")
        return {"Authorization": f"Bearer {key}"}

    def client(self, **kwargs) -> httpx.AsyncClient:
        # Environment proxies are honoured for remote APIs only: loopback traffic must stay on this machine.
        return httpx.AsyncClient(trust_env=not self.is_loopback, **kwargs)


@dataclass
class RequestRecord:
    outcome: Outcome
    error: str | None = None  # http_<code>, timeout, connection_error, connection_lost, malformed_stream, stream_error,
    #                           closed_without_done, empty_response, client_<Exception>, cancelled_at_level_end
    ttft_s: float | None = None
    itl_s: list[float] = field(default_factory=list)  # gaps between content chunks
    e2e_s: float | None = None
    output_tokens: int = 0
    prompt_tokens: int | None = None
    usage_reported: bool = False


def _content(chunk: object, chat: bool) -> str:
    if not isinstance(chunk, dict):
        raise ValueError("chunk is not a JSON object")
    choices = chunk.get("choices") or []
    if not isinstance(choices, list):
        raise ValueError("choices is not a list")
    if not choices:
        return ""
    c = choices[0]
    if not chat:
        return c.get("text") or ""
    delta = c.get("delta") or {}
    return delta.get("content") or delta.get("reasoning_content") or delta.get("reasoning") or ""  # reasoning counts as output


async def _read_stream(resp: httpx.Response, chat: bool, stamps: list[float]) -> tuple[str | None, dict | None]:
    """Time every content chunk; returns (error kind or None, usage block)."""
    usage = None
    async for line in resp.aiter_lines():
        if not line.startswith("data:"):
            continue  # blank separators, ": ping" comments, event:/id: lines
        payload = line[5:].strip()
        if payload == "[DONE]":
            return None, usage
        chunk = json.loads(payload)
        if isinstance(chunk, dict) and "error" in chunk:
            return "stream_error", usage
        if _content(chunk, chat):
            stamps.append(time.perf_counter())
        if isinstance(chunk.get("usage"), dict):
            usage = chunk["usage"]
    return "closed_without_done", usage


async def one_request(client: httpx.AsyncClient, endpoint: Endpoint, prompt: Prompt, *, max_tokens: int, timeout_s: float,
                      headers: dict[str, str] | None = None) -> RequestRecord:
    """Send one streaming request and classify it; never raises for anything the server or network does."""
    body = {"model": endpoint.model, "max_tokens": max_tokens, "stream": True, "temperature": 0.0,
            "stream_options": {"include_usage": True}, **prompt.body}
    stamps: list[float] = []
    usage: dict | None = None
    start = time.perf_counter()
    try:
        async with asyncio.timeout(timeout_s):
            async with client.stream("POST", endpoint.url, json=body, headers=headers if headers is not None else endpoint.headers()) as resp:
                if resp.status_code != 200:
                    kind = f"http_{resp.status_code}"
                else:
                    kind, usage = await _read_stream(resp, endpoint.chat, stamps)
    except (TimeoutError, httpx.TimeoutException):
        kind = "timeout"
    except httpx.ConnectError:
        kind = "connection_error"
    except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError, httpx.CloseError):
        kind = "connection_lost"
    except (ValueError, TypeError, KeyError, AttributeError):  # JSON and shape errors; UnicodeDecodeError is a ValueError
        kind = "malformed_stream"
    except Exception as exc:  # noqa: BLE001 - a load test counts every request; the class name carries no secrets
        kind = f"client_{type(exc).__name__}"
    end = time.perf_counter()
    if kind is None and not stamps:
        kind = "empty_response"
    outcome: Outcome = "ok" if kind is None else "timed_out" if kind == "timeout" else "failed"
    completion = usage.get("completion_tokens") if usage else None
    prompt_tokens = usage.get("prompt_tokens") if usage else None
    return RequestRecord(
        outcome=outcome, error=kind, ttft_s=stamps[0] - start if stamps else None, itl_s=np.diff(stamps).tolist(),
        e2e_s=end - start, output_tokens=completion if isinstance(completion, int) else len(stamps),
        prompt_tokens=prompt_tokens if isinstance(prompt_tokens, int) else prompt.approx_tokens,
        usage_reported=isinstance(completion, int))


# --------------------------------------------------------------------------------------------------- one load level

def _cancelled() -> RequestRecord:
    """Placeholder of a request in flight; it stays only if the level's wall-time bound cancels the request."""
    return RequestRecord(outcome="timed_out", error="cancelled_at_level_end")


async def run_level(endpoint: Endpoint, prompts: Sequence[Prompt], *, mode: Mode, target: float, max_requests: int,
                    max_duration_s: float, max_tokens: int, timeout_s: float = 60.0, seed: int = 0,
                    on_record: Callable[[RequestRecord], None] | None = None) -> tuple[list[RequestRecord], float]:
    """Run one load level; returns one record per request sent, and the wall time.

    Concurrency: `target` workers each send the next request when the previous one ends. Rate: Poisson arrivals at
    `target` requests/s, independent of completions (an open loop, so a saturated server shows up as queueing).
    No request starts after `max_duration_s`; every request ends within `timeout_s`.
    """
    if mode not in ("concurrency", "rate"):
        raise PlannerError(f"mode: use 'concurrency' or 'rate' (got {mode!r})")
    if target <= 0 or max_requests < 1 or max_duration_s <= 0 or timeout_s <= 0 or max_tokens < 1 or not prompts:
        raise PlannerError("load level: target, requests, duration, timeout and max_tokens must be positive")
    if mode == "concurrency" and target != int(target):
        raise PlannerError(f"--concurrency: levels must be whole numbers (got {target:g})")
    headers = endpoint.headers()
    records: list[RequestRecord] = []
    in_flight = int(target) if mode == "concurrency" else min(max_requests, 512)
    start = time.perf_counter()

    async with endpoint.client(timeout=httpx.Timeout(timeout_s, connect=min(5.0, timeout_s)),
                               limits=httpx.Limits(max_connections=in_flight, max_keepalive_connections=in_flight)) as client:
        async def send(slot: int) -> None:
            rec = await one_request(client, endpoint, prompts[slot % len(prompts)], max_tokens=max_tokens, timeout_s=timeout_s, headers=headers)
            records[slot] = rec
            if on_record is not None:
                on_record(rec)

        def reserve() -> int:  # the request counts as sent from here on, whatever happens to it
            records.append(_cancelled())
            return len(records) - 1

        async def worker() -> None:
            while len(records) < max_requests and time.perf_counter() - start < max_duration_s:
                await send(reserve())

        async def open_loop() -> None:
            arrivals = np.cumsum(np.random.default_rng(seed).exponential(1.0 / target, size=max_requests))
            tasks = []
            for at in arrivals[arrivals < max_duration_s]:
                await asyncio.sleep(max(0.0, start + at - time.perf_counter()))
                tasks.append(asyncio.create_task(send(reserve())))
            await asyncio.gather(*tasks)

        try:
            async with asyncio.timeout(max_duration_s + timeout_s + 5.0):  # belt and braces over the per-request timeouts
                if mode == "concurrency":
                    await asyncio.gather(*(worker() for _ in range(int(target))))
                else:
                    await open_loop()
        except TimeoutError:
            pass  # requests still in flight keep their `cancelled_at_level_end` placeholder
    return records, time.perf_counter() - start


@dataclass(frozen=True)
class Slo:
    """Goodput limits: time to first token, and each request's own p95 inter-token latency (seconds)."""

    ttft_s: float = float("inf")
    itl_s: float = float("inf")

    def met(self, records: Sequence[RequestRecord]) -> np.ndarray:
        """Per request: succeeded within both limits."""
        ok = np.array([r.outcome == "ok" for r in records], bool)
        ttft = np.array([r.ttft_s if r.outcome == "ok" else np.nan for r in records], float)
        itl95 = np.array([np.percentile(r.itl_s, 95) if r.itl_s else 0.0 for r in records], float)
        return ok & (ttft <= self.ttft_s) & (itl95 <= self.itl_s)

    def as_dict(self) -> dict[str, float] | None:
        limits = {"ttft_s": self.ttft_s, "itl_p95_s": self.itl_s}
        return {k: v for k, v in limits.items() if np.isfinite(v)} or None


def summarize_level(records: Sequence[RequestRecord], elapsed_s: float, *, mode: Mode, target: float, slo: Slo) -> ServingLevel:
    """Throughput, latency percentiles, goodput and the exact accounting of one level."""
    if not records or elapsed_s <= 0:
        raise PlannerError("a load level sent no requests; give more --duration or --requests")
    outcomes = Counter(r.outcome for r in records)
    sent, succeeded, failed, timed_out = len(records), outcomes["ok"], outcomes["failed"], outcomes["timed_out"]
    assert sent == succeeded + failed + timed_out, "every request ends in exactly one bucket"
    ok = [r for r in records if r.outcome == "ok"]
    met = slo.met(records)
    itl_ms = [g * 1000 for r in ok for g in r.itl_s]
    usage = {r.usage_reported for r in ok}
    return ServingLevel(
        mode=mode, target=float(target), duration_s=elapsed_s, sent=sent, succeeded=succeeded, failed=failed, timed_out=timed_out,
        request_s=succeeded / elapsed_s,
        output_tok_s=sum(r.output_tokens for r in ok) / elapsed_s,
        ttft_ms=summarize([r.ttft_s * 1000 for r in ok], "ms") if ok else None,
        itl_ms=summarize(itl_ms, "ms") if itl_ms else None,
        e2e_ms=summarize([r.e2e_s * 1000 for r in ok], "ms") if ok else None,
        goodput_request_s=int(met.sum()) / elapsed_s,
        slo=slo.as_dict(),
        errors=dict(sorted(Counter(r.error for r in records if r.error).items())),
        slo_attainment=float(met.mean()),
        prompt_tokens_mean=float(np.mean([r.prompt_tokens for r in ok])) if ok else None,
        output_tokens_mean=float(np.mean([r.output_tokens for r in ok])) if ok else None,
        tokens_source=None if not ok else "mixed" if len(usage) > 1 else "usage" if True in usage else "stream",
    )


# --------------------------------------------------------------------------------------------------- sweep → profile

@dataclass(frozen=True)
class SweepConfig:
    mode: Mode = "concurrency"
    levels: tuple[float, ...] = (1, 2, 4, 8)  # run in increasing order
    requests_per_level: int = 32
    max_duration_s: float = 120.0
    max_tokens: int = 32
    timeout_s: float = 60.0
    warmup_requests: int = 1
    stop_at_knee: bool = True
    max_error_rate: float = 0.5  # stop once more requests than this fail or time out
    min_attainment: float = 0.9  # a level "meets the SLO" when this share of its requests does (DistServe's goodput)
    max_goodput_drop: float = 0.25  # stop when goodput falls this far below the best so far (beyond timing noise)


def knee(levels: Sequence[ServingLevel], config: SweepConfig = SweepConfig()) -> ServingLevel | None:
    """Highest load level that meets the SLO with goodput not yet fallen: the most load worth offering."""
    best, found = 0.0, None
    for lvl in sorted(levels, key=lambda x: x.target):
        goodput = lvl.goodput_request_s or 0.0
        if _past_knee(lvl, best, config):
            break
        best, found = max(best, goodput), lvl
    return found


def _past_knee(lvl: ServingLevel, best_goodput: float, config: SweepConfig) -> bool:
    error_rate = (lvl.failed + lvl.timed_out) / lvl.sent
    return (error_rate > config.max_error_rate or (lvl.slo_attainment or 0.0) < config.min_attainment
            or (lvl.goodput_request_s or 0.0) < (1 - config.max_goodput_drop) * best_goodput)


def model_info(endpoint: Endpoint, model_path: str | Path | None) -> ModelInfo:
    """From the GGUF when its path is known; otherwise the served name, with zeros where nothing is known."""
    if model_path is not None:
        return read_model_info(model_path, sha256=sha256_file(model_path))
    return ModelInfo(file_name=endpoint.model, sha256="", size_bytes=0, name=endpoint.model, architecture="unknown",
                     quant_label="unknown", n_params=0, tensor_bytes=0, bits_per_weight=0.0, tensor_types=[],
                     note="served model: architecture and weights unknown to the load generator")


def answers(endpoint: Endpoint, timeout_s: float = 3.0) -> bool:
    """Whether anything still answers HTTP at the endpoint (any status counts)."""
    try:
        with httpx.Client(trust_env=not endpoint.is_loopback, timeout=timeout_s) as client:
            client.get(endpoint.base_url + "/models", headers=endpoint.headers())
        return True
    except httpx.HTTPError:
        return False


def served_models(endpoint: Endpoint, timeout_s: float = 10.0) -> list[str]:
    """Model ids listed at `/models` (empty when the server has no such route)."""
    try:
        with httpx.Client(trust_env=not endpoint.is_loopback, timeout=timeout_s) as client:
            resp = client.get(endpoint.base_url + "/models", headers=endpoint.headers())
        data = resp.json().get("data", []) if resp.status_code == 200 else []
        return [m["id"] for m in data if isinstance(m, dict) and isinstance(m.get("id"), str)]
    except httpx.ConnectError:
        raise PlannerError(f"--url: nothing answers at {endpoint.host} (connection refused)") from None
    except (httpx.HTTPError, ValueError, AttributeError):
        return []


def _warm_up(endpoint: Endpoint, prompts: Sequence[Prompt], config: SweepConfig) -> list[str]:
    """Uncounted requests before the first level; turns errors a user must fix into one-line errors."""
    async def go(prompt: Prompt) -> RequestRecord:
        async with endpoint.client(timeout=httpx.Timeout(config.timeout_s, connect=5.0)) as client:
            return await one_request(client, endpoint, prompt, max_tokens=config.max_tokens, timeout_s=config.timeout_s)

    notes = []
    for i in range(config.warmup_requests):
        rec = asyncio.run(go(prompts[-1 - i % len(prompts)]))  # from the end: the levels start at the front
        if rec.error == "connection_error":
            raise PlannerError(f"--url: nothing answers at {endpoint.host} (connection refused); start the server or fix the URL")
        if rec.error in ("http_401", "http_403"):
            raise PlannerError(f"{endpoint.host} refused the request ({rec.error[5:]}): check the key in the variable named by --api-key-env")
        if rec.error == "http_404":
            raise PlannerError(f"{endpoint.host} answered 404: the URL must end with /v1 (e.g. http://127.0.0.1:8000/v1) "
                               "and --model-name must be a model the server serves")
        if rec.error:
            notes.append(f"warm-up request {i + 1} ended with {rec.error}")
    return notes


def serving_profile(endpoint: Endpoint, prompts: Sequence[Prompt], config: SweepConfig, *, out_path: str | Path, slo: Slo = Slo(),
                    backend: str = "api", model_path: str | Path | None = None, server_notes: Sequence[str] = (),
                    engine_version: str = "unknown", n_ctx: int | None = None, n_threads: int | None = None,
                    progress: bool = True, on_record: Callable[[RequestRecord], None] | None = None,
                    on_level: Callable[[ServingLevel], None] | None = None) -> Profile:
    """Sweep the load levels in increasing order and write the profile atomically after each one.

    Stops at the knee (a level missing the SLO, goodput falling, errors above the bound) unless told not to, and
    when the server stops answering (status stays `partial`). Ctrl-C keeps the finished levels.
    """
    from tqdm.auto import tqdm

    levels = sorted({float(x) for x in config.levels})
    if not levels or config.requests_per_level < 1:
        raise PlannerError("--concurrency / --rate / --requests: give at least one level and one request per level")
    endpoint.headers()  # a missing key variable fails now, not mid-sweep
    local = endpoint.is_loopback
    profile = Profile(
        created_at=datetime.now(timezone.utc), tool_version=__version__, status="partial",
        model=model_info(endpoint, model_path),
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
    save_profile(profile, out_path)
    profile.notes += _warm_up(endpoint, prompts, config)
    best = 0.0
    try:
        for target in tqdm(levels, desc=f"load levels ({config.mode})", disable=not progress):
            records, elapsed = asyncio.run(run_level(
                endpoint, prompts, mode=config.mode, target=target, max_requests=config.requests_per_level,
                max_duration_s=config.max_duration_s, max_tokens=config.max_tokens, timeout_s=config.timeout_s,
                seed=len(profile.serving), on_record=on_record))
            level = summarize_level(records, elapsed, mode=config.mode, target=target, slo=slo)
            profile.serving.append(level)
            save_profile(profile, out_path)
            if on_level is not None:
                on_level(level)
            if (level.errors.get("connection_error") or level.errors.get("connection_lost")) and not answers(endpoint):
                profile.notes.append(f"the server stopped answering during {config.mode} {target:g}; later levels were not run")
                save_profile(profile, out_path)
                return profile  # status stays partial
            if config.stop_at_knee and _past_knee(level, best, config):
                profile.notes.append(f"sweep stopped after {config.mode} {target:g}: past the knee")
                break
            best = max(best, level.goodput_request_s or 0.0)
    except KeyboardInterrupt:
        profile.notes.append("interrupted: the level in progress was dropped")
        save_profile(profile, out_path)
        raise PlannerError(f"interrupted: the finished load levels are saved in {out_path} (status: partial)") from None
    found = knee(profile.serving, config)
    if found is not None:
        profile.settings.extra["knee_target"] = found.target
        profile.notes.append(f"knee: {config.mode} {found.target:g} — goodput {found.goodput_request_s:.3g} req/s, "
                             f"{found.slo_attainment:.0%} of requests within the SLO")
    profile.status = "complete"
    save_profile(profile, out_path)
    return profile
