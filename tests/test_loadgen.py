"""Serving profiles through the OpenAI HTTP API: a real llama_cpp.server on loopback running the embedded model,
plus a replay server for failure modes that a healthy server cannot produce on demand."""
import asyncio
import http.server
import json
import os
import threading
from pathlib import Path

import pytest

from planner.capacity import capacity_at_slo, serving_capacity_table
from planner.errors import PlannerError
from planner.loadgen import Endpoint, Slo, jsonl_prompts, run_level, summarize_level, synthetic_prompts
from planner.schema import load_profile
from planner.servers import LlamaCppServer, vllm_serve_command
from planner.serving import SweepConfig, serving_profile

RECORDED = (Path(__file__).parent / "data" / "llama_cpp_server_completion_stream.txt").read_bytes()


@pytest.fixture(scope="module")
def server(embedded_path):
    with LlamaCppServer(embedded_path, n_ctx=1024) as s:
        yield s


def test_concurrency_sweep_gives_a_capacity(server, embedded_path, tmp_path):
    prompts = synthetic_prompts(16, mean_tokens=24, std_tokens=4)
    out = tmp_path / "serving.json"
    profile = serving_profile(Endpoint(server.base_url, "smol"), prompts, SweepConfig(levels=(1, 2, 4, 8), requests_per_level=8, max_tokens=6),
                              out_path=out, slo=Slo(ttft_s=30, itl_s=2), backend="llama_cpp.server", model_path=embedded_path,
                              server_notes=["one request at a time"], progress=False)
    loaded = load_profile(out)
    assert loaded.status == "complete" and [lvl.target for lvl in loaded.serving] == [1, 2, 4, 8]
    for lvl in loaded.serving:
        assert lvl.sent == lvl.succeeded + lvl.failed + lvl.timed_out == 8 and lvl.succeeded == 8
        assert lvl.request_s > 0 and lvl.output_tok_s > 0 and lvl.ttft_ms.p95 >= lvl.ttft_ms.median
    # the server queues requests: TTFT grows with concurrency while throughput does not
    assert loaded.serving[-1].ttft_ms.median > 2 * loaded.serving[0].ttft_ms.median
    rps, conc = capacity_at_slo(serving_capacity_table(loaded).assign(requests_per_s=lambda t: t["goodput_requests_per_s"]), 30, 2)
    assert rps > 0 and conc in (1, 2, 4, 8)
    assert loaded.engine.endpoint_host == f"127.0.0.1:{server.port}" and loaded.model.quant_label == "Q4_1"


def test_thousand_requests_add_up_exactly(server):
    records, elapsed = asyncio.run(run_level(Endpoint(server.base_url, "smol"), synthetic_prompts(50, mean_tokens=4), mode="concurrency",
                                             target=8, max_requests=1000, max_duration_s=600, max_tokens=1))
    level = summarize_level(records, elapsed, mode="concurrency", target=8, slo=Slo())
    assert level.sent == 1000 == level.succeeded + level.failed + level.timed_out
    assert level.succeeded == 1000, level.errors


def test_server_killed_mid_run_leaves_partial_profile(embedded_path, tmp_path):
    out = tmp_path / "killed.json"
    with LlamaCppServer(embedded_path, n_ctx=512) as doomed:
        seen = []

        def kill_after_five(rec):
            seen.append(rec)
            if len(seen) == 5:
                doomed.kill()

        profile = serving_profile(Endpoint(doomed.base_url, "smol"), synthetic_prompts(8, mean_tokens=8),
                                  SweepConfig(levels=(2, 4), requests_per_level=20, max_tokens=4, timeout_s=20), out_path=out,
                                  progress=False, on_record=kill_after_five)
    loaded = load_profile(out)
    assert loaded.status == "partial" and len(loaded.serving) == 1
    lvl = loaded.serving[0]
    assert lvl.sent == 20 == lvl.succeeded + lvl.failed + lvl.timed_out
    assert lvl.succeeded >= 4 and lvl.failed + lvl.timed_out >= 10
    assert any("stopped answering" in n for n in loaded.notes) == (profile.status == "partial")


class _Replay(http.server.BaseHTTPRequestHandler):
    """Replays a recorded llama_cpp.server stream, whole or damaged, chosen by the URL's first segment."""

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b'{"data": []}')

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        kind = self.path.split("/")[1]
        if kind == "error500":
            self.send_response(500)
            self.end_headers()
            self.wfile.write(b'{"error": "boom"}')
            return
        body = RECORDED
        if kind == "malformed":
            body = body.replace(b'data: {"id"', b'data: {"id" <corrupted', 2)
        elif kind == "cut":
            body = body[: body.index(b"data: [DONE]")]
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def replay():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Replay)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()


@pytest.mark.parametrize("kind,outcome,error", [("ok", "ok", None), ("error500", "failed", "http_500"),
                                                ("malformed", "failed", "malformed_sse"), ("cut", "failed", "stream_closed_without_done")])
def test_failure_modes_are_counted_not_raised(replay, kind, outcome, error):
    """Replays a recorded real payload (tests/data), intact or damaged: every request lands in one bucket."""
    records, elapsed = asyncio.run(run_level(Endpoint(f"{replay}/{kind}/v1", "m"), synthetic_prompts(2, mean_tokens=3), mode="rate",
                                             target=50, max_requests=6, max_duration_s=5, max_tokens=6))
    level = summarize_level(records, elapsed, mode="rate", target=50, slo=Slo())
    assert level.sent == 6 == level.succeeded + level.failed + level.timed_out
    assert {r.outcome for r in records} == {outcome} and (error is None or level.errors == {error: 6})
    if kind == "ok":
        assert all(r.output_tokens == 6 and len(r.itl_s) == 5 for r in records)


def test_connection_refused_is_counted():
    from planner.servers import free_port
    records, elapsed = asyncio.run(run_level(Endpoint(f"http://127.0.0.1:{free_port()}/v1", "m"), synthetic_prompts(1, mean_tokens=2),
                                             mode="concurrency", target=2, max_requests=4, max_duration_s=5, max_tokens=2))
    level = summarize_level(records, elapsed, mode="concurrency", target=2, slo=Slo())
    assert level.sent == 4 == level.failed and level.errors == {"ConnectError": 4}


def test_api_key_is_never_written(replay, tmp_path, monkeypatch):
    secret = "sk-test-DO-NOT-WRITE-0123456789"
    monkeypatch.setenv("PLANNER_TEST_KEY", secret)
    out = tmp_path / "api.json"
    serving_profile(Endpoint(f"{replay}/ok/v1", "gpt-test", api_key_env="PLANNER_TEST_KEY"), synthetic_prompts(2, mean_tokens=3),
                    SweepConfig(levels=(1,), requests_per_level=2, max_tokens=6), out_path=out, progress=False)
    assert secret not in out.read_text() and "PLANNER_TEST_KEY" not in out.read_text()
    with pytest.raises(PlannerError, match="NOT_SET_VAR is not set"):
        Endpoint(f"{replay}/ok/v1", "m", api_key_env="NOT_SET_VAR").headers()


def test_prompt_sources(tmp_path):
    p = synthetic_prompts(20, mean_tokens=50, std_tokens=10, chat=True)
    assert all("messages" in x.body for x in p) and 30 < sum(x.approx_tokens for x in p) / 20 < 70
    f = tmp_path / "prompts.jsonl"
    f.write_text(json.dumps({"prompt": "hello there"}) + "\n\n" + json.dumps({"messages": [{"role": "user", "content": "hi"}]}) + "\n")
    assert [x.approx_tokens for x in jsonl_prompts(f, chat=True)] == [2, 1]
    f.write_text('{"text": "no prompt"}\n')
    with pytest.raises(PlannerError, match="line 1 needs a 'prompt'"):
        jsonl_prompts(f, chat=False)


def test_vllm_command_line():
    """vLLM cannot run here; its command line is built and checked as data."""
    cmd = vllm_serve_command("mistralai/Mistral-7B-v0.1", port=8011, max_model_len=4096, load_format="dummy")
    assert cmd[:3] == ["vllm", "serve", "mistralai/Mistral-7B-v0.1"] and "--load-format" in cmd and "127.0.0.1" in cmd


def test_loopback_only():
    with pytest.raises(PlannerError, match="loopback"):
        LlamaCppServer("x.gguf", host="10.0.0.1")
