"""Fault suite, options: values that would waste minutes, lose a measurement or mislead are refused before any work,
in one line naming the option (exit 2); weak answers of issue 21 #9 made clear."""
from __future__ import annotations

import dataclasses
import os
import shutil

import pytest

from planner.app.cli import main
from planner.core.matching import instance_mismatch
from planner.formats.catalog import record
from planner.formats.files import dated_name
from planner.formats.profiles import load_profile
from tests.conftest import REPO

pytestmark = pytest.mark.fault

SMOL = next((REPO / "profiles/reference/cpu").glob("SmolLM2-135M-Instruct.Q4_1__*.json"))
WL = ["--tokens-in", "64", "--tokens-out", "8", "--ttft-slo", "30", "--itl-slo", "5"]
CLOSED = "http://127.0.0.1:9/v1"  # nothing listens on port 9: a refusal that happens after option checks would show


def one_line(capsys) -> str:
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    return lines[0]


@pytest.mark.parametrize("args,needle", [
    (["--rate", "1e9"], "--rate: at most 10,000 requests/s"),
    (["--rate", "0.5,inf"], "--rate: levels must be positive finite"),
    (["--concurrency", "2.5"], "--concurrency: whole numbers"),
    (["--concurrency", "1,2,100000"], "--concurrency: at most 4,096"),
    (["--concurrency", "-1"], "--concurrency: levels must be positive"),
])
def test_serve_profile_levels_are_checked_before_anything_is_measured(args, needle, tmp_path, capsys):
    """Issue 21 #4: `--rate 1e9` and `--concurrency 2.5` were refused only after the run, losing what it measured."""
    out = tmp_path / "p.json"
    code = main(["serve-profile", "--url", CLOSED, "--model-name", "m", *args, "--out", str(out)])
    line = one_line(capsys)
    assert code == 2 and needle in line, line
    assert not out.exists()


def test_api_key_env_with_a_local_engine_is_refused(tmp_path, capsys):
    code = main(["serve-profile", "--engine", "llama-server", "--api-key-env", "OPENAI_API_KEY"])
    assert code == 2 and "--api-key-env: only with --url" in one_line(capsys)


@pytest.mark.parametrize("command", [["profile", "--quick", "--threads", "1,1000"], ["profile", "--quick", "--n-threads", "999"],
                                     ["serve-profile", "--engine", "llama-server", "--n-threads", "999"]])
def test_more_threads_than_cores_is_refused_unless_asked_for(command, capsys):
    code = main(command)
    line = one_line(capsys)
    assert code == 2 and "logical cores" in line and "--oversubscribe" in line and str(os.cpu_count()) in line, line


def test_fleet_unknown_provider_names_the_provider_option(capsys):
    code = main(["fleet", "--card", "Llama-3.1-8B", "--provider", "nosuch", *WL])
    line = one_line(capsys)
    assert code == 2 and line.startswith("error: --provider: no GPU instances from 'nosuch'") and "aws" in line, line


def test_a_few_threads_priced_on_many_vcpus_names_the_mismatch_and_its_size():
    profile = load_profile(SMOL)
    threads = profile.engine.n_threads or profile.hardware.logical_cores
    big = dataclasses.replace(record("instances", "m7i.xlarge"), vcpus=64)  # the catalog's CPU rows stop at 4 vCPUs
    note = instance_mismatch(profile, big)
    assert f"measured with {threads} threads" in note and f"{big.vcpus:g} vCPUs" in note
    assert f"({big.vcpus / threads:.0f}× the threads measured)" in note
    small = record("instances", "c7i.large")
    assert "× the threads measured" not in instance_mismatch(profile, small)


def test_a_very_long_model_name_makes_a_short_unique_file_name():
    from datetime import UTC, datetime
    when = datetime(2026, 12, 2, tzinfo=UTC)
    a, b = dated_name("x" * 300 + "a", "cpu", when=when), dated_name("x" * 300 + "b", "cpu", when=when)
    assert len(a) < 140 and len(a.encode()) < 255 and a != b
    assert dated_name("short-name", "cpu", when=when).startswith("short-name__cpu__")


@pytest.mark.parametrize("field,value,needle", [
    ("on_demand_usd_per_hour", "inf", "row 2 field 'on_demand_usd_per_hour' is infinite"),
    ("on_demand_usd_per_hour", "0", "row 2 field 'on_demand_usd_per_hour' is 0 — nothing is free"),
    ("vcpus", "-4", "row 2 field 'vcpus' is negative"),
])
def test_impossible_instance_rows_name_file_row_and_field(field, value, needle, tmp_path, monkeypatch, capsys):
    data = tmp_path / "data"
    shutil.copytree(REPO / "data", data)
    monkeypatch.setenv("LLM_PLANNER_DATA", str(data))
    import pandas as pd
    df = pd.read_csv(data / "instances.csv", dtype=str)
    df.loc[0, field] = value
    df.to_csv(data / "instances.csv", index=False)
    code = main(["catalog", "instances"])
    line = one_line(capsys)
    assert code == 2 and "instances.csv" in line and needle in line, line


def test_a_negative_context_length_in_a_profile_is_refused(tmp_path, capsys):
    import json
    raw = json.loads(SMOL.read_text())
    raw["model"]["context_length"] = -8192
    bad = tmp_path / "p.json"
    bad.write_text(json.dumps(raw))
    code = main(["plan", "--profile", str(bad), "--instance", "c7i.large", *WL])
    line = one_line(capsys)
    assert code == 2 and "model.context_length" in line, line


def test_repeated_compare_options_are_one_option(capsys):
    code = main(["compare", "--profile", str(SMOL), "--profile", str(SMOL), "--instance", "c7i.large", "--instance", "c7i.large",
                 "--api", "gpt-4o-mini", "--api", "gpt-4o-mini", "--format", "json", *WL])
    import json
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and len(out["at_volume"]) == 2  # one self-hosted option, one API


def test_missing_chromium_names_both_ways_to_turn_the_pdf_off(monkeypatch, tmp_path):
    from planner.core.errors import SetupError
    from planner.present import report
    monkeypatch.setattr(report, "find_chromium", lambda: None)
    with pytest.raises(SetupError, match=r"--no-pdf, or pdf: false in the plan file"):
        report.html_to_pdf(tmp_path / "a.html", tmp_path / "a.pdf")


def test_a_hanging_chromium_is_killed_with_its_children_and_reported_in_one_line(monkeypatch, tmp_path):
    """Issue 21 #7: a hanging Chromium gave a TimeoutExpired traceback and its child outlived the tool. A stand-in
    'browser' (a shell script that starts a child and hangs) is used: the real Chromium cannot be made to hang on cue."""
    import psutil

    from planner.core.errors import SetupError
    from planner.present import report
    pids = tmp_path / "pids"
    fake = tmp_path / "chromium"
    fake.write_text(f"#!/bin/sh\nsleep 300 &\necho $! > {pids}\necho $$ >> {pids}\nwait\n")
    fake.chmod(0o755)
    monkeypatch.setattr(report, "find_chromium", lambda: str(fake))
    (tmp_path / "a.html").write_text("<p>hi</p>")
    with pytest.raises(SetupError, match=r"did not finish printing a.pdf within 1 s and was stopped"):
        report.html_to_pdf(tmp_path / "a.html", tmp_path / "a.pdf", timeout_s=1)
    started = [int(p) for p in pids.read_text().split()]
    assert len(started) == 2
    alive = [p for p in started if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]
    assert alive == [], f"left running: {alive}"
    assert not (tmp_path / "a.pdf").exists() and not list(tmp_path.glob(".a.pdf*"))
