"""Roofline physics of transformer inference: pure functions over numbers, no I/O.

Decode is memory-bound: every step reads the active weights once plus each stream's KV cache.
Prefill is compute-bound: about 2 FLOPs per active parameter per token, plus attention.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from planner.core.errors import MeasurementError
from planner.core.records import ModelInfo
from planner.core.units import GIB, MIB


def kv_bytes_per_token(n_layers: int, n_kv_heads: int, head_dim: int, bytes_per_element: float = 2.0) -> float:
    """K and V for one token across all layers (F16 cache by default, as llama.cpp and vLLM use)."""
    return 2.0 * n_layers * n_kv_heads * head_dim * bytes_per_element


def model_kv_bytes_per_token(model: ModelInfo, bytes_per_element: float = 2.0) -> float:
    if not (model.n_layers and model.n_kv_heads and model.head_dim):
        raise MeasurementError(f"{model.file_name}: architecture lacks n_layers / n_kv_heads / head_dim; KV size unknown")
    return kv_bytes_per_token(model.n_layers, model.n_kv_heads, model.head_dim, bytes_per_element)


def weight_parts(model: ModelInfo) -> tuple[float, float, float]:
    """(all weight bytes, expert bytes, lookup-only embedding bytes) — refused when one is unknown, never taken as 0.

    A model with no experts (n_experts unset or 1) has 0 expert bytes by definition; anything else must be recorded.
    """
    if model.tensor_bytes is None:
        raise MeasurementError(f"{model.file_name}: weight bytes unknown (a served model without its file); give the model's file when profiling")
    experts = model.expert_tensor_bytes
    if experts is None:
        if (model.n_experts or 1) > 1:
            raise MeasurementError(f"{model.file_name}: a mixture-of-experts model whose expert bytes were not recorded; profile it again "
                                   "from its file")
        experts = 0
    if model.lookup_only_bytes is None:
        raise MeasurementError(f"{model.file_name}: the input embedding's bytes (read by row lookup, not per step) were not recorded; "
                               "profile it again from its file")
    return float(model.tensor_bytes), float(experts), float(model.lookup_only_bytes)


def active_weight_bytes(model: ModelInfo) -> float:
    """Weight bytes read per decode step: lookup-only embeddings excluded, only the active experts of a MoE."""
    total, experts, lookup = weight_parts(model)
    dense = total - experts - lookup
    if experts and model.n_experts and model.n_experts_active:
        experts = experts * model.n_experts_active / model.n_experts
    return float(dense + experts)


def active_params(model: ModelInfo) -> float:
    """Parameters touched per token (for the prefill FLOP count), scaled like the bytes."""
    if model.n_params is None:
        raise MeasurementError(f"{model.file_name}: parameter count unknown; give the model's file when profiling")
    return model.n_params * active_weight_bytes(model) / model.tensor_bytes


def decode_bytes_per_step(weight_bytes, kv_per_token, context, batch=1):
    """Bytes moved by one decode step of `batch` streams each holding `context` tokens of KV."""
    return np.asarray(weight_bytes, float) + np.asarray(batch, float) * np.asarray(context, float) * np.asarray(kv_per_token, float)


def decode_ceiling_tok_s(bandwidth_bytes_s, weight_bytes, kv_per_token, context, batch=1):
    """Aggregate tok/s upper bound when decode is memory-bound."""
    return np.asarray(batch, float) * np.asarray(bandwidth_bytes_s, float) / decode_bytes_per_step(weight_bytes, kv_per_token, context, batch)


def prefill_flops(n_active_params, n_layers, d_model, prompt_tokens):
    """FLOPs to prefill L tokens: 2·N·L for the matmuls plus 2·n_layers·d_model·L² for attention."""
    L = np.asarray(prompt_tokens, float)
    return 2.0 * np.asarray(n_active_params, float) * L + 2.0 * np.asarray(n_layers, float) * np.asarray(d_model, float) * L * L


def decode_efficiency(measured_tok_s, bandwidth_bytes_s, weight_bytes, kv_per_token, context, batch=1):
    """Measured ÷ memory-bound ceiling (1.0 = the memory system is saturated)."""
    return np.asarray(measured_tok_s, float) / decode_ceiling_tok_s(bandwidth_bytes_s, weight_bytes, kv_per_token, context, batch)


@dataclass(frozen=True)
class Footprint:
    weights_bytes: float
    kv_bytes: float
    overhead_bytes: float

    @property
    def total_bytes(self) -> float:
        return self.weights_bytes + self.kv_bytes + self.overhead_bytes

    def describe(self) -> str:
        return (f"{self.total_bytes / GIB:.1f} GiB (weights {self.weights_bytes / GIB:.1f} + KV cache {self.kv_bytes / GIB:.1f}"
                f" + compute/runtime margin {self.overhead_bytes / GIB:.1f})")


RUNTIME_MARGIN_BYTES = 256 * MIB
RUNTIME_MARGIN_FRACTION = 0.10


def footprint(weights_bytes: float, kv_per_token: float, kv_tokens: int) -> Footprint:
    """Memory to hold the weights and a KV cache of `kv_tokens` (n_ctx, shared by all sequences).

    The margin (10% of weights + 256 MiB) covers llama.cpp's compute buffers and the runtime; it is a
    stated allowance, not a measurement — the profile's peak RSS is the measurement.
    """
    return Footprint(
        weights_bytes=float(weights_bytes),
        kv_bytes=float(kv_per_token) * kv_tokens,
        overhead_bytes=RUNTIME_MARGIN_FRACTION * weights_bytes + RUNTIME_MARGIN_BYTES,
    )


def max_concurrent_tokens(memory_bytes, weight_bytes, kv_per_token, overhead_bytes=0.0):
    """KV capacity: tokens of context that fit beside the weights."""
    free = np.asarray(memory_bytes, float) - np.asarray(weight_bytes, float) - np.asarray(overhead_bytes, float)
    return np.maximum(free, 0.0) / np.asarray(kv_per_token, float)
