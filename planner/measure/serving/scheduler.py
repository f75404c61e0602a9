"""One load level: requests at a fixed concurrency or as Poisson arrivals, bounded by count and wall time."""
from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import Literal

import httpx
import numpy as np

from planner.core.errors import InputError
from planner.measure.serving.client import Endpoint, RequestRecord, one_request
from planner.measure.serving.prompts import Prompt

Mode = Literal["concurrency", "rate"]


# --------------------------------------------------------------------------------------------------- one load level

def _finished_prefix(records: list[RequestRecord]) -> list[RequestRecord]:
    """The requests sent before the first one still in flight (its placeholder), all finished."""
    for i, r in enumerate(records):
        if r.error == "cancelled_at_level_end":
            return records[:i]
    return records


def _cancelled() -> RequestRecord:
    """Placeholder of a request in flight; it stays only if the level's wall-time bound cancels the request."""
    return RequestRecord(outcome="timed_out", error="cancelled_at_level_end")


async def run_level(endpoint: Endpoint, prompts: Sequence[Prompt], *, mode: Mode, target: float, max_requests: int,
                    max_duration_s: float, max_tokens: int, timeout_s: float = 60.0, seed: int = 0,
                    on_record: Callable[[RequestRecord], None] | None = None,
                    enough: Callable[[Sequence[RequestRecord]], bool] | None = None) -> tuple[list[RequestRecord], float]:
    """Run one load level; returns one record per request sent, and the wall time.

    Concurrency: `target` workers each send the next request when the previous one ends. Rate: Poisson arrivals at
    `target` requests/s, independent of completions (an open loop, so a saturated server shows up as queueing).
    No request starts after `max_duration_s`; every request ends within `timeout_s`. Rate mode stops sending early
    once `enough(done)` holds, `done` being the finished requests that arrived before every request still in flight
    (in arrival order: the first arrivals of the same schedule, so a shorter run is a prefix of the longer one).
    """
    if mode not in ("concurrency", "rate"):
        raise InputError(f"mode: use 'concurrency' or 'rate' (got {mode!r})")
    if target <= 0 or max_requests < 1 or max_duration_s <= 0 or timeout_s <= 0 or max_tokens < 1 or not prompts:
        raise InputError("load level: target, requests, duration, timeout and max_tokens must be positive")
    if mode == "concurrency" and target != int(target):
        raise InputError(f"--concurrency: levels must be whole numbers (got {target:g})")
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
                if enough is not None and enough(_finished_prefix(records)):
                    break
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


