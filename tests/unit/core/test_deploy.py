"""Multi-GPU deployments: hand-computed memory and communication, the efficiency's limits (the fleet ranking built on
them is in test_fleet.py)."""
from __future__ import annotations

import glob
from pathlib import Path

import pytest

from planner.core.cards import ModelCard
from planner.core.deploy import (
    ACTIVATION_PEAK_BYTES,
    NON_TORCH_BYTES,
    Device,
    GpuEfficiency,
    comm_per_step,
    fit_gpu_efficiency,
    kv_bytes_per_token,
    layouts,
    memory_plan,
    vllm_command,
)
from planner.core.errors import FitError, InputError
from planner.core.units import GIB
from planner.formats.profiles import load_profile
from tests.unit.core.conftest import BIG, CARD, NVLINK

ROOT = Path(__file__).resolve().parents[3]


def test_memory_plan_by_hand_tp2():
    mem = memory_plan(CARD, "bf16", NVLINK, tp=2, pp=1, context_tokens=2000)
    weights = 8e9 * 2 / 2  # bf16, split over 2 ranks
    runtime = ACTIVATION_PEAK_BYTES + NON_TORCH_BYTES[2]  # vLLM's logged activation peak + TP>1 non-torch memory
    assert runtime == int(1.26 * GIB) + int(3.58 * GIB)
    kv = 0.9 * 80 * GIB - weights - runtime
    per_token = 32 * 2 * (8 / 2) * 128 * 2  # layers · K and V · KV heads per rank · head_dim · bf16 bytes = 65,536
    assert mem.kv_bytes_per_token == per_token == 65536
    assert mem.weights_gib == pytest.approx(weights / GIB)
    assert mem.kv_tokens == int(kv // per_token)
    assert mem.max_seqs_by_kv == int(kv // per_token) // 2000
    assert mem.fits and mem.why == ""


def test_kv_heads_replicate_past_tp_and_mla_and_window():
    few_heads = ModelCard("few", n_layers=10, d_model=1024, n_heads=16, n_kv_heads=4, ffn_dim=4096, vocab_size=1000, head_dim=64)
    assert kv_bytes_per_token(few_heads, 100, tp=8) == 10 * 2 * 1 * 64 * 2  # 4 KV heads on 8 ranks: one (replicated) each
    assert kv_bytes_per_token(few_heads, 100, tp=2) == 10 * 2 * 2 * 64 * 2
    mla = ModelCard("mla", n_layers=61, d_model=7168, n_heads=128, n_kv_heads=128, ffn_dim=18432, vocab_size=129280, head_dim=128,
                    kv_lora_rank=512, qk_rope_head_dim=64)
    assert kv_bytes_per_token(mla, 100, tp=8) == kv_bytes_per_token(mla, 100, tp=1) == 61 * (512 + 64) * 2
    swa = ModelCard("swa", n_layers=6, d_model=1024, n_heads=8, n_kv_heads=4, ffn_dim=4096, vocab_size=1000, head_dim=128,
                    sliding_window=1024, sliding_window_layers=5)
    full = 6 * 2 * 4 * 128 * 2
    assert kv_bytes_per_token(swa, 4096) == pytest.approx(full * (1 / 6 + 5 / 6 * 1024 / 4096))
    assert kv_bytes_per_token(swa, 512) == pytest.approx(full)  # shorter than the window: every layer keeps every token


def test_what_does_not_fit_says_why():
    assert not memory_plan(BIG, "bf16", NVLINK, 1, 1, 1300).fits  # 140 GB of weights on one 80 GiB GPU
    assert "exceed 90% of 80 GiB" in memory_plan(BIG, "bf16", NVLINK, 1, 1, 1300).why
    assert memory_plan(BIG, "bf16", NVLINK, 2, 1, 1300).fits
    long = memory_plan(CARD, "bf16", NVLINK, 1, 1, 10_000)
    assert not long.fits and "exceeds test-8b's 8,192" in long.why



def test_per_tensor_bytes_of_llama_31_8b_int4_and_gpt_oss_mxfp4():
    """Issue 22 #3: int4 priced the embeddings and LM head at 4.25 bits (4.27 GB); AWQ/GPTQ keep them bf16 (5.81 GB).
    A step reads the LM head, never the whole input embedding (a row lookup)."""
    from planner.core.deploy import weight_bytes
    from planner.formats.catalog import load_card
    llama = load_card("Llama-3.1-8B")
    table = 128256 * 4096  # untied: input embedding and LM head each vocab × d_model
    w = weight_bytes(llama, "int4")
    assert w.total == pytest.approx(2 * table * 2 + (8.03e9 - 2 * table) * 4.25 / 8)
    assert w.total / 1e9 == pytest.approx(5.81, abs=0.005)
    assert w.dense_read == pytest.approx(w.total - table * 2) and w.experts == 0
    oss = load_card("gpt-oss-120b")  # 117 B total, 5.1 B active, 4 of 128 experts
    experts = 36 * 128 * 3 * 2880 * 2880  # layers × experts × SwiGLU matrices × d_model × expert width = 114.7 B
    table = oss.vocab_size * oss.d_model
    mx = weight_bytes(oss, "mxfp4")  # native: experts MXFP4, attention and embeddings bf16
    assert mx.experts == pytest.approx(experts * 4.25 / 8)
    assert mx.total == pytest.approx(2 * table * 2 + (117e9 - 2 * table - experts) * 2 + experts * 4.25 / 8)
    assert 60e9 < mx.total < 66e9  # gpt-oss-120b ships as ~65 GB and runs on one 80 GB GPU
    assert memory_plan(oss, "mxfp4", NVLINK, 1, 1, 2000).fits and not memory_plan(oss, "bf16", NVLINK, 1, 1, 2000).fits
    with pytest.raises(InputError, match="mixture-of-experts checkpoints"):
        weight_bytes(llama, "mxfp4")


def test_communication_by_hand():
    fixed, per_token = comm_per_step(CARD, NVLINK, tp=4, pp=1)
    assert fixed == pytest.approx(2 * 32 * 9.5e-6)  # two all-reduces per layer
    assert per_token == pytest.approx(2 * 32 * 2 * (3 / 4) * 4096 * 2 / 450e9)  # ring: 2(TP−1)/TP of 8 KiB, at 900/2 GB/s
    fixed8, _ = comm_per_step(CARD, NVLINK, tp=8, pp=1)
    assert fixed8 == pytest.approx(2 * 32 * 10.1e-6)  # the 8-GPU latency
    fixed_pp, per_token_pp = comm_per_step(CARD, NVLINK, tp=1, pp=2)
    assert fixed_pp == pytest.approx(9.5e-6) and per_token_pp == pytest.approx(4096 * 2 / 450e9)
    assert comm_per_step(CARD, NVLINK, 1, 1) == (0.0, 0.0)
    no_link = Device("no-link", 24, 600, 125)
    with pytest.raises(InputError, match="no interconnect"):
        comm_per_step(CARD, no_link, 2, 1)


def test_layouts_fill_the_instance():
    for n in (1, 2, 4, 8):
        for lay in layouts(n, CARD):
            assert lay.gpus == n  # every GPU runs in some engine
    assert {(lay.tp, lay.pp, lay.replicas) for lay in layouts(8, CARD)} >= {(1, 1, 8), (2, 1, 4), (4, 1, 2), (8, 1, 1), (4, 2, 1)}
    odd_heads = ModelCard("odd", n_layers=4, d_model=640, n_heads=10, n_kv_heads=2, ffn_dim=1024, vocab_size=100, head_dim=64)
    assert all(lay.tp in (1, 2) for lay in layouts(8, odd_heads))  # TP must divide the heads


def test_efficiency_above_100_percent_is_refused():
    with pytest.raises(FitError, match="bandwidth_eff"):
        GpuEfficiency(bandwidth_eff=1.2, flops_eff=0.3, decode_flops_eff=0.3, attention_flops_eff=0.1, per_layer_s=0, per_seq_s=0,
                      per_token_s=0, per_request_s=0, source="x")


H100 = sorted(glob.glob(str(ROOT / "profiles/reference/h100/**/*.json"), recursive=True))


def test_efficiency_fit_needs_three_sizes_and_reports_held_out_error():
    profiles = [load_profile(p) for p in H100]
    mistral = [p for p in profiles if "Mistral" in p.label]
    with pytest.raises(FitError, match="at least 3 model sizes"):
        fit_gpu_efficiency(mistral * 3, 3350e9, 989.5e12, device="H100")  # one model repeated is one size
    eff = fit_gpu_efficiency(profiles, 3350e9, 989.5e12, device="H100")
    assert 0 < eff.bandwidth_eff <= 1 and 0 < eff.flops_eff <= 1 and 0 < eff.decode_flops_eff <= 1
    assert eff.n_checks > 100 and eff.median_abs_error_pct is not None and eff.max_abs_error_pct >= eff.median_abs_error_pct
    with pytest.raises(FitError, match="100 %"):  # a datasheet bandwidth far below what was measured is caught
        fit_gpu_efficiency(profiles, 300e9, 989.5e12, device="H100 with a wrong row")


def test_vllm_command():
    assert vllm_command("meta-llama/Llama-3.1-70B-Instruct", 4, 2, 1300) == (
        "vllm serve meta-llama/Llama-3.1-70B-Instruct --tensor-parallel-size 4 --pipeline-parallel-size 2 --max-model-len 1300 "
        "--gpu-memory-utilization 0.9")
    assert vllm_command("m", 8, 1, 4096, precision="fp8", nodes=2).endswith("--quantization fp8 --distributed-executor-backend ray")


def test_every_committed_card_has_consistent_per_tensor_bytes():
    from planner.core.deploy import PRECISION_BITS, weight_bytes
    from planner.formats.catalog import load_card, records
    for row in records("model_cards"):
        card = load_card(row.name)
        for precision in PRECISION_BITS:
            if precision == "mxfp4" and not card.is_moe:
                continue
            w = weight_bytes(card, precision)
            assert 0 < w.dense_read <= w.total and 0 <= w.experts < w.total, (card.name, precision, w)


def test_sliding_window_and_mla_prefill_attention_by_hand():
    """Issue 22 #4: Gemma-3-27B's 52 windowed layers (1,024 tokens) were priced as full attention at a 32k prompt."""
    from planner.core.deploy import pair_flops, step_model
    from planner.formats.catalog import load_card
    gemma = load_card("Gemma-3-27B")
    mem = memory_plan(gemma, "bf16", NVLINK, 1, 1, 33_000)
    eff = GpuEfficiency(bandwidth_eff=0.6, flops_eff=0.3, decode_flops_eff=0.3, attention_flops_eff=0.1, per_layer_s=20e-6, per_seq_s=50e-6,
                        per_token_s=10e-6, per_request_s=1e-3, source="test")
    step, _ = step_model(gemma, "bf16", NVLINK, eff, 1, 1, mem)
    full = 32768 ** 2 / 2
    windowed = 1024 * 512 + (32768 - 1024) * 1024  # the first 1,024 tokens see every earlier one, the rest 1,024 each
    assert step.window == 1024 and step.windowed_share == 52 / 62
    assert float(step.attention_pairs(0, 32768)) == pytest.approx(10 / 62 * full + 52 / 62 * windowed)
    chunks = sum(float(step.attention_pairs(d, 4096)) for d in range(0, 32768, 4096))  # chunked prefill: the same pairs
    assert chunks == pytest.approx(float(step.attention_pairs(0, 32768)))
    assert float(step.attention_pairs(0, 1000)) == pytest.approx(1000 ** 2 / 2)  # shorter than the window: full attention
    ds = load_card("DeepSeek-V3")
    assert ds.head_dim == 192 and pair_flops(ds) == 2 * 61 * 128 * (128 + 64 + 128)  # MLA: QKᵀ over nope + rope, AV over 128
    assert pair_flops(load_card("Llama-3.1-8B")) == 4 * 32 * 32 * 128


H200 = Device("H200-like", memory_gib=141, bandwidth_gb_s=4800, tflops=989.5, interconnect="NVLink 4", interconnect_gb_s=900,
              allreduce_latency_s=9.5e-6, allreduce_latency_8gpu_s=10.1e-6)
STATE = 73_728 + 4_194_304  # Qwen3.5's Gated DeltaNet layer: conv 3 × 12,288 bf16 + SSM 64 × 128 × 128 float32


def _no_linear(card: ModelCard) -> ModelCard:
    import dataclasses
    return dataclasses.replace(card, linear_attention_layers=None, linear_state_bytes=None)


def test_hybrid_linear_attention_kv_and_recurrent_state_by_hand():
    """Qwen3.5-397B-A17B: 15 of 60 layers cache tokens (2 KV heads × 256, bf16); 45 hold 4,268,032 B per sequence."""
    from planner.core.deploy import KV_BYTES_PER_ELEMENT, recurrent_state_bytes
    from planner.formats.catalog import load_card
    qwen = load_card("Qwen3.5-397B-A17B")
    assert (qwen.n_layers, qwen.linear_attention_layers, qwen.linear_state_bytes) == (60, 45, STATE) and KV_BYTES_PER_ELEMENT == 2
    assert kv_bytes_per_token(qwen, 1152) == 15 * 2 * 2 * 256 * 2 == 30_720  # full layers × K and V × KV heads × head_dim × bf16
    assert kv_bytes_per_token(qwen, 1152, tp=8) == 15 * 2 * 1 * 256 * 2  # 2 KV heads on 8 ranks: one (replicated) each
    assert kv_bytes_per_token(_no_linear(qwen), 1152) == 4 * 30_720  # the card read as 60 full-attention layers
    assert recurrent_state_bytes(qwen) == 45 * 4_268_032 == 192_061_440  # fixed, whatever the context
    assert recurrent_state_bytes(qwen, tp=8) == 45 * 4_268_032 / 8 and recurrent_state_bytes(qwen, tp=8, pp=3) == 15 * 4_268_032 / 8
    assert recurrent_state_bytes(_no_linear(qwen), tp=8) == 0
    assert memory_plan(qwen, "bf16", H200, 1, 1, 1152).state_bytes_per_seq == 45 * 4_268_032  # (794 GB of weights: no fit)
    mem = memory_plan(qwen, "bf16", H200, 8, 1, 1152)
    assert mem.state_bytes_per_seq == 45 * 4_268_032 / 8 and mem.kv_bytes_per_token == 15_360
    kv = 0.9 * 141 * GIB - 397e9 * 2 / 8 - (ACTIVATION_PEAK_BYTES + NON_TORCH_BYTES[2])  # all bf16: 794 GB over 8 ranks
    need = 1152 * 15_360 + 45 * 4_268_032 / 8  # a sequence: its tokens' KV and its state
    assert mem.max_seqs_by_kv == int(kv // need) == 762 and mem.fits
    assert mem.kv_tokens == int(kv * 1152 / need) and mem.kv_tokens // 1152 == mem.max_seqs_by_kv
    # read as 60 full-attention layers: 449 requests; the 45 layers' state (24 MB a rank) weighs less than their KV would
    assert memory_plan(_no_linear(qwen), "bf16", H200, 8, 1, 1152).max_seqs_by_kv == int(kv // (4 * 1152 * 15_360)) == 449


def test_hybrid_prefill_pairs_and_decode_state_read_by_hand():
    from planner.core.deploy import STATE_PASSES, pair_flops, step_model
    from planner.formats.catalog import load_card
    qwen = load_card("Qwen3.5-397B-A17B")
    plain = _no_linear(qwen)
    assert pair_flops(qwen) == 2 * 15 * 32 * (256 + 256) == pair_flops(plain) / 4  # 15 of 60 layers attend
    eff = GpuEfficiency(bandwidth_eff=0.6, flops_eff=0.3, decode_flops_eff=0.3, attention_flops_eff=0.1, per_layer_s=20e-6, per_seq_s=50e-6,
                        per_token_s=10e-6, per_request_s=1e-3, source="test")
    hybrid, _ = step_model(qwen, "bf16", H200, eff, 8, 1, memory_plan(qwen, "bf16", H200, 8, 1, 1152))
    full, _ = step_model(plain, "bf16", H200, eff, 8, 1, memory_plan(plain, "bf16", H200, 8, 1, 1152))
    per_byte = 1 / (4800e9 * 8 * 0.6)  # the engine's 8 ranks read in parallel at η_bw
    assert STATE_PASSES == 2  # read, and written back in place
    assert hybrid.per_seq_s - full.per_seq_s == pytest.approx(2 * 45 * 4_268_032 * per_byte)  # each decoding sequence's state
    assert hybrid.per_kv_token_s == pytest.approx(full.per_kv_token_s / 4)
    assert hybrid.per_prefill_pair_s == pytest.approx(full.per_prefill_pair_s / 4)
    assert hybrid.overhead_s == full.overhead_s  # every layer still pays its launch cost and reads its weights


def test_sliding_windows_are_a_share_of_the_full_attention_layers():
    from planner.core.deploy import pair_flops, step_model
    mixed = ModelCard("mixed", n_layers=8, d_model=1024, n_heads=8, n_kv_heads=4, ffn_dim=4096, vocab_size=1000, head_dim=128,
                      params_b=1.0, active_params_b=1.0, sliding_window=1024, sliding_window_layers=2, linear_attention_layers=4,
                      linear_state_bytes=1_000_000)
    per_layer = 2 * 4 * 128 * 2
    assert kv_bytes_per_token(mixed, 4096) == pytest.approx(per_layer * (2 + 2 * 1024 / 4096))  # 2 full + 2 windowed of 4 caching
    assert kv_bytes_per_token(mixed, 4096, pp=2) == pytest.approx(per_layer * (2 + 2 * 1024 / 4096) / 2)
    assert pair_flops(mixed) == 4 * 4 * 8 * 128
    step, _ = step_model(mixed, "bf16", NVLINK, GpuEfficiency(bandwidth_eff=0.6, flops_eff=0.3, decode_flops_eff=0.3, attention_flops_eff=0.1,
                                                               per_layer_s=0, per_seq_s=0, per_token_s=0, per_request_s=0, source="t"),
                         1, 1, memory_plan(mixed, "bf16", NVLINK, 1, 1, 4096))
    assert step.windowed_share == 2 / 4 and step.window == 1024
