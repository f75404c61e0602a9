import json

import pandas as pd
import pytest

from planner.core.errors import DataError, InputError
from planner.formats.catalog import SCHEMAS, litellm_json_to_frame, load_catalog, lookup, validate_catalog


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
