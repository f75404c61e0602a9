"""What a GGUF file really contains: architecture numbers, parameter count and the real tensor-type mix.

The label in `general.file_type` is what the quantiser was asked for; llama.cpp falls back to other
types for tensors whose rows don't fit the block size, so the mix is read tensor by tensor.
"""
from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

import gguf
import numpy as np

from planner.core.errors import DataError
from planner.core.records import ModelInfo, TensorTypeShare
from planner.formats.files import existing_file

# Keys this project writes into GGUFs it derives (quant ladder) or synthesises (architecture clones).
KEY_DERIVED_FROM = "llm_planner.derived_from"
KEY_CLONE_OF = "llm_planner.clone_of"
KEY_NOTE = "llm_planner.note"


def _field(reader: gguf.GGUFReader, key: str, default=None):
    field = reader.fields.get(key)
    if field is None:
        return default
    return field.contents()


def file_type_label(file_type: int | None) -> str:
    if file_type is None:
        return "unknown"
    try:
        return gguf.LlamaFileType(file_type).name.removeprefix("MOSTLY_").removeprefix("ALL_")
    except ValueError:
        return f"ftype{file_type}"


def read_model_info(path: str | Path, *, sha256: str) -> ModelInfo:
    """Read metadata and tensor types; `sha256` is passed in so callers can cache it."""
    path = existing_file(path, "model file", "pass the path of a .gguf file")
    size = path.stat().st_size
    try:
        reader = gguf.GGUFReader(str(path))
        ends = [int(t.data_offset) + int(t.n_bytes) for t in reader.tensors]
    except Exception as exc:  # gguf raises ValueError/IndexError/struct errors on foreign or damaged files
        raise DataError(f"{path.name} is not a readable GGUF file, or a damaged or truncated one ({exc.__class__.__name__}: {exc}) "
                        "— re-download or re-create it") from None
    if ends and max(ends) > size:
        raise DataError(f"{path.name} is truncated: its tensors need {max(ends):,} bytes, the file has {size:,} — re-download or re-create it")

    arch = _field(reader, "general.architecture", "unknown")

    def arch_key(name: str, default=None):
        return _field(reader, f"{arch}.{name}", default)

    mix: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    names = {t.name for t in reader.tensors}
    expert_bytes = sum(int(t.n_bytes) for t in reader.tensors if "_exps" in t.name)
    lookup_only = sum(int(t.n_bytes) for t in reader.tensors if t.name == "token_embd.weight") if "output.weight" in names else 0
    for tensor in reader.tensors:
        entry = mix[tensor.tensor_type.name]
        entry[0] += 1
        entry[1] += int(tensor.n_elements)
        entry[2] += int(tensor.n_bytes)
    n_params = sum(v[1] for v in mix.values())
    tensor_bytes = sum(v[2] for v in mix.values())
    if n_params == 0:
        raise DataError(f"{path.name} holds no tensors; it is not a model file")

    n_heads = arch_key("attention.head_count")
    d_model = arch_key("embedding_length")
    head_dim = arch_key("attention.key_length") or (d_model // n_heads if d_model and n_heads else None)
    vocab = arch_key("vocab_size")
    if vocab is None:
        tokens = reader.fields.get("tokenizer.ggml.tokens")
        vocab = len(tokens.data) if tokens is not None else None
    n_kv = arch_key("attention.head_count_kv", n_heads)
    if isinstance(n_kv, list):  # per-layer kv heads in some architectures
        n_kv = max(n_kv)

    return ModelInfo(
        file_name=path.name,
        sha256=sha256,
        size_bytes=path.stat().st_size,
        name=_field(reader, "general.name", path.stem),
        architecture=arch,
        quant_label=file_type_label(_field(reader, "general.file_type")),
        n_params=n_params,
        tensor_bytes=tensor_bytes,
        bits_per_weight=tensor_bytes * 8 / n_params,
        expert_tensor_bytes=expert_bytes,
        lookup_only_bytes=lookup_only,
        tensor_types=[
            TensorTypeShare(ggml_type=name, n_tensors=v[0], n_params=v[1], n_bytes=v[2])
            for name, v in sorted(mix.items(), key=lambda kv: -kv[1][2])
        ],
        n_layers=arch_key("block_count"),
        d_model=d_model,
        n_heads=n_heads,
        n_kv_heads=n_kv,
        head_dim=head_dim,
        ffn_dim=arch_key("feed_forward_length"),
        vocab_size=vocab,
        context_length=arch_key("context_length"),
        n_experts=arch_key("expert_count"),
        n_experts_active=arch_key("expert_used_count"),
        has_tokenizer=_field(reader, "tokenizer.ggml.model", "none") != "none",
        derived_from=_field(reader, KEY_DERIVED_FROM),
        clone_of=_field(reader, KEY_CLONE_OF),
        note=_field(reader, KEY_NOTE),
    )


def stream_gguf(writer: gguf.GGUFWriter, tmp: Path, dst: Path, arrays: Iterable[np.ndarray]) -> Path:
    """Write header, metadata and tensor index, then tensor data one array at a time (never the whole model in
    memory); the file is renamed into place only when complete, and removed if anything fails."""
    try:
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_ti_data_to_file()
        for array in arrays:
            writer.write_tensor_data(array)
        writer.close()
        os.replace(tmp, dst)
    except BaseException:
        writer.close()
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(dst)
