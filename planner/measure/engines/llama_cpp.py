"""llama.cpp through llama-cpp-python's low-level ctypes API, timed the way llama-bench times it.

Why low level: llama-bench measures prompt processing as `llama_decode` over batches of random token ids
and text generation as one `llama_decode` per token, synchronised before reading the clock. Doing the same
here makes our figures comparable with llama.cpp's own benchmark, works for synthetic-weight clones that
have no vocabulary (tokenising one aborts the process), and gives batched multi-sequence decoding
(`n_seq_max`, one token per sequence per step) for the concurrency sweep.
"""
from __future__ import annotations

import ctypes
import logging
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from planner.core.errors import DataError, InputError, MeasurementError, SetupError
from planner.measure.probes.hardware import usable_threads

logging.getLogger("llama-cpp-python").setLevel(logging.ERROR)  # llama.cpp logs to stderr otherwise

import llama_cpp  # noqa: E402  (after the logger level, so the import's callback stays quiet)

_backend_ready = False


def engine_version() -> str:
    return llama_cpp.__version__


def system_info() -> str:
    return llama_cpp.llama_print_system_info().decode("utf-8", "replace").strip()


def supports_gpu_offload() -> bool:
    return bool(llama_cpp.llama_supports_gpu_offload())


class _ThreadpoolParams(ctypes.Structure):
    """ggml.h's `struct ggml_threadpool_params` (GGML_MAX_N_THREADS = 512); llama-cpp-python does not bind it."""
    _fields_ = [("cpumask", ctypes.c_bool * 512), ("n_threads", ctypes.c_int), ("prio", ctypes.c_int),
                ("poll", ctypes.c_uint32), ("strict_cpu", ctypes.c_bool), ("paused", ctypes.c_bool)]


@lru_cache(maxsize=1)
def _ggml_cpu_lib() -> ctypes.CDLL:
    """The CPU backend llama-cpp-python's libllama already loaded (found beside it, so no second copy)."""
    lib_dir = Path(llama_cpp.__file__).parent / "lib"
    for name in ("libggml-cpu.so", "libggml-cpu.dylib", "ggml-cpu.dll"):
        if (lib_dir / name).is_file():
            lib = ctypes.CDLL(str(lib_dir / name))
            lib.ggml_threadpool_new.argtypes = [ctypes.POINTER(_ThreadpoolParams)]
            lib.ggml_threadpool_new.restype = ctypes.c_void_p
            lib.ggml_threadpool_free.argtypes = [ctypes.c_void_p]
            lib.ggml_threadpool_free.restype = None
            return lib
    raise SetupError(f"threadpool_poll: no ggml-cpu library in {lib_dir} — pass threadpool_poll=None")


@lru_cache(maxsize=1)
def _llama_lib() -> ctypes.CDLL:
    lib = llama_cpp.llama_cpp._lib
    lib.llama_attach_threadpool.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
    lib.llama_attach_threadpool.restype = None
    lib.llama_detach_threadpool.argtypes = [ctypes.c_void_p]
    lib.llama_detach_threadpool.restype = None
    return lib


FLASH_ATTN = {"auto": llama_cpp.LLAMA_FLASH_ATTN_TYPE_AUTO, "on": llama_cpp.LLAMA_FLASH_ATTN_TYPE_ENABLED, "off": llama_cpp.LLAMA_FLASH_ATTN_TYPE_DISABLED}


@dataclass(frozen=True)
class EngineSettings:
    n_ctx: int = 2048
    n_batch: int = 512  # llama-bench's default
    n_ubatch: int = 512
    n_threads: int | None = None  # None: all usable cores
    n_gpu_layers: int = 0
    n_seq_max: int = 1
    flash_attn: str = "auto"
    cpu_extra_buffers: bool = True  # llama.cpp's repacked/AMX CPU weight layouts; off only where they crash
    # A persistent CPU threadpool that polls for work, as llama-bench and llama-server attach one (poll 50 is
    # their default). None: llama-cpp-python's own behaviour, a new threadpool for every llama_decode.
    threadpool_poll: int | None = 50

    def resolved_threads(self) -> int:
        return self.n_threads or usable_threads()


class LlamaCppEngine:
    """One model and one context; close() (or `with`) frees them."""

    def __init__(self, model_path: str | Path, settings: EngineSettings = EngineSettings(), *, seed: int = 1234):
        global _backend_ready
        if not _backend_ready:
            llama_cpp.llama_backend_init()
            _backend_ready = True
        if settings.flash_attn not in FLASH_ATTN:
            raise InputError(f"flash_attn: '{settings.flash_attn}' is not one of {sorted(FLASH_ATTN)}")
        if settings.threadpool_poll is not None and not 0 <= settings.threadpool_poll <= 100:
            raise InputError(f"threadpool_poll: {settings.threadpool_poll} is outside 0..100 (or None for no threadpool)")
        self.settings = settings
        self.path = Path(model_path)
        mparams = llama_cpp.llama_model_default_params()
        mparams.n_gpu_layers = settings.n_gpu_layers
        mparams.use_extra_bufts = settings.cpu_extra_buffers
        self.model = llama_cpp.llama_model_load_from_file(str(self.path).encode(), mparams)
        if not self.model:
            raise DataError(f"llama.cpp could not load {self.path.name}; check that it is a GGUF this llama.cpp version supports")
        threads = settings.resolved_threads()
        cparams = llama_cpp.llama_context_default_params()
        cparams.n_ctx = settings.n_ctx
        cparams.n_batch = settings.n_batch
        cparams.n_ubatch = settings.n_ubatch
        cparams.n_seq_max = settings.n_seq_max
        cparams.n_threads = threads
        cparams.n_threads_batch = threads
        cparams.flash_attn_type = FLASH_ATTN[settings.flash_attn]
        cparams.kv_unified = True  # one KV buffer shared by all sequences, as a server slot pool would use it
        cparams.no_perf = False
        self.ctx = llama_cpp.llama_init_from_model(self.model, cparams)
        if not self.ctx:
            llama_cpp.llama_model_free(self.model)
            raise SetupError(f"llama.cpp could not create a context of {settings.n_ctx} tokens for {self.path.name} (out of memory?)")
        vocab = llama_cpp.llama_model_get_vocab(self.model)
        self.n_vocab = int(llama_cpp.llama_vocab_n_tokens(vocab))
        self.n_ctx = int(llama_cpp.llama_n_ctx(self.ctx))
        self._capacity = max(settings.n_batch, settings.n_seq_max)
        self._batch = llama_cpp.llama_batch_init(self._capacity, 0, settings.n_seq_max)
        self._tokens = np.ctypeslib.as_array(self._batch.token, shape=(self._capacity,))
        self._pos = np.ctypeslib.as_array(self._batch.pos, shape=(self._capacity,))
        self._n_seq = np.ctypeslib.as_array(self._batch.n_seq_id, shape=(self._capacity,))
        self._logits = np.ctypeslib.as_array(self._batch.logits, shape=(self._capacity,))
        self._rng = np.random.default_rng(seed)
        self._threadpool: int | None = None
        self._closed = False
        self._attach_threadpool(threads)

    # -- lifecycle -------------------------------------------------------------------------------
    def close(self) -> None:
        if not self._closed:
            llama_cpp.llama_batch_free(self._batch)
            llama_cpp.llama_free(self.ctx)
            llama_cpp.llama_model_free(self.model)
            self._free_threadpool()
            self._closed = True

    def _attach_threadpool(self, n_threads: int) -> None:
        if self.settings.threadpool_poll is None:
            return
        params = _ThreadpoolParams(n_threads=n_threads, poll=self.settings.threadpool_poll)
        pool = _ggml_cpu_lib().ggml_threadpool_new(ctypes.byref(params))
        if not pool:
            raise SetupError(f"n_threads: ggml could not create a threadpool of {n_threads} threads")
        _llama_lib().llama_attach_threadpool(self.ctx, pool, None)
        self._threadpool = pool

    def _free_threadpool(self) -> None:
        if self._threadpool is not None:
            _ggml_cpu_lib().ggml_threadpool_free(self._threadpool)
            self._threadpool = None

    def __enter__(self) -> LlamaCppEngine:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- facts -----------------------------------------------------------------------------------
    @property
    def n_threads(self) -> int:
        return int(llama_cpp.llama_n_threads(self.ctx))

    def set_threads(self, n_threads: int) -> None:
        """A threadpool has a fixed size, so a new thread count gets a new threadpool."""
        if self._threadpool is not None:
            _llama_lib().llama_detach_threadpool(self.ctx)
            self._free_threadpool()
        llama_cpp.llama_set_n_threads(self.ctx, n_threads, n_threads)
        self._attach_threadpool(n_threads)

    # -- primitives ------------------------------------------------------------------------------
    def clear(self) -> None:
        llama_cpp.llama_memory_clear(llama_cpp.llama_get_memory(self.ctx), True)

    def random_tokens(self, n: int) -> np.ndarray:
        return self._rng.integers(0, self.n_vocab, size=n, dtype=np.int32)

    def _fill(self, tokens: np.ndarray, pos: np.ndarray, seq_ids: np.ndarray, want_logits: np.ndarray) -> None:
        n = len(tokens)
        self._tokens[:n] = tokens
        self._pos[:n] = pos
        self._n_seq[:n] = 1
        self._logits[:n] = want_logits
        seq = self._batch.seq_id
        for i, s in enumerate(seq_ids.tolist()):
            seq[i][0] = s
        self._batch.n_tokens = n

    def _decode_timed(self) -> float:
        start = time.perf_counter()
        rc = llama_cpp.llama_decode(self.ctx, self._batch)
        llama_cpp.llama_synchronize(self.ctx)
        elapsed = time.perf_counter() - start
        if rc != 0:
            why = {1: f"no KV-cache slot left (n_ctx={self.n_ctx})", -1: "invalid batch (positions must continue each sequence)"}
            raise MeasurementError(f"llama_decode failed with code {rc}: {why.get(rc, 'engine error')}")
        return elapsed

    def prefill(self, tokens: np.ndarray, *, seq_id: int = 0, start_pos: int = 0) -> float:
        """Process a prompt in n_batch chunks; logits only for the last token. Returns engine seconds."""
        total = 0.0
        step = self.settings.n_batch
        for lo in range(0, len(tokens), step):
            chunk = tokens[lo:lo + step]
            n = len(chunk)
            want = np.zeros(n, dtype=np.int8)
            want[-1] = 1 if lo + n == len(tokens) else 0
            self._fill(chunk, np.arange(start_pos + lo, start_pos + lo + n, dtype=np.int32), np.full(n, seq_id, np.int32), want)
            total += self._decode_timed()
        return total

    def prefill_many(self, prompts: list[np.ndarray]) -> float:
        """Prefill one prompt per sequence (seq ids 0..k-1) packed into shared batches."""
        tokens = np.concatenate(prompts)
        pos = np.concatenate([np.arange(len(p), dtype=np.int32) for p in prompts])
        seqs = np.concatenate([np.full(len(p), i, np.int32) for i, p in enumerate(prompts)])
        last = np.zeros(len(tokens), np.int8)
        last[np.cumsum([len(p) for p in prompts]) - 1] = 1
        total = 0.0
        step = self.settings.n_batch
        for lo in range(0, len(tokens), step):
            hi = min(lo + step, len(tokens))
            self._fill(tokens[lo:hi], pos[lo:hi], seqs[lo:hi], last[lo:hi])
            total += self._decode_timed()
        return total

    def decode_steps(self, n_steps: int, *, n_streams: int = 1, start_pos: int | np.ndarray = 0, sample: bool = False) -> np.ndarray:
        """Decode `n_steps` tokens for each of `n_streams` sequences together; seconds per step.

        With `sample=False` the next token is random (llama-bench's tg test); with `sample=True` it is the
        greedy argmax of the logits, as a real request would do (adds the cost of reading the logits).
        """
        if n_streams > self.settings.n_seq_max:
            raise InputError(f"concurrency {n_streams} exceeds this context's n_seq_max={self.settings.n_seq_max}")
        pos = np.broadcast_to(np.asarray(start_pos, dtype=np.int32), (n_streams,)).copy()
        seqs = np.arange(n_streams, dtype=np.int32)
        want = np.ones(n_streams, np.int8)
        tokens = self.random_tokens(n_streams)
        times = np.empty(n_steps)
        for step in range(n_steps):
            self._fill(tokens, pos, seqs, want)
            times[step] = self._decode_timed()
            pos += 1
            tokens = self._greedy(n_streams) if sample else self.random_tokens(n_streams)
        return times

    def _greedy(self, n_outputs: int) -> np.ndarray:
        out = np.empty(n_outputs, np.int32)
        for i in range(n_outputs):
            ptr = llama_cpp.llama_get_logits_ith(self.ctx, i)
            out[i] = int(np.ctypeslib.as_array(ptr, shape=(self.n_vocab,)).argmax())
        return out

    def generate(self, prompt: np.ndarray, n_out: int) -> tuple[float, np.ndarray]:
        """One request: prefill, greedy first token, then `n_out - 1` decode steps.

        Returns (time to first token, inter-token gaps) in seconds, wall clock including sampling.
        """
        self.clear()
        start = time.perf_counter()
        self.prefill(prompt)
        first = int(np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(self.ctx, -1), shape=(self.n_vocab,)).argmax())
        ttft = time.perf_counter() - start
        gaps = np.empty(max(n_out - 1, 0))
        pos = len(prompt)
        token = np.array([first], np.int32)
        one_seq = np.zeros(1, np.int32)
        want = np.ones(1, np.int8)
        for i in range(n_out - 1):
            t0 = time.perf_counter()
            self._fill(token, np.array([pos], np.int32), one_seq, want)
            self._decode_timed()
            token = self._greedy(1)
            gaps[i] = time.perf_counter() - t0
            pos += 1
        return ttft, gaps
