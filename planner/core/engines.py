"""The inference engines llm-planner knows, as rows of one table (as gguf-py keeps its facts): what each one reads,
how its server batches requests, which validation result measured the capacity model on it, and the name its
profiles carry. The CLI's choices, the capacity model's scheduler and the validation lookup all read this table —
adding an engine (SGLang, TGI) adds a row here and its launcher in `planner.measure.engines.registry`.

Pure: no imports of the engines themselves.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from planner.core.errors import InputError

SchedulerKind = Literal["vllm", "slots", "serial"]


@dataclass(frozen=True)
class Engine:
    name: str  # what the user types: `--engine NAME`
    profile_name: str | None  # EngineInfo.name of the offline profiles it writes (None: it has no offline profiler)
    server_name: str | None  # the server it starts on loopback for `serve-profile` (None: none)
    scheduler: SchedulerKind  # how that server batches: vLLM's token-budget scheduler, llama-server's slots, one at a time
    validation_key: str | None  # key of its row in benchmarks/results/capacity-validation-*.json (None: never validated)
    model_formats: tuple[str, ...]  # what it serves: "gguf" (a file), "hf" (a Hugging Face folder)
    note: str


ENGINES: dict[str, Engine] = {e.name: e for e in (
    Engine("llama-server", profile_name=None, server_name="llama-server", scheduler="slots", validation_key="llama-server",
           model_formats=("gguf",), note="llama.cpp's server: continuous batching over --parallel slots"),
    Engine("vllm", profile_name="vllm", server_name="vllm", scheduler="vllm", validation_key="vllm", model_formats=("gguf", "hf"),
           note="vLLM: paged KV cache, token-budget scheduler with chunked prefill (a GGUF is converted to an HF folder)"),
    Engine("llama-cpp", profile_name="llama-cpp-python", server_name="llama_cpp.server", scheduler="serial", validation_key=None,
           model_formats=("gguf",), note="llama-cpp-python: the offline profiler; its server answers one request at a time"),
)}

# An offline profile is planned as the server its engine is deployed with: llama.cpp's tests stand for llama-server.
SIMULATED_AS: dict[str, str] = {"llama-cpp-python": "llama-server", "vllm": "vllm"}

PROFILE_NAMES = tuple(sorted({e.profile_name for e in ENGINES.values() if e.profile_name} | {"openai-http"}))


def engine(name: str, *, field: str = "engine", needs: str | None = None) -> Engine:
    """The row of `name`; with `needs` ("profile" or "server"), only engines that can do that."""
    can = [e.name for e in ENGINES.values() if needs is None or (e.profile_name if needs == "profile" else e.server_name)]
    if name not in can:
        raise InputError(f"one of {', '.join(can)} (got {name!r})", field=field)
    return ENGINES[name]


def simulated_engine(profile_name: str) -> Engine | None:
    """The server an offline profile's capacity is simulated as (None: a serving profile, measured, not simulated)."""
    server = SIMULATED_AS.get(profile_name)
    return ENGINES[server] if server else None
