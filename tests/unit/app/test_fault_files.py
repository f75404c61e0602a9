"""Fault suite, files: every kind of file the tool reads, damaged in the ways real files are (not UTF-8, empty, nested
too deeply, unreadable, a looping link), through the real command line — one `error:` line naming the file, exit 2,
never a traceback. Outputs: no command may write over one of its own inputs, however the path is spelled."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner.app.cli import main
from planner.core.errors import DataError
from planner.formats.catalog import SCHEMAS, validate_catalog
from tests.conftest import REPO

pytestmark = pytest.mark.fault

SMOL = next((REPO / "profiles/reference/cpu").glob("SmolLM2-135M-Instruct.Q4_1__*.json"))
PLAN = ["--instance", "c7i.large", "--tokens-in", "64", "--tokens-out", "8", "--ttft-slo", "30", "--itl-slo", "5"]
LATIN1 = "café,naïve\n".encode("latin-1")  # what a spreadsheet's "CSV (Windows)" export gives


def one_line(capsys) -> str:
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip() and not ln.startswith("warning: ")]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    return lines[0]


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


@pytest.mark.parametrize("damage,needle", [
    ("latin1", "not UTF-8"), ("empty", "no prompts found"), ("deep", "nested too deeply"), ("not_json", "line 2 is not JSON"),
    ("no_prompt", "line 1 needs a 'prompt'"),
])
def test_a_damaged_prompts_file_is_refused_before_any_server_starts(damage, needle, tmp_path, capsys):
    path = tmp_path / "prompts.jsonl"
    path.write_bytes({"latin1": b'{"prompt": "caf\xe9"}\n', "empty": b"\n\n", "deep": b"[" * 100_000 + b"]" * 100_000 + b"\n",
                      "not_json": b'{"prompt": "a"}\n{oops\n', "no_prompt": b'{"text": "a"}\n'}[damage])
    code = main(["serve-profile", "--url", "http://127.0.0.1:9/v1", "--model-name", "m", "--prompts", str(path),
                 "--out", str(tmp_path / "out.json")])
    line = one_line(capsys)
    assert code == 2 and needle in line, line
    assert not (tmp_path / "out.json").exists()


@pytest.mark.parametrize("damage,needle", [("latin1", "not UTF-8"), ("deep", "nested too deeply"), ("list", "object of model")])
def test_a_damaged_litellm_price_file_is_one_line(damage, needle, tmp_path):
    from planner.formats.catalog import litellm_json_to_frame
    path = tmp_path / "prices.json"
    path.write_bytes({"latin1": b'{"caf\xe9": {}}', "deep": b"[" * 100_000 + b"]" * 100_000, "list": b"[]"}[damage])
    with pytest.raises(DataError, match=needle):
        litellm_json_to_frame(path)


def test_a_looping_link_and_a_dangling_link_are_named_as_links(tmp_path, capsys):
    loop = tmp_path / "loop.json"
    loop.symlink_to(loop)
    assert main(["plan", "--profile", str(loop), *PLAN]) == 2
    assert "loops back on itself" in one_line(capsys)
    dangling = tmp_path / "dangling.json"
    dangling.symlink_to(tmp_path / "gone.json")
    assert main(["plan", "--profile", str(dangling), *PLAN]) == 2
    assert "symbolic link to a missing file" in one_line(capsys)


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


# ------------------------------------------------------------------------------------------------ no output on an input

def _spellings(path: Path) -> list[str]:
    """Ways to name the same file: as is, through `..`, through `./`, and through a symbolic link to its folder."""
    link = path.parent.parent / f"{path.parent.name}-link"
    if not link.exists():
        link.symlink_to(path.parent, target_is_directory=True)
    return [str(path), str(path.parent / ".." / path.parent.name / path.name), str(path.parent / "." / path.name), str(link / path.name)]


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


@pytest.mark.parametrize("command", [["profile", "--quick"], ["profile", "--engine", "vllm"],
                                     ["serve-profile", "--url", "http://127.0.0.1:9/v1", "--model-name", "m"],
                                     ["serve-profile", "--engine", "llama-server"]])
def test_out_never_overwrites_an_existing_file(command, tmp_path, capsys):
    existing = tmp_path / "old.json"
    shutil.copy(SMOL, existing)
    before = existing.read_bytes()
    code = main([*command, "--out", str(existing)])
    line = one_line(capsys)
    assert code == 2 and "--out" in line and "already exists" in line, line
    assert existing.read_bytes() == before


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ups=st.integers(0, 3), dots=st.integers(0, 2), trailing_slash_dir=st.booleans())
def test_property_no_spelling_of_the_input_escapes_the_check(ups, dots, trailing_slash_dir, tmp_path_factory):
    """However the profile's own path is spelled (`a/b/../b/./p.json`, with detours), --html onto it is refused."""
    from planner.core.errors import InputError
    from planner.formats.files import refuse_clobbering
    root = tmp_path_factory.mktemp("spell")
    deep = root.joinpath(*[f"d{i}" for i in range(3)])
    deep.mkdir(parents=True)
    prof = deep / "p.json"
    prof.write_text("{}")
    detour = Path(*([".."] * ups)) if ups else Path(".")
    parts = list(deep.parts[-ups:]) if ups else []
    spelled = deep / detour / Path(*parts) / Path(*(["."] * dots) or ["."]) / "p.json"
    with pytest.raises(InputError, match="this command's input"):
        refuse_clobbering(spelled, {"--profile": prof}, "--html")
    refuse_clobbering(deep / "other.html", {"--profile": prof}, "--html")  # a different file is fine


# ------------------------------------------------------------------------------------------------ catalog rows, fuzzed

_CELL = st.one_of(st.just(""), st.just("nan"), st.just("inf"), st.just("-1"), st.just("0"), st.just("1e400"), st.just("12.5"),
                  st.just("abc"), st.just("2026-13-45"), st.just("2099-01-01"), st.text(max_size=6))


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
