"""A Hugging Face folder's model facts from its safetensors headers: what is unknown stays None, never 0."""
from __future__ import annotations

import json

import pytest

from planner.core.errors import MeasurementError
from planner.core.roofline import active_weight_bytes
from planner.measure.gguf.hf import hf_model_info


def _folder(tmp_path, config: dict, tensors: dict[str, tuple[int, ...]]):
    """A folder with config.json and one bf16 shard holding `tensors` (name → shape); data bytes are zeros."""
    header, offset = {}, 0
    for name, shape in tensors.items():
        size = 2
        for d in shape:
            size *= d
        header[name] = {"dtype": "BF16", "shape": list(shape), "data_offsets": [offset, offset + size]}
        offset += size
    raw = json.dumps(header).encode()
    (tmp_path / "model.safetensors").write_bytes(len(raw).to_bytes(8, "little") + raw + bytes(offset))
    (tmp_path / "config.json").write_text(json.dumps({"num_hidden_layers": 1, "hidden_size": 8, "num_attention_heads": 2, **config}))
    return tmp_path


DENSE = {"model.embed_tokens.weight": (100, 8), "model.layers.0.mlp.up_proj.weight": (16, 8), "lm_head.weight": (100, 8)}


def test_untied_embeddings_are_lookup_only_and_a_dense_model_has_no_experts(tmp_path):
    info = hf_model_info(_folder(tmp_path, {"tie_word_embeddings": False}, DENSE))
    assert info.tensor_bytes == 2 * (800 + 128 + 800) and info.lookup_only_bytes == 1600 and info.expert_tensor_bytes == 0
    assert active_weight_bytes(info) == 2 * (128 + 800)  # the head is read every step, the input table is not


def test_tied_embeddings_read_every_step(tmp_path):
    tensors = {k: v for k, v in DENSE.items() if k != "lm_head.weight"}
    info = hf_model_info(_folder(tmp_path, {"tie_word_embeddings": True}, tensors))
    assert info.lookup_only_bytes == 0 and active_weight_bytes(info) == info.tensor_bytes


def test_expert_bytes_are_summed_and_an_unrecognised_moe_is_unknown(tmp_path):
    moe = {**DENSE, **{f"model.layers.0.block_sparse_moe.experts.{e}.w1.weight": (16, 8) for e in range(4)}}
    (tmp_path / "a").mkdir()
    info = hf_model_info(_folder(tmp_path / "a", {"num_local_experts": 4, "num_experts_per_tok": 1}, moe))
    assert info.expert_tensor_bytes == 4 * 256
    assert active_weight_bytes(info) == 2 * (128 + 800) + 256  # one expert of four per token
    (tmp_path / "b").mkdir()
    odd = hf_model_info(_folder(tmp_path / "b", {"num_local_experts": 4}, DENSE))  # a MoE whose expert tensors we cannot name
    assert odd.expert_tensor_bytes is None
    with pytest.raises(MeasurementError, match="expert bytes were not recorded"):
        active_weight_bytes(odd)


def test_an_untied_table_we_cannot_find_is_unknown_and_refused(tmp_path):
    info = hf_model_info(_folder(tmp_path, {}, {"transformer.h.0.weight": (8, 8)}))
    assert info.lookup_only_bytes is None
    with pytest.raises(MeasurementError, match="input embedding's bytes"):
        active_weight_bytes(info)
