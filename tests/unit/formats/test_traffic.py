"""planner/formats/traffic.py: each supported log format read from a file, and a malformed row refused in one line
naming the row and the field."""
import json

import numpy as np
import pytest

from planner.core.errors import InputError
from planner.formats.traffic import read_traffic
from tests.conftest import REPO


def test_litellm_spend_logs_csv(tmp_path):
    f = tmp_path / "spend.csv"
    f.write_text("request_id,startTime,model,prompt_tokens,completion_tokens,cache_hit\n"
                 "a,2026-11-02T09:00:00.000Z,gpt-4o-mini,120,30,False\n"
                 "b,2026-11-02 10:30:00,gpt-4o,80,10,False\n")
    r = read_traffic(f)
    assert r.tokens_in.tolist() == [120, 80] and r.tokens_out.tolist() == [30, 10] and r.per_request
    assert r.time_s[1] - r.time_s[0] == 5400  # a time without a zone is UTC
    assert np.isnan(r.cached_in).all() and r.models == ("gpt-4o-mini", "gpt-4o") and r.source == "spend.csv (litellm)"


def test_openai_completion_responses_jsonl(tmp_path):
    f = tmp_path / "responses.jsonl"
    rows = [{"id": "x", "object": "chat.completion", "created": 1764666000, "model": "gpt-4o-mini",
             "usage": {"prompt_tokens": 2000, "completion_tokens": 100, "total_tokens": 2100, "prompt_tokens_details": {"cached_tokens": 1024}}},
            {"id": "y", "object": "chat.completion", "created": 1764666060, "model": "gpt-4o-mini",
             "usage": {"prompt_tokens": 50, "completion_tokens": 5, "total_tokens": 55}}]
    f.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    r = read_traffic(f)
    assert r.tokens_in.tolist() == [2000, 50] and r.cached_in[0] == 1024 and np.isnan(r.cached_in[1])
    assert r.time_s.tolist() == [1764666000, 1764666060]


def test_openai_usage_api_pages_are_buckets(tmp_path):
    page = {"object": "page", "data": [
        {"object": "bucket", "start_time": 1730419200, "end_time": 1730422800, "results": [
            {"object": "organization.usage.completions.result", "input_tokens": 1000, "output_tokens": 500, "input_cached_tokens": 800,
             "num_model_requests": 5, "model": "gpt-4o-mini"},
            {"object": "organization.usage.completions.result", "input_tokens": 0, "output_tokens": 0, "num_model_requests": 0}]}],
        "has_more": False}
    f = tmp_path / "usage.json"
    f.write_text(json.dumps(page))
    r = read_traffic(f)
    assert not r.per_request and r.requests.tolist() == [5] and r.tokens_in.tolist() == [200] and r.cached_in.tolist() == [160]
    assert r.tokens_out.tolist() == [100] and r.time_s.tolist() == [1730419200]  # an empty result is no request


def test_a_plain_table_and_the_example_log(tmp_path):
    f = tmp_path / "plain.csv"
    f.write_text("timestamp,tokens_in,tokens_out,cached_tokens\n1764666000,100,10,40\n1764669600,300,30,\n")
    r = read_traffic(f)
    assert r.tokens_in.tolist() == [100, 300] and r.cached_in[0] == 40 and np.isnan(r.cached_in[1])
    example = read_traffic(REPO / "data/examples/traffic-litellm-spendlogs.csv")
    assert example.requests.sum() > 1000 and not np.isnan(example.time_s).any()


@pytest.mark.parametrize("name,text,needle", [
    ("bad.csv", "startTime,prompt_tokens,completion_tokens\n2026-11-02T09:00:00Z,120,30\n2026-11-02T09:01:00Z,lots,30\n",
     r"bad\.csv: row 2: field 'prompt_tokens': .*got 'lots'"),
    ("neg.csv", "prompt_tokens,completion_tokens\n10,-3\n", r"row 1: field 'completion_tokens': input should be greater than or equal to 0"),
    ("when.csv", "startTime,prompt_tokens,completion_tokens\nyesterday,1,1\n", r"row 1: field 'startTime'"),
    ("cache.jsonl", '{"created": 1, "usage": {"prompt_tokens": 10, "completion_tokens": 1, "prompt_tokens_details": {"cached_tokens": 11}}}\n',
     r"row 1: 11 cached tokens of 10 prompt tokens"),
    ("broken.jsonl", '{"prompt_tokens": 1, "completion_tokens": 1}\n{"prompt_tokens": 1,\n', r"line 2: not JSON"),
    ("other.csv", "a,b\n1,2\n", r"unrecognised row with fields \['a', 'b'\]"),
    ("empty.csv", "prompt_tokens,completion_tokens\n", r"no rows"),
])
def test_a_malformed_log_is_one_line_naming_the_row_and_field(tmp_path, name, text, needle):
    f = tmp_path / name
    f.write_text(text)
    with pytest.raises(InputError, match=needle):
        read_traffic(f)
    with pytest.raises(InputError, match="no such file"):
        read_traffic(tmp_path / "missing.csv")


def test_the_presets_are_published_traces_read_as_logs(tmp_path, monkeypatch):
    from planner.formats.traffic import traffic_presets

    presets = traffic_presets()
    assert set(presets) == {"azure-code-2023", "azure-conversation-2023", "mooncake-conversation-2025"}
    for p in presets.values():
        rec = read_traffic(p.name)
        assert rec.tokens_in.size == p.rows and rec.per_request and not np.isnan(rec.time_s).any()
        assert rec.source.startswith(f"preset {p.name} (") and p.licence in rec.source and len(p.commit) == 40
    # the Azure trace's first conversation row, as published: 2023-11-16 18:15:46.6806 UTC, 374 → 44 tokens
    conv = read_traffic("azure-conversation-2023")
    assert (conv.tokens_in[0], conv.tokens_out[0]) == (374, 44) and conv.time_s[0] == pytest.approx(1700158546.6806, abs=1e-4)
    # Mooncake's second request shares its first 512-token block (hash 0) with the first: 512 cached tokens
    moon = read_traffic("mooncake-conversation-2025")
    assert moon.cached_in[:2].tolist() == [0, 512] and np.all(moon.cached_in <= moon.tokens_in)
    with pytest.raises(InputError, match=r"^nope: no such file, nor a traffic preset \(azure-code-2023, "):
        read_traffic("nope")
    # a file of that name is read as the file
    monkeypatch.chdir(tmp_path)
    (tmp_path / "azure-code-2023").write_text('{"prompt_tokens": 5, "completion_tokens": 6}\n')
    assert read_traffic("azure-code-2023").tokens_in.tolist() == [5.0]
