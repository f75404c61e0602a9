"""planner/app/cli/measure.py: `profile`, `clone`, `cache` and `hardware` refuse bad paths and values in one line (the
measuring itself runs in tests/integration); `cache --clear` deletes only what llm-planner made — canary files of the
user's, beside and inside the cache, survive it, and so does the llama.cpp tools build (the cache's own rules are in
tests/unit/measure/gguf/test_cache.py)."""
from __future__ import annotations

import pytest

from planner.app.cli import main
from planner.measure.gguf.cache import MARKER, cache_dir, tools_dir
from tests.unit.app.cli.conftest import run
from tests.unit.conftest import _derived

pytestmark = pytest.mark.fault


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


def test_help_shows_flags_without_values_and_cache_says_when_empty(capsys, tmp_path, monkeypatch):
    assert main(["profile", "--help"]) == 0
    out = capsys.readouterr().out
    assert "<bool>" not in out and "--quick " in out
    monkeypatch.setenv("LLM_PLANNER_CACHE", str(tmp_path / "c"))
    assert main(["cache"]) == 0 and "nothing cached" in capsys.readouterr().out
    assert main(["cache", "--clear"]) == 0 and "nothing of llm-planner's to clear" in capsys.readouterr().out


@pytest.mark.parametrize("kind", ["/tmp", "..", "../x", "ladder/../..", "", "Ladder"])
def test_clear_refuses_anything_but_a_known_kind(kind, tmp_path, monkeypatch, capsys):
    cache = tmp_path / "cache"
    outside = tmp_path / "x"
    (cache / "ladder").mkdir(parents=True)
    outside.mkdir()
    (outside / "keep.txt").write_text("precious")
    monkeypatch.setenv("LLM_PLANNER_CACHE", str(cache))
    monkeypatch.chdir(tmp_path)
    assert main(["cache", "--clear", "--kind", kind]) == 2
    assert "--kind: must be one of ladder, clones, hf" in capsys.readouterr().err
    assert (outside / "keep.txt").read_text() == "precious"
    assert (cache / "ladder").is_dir()


def test_the_users_own_files_in_the_cache_folder_survive_clear(tmp_path, monkeypatch, capsys):
    """Issue 21 #1: LLM_PLANNER_CACHE=$PWD/mymodels with the user's llama.gguf in it lost everything."""
    mine = tmp_path / "mymodels"
    mine.mkdir()
    canaries = {mine / "llama.gguf": "mine", mine / "notes.txt": "mine too"}
    monkeypatch.setenv("LLM_PLANNER_CACHE", str(mine))
    made = _derived(mine)
    # the user's files inside the tool's own folders, and a folder of the same name the tool never made
    canaries[mine / "ladder" / "my-own.gguf"] = "kept"
    canaries[mine / "clones" / "README"] = "kept"
    for path, text in canaries.items():
        path.write_text(text)
    assert main(["cache", "--clear"]) == 0
    out = capsys.readouterr().out
    assert all(path.read_text() == text for path, text in canaries.items())
    assert not any(p.exists() for p in made.values())
    assert f"deleted {made['ladder']}" in out and "freed 3.5 KiB" in out  # 2048 + 1024 + 512 bytes
    assert "(3 entries)" in out and "left 2 entries llm-planner did not make" in out


def test_clear_does_not_delete_the_llama_cpp_tools_build(tmp_path, monkeypatch, capsys):
    """Issue 21 #2: with only XDG_CACHE_HOME set, cache_dir() and tools_dir() were one folder."""
    monkeypatch.delenv("LLM_PLANNER_CACHE", raising=False)
    monkeypatch.delenv("LLM_PLANNER_TOOLS", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    server = tools_dir() / "llama.cpp-0.3.36" / "build" / "bin" / "llama-server"
    server.parent.mkdir(parents=True)
    server.write_bytes(b"\x7fELF")
    made = _derived(cache_dir())
    assert tools_dir() != cache_dir() and tools_dir() not in cache_dir().parents and cache_dir() not in tools_dir().parents
    assert main(["cache", "--clear"]) == 0
    assert server.read_bytes() == b"\x7fELF"
    assert not any(p.exists() for p in made.values())


def test_clear_one_kind_keeps_the_other(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("LLM_PLANNER_CACHE", str(cache))
    made = _derived(cache)
    assert main(["cache", "--clear", "--kind", "ladder"]) == 0
    assert not made["ladder"].exists() and made["clones"].is_file() and made["hf"].is_dir()
    assert (cache / "ladder" / MARKER).is_file()


def test_clear_on_an_empty_cache_says_so(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LLM_PLANNER_CACHE", str(tmp_path / "empty"))
    assert main(["cache", "--clear"]) == 0
    assert "nothing of llm-planner's to clear" in capsys.readouterr().out
