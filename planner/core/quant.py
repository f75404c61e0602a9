"""Quant types by name: llama.cpp's file types and the nominal bits per weight, read from gguf-py's tables.

One home for the K-quant "mix" → main ggml type map: a Q4_K_M file is mostly Q4_K tensors (some kept at higher
precision), so its nominal size per weight is Q4_K's block size (gguf's GGML_QUANT_SIZES).
"""
from __future__ import annotations

import gguf

from planner.core.errors import InputError

_MIX_SUFFIXES = ("_M", "_S", "_L")


def known_quants() -> list[str]:
    return [n.removeprefix("MOSTLY_").removeprefix("ALL_") for n in gguf.LlamaFileType.__members__ if n != "GUESSED"]


def file_type(quant: str) -> int:
    """llama.cpp's ftype number for a quant name (e.g. Q4_K_M → 15), from gguf.LlamaFileType."""
    for prefix in ("MOSTLY_", "ALL_"):
        member = gguf.LlamaFileType.__members__.get(prefix + quant)
        if member is not None:
            return int(member)
    raise InputError(f"'{quant}' is not a llama.cpp quant type; use one of {', '.join(known_quants())}", field="quant")


def main_ggml_type(quant: str) -> gguf.GGMLQuantizationType:
    """The tensor type most of a file of this quant type holds (Q4_K_M → Q4_K)."""
    file_type(quant)
    name = quant[:-2] if quant.endswith(_MIX_SUFFIXES) and "_K_" in quant else quant
    try:
        return gguf.GGMLQuantizationType[name]
    except KeyError:
        raise InputError(f"'{quant}' has no single main tensor type; use one of {', '.join(known_quants())}", field="quant") from None


def nominal_bits_per_weight(quant: str) -> float:
    block, type_size = gguf.GGML_QUANT_SIZES[main_ggml_type(quant)]
    return type_size * 8 / block
