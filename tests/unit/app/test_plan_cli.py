"""`llm-planner plan` output formats on committed reference profiles: a verdict line, JSON and CSV that parse."""
import io
import json

import pandas as pd
import pytest

from planner.app.cli import main
from tests.conftest import REPO

VLLM = next((REPO / "profiles/reference/vllm-cpu").glob("*.json"))
ARGS = ["plan", "--profile", str(VLLM), "--instance", "c7i.large", "--tokens-in", "128", "--tokens-out", "64", "--ttft-slo", "2",
        "--itl-slo", "0.2", "--requests", "5e6"]


def test_json_has_the_plan_and_nulls_for_never(capsys):
    assert main([*ARGS, "--format", "json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    cap = plan["capacity"]
    assert cap["source"] == "engine-model" and cap["requests_per_s"] > 0 and cap["concurrency"] >= 1
    assert cap["kv_bytes_per_token"] == 2 * 30 * 3 * 64 * 2  # layers × KV heads × head dim × bf16, K and V
    # the KV cache vLLM allocated (93,184 tokens) does not fit c7i.large's 4 GiB beside what the profile used besides it
    # (peak RSS 5,737,660,416 − baseline 618,278,912 bytes, of which 93,184 × 23,040 bytes of KV): what fits, ÷ 192 tokens
    room = 4 * 2**30 - (5_737_660_416 - 618_278_912 - 93_184 * 23_040)
    assert cap["max_concurrency_by_memory"] == (room // 23_040) // 192 == 298
    assert plan["replicas"] >= 1 and plan["selfhost_usd_per_month"] > 0 and plan["api_usd_per_month"] == pytest.approx(5e6 * plan["api_usd_per_request"])
    assert set(plan["break_even"]) == {"first", "always"} and isinstance(plan["warnings"], list)
    # 1 → 1 token on a $734/month GPU instance: the API's $3.5e-7 a request is never beaten
    for extra, expect_win in ((("--tokens-in", "128"), True), (("--tokens-in", "1", "--tokens-out", "1", "--instance", "g5.xlarge"), False)):
        assert main([*ARGS, "--format", "json", "--api", "amazon.titan-text-lite-v1", *extra]) == 0
        p = json.loads(capsys.readouterr().out)
        w = p["workload"]
        per_replica = p["capacity"]["requests_per_s"] * w["max_utilisation"] * 730 * 3600 / w["peak_to_avg"]
        wins = p["api_usd_per_request"] * per_replica > p["replica_usd_per_month"]
        assert wins == expect_win
        assert (p["break_even"]["first"] is not None) == wins and (p["break_even"]["always"] is not None) == wins  # never: null


def test_csv_is_the_cost_at_every_volume(capsys):
    assert main([*ARGS, "--format", "csv"]) == 0
    frame = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert len(frame) == 121 and {"requests_per_month", "replicas", "selfhost_usd_per_month", "api_usd_per_month"} <= set(frame)
    assert (frame["selfhost_usd_per_month"].diff().dropna() >= 0).all()


def test_table_ends_with_a_verdict(capsys):
    assert main(ARGS) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out[-1].startswith("verdict: at 5,000,000 requests/month ") and " is cheaper ($" in out[-1]
    assert main([*ARGS, "--format", "yaml"]) == 2
    assert "--format: must be table, json or csv" in capsys.readouterr().err


def test_compare_ranks_profiles_and_apis_and_recommends(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")
    cpu = next((REPO / "profiles/reference/cpu").glob("SmolLM2-135M-Instruct.Q4_1__cpu__*.json"))
    args = ["compare", "--profile", str(VLLM), "--profile", str(cpu), "--instance", "c7i.large", "--api", "gpt-4o-mini", "--api", "gpt-4o",
            "--tokens-in", "128", "--tokens-out", "64", "--ttft-slo", "2", "--itl-slo", "0.2", "--requests", "5e6"]
    assert main([*args, "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    options = {r["option"]: r for r in out["at_volume"]}
    assert len(options) == 4 and {r["kind"] for r in out["at_volume"]} == {"api", "self-hosted"}
    assert options["gpt-4o"]["usd_per_month"] > options["gpt-4o-mini"]["usd_per_month"] > 0  # same tokens, dearer prices
    assert out["bands"] and out["bands"][0]["from_requests_per_month"] == pytest.approx(1e3)
    assert out["bands"][-1]["to_requests_per_month"] == pytest.approx(1e9)
    assert out["recommendation"].endswith(".") and "Conditions: 128 → 64 tokens a request" in out["recommendation"]
    assert main([*args, "--format", "csv"]) == 0
    frame = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert frame.groupby("requests_per_month")["cheapest"].sum().le(1).all()
    assert main(args) == 0
    text = capsys.readouterr().out.splitlines()
    assert text[-1].startswith("recommendation: ") and all(len(line) <= 100 for line in text[:-2])  # fits the terminal


def test_a_serving_profile_is_refused_at_another_token_shape(capsys):
    served = next((REPO / "profiles/reference/serving").glob("SmolLM2-135M-Instruct.Q4_1__llama-server__*.json"))
    assert main(["plan", "--profile", str(served), "--tokens-in", "4000", "--tokens-out", "1000", "--instance", "c7i.large"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "does not carry over to another token shape" in err[0] and "4,000 → 1,000" in err[0]
