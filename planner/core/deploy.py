"""Multi-GPU deployments of a model on vLLM: layouts, memory, step time, capacity at the SLO. Pure.

A deployment is an instance type (n GPUs of one device) split into `replicas` engines of tensor-parallel size TP and
pipeline-parallel size PP (replicas × TP × PP = GPUs used). For each layout:

- **Memory** (per GPU, vLLM's accounting): the weights' share W/(TP·PP), a runtime allowance, and the KV cache in
  what is left of `gpu_memory_utilization` × VRAM (vLLM's default 0.9). KV per token per GPU: full attention
  2 · (layers/PP) · max(1, kv_heads/TP) · head_dim · 2 bytes (KV heads are replicated when TP exceeds them);
  MLA (DeepSeek) keeps one latent of (kv_lora_rank + qk_rope_head_dim) per layer, replicated on every TP rank;
  sliding-window layers hold at most the window. A hybrid's linear-attention layers (Qwen3.5's Gated DeltaNet) hold
  no per-token KV but a fixed recurrent state per sequence, sharded over TP (`recurrent_state_bytes`), which each
  sequence needs beside its tokens. A layout whose KV cannot hold one request at the workload's context
  is infeasible, and so is a context beyond the model's.
- **Step time**: the roofline in the capacity model's linear form (`stepmodel.StepModel`): weights and KV are read
  at an effective bandwidth (datasheet bandwidth × η_bw), every token in the step costs 2 · active params / TP FLOPs
  at peak × η_flops, prefill attention 4 · layers · d_attn FLOPs per token pair in the full-attention layers
  (`pair_flops`; sliding-window layers attend at most the window), a hybrid's recurrent state read and written back
  by every decoding sequence, plus a fixed cost per layer and per new request. η_bw, η_flops and the fixed costs come
  from `GpuEfficiency` — fitted on measured GPU engine profiles, never assumed. Summing memory and compute time (instead of taking the larger) is conservative near the ridge point.
  MoE: a step reads the dense weights and the experts its tokens route to — a fraction 1 − (1 − k/E)^tokens of them.
- **Communication** (Megatron-style TP: two all-reduces of the hidden state per layer; ring all-reduce moves
  2 (TP−1)/TP of the message each way): per step 2 · layers/PP · (α + 2 (TP−1)/TP · tokens · d_model · 2 B ÷ link),
  link = half the device's quoted bidirectional interconnect bandwidth, α the per-all-reduce latency of the link.
  PP adds one activation send per stage boundary and token.
- **Pipeline**: vLLM keeps PP micro-batches in flight, so a PP-stage engine behaves like PP interleaved lanes, each a
  full pass through every stage (ITL = the sum of stage times) holding 1/PP of the KV cache and sequences; capacity
  = PP × one lane's.
Capacity at the SLO is the capacity model's own simulation (`simulate.capacity_at_slo_sim`) on that step model.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from scipy.optimize import nnls

from planner.core.cards import ModelCard
from planner.core.errors import DataError, FitError, InputError, MeasurementError
from planner.core.lengths import RequestMix
from planner.core.records import EngineProfile
from planner.core.roofline import active_params, active_weight_bytes, model_kv_bytes_per_token, weight_parts
from planner.core.simulate import ItlMetric, Scheduler, SloCapacity, capacity_at_slo_sim
from planner.core.stepmodel import StepCounts, StepModel, measured_steps
from planner.core.units import GIB

# Bits per weight of the quantised linear layers: bf16; fp8 (E4M3, per-tensor scale: DeepSeek-V3's native checkpoint,
# or vLLM's --quantization fp8); int4 = AWQ/GPTQ 4-bit with one fp16 scale and zero per group of 128 weights
# (4 + 32/128 bits); mxfp4 = the OCP microscaling format gpt-oss ships its routed experts in (4-bit E2M1 values, one
# 8-bit E8M0 scale per block of 32: 4 + 8/32 bits). Embeddings and the LM head stay bf16 in every one of these
# checkpoints (AWQ/GPTQ/fp8 quantise the transformer's linear layers only), and mxfp4 quantises the experts alone.
PRECISION_BITS = {"bf16": 16.0, "fp8": 8.0, "int4": 4.25, "mxfp4": 4.25}
EXPERTS_ONLY = frozenset({"mxfp4"})  # precisions whose checkpoints keep attention and dense MLPs at bf16
KV_BYTES_PER_ELEMENT = 2.0  # vLLM's default KV cache dtype is the model's (bf16)
STATE_PASSES = 2  # a decode step reads a linear-attention layer's recurrent state and writes it back (`assemble_step_model`)
GPU_MEMORY_UTILIZATION = 0.9  # vLLM's default --gpu-memory-utilization
# Runtime memory per GPU besides weights and KV, as vLLM's own start-up log reports it (vllm PR #10511, Llama-3-8B on an
# H100 80GB: "non_torch_memory takes 1.79 GiB" at TP1 and 3.58 GiB at TP2 — NCCL and all-reduce buffers, CUDA context —
# and "PyTorch activation peak memory takes 1.26 GiB"; the same 1.26 GiB activation peak for Qwen2.5-32B at TP2 on L40S,
# vllm #15815). CUDA graphs (0.65–3.3 GiB in vllm PR #21489 / #15664) sat outside the 0.9 budget before vLLM 0.21.
ACTIVATION_PEAK_BYTES = int(1.26 * GIB)
NON_TORCH_BYTES = {1: int(1.79 * GIB), 2: int(3.58 * GIB)}  # TP1, TP > 1
TP_SIZES = (1, 2, 4, 8)
PP_SIZES = (1, 2, 4, 8)


@dataclass(frozen=True)
class Device:
    """One GPU as the deployment model needs it (from a data/hardware.csv row)."""

    name: str
    memory_gib: float
    bandwidth_gb_s: float
    tflops: float  # dense bf16/fp16 tensor throughput
    tflops_8bit: float | None = None  # dense 8-bit tensor throughput (the datasheet's INT8/FP8 figure), used for fp8 weights
    interconnect: str | None = None
    interconnect_gb_s: float | None = None  # quoted per-GPU bidirectional GPU-to-GPU bandwidth
    allreduce_latency_s: float | None = None  # per small all-reduce on that link, 2–4 GPUs
    allreduce_latency_8gpu_s: float | None = None  # the same across 8 GPUs (PCIe: through the host, much slower)

    def compute_tflops(self, precision: str) -> float:
        """Peak of the matmuls at a weight precision: fp8 checkpoints run fp8 GEMMs at the 8-bit peak where the row has
        one (Hopper, Ada, Blackwell, CDNA3); int4/mxfp4 weights are dequantised into bf16 GEMMs (AWQ/GPTQ Marlin,
        gpt-oss's MXFP4 MoE kernels on Hopper), so they run at the 16-bit peak. Ampere has no FP8 tensor cores
        (vLLM serves fp8 there weight-only): its INT8 figure overstates an fp8 deployment — none is in the corpus."""
        return self.tflops_8bit if precision == "fp8" and self.tflops_8bit else self.tflops

    def link_bytes_s(self) -> float | None:
        return self.interconnect_gb_s * 1e9 / 2 if self.interconnect_gb_s else None

    def allreduce_s(self, gpus: int) -> float | None:
        return (self.allreduce_latency_8gpu_s or self.allreduce_latency_s) if gpus > 4 else self.allreduce_latency_s


@dataclass(frozen=True)
class GpuEfficiency:
    """How close a GPU engine runs to the roofline, fitted on measured GPU engine profiles (see `fit_gpu_efficiency`)."""

    bandwidth_eff: float  # effective ÷ datasheet memory bandwidth (weights and KV)
    flops_eff: float  # achieved ÷ datasheet dense FLOP/s of prefill matmuls
    decode_flops_eff: float  # the same for the per-sequence matmuls of batched decode (small batches run further from peak)
    attention_flops_eff: float  # prefill attention (the L² term)
    per_layer_s: float  # fixed time per layer per step (kernel launches, synchronisation)
    per_seq_s: float  # fixed time per decoding sequence per step (sampling, per-sequence kernels)
    per_token_s: float  # fixed time per prefill token
    per_request_s: float  # per new request (input processing, sampler state)
    source: str
    device: str = ""  # the hardware.csv row of the GPU the profiles were measured on
    median_abs_error_pct: float | None = None  # held-out (leave-one-profile-out) error of the predicted speeds
    max_abs_error_pct: float | None = None
    n_checks: int = 0
    per_step_s: float = 0.0  # fixed time per engine step, whatever the model (scheduler, input preparation, sampler launch)
    server_ttft_s: float = 0.0  # the server's own time on a request's first token outside engine steps (HTTP, tokenising)
    engine: str = "llama.cpp"  # the engine whose measurements the efficiency was fitted on
    per_moe_layer_s: float = 0.0  # fixed time per mixture-of-experts layer per step beyond a dense layer's (routing, dispatch)
    per_tp_rank_s: float = 0.0  # fixed time per step per worker beyond the first, TP × PP of them (the executor's broadcast and gather)

    def __post_init__(self) -> None:
        for name in ("bandwidth_eff", "flops_eff", "decode_flops_eff", "attention_flops_eff"):
            v = getattr(self, name)
            if not 0 < v <= 1:
                raise FitError(f"{name}: an efficiency must be in (0, 100 %] (got {v:.1%}); the reference hardware row or the "
                               "profile's device is wrong")


@dataclass(frozen=True)
class Layout:
    tp: int
    pp: int
    replicas: int  # engines on the instance

    @property
    def gpus(self) -> int:
        return self.tp * self.pp * self.replicas

    def describe(self) -> str:
        pp = f"×PP{self.pp}" if self.pp > 1 else ""
        return f"{self.replicas} × TP{self.tp}{pp}"


@dataclass(frozen=True)
class MemoryPlan:
    weights_gib: float  # per GPU
    runtime_gib: float
    kv_gib: float  # what vLLM would allocate to KV per GPU
    kv_bytes_per_token: float  # per GPU, at the workload's context
    kv_tokens: int  # per engine (every rank holds its slice of the same tokens); a hybrid's: beside the recurrent states
    max_seqs_by_kv: int  # requests of the workload's context the cache holds at once
    fits: bool
    why: str
    state_bytes_per_seq: float = 0.0  # per GPU: a hybrid's fixed recurrent state per sequence (`recurrent_state_bytes`)


def bits(precision: str) -> float:
    if precision not in PRECISION_BITS:
        raise InputError(f"one of {', '.join(PRECISION_BITS)} (got {precision!r})", field="precision")
    return PRECISION_BITS[precision]


def card_params(card: ModelCard) -> tuple[float, float, float]:
    """(total, active, routed-expert) parameters. Published totals where the card has them. The routed experts are
    counted from the architecture when the card gives the expert width — (layers − dense layers) · E · 3 · d_model ·
    moe_ffn_dim, SwiGLU's gate, up and down — because deriving them from the published totals, E_r = (total − active) /
    (1 − k/E), amplifies their rounding and their authors' differing conventions (OpenAI's "active" leaves out the
    embedding; gpt-oss-20b's rounded 21 B left no room for its embeddings). Otherwise from that formula."""
    total = card.params_b * 1e9 if card.params_b else float(card.n_params())
    active = card.active_params_b * 1e9 if card.active_params_b else total
    if not (card.is_moe and card.n_experts_active):
        return total, active, 0.0
    if card.moe_ffn_dim:
        experts = float(card.moe_layers * card.n_experts * 3 * card.d_model * card.moe_ffn_dim)
    else:
        experts = (total - active) / (1 - card.n_experts_active / card.n_experts)
    return total, active, max(experts, 0.0)


class WeightBytes(NamedTuple):
    """A card's weight bytes at a precision, tensor by tensor (see PRECISION_BITS)."""

    total: float  # everything the GPUs hold
    dense_read: float  # read by every step: attention, dense MLPs, norms, the LM head (not the looked-up embedding rows)
    experts: float  # all routed experts (a step reads the share its tokens route to)


def weight_bytes(card: ModelCard, precision: str) -> WeightBytes:
    """Per-tensor bytes: embeddings and LM head at bf16, routed experts and the rest at the precision (the rest at bf16
    for an experts-only format). A tied embedding is the LM head: held once, read by every step."""
    b = bits(precision) / 8
    if precision in EXPERTS_ONLY and not card.is_moe:
        raise InputError(f"{precision} is a format of mixture-of-experts checkpoints (gpt-oss's experts); {card.name} is dense — "
                         "use int4 or fp8", field="precision")
    total, _, experts = card_params(card)
    table = float(card.vocab_size * card.d_model)
    edge = table if card.tied_embeddings else 2 * table  # input embedding (+ untied LM head)
    body = total - edge - experts
    if body < 0:
        raise DataError(f"model_cards: row '{card.name}': embeddings and experts ({(edge + experts) / 1e9:.3g} B parameters) exceed "
                        f"its params_b ({total / 1e9:.3g} B); correct the row")
    body_b = 2.0 if precision in EXPERTS_ONLY else b
    lookup = 0.0 if card.tied_embeddings else table
    return WeightBytes(total=edge * 2.0 + body * body_b + experts * b, dense_read=(edge - lookup) * 2.0 + body * body_b, experts=experts * b)


def kv_bytes_per_token(card: ModelCard, context: float, *, tp: int = 1, pp: int = 1) -> float:
    """KV bytes one token of a `context`-token request costs one GPU of a TP×PP engine (see the module docstring).
    Only the full-attention layers cache tokens (a hybrid's linear-attention layers keep `recurrent_state_bytes`
    instead: Qwen3.5-397B-A17B caches 15 of its 60 layers, `layer_types` in its config); the sliding-window layers
    are a share of those."""
    full = card.full_attention_layers
    layers = full / pp
    if card.kv_lora_rank:  # MLA: one compressed latent + the rope key per layer, the same on every TP rank
        per_layer = (card.kv_lora_rank + (card.qk_rope_head_dim or 0)) * KV_BYTES_PER_ELEMENT
    else:
        per_layer = 2 * max(1.0, card.n_kv_heads / tp) * card.head_dim * KV_BYTES_PER_ELEMENT
    swa = min(card.sliding_window_layers or 0, full) if card.sliding_window else 0
    full_share = (full - swa) / full
    window_share = swa / full * min(1.0, card.sliding_window / max(context, 1.0)) if swa else 0.0
    return layers * per_layer * (full_share + window_share)


def recurrent_state_bytes(card: ModelCard, *, tp: int = 1, pp: int = 1) -> float:
    """Bytes of fixed recurrent state one sequence holds on one GPU of a TP×PP engine: linear_attention_layers / PP ×
    linear_state_bytes / TP (0 for a model without linear-attention layers). The state's heads shard over TP —
    vLLM's `gated_delta_net_state_shape` (vllm/model_executor/layers/mamba/mamba_utils.py @02d71083) divides the
    conv channels and the value heads by the TP size, no replication — and it does not grow with the context."""
    if not card.linear_attention_layers:
        return 0.0
    return card.linear_attention_layers / pp * card.linear_state_bytes / tp


def memory_plan(card: ModelCard, precision: str, device: Device, tp: int, pp: int, context_tokens: float,
                gpu_memory_utilization: float = GPU_MEMORY_UTILIZATION) -> MemoryPlan:
    """What one GPU of a TP×PP engine holds, and how many requests of `context_tokens` its KV cache fits.

    A hybrid's sequence needs its fixed recurrent state (`recurrent_state_bytes`) beside its tokens' KV, so a request
    costs context · KV per token + state: `max_seqs_by_kv` counts that, and `kv_tokens` is what the cache holds beside
    the states of that many requests (the scheduler admits by tokens; exact for requests of this context, and
    optimistic for shorter ones of a mix, whose state weighs more per token)."""
    w = weight_bytes(card, precision).total / (tp * pp)
    runtime = ACTIVATION_PEAK_BYTES + NON_TORCH_BYTES[1 if tp * pp == 1 else 2]
    budget = gpu_memory_utilization * device.memory_gib * GIB
    kv_bytes = budget - w - runtime
    per_token = kv_bytes_per_token(card, context_tokens, tp=tp, pp=pp)
    state = recurrent_state_bytes(card, tp=tp, pp=pp)
    ctx = max(context_tokens, 1)
    tokens = int(max(kv_bytes, 0) // per_token) if not state else int(max(kv_bytes, 0) * ctx / (ctx * per_token + state))
    seqs = int(tokens // ctx) if not state else int(max(kv_bytes, 0) // (ctx * per_token + state))
    if card.context_length and context_tokens > card.context_length:
        why = f"context {context_tokens:,.0f} tokens exceeds {card.name}'s {card.context_length:,}"
    elif kv_bytes <= 0:
        why = (f"weights {w / GIB:.1f} GiB + runtime {runtime / GIB:.1f} GiB per GPU exceed {gpu_memory_utilization:.0%} of "
               f"{device.memory_gib:g} GiB")
    elif seqs < 1:
        state_note = f" and its {state / GIB:.2f} GiB recurrent state" if state else ""
        why = f"KV cache {kv_bytes / GIB:.1f} GiB holds {tokens:,} tokens, less than one {context_tokens:,.0f}-token request{state_note}"
    else:
        why = ""
    return MemoryPlan(w / GIB, runtime / GIB, max(kv_bytes, 0) / GIB, per_token, tokens, seqs, not why, why, state)


def layouts(n_gpus: int, card: ModelCard) -> list[Layout]:
    """Every TP × PP (TP dividing the attention heads, PP at most the layers) that splits an n-GPU instance into
    equal engines, the rest of its GPUs running more engines side by side (data parallel)."""
    out = []
    for tp in TP_SIZES:
        for pp in PP_SIZES:
            if tp * pp > n_gpus or n_gpus % (tp * pp) or card.n_heads % tp or pp > card.n_layers:
                continue
            out.append(Layout(tp, pp, n_gpus // (tp * pp)))
    return out


def comm_per_step(card: ModelCard, device: Device, tp: int, pp: int) -> tuple[float, float]:
    """(seconds per step, seconds per token in the step) of TP all-reduces and PP sends, for one pass of all stages."""
    if tp == 1 and pp == 1:
        return 0.0, 0.0
    link = device.link_bytes_s()
    alpha = device.allreduce_s(max(tp, pp))
    if link is None or alpha is None:
        raise InputError(f"hardware: {device.name} has no interconnect bandwidth or all-reduce latency in data/hardware.csv; "
                         "multi-GPU layouts need both")
    act = card.d_model * KV_BYTES_PER_ELEMENT  # one token's hidden state (bf16)
    fixed = 2 * card.n_layers * alpha if tp > 1 else 0.0
    per_token = 2 * card.n_layers * 2 * (tp - 1) / tp * act / link if tp > 1 else 0.0
    fixed += (pp - 1) * alpha
    per_token += (pp - 1) * act / link
    return fixed, per_token


def pair_flops(card: ModelCard) -> float:
    """FLOPs of one attended token pair in prefill, all full-attention layers: QKᵀ and AV, 2 · n_heads · (d_qk + d_v)
    each layer — with d_qk = d_v = head_dim, 4 · n_heads · head_dim. An MLA card's head_dim is the query/key width,
    nope + rope (DeepSeek-V3: 128 + 64), and its values are the nope width (v_head_dim = qk_nope_head_dim = 128 in
    DeepSeek's configs): 2 · 128 · (192 + 128) a layer. A hybrid's linear-attention layers attend no pairs: their work
    per token is constant (see `assemble_step_model`)."""
    v = card.head_dim - (card.qk_rope_head_dim or 0) if card.kv_lora_rank else card.head_dim
    return 2.0 * card.full_attention_layers * card.n_heads * (card.head_dim + v)


def step_model(card: ModelCard, precision: str, device: Device, eff: GpuEfficiency, tp: int, pp: int, mem: MemoryPlan,
               *, max_num_seqs: int = 256, max_num_batched_tokens: int = 8192) -> tuple[StepModel, Scheduler]:
    """One lane of a TP×PP engine as the simulator's step model and vLLM scheduler (see the module docstring)."""
    # TP ranks read and compute their shares in parallel; a lane passes every stage in turn
    c = coefficients(eff, device.bandwidth_gb_s * 1e9 * tp, device.compute_tflops(precision) * 1e12 * tp, device.tflops * 1e12 * tp)
    return assemble_step_model(card, precision, device, c, tp, pp, mem, max_num_seqs=max_num_seqs,
                               max_num_batched_tokens=max_num_batched_tokens, ttft_overhead_s=eff.server_ttft_s)


def assemble_step_model(card: ModelCard, precision: str, device: Device, c: np.ndarray, tp: int, pp: int, mem: MemoryPlan, *,
                        max_num_seqs: int = 256, max_num_batched_tokens: int = 8192,
                        ttft_overhead_s: float = 0.0) -> tuple[StepModel, Scheduler]:
    """The step model of seconds-per-feature coefficients `c` (`GpuFeatures` order, as `coefficients` gives them): linear
    in `c` besides the interconnect's time, so the corpus fit (`gpufit`) reads its design columns off this same
    function — the model it fits is the model that plans.

    A hybrid's linear-attention layers: every decoding sequence reads its recurrent state and writes it back in place
    each step (vLLM's `fused_recurrent_gated_delta_rule_fwd_kernel`, vllm/model_executor/layers/fla/ops/fused_recurrent.py
    @03c6dad8: `tl.load` of h0, `tl.store` of ht into the same state slot), so both passes are bytes moved:
    STATE_PASSES × `recurrent_state_bytes` per sequence. A prefill chunk's state read and write (one per chunk, not per
    token) is left out. Their recurrence's FLOPs are left out too: per token and value head the decay, the delta
    update and the output are about 7 · K · V (K = V = 128), 7.3 MFLOPs a layer over Qwen3.5-397B-A17B's 64 value
    heads, 0.33 GFLOPs over its 45 layers: 1 % of 2 × 17 B active = 34 GFLOPs of matmuls; their projections are
    weights, in the active parameters."""
    c = GpuFeatures(*c)
    active = card_params(card)[1]
    wb = weight_bytes(card, precision)
    fixed_comm, token_comm = comm_per_step(card, device, tp, pp)
    kv_token_all = mem.kv_bytes_per_token * pp * tp  # the token's KV across the engine
    state_seq_all = STATE_PASSES * mem.state_bytes_per_seq * pp * tp  # a sequence's recurrent state, read and written back
    flops_token = 2 * active
    step = StepModel(
        overhead_s=(c.steps + c.layer_steps * card.n_layers + c.moe_layer_steps * card.moe_layers + c.rank_steps * (tp * pp - 1)
                    + c.bytes_read * wb.dense_read + fixed_comm),
        per_seq_s=c.decode_seqs + c.decode_flops * flops_token + token_comm + c.bytes_read * state_seq_all,
        per_kv_token_s=c.bytes_read * kv_token_all,
        per_prefill_token_s=c.prefill_tokens + c.prefill_flops * flops_token + token_comm,
        per_prefill_pair_s=c.attention_flops * pair_flops(card),
        per_request_s=c.requests,
        token_budget=max_num_batched_tokens, max_seqs=max(1, max_num_seqs // pp),
        measured_batch=None, measured_context=None, measured_prompt=None,  # derived from the card: no measured range
        fit_rms_pct=float("nan"), n_points=0, expert_read_s=c.bytes_read * wb.experts,
        expert_share=card.n_experts_active / card.n_experts if card.is_moe else 0.0,
        window=card.sliding_window if card.sliding_window_layers else None,
        windowed_share=(min(card.sliding_window_layers or 0, card.full_attention_layers) / card.full_attention_layers
                        if card.sliding_window else 0.0),  # a share of `pair_flops`: of the full-attention layers
    )
    sched = Scheduler(kind="vllm", max_seqs=step.max_seqs, token_budget=max_num_batched_tokens,
                      kv_capacity_tokens=max(1, mem.kv_tokens // pp), ttft_overhead_s=ttft_overhead_s)
    return step, sched


@dataclass(frozen=True)
class EngineEstimate:
    """One TP×PP engine of a card on a device: memory, and capacity at the SLO (None when it does not fit)."""

    precision: str
    tp: int
    pp: int
    memory: MemoryPlan
    capacity: SloCapacity | None
    requests_per_s: float  # per engine (PP lanes included); 0 when the SLO cannot be met or it does not fit


def engine_estimate(card: ModelCard, precision: str, device: Device, eff: GpuEfficiency, tp: int, pp: int,
                    tokens_in: float, tokens_out: float, ttft_slo_s: float, itl_slo_s: float, *, refine: int = 3,
                    n_requests: int = 200, grid_points: int = 8, steady: bool = True, itl_metric: ItlMetric = "itl",
                    mix: RequestMix | None = None) -> EngineEstimate:
    """Memory, then capacity at the SLO by the capacity model's simulation (a coarser rate grid than a single plan's:
    8 rates to saturation and 3 bisections, 200 requests a rate — the fleet search simulates hundreds of engines),
    confirmed on runs 4× as long (`steady`: 800 requests, another arrival sequence) unless asked for the short-run upper estimate.
    `mix`: requests drawn from a length distribution (`lengths.RequestMix`); the KV must then hold its longest request."""
    mem = memory_plan(card, precision, device, tp, pp, mix.max_tokens if mix is not None else tokens_in + tokens_out)
    if not mem.fits:
        return EngineEstimate(precision, tp, pp, mem, None, 0.0)
    step, sched = step_model(card, precision, device, eff, tp, pp, mem)
    cap = capacity_at_slo_sim(step, sched, tokens_in, tokens_out, ttft_slo_s, itl_slo_s, refine=refine, n_requests=n_requests,
                              grid_points=grid_points, steady=steady, max_requests=4 * n_requests, itl_metric=itl_metric,
                              full_curve=False, mix=mix)
    return EngineEstimate(precision, tp, pp, mem, cap, cap.requests_per_s * pp)


def vllm_command(model: str, tp: int, pp: int, max_model_len: int, *, precision: str = "bf16", nodes: int = 1,
                 gpu_memory_utilization: float = GPU_MEMORY_UTILIZATION) -> str:
    """The `vllm serve` line that realises a layout (one engine; run `replicas` of them on disjoint GPUs)."""
    parts = [f"vllm serve {model}", f"--tensor-parallel-size {tp}"]
    if pp > 1:
        parts.append(f"--pipeline-parallel-size {pp}")
    parts += [f"--max-model-len {int(max_model_len)}", f"--gpu-memory-utilization {gpu_memory_utilization:g}"]
    if precision == "fp8":
        parts.append("--quantization fp8")
    if nodes > 1:
        parts.append("--distributed-executor-backend ray")
    return " ".join(parts)


# --------------------------------------------------------------------------------------------------- calibration

def _design(profile: EngineProfile) -> tuple[np.ndarray, np.ndarray]:
    """Every timing of a profile as a row of the efficiency fit's features (see `features`) and its measured seconds."""
    rows, times, _, _ = measured_steps(profile)
    return features(profile.model, rows), times


class GpuFeatures(NamedTuple):
    """What a step costs on a GPU, by kind: the efficiency fit's features (columns of `features`) and, as seconds per
    unit, its coefficients (`coefficients`). Read by name by the fit, the step model, the fleet and the projection."""

    steps: float  # engine steps: the per-step overhead whatever the model (fixed)
    layer_steps: float  # steps × layers: per-layer launch and sync costs (fixed)
    bytes_read: float  # weights, KV and routed experts read (memory)
    decode_seqs: float  # sequences decoding (fixed per sequence)
    decode_flops: float  # their FLOPs (compute)
    prefill_tokens: float  # prompt tokens (fixed per token)
    prefill_flops: float  # their FLOPs (compute)
    attention_flops: float  # prefill attention's L² FLOPs (compute)
    requests: float  # new requests (fixed)
    moe_layer_steps: float = 0.0  # steps × mixture-of-experts layers: their routing and dispatch beyond a dense layer (fixed)
    rank_steps: float = 0.0  # steps × (TP·PP − 1): each further worker's share of the step's broadcast, gather and sync (fixed;
    # vLLM's multiprocessing executor sends every step to all TP × PP workers; the corpus has TP only, so PP is its extrapolation)


FIXED = tuple(GpuFeatures._fields.index(f) for f in ("steps", "layer_steps", "decode_seqs", "prefill_tokens", "requests", "moe_layer_steps",
                                                     "rank_steps"))
MEMORY = (GpuFeatures._fields.index("bytes_read"),)
COMPUTE = tuple(GpuFeatures._fields.index(f) for f in ("decode_flops", "prefill_flops", "attention_flops"))


def features(m, rows) -> np.ndarray:
    """Step-count rows (`stepmodel.StepCounts`, as `measured_steps` gives them) of a model as the efficiency fit's
    features, in `GpuFeatures` order."""
    n = StepCounts(*np.atleast_2d(np.asarray(rows, float)).T)
    total, experts, lookup = weight_parts(m)
    if unknown := [f for f in ("n_layers", "n_heads", "head_dim") if getattr(m, f) is None]:
        raise MeasurementError(f"{m.file_name}: {', '.join(unknown)} not recorded; the efficiency fit needs the architecture")
    dense = total - experts - lookup
    share = (m.n_experts_active / m.n_experts) if experts and m.n_experts and m.n_experts_active else 0.0
    flops_token = 2 * active_params(m)
    read = n.steps * dense + n.kv_tokens * model_kv_bytes_per_token(m)
    if share:
        read = read + n.steps * experts * (1 - (1 - share) ** (n.batch + n.prefill_tokens / n.steps))
    return np.column_stack(GpuFeatures(
        steps=n.steps, layer_steps=n.steps * m.n_layers, bytes_read=read, decode_seqs=n.batch, decode_flops=n.batch * flops_token,
        prefill_tokens=n.prefill_tokens, prefill_flops=n.prefill_tokens * flops_token,
        attention_flops=n.prefill_pairs * 4 * m.n_layers * m.n_heads * m.head_dim, requests=n.requests,
        moe_layer_steps=np.zeros_like(n.steps),  # one MoE clone among the profiles: its routing is not told from its layers
        rank_steps=np.zeros_like(n.steps)))  # single-GPU profiles


def coefficients(eff: GpuEfficiency, bandwidth_bytes_s: float, flops: float, attention_flops: float | None = None) -> np.ndarray:
    """The efficiency as seconds per feature (`GpuFeatures`) on a device of this bandwidth and FLOP/s (the matmuls'
    peak at the weights' precision; attention runs at `attention_flops`, the 16-bit peak, default `flops`): the fit's
    own coefficients, and the one mapping from efficiency to time that the step model, the fits' validation and the
    projection all use."""
    return np.array(GpuFeatures(
        steps=eff.per_step_s, layer_steps=eff.per_layer_s, bytes_read=1 / (bandwidth_bytes_s * eff.bandwidth_eff), decode_seqs=eff.per_seq_s,
        decode_flops=1 / (flops * eff.decode_flops_eff), prefill_tokens=eff.per_token_s, prefill_flops=1 / (flops * eff.flops_eff),
        attention_flops=1 / ((attention_flops or flops) * eff.attention_flops_eff), requests=eff.per_request_s,
        moe_layer_steps=eff.per_moe_layer_s, rank_steps=eff.per_tp_rank_s))


def time_ratio(m, rows, eff: GpuEfficiency, source: tuple[float, float], target: tuple[float, float]) -> np.ndarray:
    """How much longer each step-count row takes on `target` than on `source` (bandwidth bytes/s, FLOP/s): fixed costs
    stay, bytes scale with bandwidth, FLOPs with compute — so a batched step that runs far from the bandwidth roofline
    is not scaled as if it were memory-bound."""
    x = features(m, rows)
    c = coefficients(eff, *source)
    parts = {k: x[:, list(idx)] @ c[list(idx)] for k, idx in (("fixed", FIXED), ("memory", MEMORY), ("compute", COMPUTE))}
    total = parts["fixed"] + parts["memory"] + parts["compute"]
    moved = parts["fixed"] + parts["memory"] * source[0] / target[0] + parts["compute"] * source[1] / target[1]
    return np.where(total > 0, moved / np.where(total > 0, total, 1.0), source[0] / target[0])


def _fit(profiles: list[EngineProfile]) -> np.ndarray:
    parts = [_design(p) for p in profiles]
    x = np.vstack([a for a, _ in parts])
    t = np.concatenate([b for _, b in parts])
    scale = x.max(axis=0)
    scale[scale == 0] = 1.0
    coef, _ = nnls(x / scale / t[:, None], np.ones_like(t))  # relative least squares, every term >= 0
    return coef / scale


def fit_gpu_efficiency(profiles: list[EngineProfile], bandwidth_bytes_s: float, flops: float, *, device: str) -> GpuEfficiency:
    """One fit of the roofline's coefficients on every timing of every profile measured on one GPU (decode at several
    depths, batched decode, prefill at several lengths), so that models of different sizes separate the fixed costs
    (per layer, per token, per request) from the bytes and FLOPs. Needs ≥ 3 model sizes: each profile is also
    predicted from a fit on the others (leave-one-out), and that held-out error is the efficiency's stated error —
    never its error on the points it was fitted on. An efficiency above 100 % of the datasheet is refused."""
    sizes = {active_weight_bytes(p.model) for p in profiles}
    if len(sizes) < 3:
        raise FitError(f"a GPU efficiency needs profiles of at least 3 model sizes on {device} (2 to fit, 1 to "
                       f"check); got {len(sizes)} — one model at several depths cannot separate fixed costs from bandwidth",
                       field="calibrate")
    errors = []
    for i, held in enumerate(profiles):
        rest = profiles[:i] + profiles[i + 1:]
        if len({active_weight_bytes(p.model) for p in rest}) < 2:
            continue
        x, t = _design(held)
        errors += list(100 * np.abs(x @ _fit(rest) / t - 1))
    c = GpuFeatures(*(float(v) for v in _fit(profiles)))

    def efficiency(cost: float, peak: float, what: str) -> float:
        if cost <= 0:
            raise FitError(f"the profiles on {device} do not determine {what} (its fitted cost is zero); add profiles of "
                           "other model sizes or batch sizes", field="calibrate")
        return float(1.0 / cost / peak)  # above 1 is refused by GpuEfficiency: faster than the datasheet allows
    eff = GpuEfficiency(
        per_step_s=c.steps, per_layer_s=c.layer_steps, bandwidth_eff=efficiency(c.bytes_read, bandwidth_bytes_s, "the bytes-read cost"), per_seq_s=c.decode_seqs,
        decode_flops_eff=efficiency(c.decode_flops, flops, "the batched-decode FLOP cost"), per_token_s=c.prefill_tokens,
        flops_eff=efficiency(c.prefill_flops, flops, "the prefill FLOP cost"),
        # short prompts may leave the L² term unseen (zero): then attention runs at peak, the optimistic bound
        attention_flops_eff=min(1.0, 1.0 / c.attention_flops / flops) if c.attention_flops > 0 else 1.0, per_request_s=c.requests,
        source=f"{len(profiles)} engine profiles on {device} ({len(sizes)} model sizes)", device=device,
        median_abs_error_pct=float(np.median(errors)) if errors else None, max_abs_error_pct=float(np.max(errors)) if errors else None,
        n_checks=len(errors))
    return eff
