"""The licence guard on hand cases: Llama's 700 M monthly-active-user clause, a licence without a limit."""
from planner.core.cards import ModelCard
from planner.core.licence import licence_warnings
from planner.core.matching import card_for_profile
from tests.factories import make_profile

LLAMA = ModelCard(name="Llama-2-7B", n_layers=32, d_model=4096, n_heads=32, n_kv_heads=32, ffn_dim=11008, vocab_size=32000,
                  head_dim=128, licence="llama2", licence_mau_limit=7e8)
MISTRAL = ModelCard(name="Mistral-7B-v0.1", n_layers=32, d_model=4096, n_heads=32, n_kv_heads=8, ffn_dim=14336, vocab_size=32000,
                    head_dim=128, licence="apache-2.0")


def test_licence_guard():
    prof = make_profile()
    prof.model.clone_of = "Llama-2-7B"
    card = card_for_profile(prof, [LLAMA, MISTRAL])
    assert card is LLAMA
    assert licence_warnings(card, 5e8) == [] and licence_warnings(card, 7e8) == []
    assert "700,000,000 monthly active users; this plan assumes 800,000,000" in licence_warnings(card, 8e8)[0]
    assert licence_warnings(card, None) == []
    prof.model.clone_of = None
    prof.model.name = "mistral 7b v0.1 instruct"
    assert card_for_profile(prof, [LLAMA, MISTRAL]) is MISTRAL
    assert licence_warnings(MISTRAL, 1e12) == []
    prof.model.name = "unknown model"
    assert card_for_profile(prof, [LLAMA, MISTRAL]) is None
