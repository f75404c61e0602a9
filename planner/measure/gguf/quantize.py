"""Derive GGUF files: dequantise to F16/F32 with gguf-py, quantise with llama.cpp's own quantiser.

Used for the quant ladder (one shipped Q4_1 model → F32, F16, Q8_0, Q5_K_M, Q4_K_M, Q4_0) and for
architecture clones. Outputs are cached by the source's content hash; existing files are never redone.
"""
from __future__ import annotations

import ctypes
import os
from pathlib import Path

import gguf
import numpy as np
from tqdm.auto import tqdm

from planner.core.errors import InputError, SetupError
from planner.core.quant import file_type
from planner.formats.files import existing_file, sha256_file
from planner.measure.gguf.cache import kind_dir
from planner.measure.gguf.meta import KEY_DERIVED_FROM, KEY_NOTE, read_model_info, stream_gguf
from planner.measure.probes.hardware import usable_threads

LADDER = ("F32", "F16", "Q8_0", "Q5_K_M", "Q4_K_M", "Q4_0")
LADDER_NOTE = ("derived from a Q4_1 source by dequantising and re-quantising: speed and memory are representative of the "
               "quant type, output quality is not")


def _tmp_path(dst: Path) -> Path:
    return dst.with_name(f".{dst.name}.partial")


def dequantize_gguf(src: str | Path, dst: str | Path, out_type: str = "F16", *, progress: bool = True, note: str | None = None) -> Path:
    """Write a float GGUF with the same metadata; quantised tensors become `out_type`, float tensors stay as they are."""
    if out_type not in ("F16", "F32"):
        raise InputError(f"out_type: dequantise to F16 or F32 (got {out_type!r})")
    src, dst = Path(src), Path(dst)
    reader = gguf.GGUFReader(str(src))
    arch = reader.fields["general.architecture"].contents()
    tmp = _tmp_path(dst)
    writer = gguf.GGUFWriter(str(tmp), arch)
    for key, field in reader.fields.items():
        if key.startswith("GGUF.") or key in ("general.architecture", "general.file_type", KEY_DERIVED_FROM, KEY_NOTE):
            continue
        vtype = field.types[0]
        sub = field.types[1] if vtype == gguf.GGUFValueType.ARRAY and len(field.types) > 1 else None
        writer.add_key_value(key, field.contents(), vtype, sub_type=sub)
    writer.add_file_type(file_type(out_type))
    writer.add_string(KEY_DERIVED_FROM, src.name)
    if note:
        writer.add_string(KEY_NOTE, note)
    target = np.float16 if out_type == "F16" else np.float32
    float_types = {gguf.GGMLQuantizationType.F32, gguf.GGMLQuantizationType.F16}
    plans = []
    for t in reader.tensors:
        keep = t.tensor_type in float_types and (t.tensor_type == gguf.GGMLQuantizationType.F32 or out_type == "F16")
        dtype = np.float32 if (t.tensor_type == gguf.GGMLQuantizationType.F32 or len(t.shape) == 1) else target
        if keep:
            dtype = np.float32 if t.tensor_type == gguf.GGMLQuantizationType.F32 else np.float16
        shape = tuple(int(x) for x in reversed(t.shape.tolist()))
        plans.append((t, dtype, shape))
        writer.add_tensor_info(t.name, shape, np.dtype(dtype), int(np.prod(shape)) * np.dtype(dtype).itemsize)
    def arrays():
        for t, dtype, shape in tqdm(plans, desc=f"dequantise → {out_type}", unit="tensor", disable=not progress):
            values = t.data if t.tensor_type in float_types else gguf.quants.dequantize(t.data, t.tensor_type)
            yield np.ascontiguousarray(values, dtype=dtype).reshape(shape)

    return stream_gguf(writer, tmp, dst, arrays())


def quantize_gguf(src: str | Path, dst: str | Path, quant: str, *, n_threads: int | None = None) -> Path:
    """llama.cpp's quantiser (llama_model_quantize), written to a temp name and renamed when done."""
    import llama_cpp  # heavy import, only here

    ftype = file_type(quant)
    src, dst = Path(src), Path(dst)
    tmp = _tmp_path(dst)
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = ftype
    params.nthread = n_threads or usable_threads()
    rc = llama_cpp.llama_model_quantize(str(src).encode(), str(tmp).encode(), ctypes.byref(params))
    if rc != 0 or not tmp.is_file():
        tmp.unlink(missing_ok=True)
        raise SetupError(f"llama.cpp could not quantise {src.name} to {quant} (code {rc})")
    os.replace(tmp, dst)
    return dst


def quant_ladder(src: str | Path, rungs: tuple[str, ...] = LADDER, *, progress: bool = True) -> dict[str, Path]:
    """F32/F16 by dequantising `src`, the other rungs by quantising the F16 — cached by the source's sha256."""
    src = Path(src)
    for rung in rungs:
        file_type(rung)
    full_digest = sha256_file(existing_file(src, "model file", "pass the path of a .gguf file"))
    read_model_info(src, sha256=full_digest)  # a file that is not a GGUF is refused here, in one line
    digest = full_digest[:16]
    folder = kind_dir("ladder")
    stem = src.stem.rsplit(".", 1)[0]
    path_of = lambda q: folder / f"{stem}.{digest}.{q}.gguf"  # noqa: E731
    out: dict[str, Path] = {}
    needs_f16 = any(r not in ("F32", "F16") for r in rungs)
    for float_type in ("F16", "F32"):
        if float_type in rungs or (float_type == "F16" and needs_f16):
            if not path_of(float_type).is_file():
                dequantize_gguf(src, path_of(float_type), float_type, progress=progress, note=LADDER_NOTE)
            if float_type in rungs:
                out[float_type] = path_of(float_type)
    for q in tqdm([r for r in rungs if r not in ("F16", "F32")], desc="quantise ladder", unit="rung", disable=not progress):
        if not path_of(q).is_file():
            quantize_gguf(path_of("F16"), path_of(q), q)
        out[q] = path_of(q)
    return {r: out[r] for r in rungs}
