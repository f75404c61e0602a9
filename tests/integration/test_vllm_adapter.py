"""vLLM cannot be installed on these CPU machines (it pins its own CUDA torch and needs a GPU). These tests run the
adapter against a stand-in `vllm` module that reproduces only the API surface the adapter uses — `LLM(...)`,
`SamplingParams(...)`, `generate()` returning outputs whose `.outputs[0].token_ids` hold the generated ids — with a
time cost per prefill token and per decode step, so the arithmetic of the adapter is checked exactly."""
import sys
import time
import types

import pytest

from planner.core.errors import PlannerError
from planner.formats.profiles import load_profile
from planner.measure.engines.vllm import VllmSettings, decode_rates

PREFILL_S_PER_TOKEN = 2e-6
STEP_S = 1e-3


def _fake_vllm():
    mod = types.ModuleType("vllm")
    mod.__version__ = "stand-in"

    class SamplingParams:
        def __init__(self, max_tokens, ignore_eos, temperature, detokenize):
            assert ignore_eos and not detokenize
            self.max_tokens = max_tokens

    class _Out:
        def __init__(self, n):
            self.outputs = [types.SimpleNamespace(token_ids=list(range(n)))]

    class LLM:
        def __init__(self, model, load_format, skip_tokenizer_init, **kw):
            assert load_format == "dummy" and skip_tokenizer_init
            cfg = types.SimpleNamespace(get_vocab_size=lambda: 32000)
            self.llm_engine = types.SimpleNamespace(model_config=cfg)

        def generate(self, prompts, params, use_tqdm):
            tokens = sum(len(p["prompt_token_ids"]) for p in prompts)
            time.sleep(tokens * PREFILL_S_PER_TOKEN + (params.max_tokens - 1) * STEP_S)  # one batched step per token
            return [_Out(params.max_tokens) for _ in prompts]

    mod.LLM, mod.SamplingParams = LLM, SamplingParams
    return mod


def test_missing_vllm_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "vllm", None)
    from planner.measure.engines.vllm import VllmEngine
    with pytest.raises(PlannerError, match=r"pip install -e '\.\[gpu\]'"):
        VllmEngine(VllmSettings(model="x"))


def test_decode_rate_arithmetic():
    assert decode_rates(1.0, 3.0, 4, 100) == pytest.approx(200.0)
    with pytest.raises(PlannerError):
        decode_rates(1.0, 1.0, 1, 10)


def test_profile_from_the_stand_in(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "vllm", _fake_vllm())
    from planner.measure.profiling.vllm import profile_vllm
    out = tmp_path / "vllm.json"
    p = profile_vllm(VllmSettings(model="mistralai/Mistral-7B-v0.1"), out_path=out, prompt_tokens=64, gen_tokens=20,
                     concurrency=(1, 4), reps=2, progress=False)
    loaded = load_profile(out)
    assert loaded.status == "complete" and loaded.engine.name == "vllm" and "random weights" in loaded.notes[0]
    # one stream: 20 steps of 1 ms -> about 1000 tok/s; 4 streams share each step -> about 4000 tok/s aggregate
    assert p.decode[0].tok_s.mean == pytest.approx(1 / STEP_S, rel=0.3)
    agg = {c.concurrency: c.aggregate_decode_tok_s.mean for c in p.concurrency_sweep}
    assert agg[4] == pytest.approx(4 * agg[1], rel=0.3)
