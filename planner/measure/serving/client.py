"""One streaming request against an OpenAI-compatible endpoint, and the endpoint's own questions (/models, alive?).

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
from dataclasses import dataclass, field
from typing import Literal

import httpx
import numpy as np

from planner.core.errors import InputError, SetupError
from planner.core.units import is_loopback
from planner.measure.serving.prompts import Prompt

Outcome = Literal["ok", "failed", "timed_out"]


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
            raise InputError("--url: expected an http(s) URL such as http://127.0.0.1:8000/v1")
        object.__setattr__(self, "base_url", self.base_url.rstrip("/"))

    @property
    def host(self) -> str:
        """host:port only — no scheme, credentials, path or query."""
        url = httpx.URL(self.base_url)
        host = f"[{url.host}]" if ":" in url.host else url.host
        return f"{host}:{url.port or (443 if url.scheme == 'https' else 80)}"

    @property
    def is_loopback(self) -> bool:
        return is_loopback(httpx.URL(self.base_url).host)

    @property
    def url(self) -> str:
        return self.base_url + ("/chat/completions" if self.chat else "/completions")

    def headers(self) -> dict[str, str]:
        if not self.api_key_env:
            return {}
        key = os.environ.get(self.api_key_env)
        if not key:
            raise InputError(f"--api-key-env: the environment variable {self.api_key_env} is not set (or empty)")
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
    usage_implausible: bool = False  # the server's usage block gave counts no request can have: stream counts used


MAX_PROMPT_TOKENS = 10_000_000  # above any model's context: a usage count past it is the server's bug, not a prompt


def _plausible_usage(usage: dict | None, *, max_tokens: int, streamed: int) -> tuple[int | None, int | None, bool]:
    """(completion, prompt, implausible) from a usage block. A server may not return more tokens than `max_tokens`
    asked for (the streamed chunks are a lower bound on what it sent); counts outside that, negative or not integers are
    recorded as implausible and the request falls back to what the stream showed — one buggy server must not make a
    level's tokens/s unphysical and lose the measurement."""
    if not usage:
        return None, None, False
    completion, prompt = usage.get("completion_tokens"), usage.get("prompt_tokens")
    def is_int(v) -> bool:
        return isinstance(v, int) and not isinstance(v, bool)
    bad = ((completion is not None and not (is_int(completion) and 0 <= completion <= 2 * max(max_tokens, streamed) + 16))
           or (prompt is not None and not (is_int(prompt) and 0 <= prompt <= MAX_PROMPT_TOKENS)))
    if bad:
        return None, None, True
    return (completion if is_int(completion) else None), (prompt if is_int(prompt) else None), False


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
    completion, prompt_tokens, implausible = _plausible_usage(usage, max_tokens=max_tokens, streamed=len(stamps))
    return RequestRecord(
        outcome=outcome, error=kind, ttft_s=stamps[0] - start if stamps else None, itl_s=np.diff(stamps).tolist(),
        e2e_s=end - start, output_tokens=completion if completion is not None else len(stamps),
        prompt_tokens=prompt_tokens if prompt_tokens is not None else prompt.approx_tokens,
        usage_reported=completion is not None, usage_implausible=implausible)




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
        raise SetupError(f"--url: nothing answers at {endpoint.host} (connection refused)") from None
    except (httpx.HTTPError, ValueError, AttributeError):
        return []


