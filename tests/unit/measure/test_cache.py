"""The derived-file cache deletes only what llm-planner made: canary files of the user's, beside and inside the cache,
survive every `cache --clear`; the llama.cpp tools build lives apart and survives too."""
from __future__ import annotations

import threading

import pytest

from planner.app.cli import main
from planner.measure.gguf.cache import MARKER, cache_dir, clear_cache, kind_dir, tools_dir

pytestmark = pytest.mark.fault

LADDER = "SmolLM2.0123456789abcdef.Q8_0.gguf"
CLONE = "Mistral-7B-v0-1-L8.clone.Q4_K_M.gguf"
HF = "SmolLM2.0123456789abcdef.bfloat16"


def _derived(cache) -> dict[str, object]:
    """One entry of each kind, made where and as the tool makes them."""
    (kind_dir("ladder") / LADDER).write_bytes(b"x" * 2048)
    (kind_dir("clones") / CLONE).write_bytes(b"y" * 1024)
    hf = kind_dir("hf") / HF
    hf.mkdir()
    (hf / "model.safetensors").write_bytes(b"z" * 512)
    return {"ladder": cache / "ladder" / LADDER, "clones": cache / "clones" / CLONE, "hf": hf}


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


def test_a_same_named_folder_without_the_marker_is_left_alone(tmp_path, monkeypatch, capsys):
    mine = tmp_path / "mymodels"
    (mine / "clones").mkdir(parents=True)
    (mine / "clones" / CLONE).write_text("a file the user named like ours")
    monkeypatch.setenv("LLM_PLANNER_CACHE", str(mine))
    assert clear_cache().deleted == []
    assert (mine / "clones" / CLONE).read_text() == "a file the user named like ours"


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


def test_a_symlinked_cache_root_is_cleared_through_the_link_without_touching_its_target_folder(tmp_path, monkeypatch):
    real = tmp_path / "real"
    real.mkdir()
    (real / "precious.gguf").write_text("kept")
    link = tmp_path / "link"
    link.symlink_to(real, target_is_directory=True)
    monkeypatch.setenv("LLM_PLANNER_CACHE", str(link))
    made = _derived(link)
    done = clear_cache()
    assert len(done.deleted) == 3 and not any(p.exists() for p in made.values())
    assert (real / "precious.gguf").read_text() == "kept" and link.is_symlink()


def test_two_clears_at_once_both_succeed_and_delete_each_entry_once(tmp_path, monkeypatch):
    monkeypatch.setenv("LLM_PLANNER_CACHE", str(tmp_path / "c"))
    for i in range(40):
        (kind_dir("ladder") / f"m{i}.0123456789abcdef.Q8_0.gguf").write_bytes(b"x")
    results, errors = [], []

    def go():
        try:
            results.append(clear_cache("ladder"))
        except Exception as exc:  # noqa: BLE001 - the assertion below names it
            errors.append(exc)
    threads = [threading.Thread(target=go) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sum(len(r.deleted) for r in results) == 40
    assert not list((tmp_path / "c" / "ladder").glob("*.gguf"))


def test_clear_on_an_empty_cache_says_so(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LLM_PLANNER_CACHE", str(tmp_path / "empty"))
    assert main(["cache", "--clear"]) == 0
    assert "nothing of llm-planner's to clear" in capsys.readouterr().out
