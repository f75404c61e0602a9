"""planner/measure/gguf/cache.py: the derived-file cache deletes only what llm-planner made — a same-named folder
without the marker, the target of a symlinked cache root, two clears at once (`cache --clear` through the command line is
in tests/unit/app/cli/test_measure.py)."""
from __future__ import annotations

import threading

import pytest

from planner.measure.gguf.cache import clear_cache, kind_dir
from tests.unit.conftest import CLONE, _derived

pytestmark = pytest.mark.fault


def test_a_same_named_folder_without_the_marker_is_left_alone(tmp_path, monkeypatch, capsys):
    mine = tmp_path / "mymodels"
    (mine / "clones").mkdir(parents=True)
    (mine / "clones" / CLONE).write_text("a file the user named like ours")
    monkeypatch.setenv("LLM_PLANNER_CACHE", str(mine))
    assert clear_cache().deleted == []
    assert (mine / "clones" / CLONE).read_text() == "a file the user named like ours"


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
