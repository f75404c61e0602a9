"""The real llama.cpp engine on the embedded model (short runs)."""
import llama_cpp
import numpy as np
import pytest

from planner.core.errors import DataError, InputError
from planner.measure.engines.llama_cpp import EngineSettings, LlamaCppEngine


@pytest.fixture(scope="module")
def engine(embedded_path):
    with LlamaCppEngine(embedded_path, EngineSettings(n_ctx=1024, n_seq_max=4)) as e:
        yield e


def test_prefill_and_decode_take_time(engine):
    engine.clear()
    assert engine.prefill(engine.random_tokens(64)) > 0
    steps = engine.decode_steps(4, start_pos=64)
    assert steps.shape == (4,) and np.all(steps > 0)


def _logits(engine, index: int) -> np.ndarray:
    return np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(engine.ctx, index), shape=(engine.n_vocab,)).copy()


def test_batched_sequences_keep_their_own_context(engine):
    """Four prompts packed in one batch give each sequence the logits it gets alone (correlation > 0.99: batched
    kernels round differently, while a sequence that also saw another's tokens scores about 0.89),
    and decoding them together advances every sequence's own positions."""
    prompts = [engine.random_tokens(16) for _ in range(4)]
    alone = []
    for p in prompts:
        engine.clear()
        engine.prefill_many([p])
        alone.append(_logits(engine, 15))
    engine.clear()
    engine.prefill_many(prompts)
    for k, solo in enumerate(alone):
        together = _logits(engine, 16 * k + 15)
        assert np.corrcoef(together, solo)[0, 1] > 0.99
    engine.decode_steps(5, n_streams=4, start_pos=16)
    memory = llama_cpp.llama_get_memory(engine.ctx)
    assert [llama_cpp.llama_memory_seq_pos_max(memory, s) for s in range(4)] == [20] * 4


def test_generate_reports_ttft_and_gaps(engine):
    ttft, gaps = engine.generate(engine.random_tokens(32), 5)
    assert ttft > 0 and gaps.shape == (4,) and np.all(gaps > 0)


def test_too_many_streams_is_refused(engine):
    with pytest.raises(InputError, match="n_seq_max"):
        engine.decode_steps(1, n_streams=5)


def test_unloadable_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"GGUF" + b"\0" * 64)
    with pytest.raises(DataError, match="could not load"):
        LlamaCppEngine(bad, EngineSettings(n_ctx=64))


@pytest.mark.parametrize("poll", [None, 0, 50])
def test_threadpool_modes_decode_and_survive_a_thread_change(embedded_path, poll):
    """With llama-bench's persistent threadpool or llama-cpp-python's per-decode one, and after set_threads."""
    with LlamaCppEngine(embedded_path, EngineSettings(n_ctx=128, n_threads=2, threadpool_poll=poll)) as e:
        e.prefill(e.random_tokens(8))
        e.set_threads(1)
        assert e.n_threads == 1
        assert np.all(e.decode_steps(2, start_pos=8) > 0)


def test_threadpool_poll_out_of_range_is_refused(embedded_path):
    with pytest.raises(InputError, match="threadpool_poll"):
        LlamaCppEngine(embedded_path, EngineSettings(n_ctx=64, threadpool_poll=101))
