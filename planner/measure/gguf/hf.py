"""A Hugging Face folder (safetensors + tokenizer + chat template) derived from a GGUF, for engines that do not read
GGUF (vLLM). Dequantised by transformers' GGUF loader to bf16 (or f32), cached by the GGUF's hash.

Speed and memory of the result are those of a bf16 model of this architecture; its output quality is that of the
quantised source (the weights were rounded once already). Profiles of it say so.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

from planner.core.errors import InputError, SetupError
from planner.core.records import ModelInfo, TensorTypeShare
from planner.formats.files import atomic_write_text, existing_file, sha256_file
from planner.measure.gguf.cache import kind_dir

DTYPES = ("bfloat16", "float32")
PROVENANCE_FILE = "llm_planner.json"


def hf_note(source_name: str, dtype: str) -> str:
    return (f"weights dequantised from {source_name} to {dtype}: speed and memory are those of a {dtype} model of this "
            f"architecture; output quality is that of the quantised source")


def hf_folder(gguf_path: str | Path, dtype: str = "bfloat16", *, progress: bool = True) -> Path:
    """The cached HF folder of `gguf_path` at `dtype`, made on first use (about 20 s for the embedded model)."""
    if dtype not in DTYPES:
        raise InputError(f"--dtype: use one of {', '.join(DTYPES)} (got {dtype!r})")
    src = existing_file(gguf_path, "model file", "pass the path of a .gguf file")
    digest = sha256_file(src)
    out = kind_dir("hf") / f"{src.stem}.{digest[:16]}.{dtype}"
    if (out / PROVENANCE_FILE).is_file():
        return out
    try:  # heavy optional dependencies: only the vllm extra installs them
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError as exc:
        raise SetupError(f"converting a GGUF for vLLM needs torch, transformers and accelerate ({exc.name} is missing): "
                         "pip install -e '.[vllm]'") from None
    tmp = out.with_name(out.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        tokenizer = AutoTokenizer.from_pretrained(src.parent, gguf_file=src.name)
        model = AutoModelForCausalLM.from_pretrained(src.parent, gguf_file=src.name, dtype=getattr(torch, dtype))
        model.hf_quantizer = None  # save_pretrained refuses a GGUF-"quantised" model; the weights are plain tensors now
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        atomic_write_text(tmp / PROVENANCE_FILE, json.dumps({"derived_from": src.name, "sha256": digest, "dtype": dtype,
                                                             "note": hf_note(src.name, dtype)}, indent=2) + "\n")
        shutil.rmtree(out, ignore_errors=True)
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def hf_provenance(folder: str | Path) -> dict | None:
    """What `hf_folder` recorded about a folder it made; None for other folders."""
    path = Path(folder) / PROVENANCE_FILE
    return json.loads(path.read_text()) if path.is_file() else None


# the input embedding's tensor in transformers' checkpoints (Llama/Mistral/Qwen, GPT-2, BLOOM, Meta's original)
EMBEDDING_NAMES = ("embed_tokens.weight", "wte.weight", "word_embeddings.weight", "tok_embeddings.weight")


def hf_model_info(folder: str | Path) -> ModelInfo:
    """Architecture from config.json, parameters and bytes from the safetensors headers (no tensor is read); what
    `hf_folder` recorded (the GGUF it came from) as provenance. Unknown stays None."""
    folder = Path(folder)
    cfg_path = folder / "config.json"
    cfg = json.loads(cfg_path.read_text()) if cfg_path.is_file() else {}
    cfg = cfg.get("text_config", cfg)  # multimodal configs nest the language model
    heads = cfg.get("num_attention_heads")
    n_params = n_bytes = embed_bytes = expert_bytes = 0
    types: dict[str, list[int]] = {}
    for shard in sorted(folder.glob("*.safetensors")):
        with open(shard, "rb") as fh:  # header: 8-byte length, then JSON of name → dtype, shape, offsets
            header = json.loads(fh.read(int.from_bytes(fh.read(8), "little")))
        for name, t in header.items():
            if name == "__metadata__":
                continue
            count = int(np.prod(t["shape"])) if t["shape"] else 1
            size = t["data_offsets"][1] - t["data_offsets"][0]
            n_params += count
            n_bytes += size
            if name.endswith(EMBEDDING_NAMES):
                embed_bytes += size
            if ".experts." in name:  # Mixtral's block_sparse_moe.experts.N.*, Qwen-MoE's mlp.experts.N.*
                expert_bytes += size
            entry = types.setdefault(t["dtype"], [0, 0, 0])
            entry[0] += 1
            entry[1] += count
            entry[2] += size
    made = hf_provenance(folder)
    return ModelInfo(
        file_name=folder.name, sha256=None, size_bytes=n_bytes or None,  # a folder, not one file: its source's hash is below
        name=folder.name.split(".")[0] if made else folder.name, architecture=(cfg.get("architectures") or [None])[0] if "architectures" in cfg else None,
        quant_label=(made or {}).get("dtype") or cfg.get("torch_dtype") or cfg.get("dtype"), n_params=n_params or None,
        tensor_bytes=n_bytes or None, bits_per_weight=8 * n_bytes / n_params if n_params else None,
        tensor_types=[TensorTypeShare(ggml_type=k, n_tensors=v[0], n_params=v[1], n_bytes=v[2]) for k, v in sorted(types.items())],
        lookup_only_bytes=0 if cfg.get("tie_word_embeddings") else (embed_bytes or None),  # untied: the input table is lookup only
        expert_tensor_bytes=(expert_bytes or None) if (cfg.get("num_local_experts") or cfg.get("num_experts") or 1) > 1 else 0,
        n_layers=cfg.get("num_hidden_layers"), d_model=cfg.get("hidden_size"), n_heads=heads,
        n_kv_heads=cfg.get("num_key_value_heads", heads), head_dim=cfg.get("head_dim") or (cfg["hidden_size"] // heads if heads and cfg.get("hidden_size") else None),
        ffn_dim=cfg.get("intermediate_size"), vocab_size=cfg.get("vocab_size"), context_length=cfg.get("max_position_embeddings"),
        n_experts=cfg.get("num_local_experts") or cfg.get("num_experts"), n_experts_active=cfg.get("num_experts_per_tok"),
        derived_from=f"{made['derived_from']} (sha256 {made['sha256'][:16]}…)" if made else None, note=made["note"] if made else None,
    )
