"""Bad input and faults through the real command line (in-process `main`), each ending in one line and exit 2 —
never a traceback, never a half-written or unreadable file. Property-based fuzzing covers the numeric options and
random mutations of a profile file."""
from __future__ import annotations

import errno
import json
import math
import subprocess
import sys
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner.app.cli import main
from planner.core.errors import DataError, InputError, MeasurementError, PlannerError, SetupError
from planner.core.plan import PriceChoice, Workload, plan
from planner.core.rows import Provenance
from planner.formats import files
from planner.formats.catalog import litellm_json_to_frame
from planner.formats.files import atomic_write_text, dated_name
from planner.formats.profiles import load_profile, save_profile
from tests.conftest import REPO
from tests.factories import make_profile

pytestmark = pytest.mark.fault

SMOL = next((REPO / "profiles/reference/cpu").glob("SmolLM2-135M-Instruct.Q4_1__*.json"))


def one_line(capsys) -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    return lines[0]


def run(capsys, *args) -> tuple[int, str]:
    code = main(list(args))
    return code, (one_line(capsys) if code else capsys.readouterr().out)


# --------------------------------------------------------------------------------------------- filesystem

def test_writing_to_a_directory_or_an_impossible_place_is_one_line(tmp_path):
    with pytest.raises(InputError, match="is a directory — give a file name"):
        atomic_write_text(tmp_path, "x")
    (tmp_path / "afile").write_text("I am a file")
    with pytest.raises(SetupError, match="cannot create the folder"):
        atomic_write_text(tmp_path / "afile" / "sub" / "p.json", "x")  # a file where a folder is expected
    with pytest.raises(SetupError, match="/proc"):
        atomic_write_text("/proc/llm-planner-test/p.json", "x")


def test_a_full_disk_leaves_the_earlier_file_intact(tmp_path, monkeypatch):
    target = tmp_path / "p.json"
    atomic_write_text(target, "the earlier profile")
    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(files.os, "fsync", full)
    with pytest.raises(SetupError, match="disk is full.*untouched"):
        atomic_write_text(target, "the new profile")
    assert target.read_text() == "the earlier profile"
    assert [p.name for p in tmp_path.iterdir()] == ["p.json"]  # no temp file left behind


def test_plan_html_into_a_directory_and_a_plan_file_output_nowhere(tmp_path, capsys):
    code, line = run(capsys, "plan", "--profile", str(SMOL), "--instance", "c7i.large", "--tokens-in", "64", "--tokens-out", "8",
                     "--ttft-slo", "30", "--itl-slo", "5", "--html", str(tmp_path))
    assert code == 2 and "is a directory" in line
    plan_file = tmp_path / "plan.yaml"
    plan_file.write_text(f"profile: {SMOL}\ninstance: c7i.large\noutput_dir: /proc/nowhere\n"
                         "workload: {tokens_in: 64, tokens_out: 8, ttft_slo_s: 30, itl_slo_s: 5}\n")
    code, line = run(capsys, "report", "--params", str(plan_file), "--no-pdf")
    assert code == 2 and "/proc/nowhere" in line


def test_two_runs_in_the_same_second_get_different_names():
    when = datetime(2026, 11, 26, 17, 0, 0, 123456, tzinfo=UTC)
    code = ("from datetime import datetime, UTC; from planner.formats.files import dated_name; "
            "print(dated_name('m.gguf', 'cpu', when=datetime(2026, 11, 26, 17, 0, 0, 123456, tzinfo=UTC)))")
    names = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout for _ in range(2)}
    assert len(names) == 2  # same instant, two processes: two files
    assert dated_name("m.gguf", "cpu", when=when).startswith("m.gguf__cpu__20261126T170000123456Z-p")


# --------------------------------------------------------------------------------------------- values

@pytest.mark.parametrize("value,why", [(-5.0, "cannot be negative"), (1e308, "beyond any hardware"), (0.0, "measures nothing")])
def test_unphysical_measurements_are_refused_on_read(value, why, tmp_path):
    raw = json.loads(save_profile(make_profile(), tmp_path / "ok.json").read_text())
    raw["decode"][0]["tok_s"]["mean"] = value
    (tmp_path / "bad.json").write_text(json.dumps(raw))
    with pytest.raises(DataError, match=why):
        load_profile(tmp_path / "bad.json")


def test_infinity_in_a_profile_is_refused_and_never_written(tmp_path):
    text = save_profile(make_profile(), tmp_path / "ok.json").read_text().replace('"mean": 50.0', '"mean": Infinity', 1)
    (tmp_path / "inf.json").write_text(text)
    with pytest.raises(DataError):
        load_profile(tmp_path / "inf.json")
    profile = make_profile()
    profile.decode[0].tok_s.mean = -1.0  # assignment skips validation: the writer must catch it
    with pytest.raises(MeasurementError, match="refusing to write"):
        save_profile(profile, tmp_path / "never.json")
    assert not (tmp_path / "never.json").exists()


@pytest.mark.parametrize("args,needle", [
    (("--tokens-in", "10000000"), "exceed the 8,192-token context"),
    (("--requests", "1e30"), "--requests: input should be less than or equal to 1000000000000000 (got 1e+30)"),
    (("--users", "-1"), "--users:"),
    (("--api", ""), "--api: empty"),
    (("--api", "gpt4o-mini-nonexistent"), "did you mean"),
    (("--price", "cheap"), "--price: must be on_demand, spot or reserved"),
    (("--tokens-out", "nan"), "--tokens-out"),
])
def test_plan_bad_values_name_the_option(args, needle, capsys):
    code, line = run(capsys, "plan", "--profile", str(SMOL), "--instance", "c7i.large", *args)
    assert code == 2 and needle in line, line


def test_api_names_match_ignoring_case_and_punctuation(capsys):
    code, out = run(capsys, "plan", "--profile", str(SMOL), "--instance", "c7i.large", "--api", "GPT-4o-Mini", "--tokens-in", "64",
                    "--tokens-out", "8", "--ttft-slo", "30", "--itl-slo", "5")
    assert code == 0 and "gpt-4o-mini" in out
    code, out = run(capsys, "plan", "--profile", str(SMOL), "--instance", "c7i.large", "--api", "gpt4o_mini", "--tokens-in", "64",
                    "--tokens-out", "8", "--ttft-slo", "30", "--itl-slo", "5")
    assert code == 0 and "api_prices:gpt-4o-mini" in out
    code, line = run(capsys, "plan", "--profile", str(SMOL), "--instance", "c7i.large", "--api", "gpt-4o-mini-2099")
    assert code == 2 and "did you mean" in line and "'gpt-4o-mini" in line


@pytest.mark.parametrize("args,needle", [
    (("project", "--calibrate", str(SMOL), "--card", "Mistral-7B-v0.1", "--quant", "Q99"), "--quant: 'Q99' is not a llama.cpp quant type"),
    (("project", "--calibrate", str(SMOL), "--calibrate", str(SMOL), "--card", "Mistral-7B-v0.1"), "one model at several depths"),
    (("clone", "Mistral-7B-v0.1", "--quant", "Q99"), "--quant: 'Q99'"),
    (("clone", "Mistral-7B-v0.1", "--layers", "0"), "--layers: must be between 1 and 32"),
    (("cache", "--clear", "--kind", "../x"), "--kind: must be one of"),
    (("serve-profile", "--engine", "llama-cpp", "--rate", "nan"), "--rate: levels must be positive finite"),
    (("serve-profile", "--engine", "llama-cpp", "--duration", "nan"), "--duration: must be a positive finite"),
    (("serve-profile", "--engine", "llama-cpp", "--n-threads", "0"), "--n-threads: must be a positive finite"),
    (("profile", "--budget", "nan", "--quick"), "--budget: must be a positive number"),
    (("catalog", "nonsense"), "KIND: must be api_prices, instances"),
    (("profile", "--quick", "--out", "/tmp"), "--out: /tmp is a directory"),
])
def test_lookups_and_fits_are_one_line(args, needle, capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("LLM_PLANNER_CACHE", str(tmp_path / "cache"))
    code, line = run(capsys, *args)
    assert code == 2 and needle in line, line


def test_model_paths_say_what_is_wrong(tmp_path, capsys):
    code, line = run(capsys, "profile", str(tmp_path))
    assert code == 2 and "is a directory, not a file" in line
    not_gguf = tmp_path / "notes.gguf"
    not_gguf.write_text("hello")
    code, line = run(capsys, "profile", str(not_gguf), "--quant-ladder")
    assert code == 2 and "not a readable GGUF file" in line
    from planner.measure.gguf.embedded import embedded_model_path
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(embedded_model_path().read_bytes()[: 20 << 20])
    code, line = run(capsys, "profile", str(cut))
    assert code == 2 and ("truncated" in line or "damaged" in line)
    code, line = run(capsys, "profile", "--prompts", "100000", "--quick")
    assert code == 2 and "beyond the 8,192-token context" in line


def test_a_litellm_file_with_a_bad_price_names_file_model_and_field(tmp_path):
    path = tmp_path / "prices.json"
    path.write_text(json.dumps({"good": {"mode": "chat", "input_cost_per_token": 1e-6, "output_cost_per_token": 2e-6},
                                "bad": {"mode": "chat", "input_cost_per_token": "free", "output_cost_per_token": 2e-6}}))
    with pytest.raises(DataError, match="prices.json: model 'bad' field 'input_cost_per_token' is not a price"):
        litellm_json_to_frame(path)


def test_help_shows_flags_without_values_and_cache_says_when_empty(capsys, tmp_path, monkeypatch):
    assert main(["profile", "--help"]) == 0
    out = capsys.readouterr().out
    assert "<bool>" not in out and "--quick " in out
    monkeypatch.setenv("LLM_PLANNER_CACHE", str(tmp_path / "c"))
    assert main(["cache"]) == 0 and "nothing cached" in capsys.readouterr().out
    assert main(["cache", "--clear"]) == 0 and "nothing of llm-planner's to clear" in capsys.readouterr().out


# --------------------------------------------------------------------------------------------- fuzzing

NUMBERS = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([0, -1, 1e-300, 1e300, 5e6, 128, 2]))
OPTIONS = ["--requests", "--tokens-in", "--tokens-out", "--ttft-slo", "--itl-slo", "--peak-to-avg", "--users"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.dictionaries(st.sampled_from(OPTIONS), NUMBERS, min_size=1, max_size=4))
def test_fuzz_plan_numeric_options(values, capsys):
    args = [a for k, v in values.items() for a in (k, repr(float(v)))]
    code = main(["plan", "--profile", str(SMOL), "--instance", "c7i.large", *args])
    out = capsys.readouterr()
    assert "Traceback" not in out.err
    if code == 0:
        assert "break-even volume" in out.out and "nan" not in out.out.lower().replace("financ", "")
    else:
        assert code == 2
        lines = [line for line in out.err.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("error: ")


def _leaves(obj, path=()):
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _leaves(v, (*path, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _leaves(v, (*path, i))
    else:
        yield path


BASE = json.loads(make_profile(concurrency={1: 50.0, 4: 150.0}).model_dump_json())
LEAVES = list(_leaves(BASE))
PROV = Provenance("test", "row", "test", "2026-01-01")
PRICES = PriceChoice(1.0, "r", PROV, 1e-6, 4e-6, None, "api", PROV)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(where=st.sampled_from(LEAVES),
       value=st.one_of(st.none(), st.booleans(), st.text(max_size=5), st.integers(-10**6, 10**6),
                       st.floats(allow_nan=False, allow_infinity=False), st.sampled_from([0, -1, 1e308, -1e308])),
       drop=st.booleans())
def test_fuzz_profile_mutations_give_one_error_or_a_valid_plan(where, value, drop, tmp_path_factory):
    raw = json.loads(json.dumps(BASE))
    node = raw
    for key in where[:-1]:
        node = node[key]
    if drop and isinstance(node, dict):
        del node[where[-1]]
    else:
        node[where[-1]] = value
    path = tmp_path_factory.mktemp("fuzz") / "p.json"
    path.write_text(json.dumps(raw))
    try:
        profile = load_profile(path)
    except DataError:
        return  # one line, naming the file and the field
    try:
        r = plan(profile, PRICES, Workload(tokens_in=64, tokens_out=8, ttft_slo_s=60, itl_slo_s=10))
    except PlannerError:
        return
    assert r.capacity_rps > 0 and math.isfinite(r.capacity_rps)
    assert math.isfinite(r.at_target.selfhost_usd_per_month) and r.at_target.selfhost_usd_per_month > 0
    assert load_profile(save_profile(profile, path)).model == profile.model  # what the tool writes, it reads back


def _commands():
    import typer.main
    group = typer.main.get_command(__import__("planner.app.cli", fromlist=["app"]).app)
    return group, sorted(group.commands)


def test_every_command_has_help_and_refuses_one_bad_value_per_option(capsys):
    """Every subcommand answers --help; every option that takes a value refuses a wrong one in one line."""
    group, names = _commands()
    assert {"plan", "profile", "serve-profile", "catalog", "cache", "clone", "project", "report", "demo", "hardware"} <= set(names)
    tried = 0
    for name in names:
        assert main([name, "--help"]) == 0, name
        assert "Usage: " in capsys.readouterr().out
        for param in group.commands[name].params:
            if not param.opts[0].startswith("--") or getattr(param, "is_flag", False):
                continue
            if param.bare_type() not in ("int", "float"):
                continue  # paths and names are checked where they are used (tests above)
            code = main([name, param.opts[0], "nope"])
            line = one_line(capsys)
            assert code == 2 and param.opts[0] in line, (name, param.opts[0], line)
            tried += 1
    assert tried >= 25  # the numeric options of all commands (27 today)
