import pytest

from planner.core import roofline as rf


def test_kv_bytes_per_token_mistral():
    # Mistral 7B: 32 layers, 8 KV heads of 128, F16 -> 2*32*8*128*2 = 131072 bytes/token
    assert rf.kv_bytes_per_token(32, 8, 128) == 131072


def test_decode_ceiling_published_example():
    # anchors: Qwen2.5-7B Q4_K_M 4.68 GB on 716.8 GB/s -> ceiling about 153 tok/s
    assert rf.decode_ceiling_tok_s(716.8e9, 4.68e9, 0, 0) == pytest.approx(153.2, abs=0.1)


def test_batch_raises_aggregate_ceiling_until_kv_dominates():
    one = rf.decode_ceiling_tok_s(100e9, 4e9, 131072, 1000, 1)
    eight = rf.decode_ceiling_tok_s(100e9, 4e9, 131072, 1000, 8)
    # 8 × (W + kv·ctx) / (W + 8·kv·ctx): below 8 because every stream adds its own KV reads
    assert eight / one == pytest.approx(8 * (4e9 + 131072e3) / (4e9 + 8 * 131072e3))


def test_prefill_flops():
    assert rf.prefill_flops(7e9, 32, 4096, 1) == pytest.approx(2 * 7e9 + 2 * 32 * 4096)


def test_footprint_and_kv_capacity():
    fp = rf.footprint(4 * rf.GIB, 131072, 8192)
    assert fp.kv_bytes == 131072 * 8192 and fp.total_bytes > 4 * rf.GIB + fp.kv_bytes
    assert rf.max_concurrent_tokens(80 * rf.GIB, 40 * rf.GIB, 131072) == pytest.approx(40 * rf.GIB / 131072)
