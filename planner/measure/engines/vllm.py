"""vLLM offline backend (optional `gpu` extra): the same profile schema from `vllm.LLM`.

vLLM pins its own torch and needs a GPU, so it is imported lazily and only here. Timing is wall clock around
`LLM.generate` with token-id prompts and `ignore_eos=True` (fixed lengths), as vLLM's own latency benchmark does —
independent of the per-request metrics whose fields change between vLLM releases:
  prefill  = generate(max_tokens=1) for one prompt;
  decode   = (generate(1 + g) − generate(1)) / g  for one prompt;
  batch c  = c·g / (generate(c prompts, 1 + g) − generate(c prompts, 1)) aggregate decode tok/s.
`load_format="dummy"` gives random weights from a model config: vLLM's mechanism for clones.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from planner.core.errors import MeasurementError, SetupError


def _import_vllm():
    try:
        import vllm
    except ImportError:
        raise SetupError("vLLM is not installed: on a GPU machine run `pip install -e '.[gpu]'` (it cannot run on CPU-only machines)") from None
    return vllm


@dataclass(frozen=True)
class VllmSettings:
    model: str  # a Hugging Face id or a local folder with config.json
    load_format: str = "dummy"
    max_model_len: int = 4096
    gpu_memory_utilization: float = 0.9
    dtype: str = "auto"
    seed: int = 0


class VllmEngine:
    def __init__(self, settings: VllmSettings):
        vllm = _import_vllm()
        self.settings = settings
        self.version = getattr(vllm, "__version__", "unknown")
        self._SamplingParams = vllm.SamplingParams
        self.llm = vllm.LLM(model=settings.model, load_format=settings.load_format, skip_tokenizer_init=True,
                            max_model_len=settings.max_model_len, gpu_memory_utilization=settings.gpu_memory_utilization,
                            dtype=settings.dtype, seed=settings.seed)
        self._rng = np.random.default_rng(settings.seed)
        self.vocab_size = int(self.llm.llm_engine.model_config.get_vocab_size())

    def timed_generate(self, n_prompts: int, prompt_tokens: int, max_tokens: int) -> float:
        prompts = [{"prompt_token_ids": self._rng.integers(0, self.vocab_size, prompt_tokens).tolist()} for _ in range(n_prompts)]
        params = self._SamplingParams(max_tokens=max_tokens, ignore_eos=True, temperature=0.0, detokenize=False)
        start = time.perf_counter()
        outputs = self.llm.generate(prompts, params, use_tqdm=False)
        elapsed = time.perf_counter() - start
        produced = sum(len(o.outputs[0].token_ids) for o in outputs)
        if produced != n_prompts * max_tokens:
            raise MeasurementError(f"vLLM generated {produced} tokens, expected {n_prompts * max_tokens} (ignore_eos not honoured?)")
        return elapsed


def decode_rates(t_first: float, t_full: float, n_prompts: int, gen_tokens: int) -> float:
    """Aggregate decode tok/s from two timed runs that differ only by `gen_tokens` decode steps."""
    if t_full <= t_first:
        raise MeasurementError("vLLM timings: the longer run was not slower; increase gen_tokens")
    return n_prompts * gen_tokens / (t_full - t_first)
