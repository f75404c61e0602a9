"""Synthetic-weight architecture clones: a GGUF of a model card's architecture with random weights.

Speed and memory of an inference engine depend on the architecture, the precision and the hardware, not on
the weights' values, so a clone of Mistral 7B or Mixtral 8x7B profiles like the real model (its output is
noise). Clones carry `tokenizer.ggml.model = none` (llama.cpp loads them and decodes token ids; never
tokenise with them) and the key `llm_planner.clone_of`, so every profile of one says it is a clone.
Sliding-window attention (Mistral) is not written: at contexts below the window it changes nothing.
"""
from __future__ import annotations

import os
from pathlib import Path

import gguf
import numpy as np
from tqdm.auto import tqdm

from planner.core.cards import ModelCard
from planner.core.errors import SetupError
from planner.core.quant import file_type, nominal_bits_per_weight
from planner.core.roofline import footprint, kv_bytes_per_token
from planner.core.units import GIB
from planner.formats.files import slug
from planner.measure.gguf.cache import kind_dir
from planner.measure.gguf.meta import KEY_CLONE_OF, KEY_NOTE, stream_gguf
from planner.measure.gguf.quantize import quantize_gguf
from planner.measure.probes.memory import require_fits
from planner.measure.probes.nvml import Nvml

CLONE_NOTE = "synthetic-weight clone: random weights, speed and memory only"
_POOL_VALUES = 1 << 24  # 32 MiB of random F16 values, tiled into every tensor


def clone_tensors(card: ModelCard) -> list[tuple[str, tuple[int, ...], type]]:
    """(name, numpy shape, dtype) of every tensor, in llama.cpp's llama-family layout."""
    d, hd, ff = card.d_model, card.head_dim, card.ffn_dim
    out: list[tuple[str, tuple[int, ...], type]] = [("token_embd.weight", (card.vocab_size, d), np.float16)]
    for i in range(card.n_layers):
        b = f"blk.{i}"
        out += [
            (f"{b}.attn_norm.weight", (d,), np.float32),
            (f"{b}.attn_q.weight", (card.n_heads * hd, d), np.float16),
            (f"{b}.attn_k.weight", (card.n_kv_heads * hd, d), np.float16),
            (f"{b}.attn_v.weight", (card.n_kv_heads * hd, d), np.float16),
            (f"{b}.attn_output.weight", (d, card.n_heads * hd), np.float16),
            (f"{b}.ffn_norm.weight", (d,), np.float32),
        ]
        if card.is_moe:
            e = card.n_experts
            out += [
                (f"{b}.ffn_gate_inp.weight", (e, d), np.float32),
                (f"{b}.ffn_gate_exps.weight", (e, ff, d), np.float16),
                (f"{b}.ffn_up_exps.weight", (e, ff, d), np.float16),
                (f"{b}.ffn_down_exps.weight", (e, d, ff), np.float16),
            ]
        else:
            out += [
                (f"{b}.ffn_gate.weight", (ff, d), np.float16),
                (f"{b}.ffn_up.weight", (ff, d), np.float16),
                (f"{b}.ffn_down.weight", (d, ff), np.float16),
            ]
    out += [("output_norm.weight", (d,), np.float32), ("output.weight", (card.vocab_size, d), np.float16)]
    return out


def clone_f16_bytes(card: ModelCard) -> int:
    return sum(int(np.prod(s)) * np.dtype(t).itemsize for _, s, t in clone_tensors(card))


def write_clone_f16(card: ModelCard, dst: str | Path, *, seed: int = 0, progress: bool = True) -> Path:
    """Stream a random-weight F16 GGUF to disk, one tensor at a time (never the whole model in memory)."""
    dst = Path(dst)
    tmp = dst.with_name(f".{dst.name}.partial")
    writer = gguf.GGUFWriter(str(tmp), "llama")
    writer.add_name(f"{card.name} (synthetic clone)")
    writer.add_block_count(card.n_layers)
    # llama.cpp refuses a file without a training context; speed does not depend on it, so a card without one gets
    # llama.cpp's common 4096 in the file (profiles use their own n_ctx)
    writer.add_context_length(card.context_length or 4096)
    writer.add_embedding_length(card.d_model)
    writer.add_feed_forward_length(card.ffn_dim)
    writer.add_head_count(card.n_heads)
    writer.add_head_count_kv(card.n_kv_heads)
    writer.add_key_length(card.head_dim)
    writer.add_value_length(card.head_dim)
    writer.add_rope_dimension_count(card.head_dim)
    if card.rope_theta is not None:  # else llama.cpp's default base (10000)
        writer.add_rope_freq_base(card.rope_theta)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_vocab_size(card.vocab_size)
    if card.is_moe:
        writer.add_expert_count(card.n_experts)
        writer.add_expert_used_count(card.n_experts_active)
    writer.add_file_type(file_type("F16"))
    writer.add_tokenizer_model("none")
    writer.add_string(KEY_CLONE_OF, card.name)
    writer.add_string(KEY_NOTE, CLONE_NOTE)
    tensors = clone_tensors(card)
    for name, shape, dtype in tensors:
        writer.add_tensor_info(name, shape, np.dtype(dtype), int(np.prod(shape)) * np.dtype(dtype).itemsize)
    rng = np.random.default_rng(seed)
    pool = (rng.standard_normal(_POOL_VALUES, dtype=np.float32) * 0.02).astype(np.float16)
    def arrays():
        bar = tqdm(total=clone_f16_bytes(card), desc=f"writing {card.name} clone (F16)", unit="B", unit_scale=True, disable=not progress)
        for name, shape, dtype in tensors:
            if len(shape) == 1:
                values = np.ones(shape, dtype)
            elif name.endswith("ffn_gate_inp.weight"):
                values = rng.standard_normal(shape, dtype=np.float32) * 0.02
            else:
                values = np.resize(np.roll(pool, -int(rng.integers(0, _POOL_VALUES))), shape)
            yield np.ascontiguousarray(values, dtype=dtype)
            bar.update(values.nbytes)
        bar.close()

    return stream_gguf(writer, tmp, dst, arrays())


def clone_path(card: ModelCard, quant: str) -> Path:
    stem = slug(card.name)
    moe = f"-e{card.n_experts}a{card.n_experts_active}" if card.is_moe else ""
    return kind_dir("clones") / f"{stem}-L{card.n_layers}{moe}.clone.{quant}.gguf"


def make_clone(card: ModelCard, quant: str = "Q4_K_M", *, progress: bool = True, keep_f16: bool = False) -> Path:
    """Clone at `quant`, cached by (card, depth, quant). Checks the disk first; the F16 intermediate is removed."""
    file_type(quant)  # refuses an unknown name before anything is written
    out = clone_path(card, quant)
    if out.is_file():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    f16 = clone_path(card, "F16")
    need = clone_f16_bytes(card) * (1 if f16.is_file() else 2)
    free = os.statvfs(out.parent).f_bavail * os.statvfs(out.parent).f_frsize
    if need > free:
        raise SetupError(f"clone of {card.name}: needs about {need / GIB:.1f} GiB of disk in {out.parent}, {free / GIB:.1f} GiB free — "
                           "use --layers to clone at reduced depth, or set LLM_PLANNER_CACHE to a bigger disk")
    if not f16.is_file():
        write_clone_f16(card, f16, progress=progress)
    if quant == "F16":
        return f16
    quantize_gguf(f16, out, quant)
    if not keep_f16:
        f16.unlink(missing_ok=True)
    return out


def preflight_clone(card: ModelCard, quant: str, *, n_gpu_layers: int = 0, for_profiling: bool = True, n_ctx: int = 2048) -> str:
    """Refuse, before writing anything, a clone that cannot be profiled here (weights + KV over free memory)."""
    weights = card.n_params() * nominal_bits_per_weight(quant) / 8
    need = footprint(weights, kv_bytes_per_token(card.n_layers, card.n_kv_heads, card.head_dim), n_ctx)
    if not for_profiling:
        return need.describe()
    with Nvml() as nvml:
        return require_fits(need, f"{card.name} at {quant}", "clone at reduced depth (--layers) or a smaller quant",
                            n_gpu_layers=n_gpu_layers, nvml=nvml)
