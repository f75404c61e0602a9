import pytest

from planner.core.errors import DataError, InputError
from planner.measure.gguf.meta import read_model_info


def test_embedded_model_facts(embedded_path):
    m = read_model_info(embedded_path, sha256="x")
    assert m.architecture == "llama" and m.quant_label == "Q4_1"
    assert (m.n_layers, m.d_model, m.n_heads, m.n_kv_heads, m.head_dim, m.ffn_dim, m.vocab_size) == (30, 576, 9, 3, 64, 1536, 49152)
    assert m.n_params == 134_515_008
    mix = {t.ggml_type: t.n_tensors for t in m.tensor_types}
    assert mix == {"Q4_1": 210, "F32": 61, "Q8_0": 1}
    assert 4.5 < m.bits_per_weight < 6.5 and m.lookup_only_bytes == 0  # tied embeddings: read as the output matrix
    assert m.has_tokenizer and m.clone_of is None


def test_not_a_gguf(tmp_path):
    f = tmp_path / "x.gguf"
    f.write_text("hello")
    with pytest.raises(DataError, match="not a readable GGUF"):
        read_model_info(f, sha256="x")
    with pytest.raises(InputError, match="not found"):
        read_model_info(tmp_path / "missing.gguf", sha256="x")
