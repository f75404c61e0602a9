"""OpenAI-compatible load generator: streaming requests at a fixed concurrency or a Poisson rate, with goodput.

It speaks the OpenAI HTTP API (`/v1/completions` or `/v1/chat/completions`, `stream: true`), so the same code
measures llama-cpp-python's server, llama.cpp's `llama-server`, `vllm serve` and the hosted APIs. Every request
ends in exactly one bucket — succeeded, failed (HTTP error, refused connection, malformed or cut-off stream) or
timed out — so `sent == succeeded + failed + timed_out` always. Loops are bounded by request count and wall time.
The API key is read from an environment variable at call time and never stored in a profile.
"""
from __future__ import annotations

import asyncio
import json
import os
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import httpx
import numpy as np

from .errors import PlannerError
from .schema import ServingLevel
from .stats import summarize

_WORDS = ("the of and to in is that for it as was with be by on not he this are or his from at which but have an they you "
          "were her she there been one all we their has would when if so no will can more other who its time about up out them "
          "only into some could these than first new very like then now over such our man me even most made after also did many "
          "before must through back years where much your way well down should because each just those people how too little "
          "state good very make world still own see men work long get here between both life being under never day same another "
          "know while last might us great old year off come since against go came right used take three").split()


@dataclass(frozen=True)
class Prompt:
    body: dict
    approx_tokens: int


def synthetic_prompts(n: int, *, mean_tokens: int, std_tokens: float = 0.0, seed: int = 0, chat: bool = False) -> list[Prompt]:
    """Prompts of roughly `mean_tokens` words (≈ tokens for common English words), lengths normally distributed."""
    if mean_tokens < 1 or n < 1:
        raise PlannerError("prompt_tokens / requests: must be positive")
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        length = max(1, int(round(rng.gauss(mean_tokens, std_tokens)))) if std_tokens else mean_tokens
        text = " ".join(rng.choice(_WORDS) for _ in range(length))
        body = {"messages": [{"role": "user", "content": text}]} if chat else {"prompt": text}
        out.append(Prompt(body, length))
    return out


def jsonl_prompts(path: str | Path, *, chat: bool) -> list[Prompt]:
    """Real prompts, one JSON object per line: {"prompt": ...} or {"messages": [...]}."""
    prompts = []
    for i, line in enumerate(Path(path).read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            raise PlannerError(f"{path}: line {i} is not JSON") from None
        if chat and "messages" in row:
            body, text = {"messages": row["messages"]}, " ".join(m.get("content", "") for m in row["messages"])
        elif "prompt" in row:
            body, text = ({"messages": [{"role": "user", "content": row["prompt"]}]} if chat else {"prompt": row["prompt"]}), row["prompt"]
        else:
            raise PlannerError(f"{path}: line {i} needs a 'prompt' (or, for chat, 'messages') field")
        prompts.append(Prompt(body, len(text.split())))
    if not prompts:
        raise PlannerError(f"{path}: no prompts found")
    return prompts


Outcome = Literal["ok", "failed", "timed_out"]


@dataclass
class RequestRecord:
    outcome: Outcome
    error: str | None = None
    ttft_s: float | None = None
    itl_s: list[float] = field(default_factory=list)
    e2e_s: float | None = None
    output_tokens: int = 0
    prompt_tokens: int | None = None


@dataclass(frozen=True)
class Endpoint:
    """Where to send requests. `api_key_env` names the environment variable holding the key (never the key)."""

    base_url: str  # e.g. http://127.0.0.1:8000/v1
    model: str
    chat: bool = False
    api_key_env: str | None = None

    @property
    def host(self) -> str:
        return httpx.URL(self.base_url).netloc.decode()

    def headers(self) -> dict[str, str]:
        if not self.api_key_env:
            return {}
        key = os.environ.get(self.api_key_env)
        if not key:
            raise PlannerError(f"--api-key-env: the environment variable {self.api_key_env} is not set")
        return {"Authorization": f"Bearer {key}"}

    @property
    def path(self) -> str:
        return "/chat/completions" if self.chat else "/completions"


def _delta_text(chunk: dict, chat: bool) -> str:
    choices = chunk.get("choices") or []
    if not choices:
        return ""
    c = choices[0]
    return (c.get("delta") or {}).get("content") or "" if chat else c.get("text") or ""


async def one_request(client: httpx.AsyncClient, endpoint: Endpoint, prompt: Prompt, *, max_tokens: int, timeout_s: float) -> RequestRecord:
    """Send one streaming request; classify its outcome and time every streamed token."""
    body = {"model": endpoint.model, "max_tokens": max_tokens, "stream": True, "temperature": 0,
            "stream_options": {"include_usage": True}, **prompt.body}
    start = time.perf_counter()
    rec = RequestRecord(outcome="failed")
    last = None

    async def consume() -> None:
        nonlocal last
        async with client.stream("POST", endpoint.base_url + endpoint.path, json=body, headers=endpoint.headers()) as resp:
            if resp.status_code >= 400:
                rec.error = f"http_{resp.status_code}"
                await resp.aread()
                return
            done = False
            async for line in resp.aiter_lines():
                if not line.startswith("data:"):
                    continue
                payload = line[5:].strip()
                if payload == "[DONE]":
                    done = True
                    break
                try:
                    chunk = json.loads(payload)
                except json.JSONDecodeError:
                    rec.error = "malformed_sse"
                    return
                if chunk.get("usage"):
                    rec.prompt_tokens = chunk["usage"].get("prompt_tokens")
                    rec.output_tokens = chunk["usage"].get("completion_tokens") or rec.output_tokens
                if _delta_text(chunk, endpoint.chat):
                    now = time.perf_counter()
                    if last is None:
                        rec.ttft_s = now - start
                    else:
                        rec.itl_s.append(now - last)
                    last = now
                    if not chunk.get("usage"):
                        rec.output_tokens += 1
            if not done:
                rec.error = "stream_closed_without_done"
                return
            rec.outcome = "ok"
            rec.e2e_s = time.perf_counter() - start

    try:
        await asyncio.wait_for(consume(), timeout=timeout_s)
    except asyncio.TimeoutError:
        rec.outcome, rec.error = "timed_out", "timeout"
    except httpx.TimeoutException:
        rec.outcome, rec.error = "timed_out", "timeout"
    except (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
        rec.outcome, rec.error = "failed", type(exc).__name__
    if rec.outcome == "ok" and rec.ttft_s is None:
        rec.outcome, rec.error = "failed", "no_tokens"
    return rec


@dataclass(frozen=True)
class Slo:
    ttft_s: float = float("inf")
    itl_s: float = float("inf")

    def met_by(self, rec: RequestRecord) -> bool:
        itl = float(np.percentile(rec.itl_s, 95)) if rec.itl_s else 0.0
        return rec.outcome == "ok" and rec.ttft_s is not None and rec.ttft_s <= self.ttft_s and itl <= self.itl_s


async def run_level(endpoint: Endpoint, prompts: list[Prompt], *, mode: Literal["concurrency", "rate"], target: float,
                    max_requests: int, max_duration_s: float, max_tokens: int, timeout_s: float = 60.0,
                    seed: int = 0, on_record=None) -> tuple[list[RequestRecord], float]:
    """Run one load level; returns every request's record and the wall time. Bounded by count and time."""
    if target <= 0 or max_requests < 1 or max_duration_s <= 0:
        raise PlannerError("target / requests / duration: must be positive")
    records: list[RequestRecord] = []
    limits = httpx.Limits(max_connections=max(int(target) * 2, 8) if mode == "concurrency" else 256)
    start = time.perf_counter()
    sent = 0

    def next_prompt() -> Prompt:
        return prompts[sent % len(prompts)]

    async with httpx.AsyncClient(timeout=httpx.Timeout(timeout_s, connect=5.0), limits=limits) as client:
        async def fire(prompt: Prompt) -> None:
            rec = await one_request(client, endpoint, prompt, max_tokens=max_tokens, timeout_s=timeout_s)
            records.append(rec)
            if on_record:
                on_record(rec)

        if mode == "concurrency":
            async def worker() -> None:
                nonlocal sent
                while sent < max_requests and time.perf_counter() - start < max_duration_s:
                    prompt = next_prompt()
                    sent += 1
                    await fire(prompt)
            await asyncio.gather(*(worker() for _ in range(int(target))))
        else:
            rng = np.random.default_rng(seed)
            tasks = []
            next_at = start
            while sent < max_requests:
                next_at += rng.exponential(1.0 / target)
                if next_at - start >= max_duration_s:
                    break
                await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
                tasks.append(asyncio.create_task(fire(next_prompt())))
                sent += 1
            if tasks:
                await asyncio.wait(tasks, timeout=timeout_s + 5)
                for t in tasks:
                    if not t.done():
                        t.cancel()
    elapsed = time.perf_counter() - start
    missing = sent - len(records)  # cancelled at the end of a Poisson level: they count as timed out, never lost
    records.extend(RequestRecord(outcome="timed_out", error="cancelled_at_level_end") for _ in range(missing))
    return records, elapsed


def summarize_level(records: list[RequestRecord], elapsed_s: float, *, mode: str, target: float, slo: Slo) -> ServingLevel:
    """Throughput, latency percentiles, goodput and exact accounting of one level."""
    ok = [r for r in records if r.outcome == "ok"]
    failed = sum(r.outcome == "failed" for r in records)
    timed_out = sum(r.outcome == "timed_out" for r in records)
    assert len(ok) + failed + timed_out == len(records)
    errors: dict[str, int] = {}
    for r in records:
        if r.error:
            errors[r.error] = errors.get(r.error, 0) + 1
    itl = [g * 1000 for r in ok for g in r.itl_s]
    return ServingLevel(
        mode=mode, target=target, duration_s=elapsed_s, sent=len(records), succeeded=len(ok), failed=failed, timed_out=timed_out,
        request_s=len(ok) / elapsed_s if elapsed_s > 0 else 0.0,
        output_tok_s=sum(r.output_tokens for r in ok) / elapsed_s if elapsed_s > 0 else 0.0,
        ttft_ms=summarize([r.ttft_s * 1000 for r in ok], "ms") if ok else None,
        itl_ms=summarize(itl, "ms") if itl else None,
        e2e_ms=summarize([r.e2e_s * 1000 for r in ok], "ms") if ok else None,
        goodput_request_s=sum(slo.met_by(r) for r in ok) / elapsed_s if elapsed_s > 0 else 0.0,
        slo={"ttft_s": slo.ttft_s, "itl_p95_s": slo.itl_s} if np.isfinite(slo.ttft_s) or np.isfinite(slo.itl_s) else None,
        errors=errors,
    )
