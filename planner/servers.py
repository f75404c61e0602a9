"""Local inference servers for serving profiles: start on loopback with an ephemeral port, wait until ready,
and always tear down (process group), also on errors and Ctrl-C."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from .errors import PlannerError

LLAMA_CPP_SERVER_NOTES = [
    "python -m llama_cpp.server serves one request at a time: no batching across requests; with --interrupt_requests False "
    "requests queue and finish one after another (the default, True, cuts off the running stream when a new request arrives). "
    "Capacity measured here is therefore that of a single stream; llama.cpp's llama-server (-np N, continuous batching) and "
    "vllm serve batch across requests.",
]


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class LlamaCppServer:
    """`python -m llama_cpp.server` on 127.0.0.1, queueing requests (interrupt_requests False)."""

    def __init__(self, model: str | Path, *, n_ctx: int = 2048, n_threads: int | None = None, host: str = "127.0.0.1",
                 port: int | None = None, ready_timeout_s: float = 180.0):
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise PlannerError(f"host: a local server listens on loopback only (got {host})")
        self.model, self.n_ctx, self.n_threads, self.host = Path(model), n_ctx, n_threads, host
        self.port = port or free_port(host)
        self.ready_timeout_s = ready_timeout_s
        self.proc: subprocess.Popen | None = None
        self._log = tempfile.NamedTemporaryFile(prefix="llama-server-", suffix=".log", delete=False)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def command(self) -> list[str]:
        cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(self.model), "--host", self.host, "--port", str(self.port),
               "--n_ctx", str(self.n_ctx), "--interrupt_requests", "False", "--verbose", "False"]
        if self.n_threads:
            cmd += ["--n_threads", str(self.n_threads)]
        return cmd

    def start(self) -> "LlamaCppServer":
        if not self.model.is_file():
            raise PlannerError(f"--model: file not found: {self.model}")
        self.proc = subprocess.Popen(self.command(), stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + self.ready_timeout_s
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise PlannerError(f"llama_cpp.server exited with code {self.proc.returncode} before it was ready: {self.log_tail()}")
            try:
                if httpx.get(self.base_url + "/models", timeout=2.0).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        self.stop()
        raise PlannerError(f"llama_cpp.server was not ready after {self.ready_timeout_s:.0f} s: {self.log_tail()}")

    def log_tail(self, lines: int = 3) -> str:
        text = Path(self._log.name).read_text(errors="replace").strip().splitlines()
        return " | ".join(text[-lines:]) or "(no output)"

    def kill(self) -> None:
        """Kill the server abruptly (a server that dies mid-run)."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        Path(self._log.name).unlink(missing_ok=True)

    def __enter__(self) -> "LlamaCppServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def vllm_serve_command(model: str, *, port: int, host: str = "127.0.0.1", max_model_len: int | None = None,
                       gpu_memory_utilization: float = 0.9, load_format: str | None = None) -> list[str]:
    """The `vllm serve` command line for a serving profile (GPU machines with the `gpu` extra only).

    `load_format="dummy"` serves random weights from a model config, vLLM's own mechanism for speed tests.
    """
    cmd = ["vllm", "serve", model, "--host", host, "--port", str(port), "--gpu-memory-utilization", str(gpu_memory_utilization)]
    if max_model_len:
        cmd += ["--max-model-len", str(max_model_len)]
    if load_format:
        cmd += ["--load-format", load_format]
    return cmd
