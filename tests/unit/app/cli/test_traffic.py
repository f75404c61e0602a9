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


def test_presets_are_listed_and_planned_from_by_name(capsys):
    code, out = run(capsys, "traffic", "presets")
    assert code == 0 and all(n in out for n in ("azure-code-2023", "azure-conversation-2023", "mooncake-conversation-2025"))
    assert "CC-BY-4.0" in out and "Apache-2.0" in out
    code, out = run(capsys, "traffic", "summarize", "mooncake-conversation-2025")  # its clock ticks every 3 s: not replayed
    out = " ".join(out.split())
    assert code == 0 and "89% of the gaps between timestamps are 0: too coarse a clock to replay" in out
    code, out = run(capsys, "traffic", "summarize", "azure-code-2023")
    out = " ".join(out.split())  # wrapped to the terminal's width
    assert code == 0 and "8,819" in out and "replayed: inter-arrival gaps' CV 14.03 (Poisson 1.00)" in out
    # an hour of trace: no monthly volume in it, so the plan keeps the option's, and says where the lengths come from
    code, out = run(capsys, "plan", "--profile", str(SMOL), "--traffic", "azure-code-2023", "--requests", "20000",
                    "--ttft-slo", "600", "--itl-slo", "1")
    assert code == 0, out
    out = " ".join(out.split())
    assert "traffic: azure-code-2023 — 8,819 requests, over 1.0 hours" in out and "arrivals replayed (gaps' CV 14.03" in out
    assert "too short to state a monthly volume" in out
