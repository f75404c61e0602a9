"""Derived GGUFs with the real tools: gguf-py dequantisation, llama.cpp's quantiser, random-weight clones."""
import pytest

from planner.core.cards import ModelCard
from planner.core.errors import InputError, SetupError
from planner.core.roofline import active_weight_bytes
from planner.measure.engines.llama_cpp import EngineSettings, LlamaCppEngine
from planner.measure.gguf.clones import clone_tensors, make_clone, preflight_clone
from planner.measure.gguf.meta import read_model_info
from planner.measure.gguf.quantize import quant_ladder

TINY_DENSE = ModelCard("tiny-dense", n_layers=2, d_model=256, n_heads=4, n_kv_heads=2, ffn_dim=512, vocab_size=1000, head_dim=64)
TINY_MOE = ModelCard("tiny-moe", n_layers=2, d_model=256, n_heads=4, n_kv_heads=2, ffn_dim=512, vocab_size=1000, head_dim=64,
                     n_experts=4, n_experts_active=2)


@pytest.fixture(scope="module")
def ladder(embedded_path):
    return quant_ladder(embedded_path, ("F16", "Q8_0", "Q4_K_M"), progress=False)


def test_ladder_rungs_are_real_and_cached(ladder, embedded_path):
    info = {q: read_model_info(p, sha256="x") for q, p in ladder.items()}
    assert info["F16"].quant_label == "F16" and info["Q8_0"].quant_label == "Q8_0" and info["Q4_K_M"].quant_label == "Q4_K_M"
    assert info["F16"].derived_from == embedded_path.name and "quality is not" in info["F16"].note
    assert info["F16"].n_params == info["Q4_K_M"].n_params == 134_515_008
    assert info["F16"].bits_per_weight > info["Q8_0"].bits_per_weight > info["Q4_K_M"].bits_per_weight
    # d_model 576 is not a multiple of 256: llama.cpp falls back from Q4_K for most tensors
    mix = {t.ggml_type for t in info["Q4_K_M"].tensor_types}
    assert "Q4_K" in mix and mix & {"Q5_0", "Q5_1", "Q8_0", "Q4_0", "Q4_1"}
    mtimes = {q: p.stat().st_mtime_ns for q, p in ladder.items()}
    again = quant_ladder(embedded_path, ("F16", "Q8_0", "Q4_K_M"), progress=False)
    assert {q: p.stat().st_mtime_ns for q, p in again.items()} == mtimes  # nothing redone


def test_f16_rung_generates_text(ladder):
    from llama_cpp import Llama
    llm = Llama(str(ladder["F16"]), n_ctx=256, verbose=False)
    out = llm.create_chat_completion([{"role": "user", "content": "What is the capital of France?"}], max_tokens=12, temperature=0)
    assert "Paris" in out["choices"][0]["message"]["content"]


@pytest.mark.parametrize("card", [TINY_DENSE, TINY_MOE], ids=["dense", "moe"])
def test_clone_loads_and_decodes(card):
    path = make_clone(card, "Q8_0", progress=False)
    info = read_model_info(path, sha256="x")
    assert info.clone_of == card.name and not info.has_tokenizer
    assert info.n_params == card.n_params() == sum(int(__import__("numpy").prod(s)) for _, s, _ in clone_tensors(card))
    if card.is_moe:
        assert info.n_experts == 4 and info.n_experts_active == 2 and info.expert_tensor_bytes > 0
        assert active_weight_bytes(info) < info.tensor_bytes - info.expert_tensor_bytes / 2
    with LlamaCppEngine(path, EngineSettings(n_ctx=256)) as e:
        e.prefill(e.random_tokens(16))
        assert e.decode_steps(4, start_pos=16, sample=True).min() > 0
    assert make_clone(card, "Q8_0", progress=False) == path  # cached


@pytest.mark.skipif(__import__("psutil").virtual_memory().available > 40 * 2**30, reason="this machine has RAM for a 70B Q4_K_M")
def test_70b_is_refused_before_anything_is_written():
    llama70 = ModelCard("Llama-2-70B", n_layers=80, d_model=8192, n_heads=64, n_kv_heads=8, ffn_dim=28672, vocab_size=32000, head_dim=128)
    with pytest.raises(SetupError, match=r"Llama-2-70B at Q4_K_M needs about \d+\.\d GiB .*available RAM"):
        preflight_clone(llama70, "Q4_K_M")


def test_reduced_depth_bounds():
    assert TINY_DENSE.with_layers(1).n_layers == 1
    with pytest.raises(InputError, match="n_layers: must be between 1 and 2"):
        TINY_DENSE.with_layers(5)
