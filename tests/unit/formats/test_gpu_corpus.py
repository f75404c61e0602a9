"""The published GPU measurements as typed points: which rows become points, why the rest do not, and the fitted
file's schema check."""
from __future__ import annotations

import json

import pytest

from planner.core.errors import DataError
from planner.formats.gpu_corpus import FIT_EXCLUDED, FIT_FILE, load_points, read_fit, vllm_server_limits


def test_points_and_reasons():
    corpus = load_points()
    ids = {p.id for p in corpus.points}
    assert "vllm-16300-tp8" in ids  # a published decode figure
    minimax = [p for p in corpus.points if p.model == "MiniMax-M2.5"]
    assert minimax and all(p.precision == "fp8" and p.tp == 8 and p.kind == "concurrency" for p in minimax)  # the checkpoint's fp8
    # per-GPU corpus rates are per engine here: × TP
    p = next(p for p in minimax if p.id.endswith("isl1024_osl128_conc4"))
    assert p.output_tok_s == pytest.approx(26.4609 * 8) and p.tpot_p50_s == pytest.approx(0.0136227)
    assert all(p.engine == "vLLM" for p in corpus.points)  # no TensorRT-LLM or SGLang row is used as vLLM
    qwen = [p for p in corpus.points if p.model == "Qwen3.5-397B-A17B"]  # the BF16 checkpoint, 45 hybrid layers of 60
    assert len(qwen) == 45 and all(p.precision == "bf16" and p.tp == 8 and p.card.linear_attention_layers == 45 for p in qwen)
    assert any(r.startswith("MLPerf") for r in corpus.skipped) and not any("Qwen3.5" in r for r in corpus.skipped)
    glm = next(r for r in corpus.skipped if r.startswith("no model card for GLM-5"))  # why it has none
    assert corpus.skipped[glm] == 52 and "MTP speculative decoding" in glm and "DeepSeek Sparse Attention" in glm
    assert sum(corpus.skipped.values()) + sum(1 for p in corpus.points if p.kind in ("concurrency", "burst")) == 817  # 711 + 106 gpustack
    bursts = [p for p in corpus.points if p.kind == "burst"]  # every request at once: the server's limits, its command's or vLLM's defaults
    assert len(bursts) == 92 and all(p.max_num_seqs in (256, 1024) and p.max_num_batched_tokens for p in bursts)


def test_committed_fit_reads_and_was_fitted_on_these_points():
    eff, fit = read_fit()
    assert eff.engine == "vLLM" and 0 < eff.bandwidth_eff <= 1
    points = load_points().points  # refit after the corpus changes; FIT_EXCLUDED models are predicted, never fitted
    assert set(fit.fitted_on) == {p.id for p in points if p.model not in FIT_EXCLUDED}  # bursts too (`gpufit.burst_rows`)
    assert FIT_EXCLUDED and any(p.model in FIT_EXCLUDED for p in points)
    assert {h.split for h in fit.held_out} == {"model", "gpu", "burst"}
    assert fit.held_out_split("burst").n_rows == sum(p.kind == "burst" for p in points)


def test_bad_fit_file_is_one_line(tmp_path):
    bad = tmp_path / "fit.json"
    bad.write_text(json.dumps({**json.loads(FIT_FILE.read_text()), "schema_version": 99}))
    with pytest.raises(DataError, match="schema_version 99.*refit with"):
        read_fit(bad)
    bad.write_text("{")
    with pytest.raises(DataError, match="cannot read the GPU step-model fit"):
        read_fit(bad)


def test_a_version_1_fit_file_is_migrated(tmp_path):
    """Version 1 had no speed error by model kind and no TP-scaling check: read as unknown (None, empty), not as 0."""
    raw = json.loads(FIT_FILE.read_text())
    old = {**{k: v for k, v in raw.items() if k != "tp_scaling"}, "schema_version": 1,
           "held_out": [{k: v for k, v in h.items() if "speed" not in k and k not in ("n_rows_dense", "n_rows_moe")} for h in raw["held_out"]]}
    (tmp_path / "v1.json").write_text(json.dumps(old))
    eff, fit = read_fit(tmp_path / "v1.json")
    assert fit.schema_version == 2 and fit.tp_scaling == {} and eff == read_fit()[0]
    assert fit.held_out_split("model").median_abs_error_pct_speed_dense is None and fit.held_out_split("model").n_rows_dense == 0


def test_vllm_server_limits_follow_its_defaults_by_gpu():
    """vLLM's OpenAI-server defaults: the large ones on ≥ 70 GiB GPUs that are not A100s, the small ones elsewhere."""
    from planner.core.deploy import Device
    h100 = Device("NVIDIA H100 SXM 80GB", memory_gib=80, bandwidth_gb_s=3350, tflops=989.5)
    a100 = Device("NVIDIA A100 SXM 80GB", memory_gib=80, bandwidth_gb_s=2039, tflops=312)
    l4 = Device("NVIDIA L4", memory_gib=24, bandwidth_gb_s=300, tflops=121)
    assert [vllm_server_limits(d) for d in (h100, a100, l4)] == [(8192, 1024), (2048, 256), (2048, 256)]
