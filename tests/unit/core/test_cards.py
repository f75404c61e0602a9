"""Model cards: the hybrid linear-attention fields are checked when a card is made, and survive a reduced depth."""
from __future__ import annotations

import pytest

from planner.core.cards import ModelCard
from planner.core.errors import InputError

SHAPE = dict(n_layers=60, d_model=4096, n_heads=32, n_kv_heads=2, ffn_dim=1024, vocab_size=248320, head_dim=256)


def test_linear_attention_fields_are_validated_naming_the_field():
    hybrid = ModelCard("hybrid", **SHAPE, linear_attention_layers=45, linear_state_bytes=4_268_032)
    assert hybrid.full_attention_layers == 15 and ModelCard("plain", **SHAPE).full_attention_layers == 60
    assert ModelCard("none-linear", **SHAPE, linear_attention_layers=0, linear_state_bytes=1).full_attention_layers == 60
    for layers in (60, 61, -1):  # at least one full-attention layer, never a negative count
        with pytest.raises(InputError, match="linear_attention_layers must be between 0 and n_layers − 1 = 59"):
            ModelCard("bad", **SHAPE, linear_attention_layers=layers, linear_state_bytes=4_268_032)
    with pytest.raises(InputError, match="linear_state_bytes is missing"):
        ModelCard("half", **SHAPE, linear_attention_layers=45)  # the layers without their state
    with pytest.raises(InputError, match="linear_attention_layers is missing"):
        ModelCard("half", **SHAPE, linear_state_bytes=4_268_032)
    with pytest.raises(InputError, match="linear_state_bytes must be positive"):
        ModelCard("empty", **SHAPE, linear_attention_layers=45, linear_state_bytes=0)

def test_a_reduced_depth_hybrid_keeps_its_share_of_linear_layers():
    hybrid = ModelCard("hybrid", **SHAPE, linear_attention_layers=45, linear_state_bytes=4_268_032, params_b=397, active_params_b=17)
    assert hybrid.with_layers(20).linear_attention_layers == 15  # 3 of every 4, as in the full model
    assert hybrid.with_layers(15).full_attention_layers == 4  # 15 · 15/60 = 3.75 full layers, rounded
    one = hybrid.with_layers(1)
    assert one.linear_attention_layers == 0 and one.full_attention_layers == 1  # at least one full-attention layer
    assert ModelCard("plain", **SHAPE).with_layers(30).linear_attention_layers is None
