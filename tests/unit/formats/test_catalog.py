"""planner/formats/catalog.py: the shipped catalogs validate; bad rows, damaged and hostile files (LiteLLM JSON, fuzzed
catalog cells) give one DataError naming the file, the row and the field (those marked `fault` are of the fault suite)."""
import json
import os

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.core.errors import DataError, InputError
from planner.formats.catalog import SCHEMAS, litellm_json_to_frame, load_catalog, lookup, record, validate_catalog
from tests.conftest import REPO, VLLM_VALIDATION_PROFILE


@pytest.mark.parametrize("kind", sorted(SCHEMAS))
def test_shipped_catalogs_validate_and_carry_provenance(kind):
    df = load_catalog(kind)
    assert len(df) > 0
    assert df["source"].astype(str).str.len().min() > 5
    assert pd.to_datetime(df["as_of"]).max() <= pd.Timestamp.now()  # a price cannot have been read in the future


def test_instances_reference_known_hardware():
    inst, hw = load_catalog("instances"), load_catalog("hardware")
    assert set(inst["accelerator"]) <= set(hw["name"]) | {"cpu"}
    assert (inst["on_demand_usd_per_hour"] > 0).all()
    assert (inst["accelerator"] == "cpu").any(), "a CPU instance is needed to price CPU profiles"


def _prices(**override):
    row = {"model": "m", "provider": "p", "mode": "chat", "input_usd_per_mtok": 1.0, "output_usd_per_mtok": 2.0,
           "cache_read_usd_per_mtok": None, "cache_write_usd_per_mtok": None, "batch_input_usd_per_mtok": None,
           "batch_output_usd_per_mtok": None, "max_input_tokens": 1000, "source": "test", "as_of": "2026-01-01"}
    row.update(override)
    return pd.DataFrame([row])


@pytest.mark.parametrize("override,needle", [
    ({"source": ""}, "row 2 has no 'source'"),
    ({"as_of": "yesterday"}, "'as_of' must be a date"),
    ({"as_of": "2999-01-01"}, "'as_of' is in the future"),
    ({"input_usd_per_mtok": "cheap"}, "'input_usd_per_mtok' is not a number"),
    ({"output_usd_per_mtok": -1}, "'output_usd_per_mtok' is negative"),
    ({"input_usd_per_mtok": None}, "'input_usd_per_mtok' is empty but required"),
])
def test_bad_rows_are_named(override, needle):
    with pytest.raises(DataError, match=needle):
        validate_catalog(_prices(**override), "api_prices", "prices.csv")


def test_missing_column_and_duplicates():
    with pytest.raises(DataError, match="missing column"):
        validate_catalog(_prices().drop(columns=["mode"]), "api_prices", "x.csv")
    with pytest.raises(DataError, match="duplicate model"):
        validate_catalog(pd.concat([_prices(), _prices()]), "api_prices", "x.csv")


def test_user_litellm_json(tmp_path):
    path = tmp_path / "prices.json"
    path.write_text(json.dumps({
        "my-model": {"litellm_provider": "me", "mode": "chat", "input_cost_per_token": 1e-6, "output_cost_per_token": 3e-6,
                     "cache_read_input_token_cost": 1e-7},
        "an-embedding": {"mode": "embedding", "input_cost_per_token": 1e-8, "output_cost_per_token": 0},
        "sample_spec": "not a model",
    }))
    df = load_catalog("api_prices", path)
    assert df["model"].tolist() == ["my-model"]
    row = lookup(df, "api_prices", "my-model")
    assert row["input_usd_per_mtok"] == pytest.approx(1.0) and row["cache_read_usd_per_mtok"] == pytest.approx(0.1)
    empty = tmp_path / "empty.json"
    empty.write_text("{}")
    with pytest.raises(DataError, match="no chat models"):
        litellm_json_to_frame(empty)


def test_lookup_suggests_names():
    with pytest.raises(InputError, match="no row named 'mx'"):
        lookup(_prices(), "api_prices", "mx")


@pytest.mark.fault
def test_a_litellm_file_with_a_bad_price_names_file_model_and_field(tmp_path):
    path = tmp_path / "prices.json"
    path.write_text(json.dumps({"good": {"mode": "chat", "input_cost_per_token": 1e-6, "output_cost_per_token": 2e-6},
                                "bad": {"mode": "chat", "input_cost_per_token": "free", "output_cost_per_token": 2e-6}}))
    with pytest.raises(DataError, match="prices.json: model 'bad' field 'input_cost_per_token' is not a price"):
        litellm_json_to_frame(path)


@pytest.mark.fault
@pytest.mark.parametrize("damage,needle", [("latin1", "not UTF-8"), ("deep", "nested too deeply"), ("list", "object of model")])
def test_a_damaged_litellm_price_file_is_one_line(damage, needle, tmp_path):
    from planner.formats.catalog import litellm_json_to_frame
    path = tmp_path / "prices.json"
    path.write_bytes({"latin1": b'{"caf\xe9": {}}', "deep": b"[" * 100_000 + b"]" * 100_000, "list": b"[]"}[damage])
    with pytest.raises(DataError, match=needle):
        litellm_json_to_frame(path)


_CELL = st.one_of(st.just(""), st.just("nan"), st.just("inf"), st.just("-1"), st.just("0"), st.just("1e400"), st.just("12.5"),
                  st.just("abc"), st.just("2026-13-45"), st.just("2099-01-01"), st.text(max_size=6))


@pytest.mark.fault
@settings(max_examples=60, deadline=None)
@given(kind=st.sampled_from(sorted(SCHEMAS)), column=st.integers(0, 40), cell=_CELL)
def test_fuzz_catalog_rows_give_a_frame_or_one_data_error_naming_the_row(kind, column, cell):
    """One cell of a real catalog row replaced by something hostile: the loader either accepts a frame whose numbers are
    finite and non-negative, or raises DataError naming the file, row 2 and the field — never another exception."""
    import pandas as pd
    df = pd.read_csv(REPO / "data" / f"{kind}.csv", dtype={"as_of": str}).head(1).astype(object)
    col = df.columns[column % len(df.columns)]
    df.loc[0, col] = cell
    try:
        out = validate_catalog(df, kind, f"{kind}.csv")
    except DataError as exc:
        assert f"{kind}.csv: row 2" in str(exc) or f"{kind}.csv: " in str(exc)
        return
    schema = SCHEMAS[kind]
    for c in schema["numeric"] + [c for c in schema.get("optional_numeric", []) if c in out.columns]:
        value = out[c].iloc[0]
        assert pd.isna(value) or (0 <= float(value) < float("inf")), (c, value)
    assert os.environ.get("LLM_PLANNER_DATA") is None


def _onprem(**override):
    row = {"hardware": "G", "purchase_usd": 8000.0, "amortisation_years": 4, "power_w": 700, "pue": 1.5, "usd_per_kwh": 0.1,
           "purchase_includes": "server_share", "server_power_w_per_gpu": 1275, "source": "test", "as_of": "2026-01-01"}
    row.update(override)
    return pd.DataFrame([row])


@pytest.mark.parametrize("override,needle", [
    ({"server_power_w_per_gpu": None}, "row 2 field 'server_power_w_per_gpu' is empty but purchase_includes is server_share"),
    ({"purchase_includes": "rack"}, "row 2 field 'purchase_includes' must be one of server_share, card \\(got 'rack'\\)"),
    ({"server_power_w_per_gpu": 0}, "row 2 field 'server_power_w_per_gpu' is 0"),
])
def test_an_onprem_row_says_what_its_price_buys(override, needle):
    with pytest.raises(DataError, match=needle):
        validate_catalog(_onprem(**override), "onprem", "onprem.csv")
    assert validate_catalog(_onprem(purchase_includes="card", server_power_w_per_gpu=None), "onprem", "onprem.csv").shape[0] == 1


def test_a_server_share_is_priced_at_the_servers_power_per_gpu_a_card_at_its_own():
    """Hand-computed from data/onprem.csv: a DGX H100 share at 10.2 kW ÷ 8 = 1,275 W, not the GPU's 700 W; the H100
    PCIe card alone at its 350 W (and its source says the host is not included)."""
    sxm = record("instances", "onprem-8x-NVIDIA H100 SXM 80GB")
    assert sxm.on_demand_usd_per_hour == pytest.approx(8 * (46_875 / 60 + 1.275 * 1.58 * 730 * 0.1241) / 730)
    assert "1275 W" in sxm.provenance.source and "host included" in sxm.provenance.source
    pcie = record("instances", "onprem-1x-NVIDIA H100 PCIe 80GB")
    assert pcie.on_demand_usd_per_hour == pytest.approx((24_500 / 60 + 0.350 * 1.58 * 730 * 0.1241) / 730)
    assert "no host server in the price or the power" in pcie.provenance.source


def test_api_rows_carry_the_second_sources_word_and_a_disagreement_warns():
    """data/api_prices_crosscheck.csv (genai-prices 0.2.3): gpt-4o-mini agrees (checked 2025-07-04); Together's
    Llama-3.3-70B Turbo is $0.88 there against litellm's $1.04, and a plan against it says so."""
    from planner.core.plan import Workload
    from planner.formats.inputs import resolve, run_plan

    mini = record("api_prices", "gpt-4o-mini").provenance
    assert (mini.second_source, mini.second_source_agrees) == ("genai-prices 0.2.3 agrees, checked 2025-07-04", True)
    together = "together_ai/meta-llama/Llama-3.3-70B-Instruct-Turbo"
    prov = record("api_prices", together).provenance
    assert prov.second_source_agrees is False and "$0.88 in / $0.88 out per Mtok, checked 2025-07-03, vs $1.04 / $1.04" in prov.second_source
    profile = VLLM_VALIDATION_PROFILE
    w = Workload(tokens_in=128, tokens_out=16, ttft_slo_s=5, itl_slo_s=0.5)
    assert any(x.startswith("API price: genai-prices 0.2.3 says $0.88") for x in run_plan(resolve(profile, None, together, w)).warnings)
    assert not any(x.startswith("API price:") for x in run_plan(resolve(profile, None, "gpt-4o-mini", w)).warnings)
    assert record("api_prices", "amazon.titan-text-lite-v1").provenance.describe().endswith("cross-check: genai-prices 0.2.3 agrees, no check date")


def test_a_hybrid_card_row_with_half_its_linear_attention_fields_is_a_data_error_naming_row_and_field():
    from planner.formats.catalog import card_from_row
    row = lookup(load_catalog("model_cards"), "model_cards", "Qwen3.5-397B-A17B").copy()
    assert card_from_row(row).linear_attention_layers == 45
    row["linear_state_bytes"] = float("nan")
    with pytest.raises(DataError, match="model_cards: row 'Qwen3.5-397B-A17B': .*linear_state_bytes is missing"):
        card_from_row(row)
    row["linear_state_bytes"], row["linear_attention_layers"] = 4_268_032, 60
    with pytest.raises(DataError, match="linear_attention_layers must be between 0 and n_layers − 1 = 59"):
        card_from_row(row)
