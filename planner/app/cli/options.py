"""Parsing of option values shared by the command groups: one line naming the option when a value is bad."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from planner.core.errors import InputError


def _ints(text: str | None, field: str) -> tuple[int, ...]:
    if text is None or text == "":
        return ()
    try:
        return tuple(int(v) for v in text.split(","))
    except ValueError:
        raise InputError(f"{field}: expected comma-separated integers like 1,2,4 (got {text!r})") from None




# The workload and price options `plan` and `compare` share: one declaration each.
Price = Annotated[str, typer.Option(help="on_demand, spot or reserved")]
Requests = Annotated[float, typer.Option(help="requests per month to quote")]
TokensIn = Annotated[float, typer.Option(help="prompt tokens per request")]
TokensOut = Annotated[float, typer.Option(help="output tokens per request")]
TtftSlo = Annotated[float, typer.Option(help="TTFT limit (p95), seconds")]
ItlSlo = Annotated[float, typer.Option(help="inter-token latency limit (p95), seconds")]
ItlMetric = Annotated[str, typer.Option("--itl-metric", help="what --itl-slo limits: itl (p95 of every gap pooled over requests, as "
                                        "vllm bench serve reports ITL) or tpot (p95 over requests of each one's mean time per token)")]
PeakToAvg = Annotated[float, typer.Option(help="peak load ÷ average load")]
Users = Annotated[float | None, typer.Option(help="your company's monthly active users (checked against the model's licence)")]
Traffic = Annotated[Path | None, typer.Option("--traffic", help="a usage log (see `llm-planner traffic summarize`) or a preset's name "
                                              "(`llm-planner traffic presets`): its volume, "
                                              "cached share, peak-to-average and hour-of-day shape replace those options where the log "
                                              "states them, and each simulated request draws its lengths from the log's")]


Oversubscribe = Annotated[bool, typer.Option("--oversubscribe", help="allow more threads than this machine's logical cores")]


def check_threads(values, option: str, oversubscribe: bool) -> None:
    """More threads than logical cores measures the scheduler, not the model (and `--threads 1000` runs for minutes):
    refused unless asked for."""
    cores = os.cpu_count() or 1
    for v in values:
        if v is None:
            continue
        if v < 1:
            raise InputError(f"{option}: threads must be at least 1 (got {v})")
        if v > cores and not oversubscribe:
            raise InputError(f"{option}: {v} threads on a machine with {cores} logical cores measures time-slicing, not the model; "
                             f"use at most {cores}, or add --oversubscribe")


def check_choice(option: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise InputError(f"{option}: must be {', '.join(choices[:-1])} or {choices[-1]} (got {value!r})")
