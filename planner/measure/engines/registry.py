"""The measuring side of the engine table (`planner.core.engines.ENGINES`): which server class starts each engine's
server on loopback. A new engine adds its row there and its launcher here; the CLI reads both."""
from __future__ import annotations

from pathlib import Path

from planner.core.engines import Engine
from planner.measure.gguf.hf import hf_folder, hf_model_info
from planner.measure.serving.servers import LlamaCppServer, LlamaServer, LocalServer, VllmServer


def start_server(row: Engine, model: Path, *, n_ctx: int, n_threads: int | None, parallel: int, kv_cache_gib: float):
    """(the server, not yet started, and the ModelInfo of an HF folder — None when the GGUF itself describes the model)."""
    if row.server_name == "vllm":
        folder = model if model.is_dir() else hf_folder(model)
        return VllmServer(folder, n_ctx=n_ctx, n_threads=n_threads, kv_cache_gib=kv_cache_gib, model_alias=model.name.split(".")[0]), \
            hf_model_info(folder)
    server: LocalServer = (LlamaServer(model, n_ctx=n_ctx, n_threads=n_threads, parallel=parallel) if row.server_name == "llama-server"
                           else LlamaCppServer(model, n_ctx=n_ctx, n_threads=n_threads))
    return server, None
