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
    assert cap["max_concurrency_by_memory"] == 93_184 // 192  # the KV cache vLLM allocated ÷ tokens per request
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
    assert "--format: table, json or csv" in capsys.readouterr().err
