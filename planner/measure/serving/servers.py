"""Local inference servers for serving profiles: started on loopback at an ephemeral port, polled until ready, and
always torn down (the whole process group), on errors and Ctrl-C too. vLLM's command line is built, not run:
it needs a GPU and the `gpu` extra."""
from __future__ import annotations

import ctypes
import importlib.metadata
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from planner.core.errors import InputError, SetupError
from planner.core.units import is_loopback
from planner.measure.probes.hardware import usable_threads

LLAMA_CPP_SERVER_NOTES = [
    "python -m llama_cpp.server serves one request at a time: no batching across requests. It was started with "
    "--interrupt_requests False, so concurrent requests queue and finish one after another (the default, True, cuts "
    "the running stream short when a new request arrives). Its capacity is that of a single stream and extra "
    "concurrency only adds queueing to TTFT; llama.cpp's llama-server (-np N, continuous batching) and vllm serve "
    "batch across requests.",
]


def _loopback(host: str) -> str:
    if not is_loopback(host):
        raise InputError(f"host: servers started here listen on loopback only (127.0.0.1), got {host!r}")
    return host


def _die_with_parent() -> None:
    """In the child, before exec: Linux sends it SIGTERM when the tool's process dies, even by SIGKILL, so no server
    outlives the tool (SIGINT/SIGTERM are handled above: the context manager stops the process group)."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def free_port(host: str = "127.0.0.1") -> int:
    """An ephemeral port free right now (the server binds it a moment later; a lost race is retried)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class LlamaCppServer:
    """`python -m llama_cpp.server` on loopback, queueing requests (`--interrupt_requests False`). A context manager."""

    name = "llama_cpp.server"
    notes = LLAMA_CPP_SERVER_NOTES

    def __init__(self, model: str | Path, *, n_ctx: int = 2048, n_threads: int | None = None, host: str = "127.0.0.1",
                 port: int | None = None, model_alias: str | None = None, ready_timeout_s: float = 180.0):
        self.host = _loopback(host)
        self.model = Path(model)
        self.n_ctx = n_ctx
        self.n_threads = n_threads or usable_threads()
        self.model_alias = model_alias or self.model.stem
        self.port = port or free_port(host)
        self._fixed_port = port is not None
        self.ready_timeout_s = ready_timeout_s
        self.proc: subprocess.Popen | None = None
        self._log_path: Path | None = None

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/v1"

    @property
    def version(self) -> str:
        return importlib.metadata.version("llama_cpp_python")

    def command(self) -> list[str]:
        return [sys.executable, "-m", "llama_cpp.server", "--model", str(self.model), "--model_alias", self.model_alias,
                "--host", self.host, "--port", str(self.port), "--n_ctx", str(self.n_ctx), "--n_threads", str(self.n_threads),
                "--interrupt_requests", "False", "--verbose", "False"]

    def start(self) -> LlamaCppServer:
        if not self.model.is_file():
            raise InputError(f"--model: file not found: {self.model}")
        try:
            for _attempt in range(3):
                if self._launch_and_wait():
                    return self
                if self._fixed_port or "address already in use" not in self.log_tail(20).lower():
                    raise SetupError(f"llama_cpp.server exited with code {self.proc.returncode} before it was ready: {self.log_tail()}")
                self.port = free_port(self.host)  # another process took the port between probe and bind
            raise SetupError(f"llama_cpp.server could not bind a port on {self.host}: {self.log_tail()}")
        except BaseException:  # errors, timeouts and Ctrl-C alike: never leave a server behind
            self.stop()
            raise

    def _launch_and_wait(self) -> bool:
        """True once `/v1/models` answers; False if the process died first."""
        if self._log_path is not None:
            self._log_path.unlink(missing_ok=True)
        fd, log = tempfile.mkstemp(prefix="llama-cpp-server-", suffix=".log")
        self._log_path = Path(log)
        with os.fdopen(fd, "wb") as fh:  # the child keeps its own copy of the descriptor
            self.proc = subprocess.Popen(self.command(), stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         start_new_session=True, preexec_fn=_die_with_parent)
        deadline = time.monotonic() + self.ready_timeout_s
        with httpx.Client(trust_env=False, timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    return False
                try:
                    if client.get(self.base_url + "/models").status_code == 200:
                        return True
                except httpx.HTTPError:
                    pass
                time.sleep(0.2)
        raise SetupError(f"llama_cpp.server was not ready after {self.ready_timeout_s:.0f} s: {self.log_tail()}")

    def log_tail(self, lines: int = 3) -> str:
        if self._log_path is None or not self._log_path.exists():
            return "(no output)"
        text = self._log_path.read_text(errors="replace").strip().splitlines()
        return " | ".join(text[-lines:]) or "(no output)"

    def kill(self) -> None:
        """SIGKILL the server's process group: a server dying mid-run."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        """SIGTERM the process group, SIGKILL after 10 s; idempotent."""
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
            except ProcessLookupError:
                pass
        if self._log_path is not None:
            self._log_path.unlink(missing_ok=True)
            self._log_path = None

    def __enter__(self) -> LlamaCppServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def vllm_serve_command(model: str, *, port: int = 8000, host: str = "127.0.0.1", served_model_name: str | None = None,
                       max_model_len: int | None = None, gpu_memory_utilization: float = 0.9, max_num_seqs: int | None = None,
                       tensor_parallel_size: int | None = None, load_format: str | None = None) -> list[str]:
    """argv of `vllm serve` for a serving profile (GPU machines with the `gpu` extra; measure it with `--url`).

    `load_format="dummy"` serves random weights from the model's config: vLLM's own mechanism for speed tests.
    """
    cmd = ["vllm", "serve", model, "--host", _loopback(host), "--port", str(port),
           "--gpu-memory-utilization", f"{gpu_memory_utilization:g}"]
    for flag, value in (("--served-model-name", served_model_name), ("--max-model-len", max_model_len),
                        ("--max-num-seqs", max_num_seqs), ("--tensor-parallel-size", tensor_parallel_size),
                        ("--load-format", load_format)):
        if value is not None:
            cmd += [flag, str(value)]
    return cmd
