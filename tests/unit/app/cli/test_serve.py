"""planner/app/cli/serve.py: `serve-profile` checks its levels, options and prompts file before any server starts or
anything is measured — one line naming the option or the file, exit 2, and no output file (fault suite)."""
from __future__ import annotations

import pytest

from planner.app.cli import main
from tests.unit.app.cli.conftest import one_line

pytestmark = pytest.mark.fault

CLOSED = "http://127.0.0.1:9/v1"  # nothing listens on port 9: a refusal that happens after option checks would show


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
