"""planner/app/cli/plan.py: `plan`, `compare`, `fleet`, `report`, `catalog` and `project` on committed reference
profiles — a verdict line, JSON and CSV that parse — and their part of the fault suite (marked `fault`): bad values and
damaged inputs (catalogs, profiles, plan files, links) end in one line naming the option or the file and exit 2, never a
traceback; no output lands on one of the command's own inputs, however the path is spelled; fuzzed numeric options."""
import io
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner.app.cli import main
from tests.conftest import REPO, VLLM_VALIDATION_PROFILE
from tests.unit.app.cli.conftest import WL, one_line, run
from tests.unit.conftest import SMOL

VLLM = VLLM_VALIDATION_PROFILE  # vllm-cpu/ is too noisy for a verdict
ARGS = ["plan", "--profile", str(VLLM), "--instance", "c7i.large", "--tokens-in", "128", "--tokens-out", "64", "--ttft-slo", "2",
        "--itl-slo", "0.2", "--requests", "5e6"]


def test_json_has_the_plan_and_nulls_for_never(capsys):
    assert main([*ARGS, "--format", "json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    cap = plan["capacity"]
    assert cap["source"] == "engine-model" and cap["requests_per_s"] > 0 and cap["concurrency"] >= 1
    assert cap["kv_bytes_per_token"] == 2 * 30 * 3 * 64 * 2  # layers × KV heads × head dim × bf16, K and V
    # the KV cache vLLM allocated (93,184 tokens) does not fit c7i.large's 4 GiB beside what the profile used besides it
    # (peak RSS 5,760,106,496 − baseline 605,106,176 bytes, of which 93,184 × 23,040 bytes of KV): what fits, ÷ 192 tokens
    room = 4 * 2**30 - (5_760_106_496 - 605_106_176 - 93_184 * 23_040)
    assert cap["max_concurrency_by_memory"] == (room // 23_040) // 192 == 290
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


def _last_paragraph(text: str) -> str:
    """The last message of a command's output, joined back from the lines `present.tables.wrap` broke it into."""
    lines = text.rstrip().splitlines()
    start = max(i for i, line in enumerate(lines) if not line.startswith(" "))
    return " ".join(line.strip() for line in lines[start:])


def test_table_ends_with_a_verdict(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    assert main(ARGS) == 0
    out = capsys.readouterr().out
    verdict = _last_paragraph(out)
    assert verdict.startswith("verdict: at 5,000,000 requests/month ") and " is cheaper ($" in verdict
    assert all(len(line) <= 80 for line in out.splitlines() if "/" not in line)  # wrapped at the terminal (a long path may not be)
    assert "\x1b[" not in out  # not a terminal: no colour codes
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
    text = capsys.readouterr().out
    assert _last_paragraph(text).startswith("recommendation: ") and all(len(line) <= 100 for line in text.splitlines())  # fits


def test_a_serving_profile_is_refused_at_another_token_shape(capsys):
    served = next((REPO / "profiles/reference/serving").glob("SmolLM2-135M-Instruct.Q4_1__llama-server__*.json"))
    assert main(["plan", "--profile", str(served), "--tokens-in", "4000", "--tokens-out", "1000", "--instance", "c7i.large"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "does not carry over to another token shape" in err[0] and "4,000 → 1,000" in err[0]


@pytest.mark.fault
def test_plan_html_into_a_directory_and_a_plan_file_output_nowhere(tmp_path, capsys):
    code, line = run(capsys, "plan", "--profile", str(SMOL), "--instance", "c7i.large", "--tokens-in", "64", "--tokens-out", "8",
                     "--ttft-slo", "30", "--itl-slo", "5", "--html", str(tmp_path))
    assert code == 2 and "is a directory" in line
    plan_file = tmp_path / "plan.yaml"
    plan_file.write_text(f"profile: {SMOL}\ninstance: c7i.large\noutput_dir: /proc/nowhere\n"
                         "workload: {tokens_in: 64, tokens_out: 8, ttft_slo_s: 30, itl_slo_s: 5}\n")
    code, line = run(capsys, "report", "--params", str(plan_file), "--no-pdf")
    assert code == 2 and "/proc/nowhere" in line


@pytest.mark.fault
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


@pytest.mark.fault
def test_api_names_match_ignoring_case_and_punctuation(capsys):
    code, out = run(capsys, "plan", "--profile", str(SMOL), "--instance", "c7i.large", "--api", "GPT-4o-Mini", "--tokens-in", "64",
                    "--tokens-out", "8", "--ttft-slo", "30", "--itl-slo", "5")
    assert code == 0 and "gpt-4o-mini" in out
    code, out = run(capsys, "plan", "--profile", str(SMOL), "--instance", "c7i.large", "--api", "gpt4o_mini", "--tokens-in", "64",
                    "--tokens-out", "8", "--ttft-slo", "30", "--itl-slo", "5")
    assert code == 0 and "api_prices:gpt-4o-mini" in out
    code, line = run(capsys, "plan", "--profile", str(SMOL), "--instance", "c7i.large", "--api", "gpt-4o-mini-2099")
    assert code == 2 and "did you mean" in line and "'gpt-4o-mini" in line


@pytest.mark.fault
def test_fleet_unknown_provider_names_the_provider_option(capsys):
    code = main(["fleet", "--card", "Llama-3.1-8B", "--provider", "nosuch", *WL])
    line = one_line(capsys)
    assert code == 2 and line.startswith("error: --provider: no GPU instances from 'nosuch'") and "aws" in line, line


@pytest.mark.fault
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


@pytest.mark.fault
def test_a_negative_context_length_in_a_profile_is_refused(tmp_path, capsys):
    import json
    raw = json.loads(SMOL.read_text())
    raw["model"]["context_length"] = -8192
    bad = tmp_path / "p.json"
    bad.write_text(json.dumps(raw))
    code = main(["plan", "--profile", str(bad), "--instance", "c7i.large", *WL])
    line = one_line(capsys)
    assert code == 2 and "model.context_length" in line, line


@pytest.mark.fault
def test_repeated_compare_options_are_one_option(capsys):
    code = main(["compare", "--profile", str(SMOL), "--profile", str(SMOL), "--instance", "c7i.large", "--instance", "c7i.large",
                 "--api", "gpt-4o-mini", "--api", "gpt-4o-mini", "--format", "json", *WL])
    import json
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and len(out["at_volume"]) == 2  # one self-hosted option, one API


PLAN = ["--instance", "c7i.large", "--tokens-in", "64", "--tokens-out", "8", "--ttft-slo", "30", "--itl-slo", "5"]
LATIN1 = "café,naïve\n".encode("latin-1")  # what a spreadsheet's "CSV (Windows)" export gives


def _data_copy(tmp_path, monkeypatch) -> Path:
    """A folder of the repository's catalogs, used through $LLM_PLANNER_DATA, to damage one file of."""
    data = tmp_path / "data"
    shutil.copytree(REPO / "data", data, ignore=shutil.ignore_patterns("sources"))
    shutil.copytree(REPO / "data" / "sources", data / "sources")
    monkeypatch.setenv("LLM_PLANNER_DATA", str(data))
    return data


# which command reads each catalog (and so meets the damage)
CATALOG_READERS = {
    "api_prices": ["plan", "--profile", str(SMOL), *PLAN],
    "instances": ["plan", "--profile", str(SMOL), *PLAN],
    "hardware": ["catalog", "hardware"],
    "model_cards": ["catalog", "model_cards"],
    "onprem": ["catalog", "onprem"],
    "interconnects": ["catalog", "interconnects"],
    "api_cache_rules": ["catalog", "api_cache_rules"],
}


@pytest.mark.fault
@pytest.mark.parametrize("damage", ["latin1", "empty", "header_only", "binary", "ragged"])
@pytest.mark.parametrize("kind", sorted(CATALOG_READERS))
def test_a_damaged_catalog_is_one_line_naming_the_file(kind, damage, tmp_path, monkeypatch, capsys):
    data = _data_copy(tmp_path, monkeypatch)
    path = data / f"{kind}.csv"
    header = path.read_text().splitlines()[0]
    path.write_bytes({"latin1": header.encode() + b"\n" + LATIN1, "empty": b"", "header_only": header.encode() + b"\n",
                      "binary": bytes(range(256)) * 4, "ragged": (header + "\n" + '"unclosed,quote\n').encode()}[damage])
    args = CATALOG_READERS[kind]
    if kind == "instances" or kind == "api_prices":
        args = [*args, "--api", "gpt-4o-mini"]
    code = main(args)
    line = one_line(capsys)
    assert code == 2 and f"{kind}.csv" in line, line


@pytest.mark.fault
@pytest.mark.parametrize("damage,needle", [
    ("latin1", "not UTF-8 text (byte 0xe9 at line 1)"), ("empty", "not valid JSON"), ("binary", "not UTF-8"),
    ("deep", "nested too deeply"), ("array", "not an llm-planner profile"), ("truncated", "not valid JSON (line 8"),
])
def test_a_damaged_profile_is_one_line_naming_it(damage, needle, tmp_path, capsys):
    path = tmp_path / "p.json"
    path.write_bytes({"latin1": LATIN1, "empty": b"", "binary": b"\x00\xff\xfe" * 10, "deep": b"[" * 100_000 + b"]" * 100_000,
                      "array": b"[1, 2]", "truncated": SMOL.read_bytes()[:200]}[damage])
    code = main(["plan", "--profile", str(path), *PLAN])
    line = one_line(capsys)
    assert code == 2 and needle in line and "p.json" in line, line


@pytest.mark.fault
@pytest.mark.parametrize("damage,needle", [
    ("latin1", "not UTF-8"), ("binary", "not UTF-8"), ("deep", "nested too deeply"), ("bad_yaml", "not valid YAML (line 2)"),
    ("list", "expected a mapping"), ("unknown_field", "field 'colour'"),
])
def test_a_damaged_plan_file_is_one_line_naming_it(damage, needle, tmp_path, capsys):
    path = tmp_path / "plan.yaml"
    path.write_bytes({"latin1": b"name: caf\xe9\n", "binary": bytes(range(256)), "deep": b"a: " + b"[" * 50_000 + b"]" * 50_000,
                      "bad_yaml": b"name: x\n  - : ][\n", "list": b"- 1\n- 2\n", "unknown_field": b"colour: red\n"}[damage])
    code = main(["report", "--params", str(path), "--no-pdf"])
    line = one_line(capsys)
    assert code == 2 and needle in line and "plan" in line, line


@pytest.mark.fault
def test_a_looping_link_and_a_dangling_link_are_named_as_links(tmp_path, capsys):
    loop = tmp_path / "loop.json"
    loop.symlink_to(loop)
    assert main(["plan", "--profile", str(loop), *PLAN]) == 2
    assert "loops back on itself" in one_line(capsys)
    dangling = tmp_path / "dangling.json"
    dangling.symlink_to(tmp_path / "gone.json")
    assert main(["plan", "--profile", str(dangling), *PLAN]) == 2
    assert "symbolic link to a missing file" in one_line(capsys)


@pytest.mark.fault
def test_an_unreadable_profile_beside_a_good_one_is_skipped_with_a_warning(tmp_path, capsys):
    """Issue 21 #8: one damaged *.json next to the profile crashed `plan --html` for the good one."""
    good = tmp_path / SMOL.name
    shutil.copy(SMOL, good)
    (tmp_path / "broken.json").write_bytes(LATIN1)
    (tmp_path / "deep.json").write_bytes(b"[" * 100_000 + b"]" * 100_000)
    code = main(["plan", "--profile", str(good), *PLAN, "--html", str(tmp_path / "r.html")])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "Traceback" not in err and (tmp_path / "r.html").is_file()
    warned = [ln for ln in err.splitlines() if ln.startswith("warning: skipped")]
    assert len(warned) == 2 and any("broken.json" in w for w in warned) and any("deep.json" in w for w in warned), err


def _spellings(path: Path) -> list[str]:
    """Ways to name the same file: as is, through `..`, through `./`, and through a symbolic link to its folder."""
    link = path.parent.parent / f"{path.parent.name}-link"
    if not link.exists():
        link.symlink_to(path.parent, target_is_directory=True)
    return [str(path), str(path.parent / ".." / path.parent.name / path.name), str(path.parent / "." / path.name), str(link / path.name)]


@pytest.mark.fault
@pytest.mark.parametrize("spelling", range(4))
def test_plan_html_onto_its_own_profile_is_refused_and_the_profile_survives(spelling, tmp_path, capsys):
    """Issue 21 #3: `plan --profile p.json … --html p.json` replaced the measurement with HTML and exited 0."""
    prof = tmp_path / "p" / "profile.json"
    prof.parent.mkdir()
    shutil.copy(SMOL, prof)
    before = prof.read_bytes()
    code = main(["plan", "--profile", str(prof), *PLAN, "--html", _spellings(prof)[spelling]])
    line = one_line(capsys)
    assert code == 2 and "--html" in line and "this command's input (--profile)" in line, line
    assert prof.read_bytes() == before


@pytest.mark.fault
@pytest.mark.parametrize("target", ["profile", "plan_file", "pdf_on_profile"])
def test_report_output_onto_an_input_is_refused(target, tmp_path, capsys):
    prof = tmp_path / "r.json"
    shutil.copy(SMOL, prof)
    plan_file = tmp_path / "r.yaml"
    name = {"profile": "r.json", "plan_file": "r.yaml", "pdf_on_profile": "r"}[target]
    if target == "profile":  # the report is name + ".html": make the profile that file
        prof = tmp_path / "r.html"
        shutil.copy(SMOL, prof)
    text = (f"name: {Path(name).stem}\nprofile: {prof}\ninstance: c7i.large\noutput_dir: {tmp_path}\n"
            "workload: {tokens_in: 64, tokens_out: 8, ttft_slo_s: 30, itl_slo_s: 5}\n")
    if target == "plan_file":
        plan_file = tmp_path / "r.html"
    if target == "pdf_on_profile":
        prof_pdf = tmp_path / "r.pdf"
        shutil.copy(SMOL, prof_pdf)
        text = text.replace(f"profile: {prof}", f"profile: {prof_pdf}") + "pdf: true\n"
    plan_file.write_text(text)
    before = {p: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    code = main(["report", "--params", str(plan_file)])
    line = one_line(capsys)
    assert code == 2 and "input" in line, line
    assert {p: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()} == before


NUMBERS = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([0, -1, 1e-300, 1e300, 5e6, 128, 2]))
OPTIONS = ["--requests", "--tokens-in", "--tokens-out", "--ttft-slo", "--itl-slo", "--peak-to-avg", "--users"]


@pytest.mark.fault
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


def test_catalog_prints_full_model_names_that_can_be_copied_into_api(capsys, monkeypatch):
    # nine Fireworks rows used to be cut to the same 36 characters
    from planner.formats.catalog import load_catalog
    monkeypatch.setenv("COLUMNS", "80")
    assert main(["catalog", "api_prices", "--contains", "fireworks_ai/accounts/fireworks/models/code-llama"]) == 0
    out = capsys.readouterr().out
    names = [m for m in load_catalog("api_prices")["model"] if "fireworks_ai/accounts/fireworks/models/code-llama" in m]
    assert len(names) >= 2 and all(n in out for n in names)


def test_predict_json_and_its_held_out_error(capsys):
    code, out = run(capsys, "predict", "--card", "Llama-3.1-8B", "--hardware", "NVIDIA H100 SXM 80GB", "--concurrency", "4",
                    "--tokens-in", "512", "--tokens-out", "64", "--format", "json")
    assert code == 0
    p = json.loads(out)
    assert p["output_tok_s"] == pytest.approx(p["requests_per_s"] * 64) and p["output_tok_s_per_gpu"] == p["output_tok_s"]
    assert p["ttft_ms"]["50"] <= p["ttft_ms"]["95"] <= p["ttft_ms"]["99"] and p["kv_max_requests"] > 4
    assert "leave one model out" in p["held_out_error"] and "gpu_vs_published.py" in p["held_out_error"]
    code, out = run(capsys, "predict", "--card", "Llama-3.1-70B", "--hardware", "NVIDIA H100 SXM 80GB", "--tp", "4", "--rate", "1",
                    "--engine", "llama.cpp")
    assert code == 0 and "4 × NVIDIA H100 SXM 80GB (TP4)" in out and "leave one profile out" in out


def test_predict_quotes_the_outside_fit_error_for_a_model_kept_out_of_the_fit(capsys):
    """Qwen3.5's rows are predicted, never fitted (`FIT_EXCLUDED`): its error is what the fit did on them, not the held-out
    error of the fitted models."""
    from planner.formats.gpu_corpus import read_fit
    _, fit = read_fit()
    o = fit.outside_fit
    code, out = run(capsys, "predict", "--card", "Qwen3.5-397B-A17B", "--hardware", "NVIDIA H200 SXM 141GB", "--tp", "8",
                    "--concurrency", "4", "--tokens-in", "1024", "--tokens-out", "128", "--format", "json")
    err = json.loads(out)["held_out_error"]
    assert code == 0 and err.startswith("Qwen3.5-397B-A17B is kept out of the fit (hybrid Gated DeltaNet model")
    assert f"{o.n_rows} published rows" in err and f"throughput median {o.median_abs_error_pct_throughput}%" in err
    assert "leave one model out" not in err


@pytest.mark.fault
@pytest.mark.parametrize("args, where", [
    ((), "--concurrency N or --rate R"),
    (("--concurrency", "2", "--rate", "1"), "--concurrency N or --rate R"),
    (("--concurrency", "1", "--engine", "sglang"), "--engine"),
    (("--concurrency", "1", "--tp", "1", "--card", "Llama-3.1-405B"), "--tp"),
    (("--rate", "-1"), "--rate"),
])
def test_predict_bad_input_is_one_line(capsys, args, where):
    base = {"--card": "Llama-3.1-8B", "--hardware": "NVIDIA H100 SXM 80GB"}
    extra = dict(zip(args[::2], args[1::2]))
    merged = [x for k, v in {**base, **extra}.items() for x in (k, v)]
    code, err = run(capsys, "predict", *merged)
    assert code == 2 and where in err


LOG = REPO / "data/examples/traffic-litellm-spendlogs.csv"


def test_predict_and_fleet_take_a_usage_log(capsys):
    from planner.core.traffic import request_mix, summarize
    from planner.formats.traffic import read_traffic
    records = read_traffic(LOG)
    mix = request_mix(records, summarize(records))
    code, out = run(capsys, "predict", "--card", "Llama-3.1-8B", "--hardware", "NVIDIA H100 SXM 80GB", "--rate", "2", "--traffic", str(LOG),
                    "--format", "json")
    assert code == 0
    p = json.loads(out)
    assert p["tokens_in"] == pytest.approx(mix.mean_in) and p["output_tok_s"] == pytest.approx(p["requests_per_s"] * mix.mean_out)
    assert "requests drawn from 1,651 shapes" in p["basis"] and p["traffic"]["n_requests"] == 1654
    code, out = run(capsys, "fleet", "--card", "Llama-3.1-8B", "--hardware", "NVIDIA L4", "--traffic", str(LOG), "--ttft-slo", "2",
                    "--itl-slo", "0.1", "--top", "2", "--format", "json")
    assert code == 0
    f = json.loads(out)
    assert f["workload"]["lengths"]["source"].startswith("traffic-litellm-spendlogs.csv") and f["deployments"]
    assert all(f"--max-model-len {mix.max_tokens}" in d["vllm_command"] for d in f["deployments"])  # the log's longest request
