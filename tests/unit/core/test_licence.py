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


def test_licence_guard_quotes_the_clause_from_the_catalog():
    from planner.formats.catalog import load_card
    llama = load_card("Llama-3.1-70B")
    assert llama.licence_mau_limit == 7e8 and "July 23, 2024" in (llama.licence_mau_clause or "")  # counted on the release date
    (w,) = licence_warnings(llama, 7.5e8)
    assert "700,000,000" in w and "750,000,000" in w and "release date" in w
    qwen = load_card("Qwen2.5-72B")
    assert qwen.licence_mau_limit == 1e8 and licence_warnings(qwen, 9e7) == [] and licence_warnings(qwen, 1.5e8)
    assert licence_warnings(load_card("Qwen2.5-32B"), 1e12) == []  # Apache-2.0: no user threshold
    assert licence_warnings(load_card("gpt-oss-120b"), 1e12) == []
