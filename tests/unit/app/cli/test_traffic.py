"""planner/app/cli/traffic.py (`traffic summarize`) and `plan --traffic` on the example log: the plan's volume,
peak-to-average and lengths are the log's, and it says so."""
import json

import pytest

from planner.core.traffic import summarize
from planner.formats.traffic import read_traffic
from tests.conftest import REPO
from tests.unit.app.cli.conftest import run
from tests.unit.conftest import SMOL

EXAMPLE = REPO / "data/examples/traffic-litellm-spendlogs.csv"


def test_summarize_prints_what_the_log_says(capsys):
    s = summarize(read_traffic(EXAMPLE))
    code, out = run(capsys, "traffic", "summarize", str(EXAMPLE))
    assert code == 0
    assert f"{s.requests_per_month:,.0f}" in out and f"{s.peak_to_avg:.2f}" in out and "unknown (the log does not say)" in out
    code, out = run(capsys, "traffic", "summarize", str(EXAMPLE), "--format", "json")
    data = json.loads(out)
    assert data["n_requests"] == s.n_requests and data["cached_fraction"] is None and len(data["hour_of_day"]) == 24


def test_plan_from_the_log(capsys):
    s = summarize(read_traffic(EXAMPLE))
    # the log's p95 prompt (1,873 tokens) takes this 2-core profile ~15 s to prefill: a 10 s TTFT is out of reach
    code, out = run(capsys, "plan", "--profile", str(SMOL), "--traffic", str(EXAMPLE), "--ttft-slo", "10", "--itl-slo", "0.5")
    assert code == 2 and "no load level" in out and "for 633.325→179.129 tokens" in out
    args = ["plan", "--profile", str(SMOL), "--instance", "e2-standard-2", "--traffic", str(EXAMPLE), "--ttft-slo", "60", "--itl-slo", "0.5"]
    code, out = run(capsys, *args, "--format", "json")
    assert code == 0
    plan = json.loads(out)
    w = plan["workload"]
    assert w["requests_per_month"] == s.requests_per_month and w["peak_to_avg"] == s.peak_to_avg
    assert w["tokens_in"] == pytest.approx(s.tokens_in.mean) and w["tokens_out"] == pytest.approx(s.tokens_out.mean)
    assert sum(w["lengths"]["weights"]) == pytest.approx(1) and len(w["lengths"]["tokens_in"]) > 1000  # the log's distinct shapes
    assert w["cached_fraction"] == 0.0 and plan["traffic"]["cached_fraction"] is None  # the log does not say: nothing assumed
    # the distribution's long prompts set the p95: below what every request at the mean shape would allow
    assert 0 < plan["capacity"]["requests_per_s"] < plan["capacity"]["mean_shape_requests_per_s"]
    code, out = run(capsys, *args)
    assert code == 0 and out.startswith(f"traffic: {EXAMPLE}") and "the plan takes the volume" in " ".join(out.split())
    assert f"replicas at {s.requests_per_month:,.0f} req/month" in out


def test_a_bad_log_is_one_line_and_exit_2(capsys, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("prompt_tokens,completion_tokens\n10,x\n")
    code, line = run(capsys, "traffic", "summarize", str(bad))
    assert code == 2 and "row 1: field 'completion_tokens'" in line
    code, line = run(capsys, "plan", "--profile", str(SMOL), "--traffic", str(tmp_path / "missing.csv"))
    assert code == 2 and "missing.csv: no such file" in line
