"""Serving profiles through the OpenAI HTTP API.

Real parts: `python -m llama_cpp.server` on loopback running the embedded model (sweep, 1,000 requests, a server
killed mid-run, the CLI launching its own server). Failure modes a healthy server cannot produce on demand come
from a small local HTTP server replaying streams recorded from that real server (tests/data/), intact or damaged.
Nothing here touches a non-loopback address.
"""
from __future__ import annotations

import asyncio
import http.server
import json
import shlex
import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from planner.app.cli import app as planner_app
from planner.app.cli.flags import cli_message
from planner.core.capacity import capacity_at_slo, serving_capacity_table
from planner.core.errors import DataError, InputError, Interrupted, PlannerError, SetupError, UntrustworthyMeasurement
from planner.core.records import ServingLevel, Summary
from planner.formats.profiles import load_profile
from planner.measure.serving.client import Endpoint
from planner.measure.serving.metrics import Slo, SweepConfig, knee, summarize_level
from planner.measure.serving.prompts import jsonl_prompts, synthetic_prompts
from planner.measure.serving.scheduler import run_level
from planner.measure.serving.servers import LlamaCppServer, free_port, vllm_serve_command
from planner.measure.serving.sweep import serving_profile

DATA = Path(__file__).parents[1] / "data"
# Recorded once from llama_cpp.server 0.3.36 serving the embedded model (max_tokens 6, temperature 0).
COMPLETION = (DATA / "llama_cpp_server_completion_stream.txt").read_bytes()
CHAT = (DATA / "llama_cpp_server_chat_stream.txt").read_bytes()
USAGE_CHUNK = b'data: {"id": "cmpl-u", "object": "text_completion", "choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 6, "total_tokens": 15}}\n\n'
DONE = b"data: [DONE]"


def accounted(level: ServingLevel) -> bool:
    return level.sent == level.succeeded + level.failed + level.timed_out


# --------------------------------------------------------------------------------------------------- real server

@pytest.fixture(scope="module")
def server(embedded_path):
    with LlamaCppServer(embedded_path, n_ctx=256, n_threads=1) as s:
        yield s


@pytest.mark.slow
def test_concurrency_sweep_gives_a_capacity(server, embedded_path, tmp_path):
    out = tmp_path / "serving.json"
    serving_profile(Endpoint(server.base_url, server.model_alias), synthetic_prompts(40, mean_tokens=16, std_tokens=4),
                    SweepConfig(levels=(8, 1, 4, 2), requests_per_level=8, max_tokens=6, timeout_s=300, stop_at_knee=False),
                    out_path=out, slo=Slo(ttft_s=30, itl_s=2), backend=server.name, model_path=embedded_path,
                    server_notes=server.notes, engine_version=server.version, n_ctx=server.n_ctx, progress=False)
    loaded = load_profile(out)
    assert loaded.status == "complete" and [lvl.target for lvl in loaded.serving] == [1, 2, 4, 8]  # increasing order
    for lvl in loaded.serving:
        assert accounted(lvl) and lvl.sent == lvl.succeeded == 8, lvl.errors
        assert lvl.request_s > 0 and lvl.output_tok_s > 0 and lvl.ttft_ms.p99 >= lvl.ttft_ms.p95 >= lvl.ttft_ms.median
        assert lvl.tokens_source == "stream" and 1 <= lvl.output_tokens_mean <= 6 and lvl.itl_ms.n >= 8
        assert lvl.slo == {"ttft_s": 30, "itl_p95_s": 2} and 0 < lvl.goodput_request_s <= lvl.request_s
    # One request at a time, whatever else loads the machine: at concurrency 8 all eight are sent together, and the
    # last one served (largest end-to-end) gets its first token only after the seven others have finished.
    c8 = loaded.serving[-1]
    last = max(range(8), key=lambda i: c8.e2e_ms.samples[i])
    assert c8.ttft_ms.samples[last] > max(e for i, e in enumerate(c8.e2e_ms.samples) if i != last) - 50
    rps, conc = capacity_at_slo(serving_capacity_table(loaded), 30, 2)  # levels whose p95s meet this SLO
    assert rps > 0 and conc in (1, 2, 4, 8)
    assert loaded.settings.extra["knee_target"] in (1, 2, 4, 8)
    assert loaded.engine.name == "openai-http" and loaded.engine.backend == "llama_cpp.server"
    assert loaded.engine.endpoint_host == f"127.0.0.1:{server.port}" and "one request at a time" in loaded.engine.server_notes[0]
    assert loaded.model.quant_label == "Q4_1" and loaded.model.sha256


@pytest.mark.slow
def test_thousand_requests_add_up_exactly(server):
    records, elapsed = asyncio.run(run_level(Endpoint(server.base_url, server.model_alias), synthetic_prompts(1000, mean_tokens=3),
                                             mode="concurrency", target=8, max_requests=1000, max_duration_s=600, max_tokens=1,
                                             timeout_s=300))  # generous: other jobs share these two cores
    level = summarize_level(records, elapsed, mode="concurrency", target=8, slo=Slo())
    assert level.sent == 1000 == level.succeeded + level.failed + level.timed_out
    assert level.succeeded == 1000, level.errors
    assert level.ttft_ms.n == 1000 and level.itl_ms is None  # one token each: no gaps


@pytest.mark.slow
def test_server_killed_mid_run_leaves_partial_profile(embedded_path, tmp_path):
    out = tmp_path / "killed.json"
    with LlamaCppServer(embedded_path, n_ctx=256, n_threads=1) as doomed:
        seen = []

        def kill_after_five(rec):
            seen.append(rec)
            if len(seen) == 5:
                doomed.kill()

        profile = serving_profile(Endpoint(doomed.base_url, doomed.model_alias), synthetic_prompts(20, mean_tokens=8),
                                  SweepConfig(levels=(2, 4), requests_per_level=20, max_tokens=4, timeout_s=20, warmup_requests=0),
                                  out_path=out, progress=False, on_record=kill_after_five)
    loaded = load_profile(out)
    assert profile.status == loaded.status == "partial" and len(loaded.serving) == 1
    lvl = loaded.serving[0]
    assert lvl.sent == 20 == lvl.succeeded + lvl.failed + lvl.timed_out
    assert lvl.succeeded >= 4 and lvl.failed >= 14 and set(lvl.errors) <= {"connection_error", "connection_lost"}
    assert any("stopped answering" in n for n in loaded.notes)


# --------------------------------------------------------------------------------------------------- replayed payloads

def _damaged(kind: str) -> bytes:
    if kind == "malformed":
        return COMPLETION.replace(b'data: {"id"', b'data: {"id" <corrupted', 2)
    if kind == "notobject":
        return COMPLETION.replace(b'data: {"id"', b"data: [1, 2]\n\ndata: {\"id\"", 1)
    if kind == "cut":
        return COMPLETION[: COMPLETION.index(DONE)]
    if kind == "streamerror":
        return COMPLETION.replace(b'data: {"id"', b'data: {"error": {"message": "out of memory"}}\n\ndata: {"id"', 1)
    if kind == "usage":
        return COMPLETION.replace(DONE, USAGE_CHUNK + DONE)
    if kind in ("hugeusage", "negusage", "stringusage"):  # a buggy server's usage block: recorded as implausible, not fatal
        bad = {"hugeusage": b"1000000000000", "negusage": b"-3", "stringusage": b'"six"'}[kind]
        return COMPLETION.replace(DONE, USAGE_CHUNK.replace(b'"completion_tokens": 6', b'"completion_tokens": ' + bad) + DONE)
    return CHAT if kind == "chat" else COMPLETION


class _Replay(http.server.BaseHTTPRequestHandler):
    """Replays a recorded llama_cpp.server stream, whole or damaged, chosen by the URL's first path segment."""

    seen_auth: list[str | None] = []
    flaky_count = 0

    def log_message(self, *args):
        pass

    def do_GET(self):
        body = b'{"object": "list", "data": [{"id": "replayed-model", "object": "model"}]}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        _Replay.seen_auth.append(self.headers.get("Authorization"))
        kind = self.path.split("/")[1]
        if kind == "flaky":
            _Replay.flaky_count += 1
            kind = "error503" if _Replay.flaky_count % 2 else "ok"
        if kind.startswith("error"):
            self.send_response(int(kind[5:]))
            self.send_header("Content-Length", "17")
            self.end_headers()
            self.wfile.write(b'{"error": "boom"}')
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        first = COMPLETION[: COMPLETION.index(b"\n\n") + 2]
        if kind == "drop":  # promise more than is sent, then hang up: the connection is lost mid-stream
            self.send_header("Content-Length", "100000")
            self.end_headers()
            self.wfile.write(first)
            return
        self.end_headers()
        if kind == "hang":
            self.wfile.write(first)
            self.wfile.flush()
            time.sleep(3)
            return
        self.wfile.write(_damaged(kind))


class _QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # clients that hang up (timeouts, cancelled requests) are part of the tests


@pytest.fixture(scope="module")
def replay():
    srv = _QuietServer(("127.0.0.1", 0), _Replay)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def _level(base: str, *, mode="rate", n=6, chat=False, timeout_s=5.0, max_tokens=6):
    records, elapsed = asyncio.run(run_level(Endpoint(base, "m", chat=chat), synthetic_prompts(2, mean_tokens=3, chat=chat), mode=mode,
                                             target=50 if mode == "rate" else 2, max_requests=n, max_duration_s=5, max_tokens=max_tokens,
                                             timeout_s=timeout_s))
    return records, summarize_level(records, elapsed, mode=mode, target=50 if mode == "rate" else 2, slo=Slo())


@pytest.mark.parametrize("kind,outcome,error", [
    ("ok", "ok", None), ("chat", "ok", None), ("usage", "ok", None),
    ("error500", "failed", "http_500"), ("error429", "failed", "http_429"),
    ("malformed", "failed", "malformed_stream"), ("notobject", "failed", "malformed_stream"),
    ("cut", "failed", "closed_without_done"), ("streamerror", "failed", "stream_error"), ("drop", "failed", "connection_lost"),
])
def test_failure_modes_are_counted_not_raised(replay, kind, outcome, error):
    """Replays a recorded real llama_cpp.server payload (tests/data), intact or damaged: each request lands in one bucket."""
    records, level = _level(f"{replay}/{kind}/v1", chat=kind == "chat")
    assert level.sent == 6 == level.succeeded + level.failed + level.timed_out
    assert {r.outcome for r in records} == {outcome}
    assert level.errors == ({error: 6} if error else {})
    if outcome == "ok":
        assert all(r.output_tokens == 6 and len(r.itl_s) == 5 and r.ttft_s < r.e2e_s for r in records)
        assert level.tokens_source == ("usage" if kind == "usage" else "stream")
        assert level.prompt_tokens_mean == (9 if kind == "usage" else 3)


def test_mixed_outcomes_add_up(replay):
    """Replays recorded payloads, every other request answered 503: the buckets still add up."""
    _, level = _level(f"{replay}/flaky/v1", mode="concurrency", n=10)
    assert level.sent == 10 == level.succeeded + level.failed and level.errors == {"http_503": level.failed}
    assert level.succeeded >= 4 and level.slo_attainment == level.succeeded / 10


def test_timeout_and_refused_connection_are_counted(replay):
    """Replays the first recorded chunk and then stalls: a timeout. A closed port: a connection error."""
    records, level = _level(f"{replay}/hang/v1", mode="concurrency", n=2, timeout_s=0.5)
    assert level.sent == 2 == level.timed_out and level.errors == {"timeout": 2}
    assert all(r.e2e_s < 2 for r in records)
    records, level = _level(f"http://127.0.0.1:{free_port()}/v1", mode="concurrency", n=4)
    assert level.sent == 4 == level.failed and level.errors == {"connection_error": 4}


def test_level_is_bounded_by_wall_time(replay):
    """Replays recorded payloads at a rate that would take minutes to send them all: the level stops on time."""
    start = time.perf_counter()
    records, elapsed = asyncio.run(run_level(Endpoint(f"{replay}/ok/v1", "m"), synthetic_prompts(4, mean_tokens=3), mode="rate",
                                             target=20, max_requests=100_000, max_duration_s=1.0, max_tokens=6))
    assert time.perf_counter() - start < 5 and 5 < len(records) < 60
    assert accounted(summarize_level(records, elapsed, mode="rate", target=20, slo=Slo()))


def test_a_rate_level_stops_sending_once_enough(replay):
    """Replays recorded payloads at 20/s: `enough` sees the finished requests in arrival order (never one still in
    flight, never a gap) and stops the sending; what was sent is the schedule's first arrivals, all finished."""
    seen: list[int] = []

    def enough(done) -> bool:
        assert all(r.outcome == "ok" for r in done)
        seen.append(len(done))
        return len(done) >= 12
    records, _ = asyncio.run(run_level(Endpoint(f"{replay}/ok/v1", "m"), synthetic_prompts(4, mean_tokens=3), mode="rate", target=20,
                                       max_requests=200, max_duration_s=60, max_tokens=6, enough=enough))
    assert seen == sorted(seen) and seen[-1] >= 12 and 12 <= len(records) < 40
    assert all(r.outcome == "ok" for r in records)


def test_api_key_is_used_but_never_written(replay, tmp_path, monkeypatch):
    """Replays recorded payloads; the key reaches the server as a bearer token and appears in no written byte."""
    secret, password = "sk-test-DO-NOT-WRITE-0123456789", "hunter2-url-password"
    monkeypatch.setenv("PLANNER_TEST_KEY", secret)
    out = tmp_path / "api.json"
    port = replay.rsplit(":", 1)[1]
    _Replay.seen_auth.clear()
    assert Endpoint(f"http://user:{password}@127.0.0.1:{port}/v1?key={secret}", "m").host == f"127.0.0.1:{port}"
    profile = serving_profile(Endpoint(f"{replay}/ok/v1", "gpt-test", api_key_env="PLANNER_TEST_KEY"),
                              synthetic_prompts(2, mean_tokens=3), SweepConfig(levels=(1,), requests_per_level=2, max_tokens=6),
                              out_path=out, slo=Slo(ttft_s=5), progress=False)
    text = out.read_text()
    assert _Replay.seen_auth and set(_Replay.seen_auth) == {f"Bearer {secret}"}
    assert secret not in text and "PLANNER_TEST_KEY" not in text and "/ok/v1" not in text
    assert profile.engine.endpoint_host == f"127.0.0.1:{port}" and profile.model.name == "gpt-test" and profile.model.n_params is None
    assert profile.serving[0].succeeded == 2 and profile.serving[0].slo == {"ttft_s": 5}
    with pytest.raises(InputError, match="NOT_SET_VAR is not set"):
        Endpoint(f"{replay}/ok/v1", "m", api_key_env="NOT_SET_VAR").headers()


@pytest.mark.fault
@pytest.mark.parametrize("kind", ["hugeusage", "negusage", "stringusage"])
def test_an_impossible_usage_count_is_recorded_as_such_and_the_sweep_finishes(replay, kind, tmp_path):
    """Issue 21 #4: usage.completion_tokens = 10^12 made the level's tok/s unphysical; the sweep then died with a
    pydantic traceback and an empty `serving` list. Now the stream's own counts are used and the level says so."""
    records, level = _level(f"{replay}/{kind}/v1")
    assert {r.outcome for r in records} == {"ok"} and all(r.usage_implausible for r in records)
    assert level.usage_implausible == 6 and level.tokens_source == "stream" and level.output_tokens_mean == 6
    out = tmp_path / "p.json"
    profile = serving_profile(Endpoint(f"{replay}/{kind}/v1", "m"), synthetic_prompts(2, mean_tokens=3),
                              SweepConfig(levels=(1, 2), requests_per_level=3, max_tokens=6, stop_at_knee=False), out_path=out,
                              progress=False)
    loaded = load_profile(out)
    assert profile.status == loaded.status == "complete" and [lvl.usage_implausible for lvl in loaded.serving] == [3, 3]


@pytest.mark.fault
def test_a_level_whose_figures_fail_validation_keeps_the_finished_levels(replay, tmp_path, monkeypatch):
    """Whatever goes wrong after a level is measured, the levels before it stay in the file (status partial, exit 3)."""
    import planner.measure.serving.sweep as sweep
    real = sweep.summarize_level
    calls = []

    def second_is_unphysical(records, elapsed, **kw):
        calls.append(1)
        level = real(records, elapsed, **kw)
        if len(calls) == 2:
            ServingLevel.model_validate({**level.model_dump(), "output_tok_s": 1e12})  # raises as a real bug would
        return level
    monkeypatch.setattr(sweep, "summarize_level", second_is_unphysical)
    out = tmp_path / "p.json"
    with pytest.raises(UntrustworthyMeasurement, match=r"concurrency 2 gave figures that are not physical .*output_tok_s.*1 finished levels"):
        serving_profile(Endpoint(f"{replay}/ok/v1", "m"), synthetic_prompts(2, mean_tokens=3),
                        SweepConfig(levels=(1, 2, 4), requests_per_level=3, max_tokens=6, stop_at_knee=False), out_path=out, progress=False)
    loaded = load_profile(out)
    assert loaded.status == "partial" and [lvl.target for lvl in loaded.serving] == [1]
    assert any("concurrency 2: not recorded" in n for n in loaded.notes)


def test_sweep_stops_at_the_knee_on_errors(replay, tmp_path):
    """Replays recorded 500 responses: the first level's error rate is past the bound, so the sweep stops there."""
    out = tmp_path / "errors.json"
    profile = serving_profile(Endpoint(f"{replay}/error500/v1", "m"), synthetic_prompts(2, mean_tokens=3),
                              SweepConfig(levels=(1, 2, 4), requests_per_level=3, max_tokens=6), out_path=out, progress=False)
    assert profile.status == "complete" and len(profile.serving) == 1 and "knee_target" not in profile.settings.extra
    assert profile.serving[0].errors == {"http_500": 3} and any("past the knee" in n for n in profile.notes)


@pytest.fixture
def quiet_machine(monkeypatch):
    """These tests count requests across levels; a crowded machine (another job) would make the session measure a level
    twice — the rule tests/unit/measure/test_session.py checks. The load meter here always reads quiet."""
    from planner.core.records import MachineLoad
    from planner.measure import session

    class Quiet:
        def stop(self):
            return MachineLoad(other_cpu_fraction=0.0, steal_fraction=0.0, contended=False)
    monkeypatch.setattr(session, "LoadMeter", Quiet)


def test_ctrl_c_keeps_the_finished_levels(replay, tmp_path, quiet_machine):
    """Replays recorded payloads; Ctrl-C in the second level leaves the first one saved, status partial."""
    out = tmp_path / "interrupted.json"
    seen = []

    def interrupt_in_second_level(rec):
        seen.append(rec)
        if len(seen) == 4:
            raise KeyboardInterrupt

    with pytest.raises(Interrupted, match=r"interrupted \(Ctrl-C\): the finished load levels are saved"):
        serving_profile(Endpoint(f"{replay}/ok/v1", "m"), synthetic_prompts(2, mean_tokens=3),
                        SweepConfig(levels=(1, 2), requests_per_level=3, max_tokens=6), out_path=out, progress=False,
                        on_record=interrupt_in_second_level)
    loaded = load_profile(out)
    assert loaded.status == "partial" and [lvl.target for lvl in loaded.serving] == [1] and accounted(loaded.serving[0])


def _lvl(target: float, goodput: float, attainment: float = 1.0, failed: int = 0) -> ServingLevel:
    s = Summary(unit="ms", n=1, mean=1, std=0, ci95_low=None, ci95_high=None, median=1, p95=1, p99=1, min=1, max=1, samples=[1])
    return ServingLevel(mode="concurrency", target=target, duration_s=10, sent=10, succeeded=10 - failed, failed=failed, timed_out=0,
                        request_s=1, output_tok_s=1, ttft_ms=s, goodput_request_s=goodput, slo_attainment=attainment)


def test_knee_is_the_highest_level_before_goodput_falls_or_the_slo_is_missed():
    assert knee([_lvl(1, 1.0), _lvl(2, 1.9), _lvl(4, 3.0), _lvl(8, 1.0)]).target == 4  # goodput fell
    assert knee([_lvl(1, 1.0), _lvl(2, 1.9), _lvl(4, 3.0, attainment=0.5)]).target == 2  # SLO missed
    assert knee([_lvl(1, 1.0), _lvl(2, 1.0, failed=6)]).target == 1  # errors
    assert knee([_lvl(4, 1.0), _lvl(1, 0.95), _lvl(2, 0.9)]).target == 4  # flat within noise: the highest
    assert knee([_lvl(1, 0.0, attainment=0.0)]) is None


# --------------------------------------------------------------------------------------------------- inputs, servers, CLI

def test_prompt_sources(tmp_path):
    p = synthetic_prompts(400, mean_tokens=50, std_tokens=20, distribution="lognormal", chat=True)
    lengths = [x.approx_tokens for x in p]
    assert all("messages" in x.body for x in p) and 45 < sum(lengths) / 400 < 55 and min(lengths) >= 1
    assert len({x.body["messages"][0]["content"] for x in p}) == 400  # distinct: no prefix cache hit makes one free
    assert len(p[0].body["messages"][0]["content"].split()) == p[0].approx_tokens
    f = tmp_path / "prompts.jsonl"
    f.write_text(json.dumps({"prompt": "hello there"}) + "\n\n" + json.dumps({"messages": [{"role": "user", "content": "hi"}]}) + "\n")
    assert [x.approx_tokens for x in jsonl_prompts(f, chat=True)] == [2, 1]
    with pytest.raises(DataError, match="line 3 has chat 'messages'; add --chat"):
        jsonl_prompts(f, chat=False)
    f.write_text('{"text": "no prompt"}\n')
    with pytest.raises(DataError, match="line 1 needs a 'prompt'"):
        jsonl_prompts(f, chat=False)


def test_vllm_command_line():
    """vLLM cannot run here (GPU only); its command line is built and checked as a string."""
    cmd = vllm_serve_command("mistralai/Mistral-7B-v0.1", port=8011, max_model_len=4096, load_format="dummy", served_model_name="m7")
    assert shlex.join(cmd) == ("vllm serve mistralai/Mistral-7B-v0.1 --host 127.0.0.1 --port 8011 --gpu-memory-utilization 0.9 "
                               "--served-model-name m7 --max-model-len 4096 --load-format dummy")
    with pytest.raises(InputError, match="loopback"):
        vllm_serve_command("m", host="0.0.0.0")


def test_loopback_only_and_command():
    with pytest.raises(InputError, match="loopback"):
        LlamaCppServer("x.gguf", host="10.0.0.1")
    cmd = LlamaCppServer("x.gguf", port=9999, n_ctx=512, n_threads=1).command()
    assert shlex.join(cmd[1:]).endswith("-m llama_cpp.server --model x.gguf --model_alias x --host 127.0.0.1 --port 9999 "
                                        "--n_ctx 512 --n_threads 1 --interrupt_requests False --verbose False")
    with pytest.raises(InputError, match="file not found"):
        LlamaCppServer("missing.gguf").start()


def test_server_that_is_not_ready_in_time_is_killed(embedded_path):
    server = LlamaCppServer(embedded_path, n_ctx=256, ready_timeout_s=0.01)
    with pytest.raises(SetupError, match="was not ready after"):
        server.start()
    assert server.proc.poll() is not None and server._log_path is None  # process group gone, log removed


@pytest.fixture()
def cli():
    return lambda *args: CliRunner().invoke(planner_app, ["serve-profile", *args])


def test_cli_measures_an_existing_endpoint(cli, replay, tmp_path, monkeypatch):
    """Replays recorded payloads behind --url; the model name comes from /models, the key from the named variable."""
    monkeypatch.setenv("PLANNER_CLI_KEY", "sk-cli-secret-42")
    out = tmp_path / "cli.json"
    result = cli("--url", f"{replay}/ok/v1", "--api-key-env", "PLANNER_CLI_KEY", "--server-kind", "llama-server",
                 "--rate", "20,40", "--requests", "4", "--max-tokens", "6", "--ttft-slo", "5", "--itl-slo", "1", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "rate 20: " in result.output and "sent 4 = ok 4 + failed 0 + timed out 0" in result.output
    profile = load_profile(out)
    assert profile.engine.backend == "llama-server" and profile.model.name == "replayed-model" and len(profile.serving) == 2
    assert "sk-cli-secret-42" not in out.read_text()


@pytest.mark.parametrize("args,message", [
    ((), "either --engine llama-server|vllm|llama-cpp"),
    (("--engine", "vllm", "--url", "http://127.0.0.1:1/v1"), "either --engine"),
    (("--engine", "ollama"), "--engine: one of llama-server, vllm, llama-cpp"),
    (("--engine", "llama-server", "--parallel", "0"), "--kv-cache-gib / --parallel: must be positive"),
    (("--engine", "llama-cpp", "--concurrency", "1,x"), "--concurrency: expected comma-separated numbers"),
    (("--engine", "llama-cpp", "--concurrency", "1", "--rate", "2"), "not both"),
    (("--engine", "llama-cpp", "--model", "nope.gguf"), "--model: file not found"),
    (("--engine", "llama-cpp", "--n-ctx", "64", "--prompt-tokens", "64"), "--n-ctx 64: too small"),
    (("--url", "ftp://127.0.0.1/v1", "--model-name", "m"), "--url: expected an http"),
])
def test_cli_errors_are_one_line(cli, args, message):
    result = cli(*args)
    line = cli_message(result.exception)  # what `main` prints: the flag, where the core names the field
    assert isinstance(result.exception, PlannerError) and message in line and "\n" not in line


def test_cli_refused_url_fails_fast(cli, tmp_path):
    result = cli("--url", f"http://127.0.0.1:{free_port()}/v1", "--out", str(tmp_path / "x.json"))
    assert isinstance(result.exception, PlannerError) and "nothing answers at 127.0.0.1:" in str(result.exception)


@pytest.mark.slow
def test_cli_launches_llama_cpp_server(cli, tmp_path):
    """The real path end to end: the CLI starts llama_cpp.server on loopback, sweeps, stops it, writes the profile."""
    result = cli("--engine", "llama-cpp", "--concurrency", "1,2", "--requests", "2", "--max-tokens", "2", "--prompt-tokens", "8",
                 "--n-ctx", "256", "--n-threads", "1", "--full-sweep", "--profiles-dir", str(tmp_path))
    assert result.exit_code == 0, result.output
    (path,) = tmp_path.glob("SmolLM2-135M-Instruct.Q4_1__llama_cpp.server__concurrency__*.json")
    profile = load_profile(path)
    assert profile.status == "complete" and [lvl.succeeded for lvl in profile.serving] == [2, 2]
    assert profile.engine.n_ctx == 256 and profile.engine.n_threads == 1 and profile.engine.version.startswith("0.3")
