"""The derived-file cache: `cache --clear --kind` deletes only inside the cache, and only known kinds."""
from __future__ import annotations

import pytest

from planner.app.cli import main


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
    assert "--kind: must be one of ladder, clones" in capsys.readouterr().err
    assert (outside / "keep.txt").read_text() == "precious"
    assert (cache / "ladder").is_dir()


def test_clear_one_kind_keeps_the_other(tmp_path, monkeypatch, capsys):
    cache = tmp_path / "cache"
    for kind in ("ladder", "clones"):
        (cache / kind).mkdir(parents=True)
        (cache / kind / f"{kind}.gguf").write_bytes(b"x" * 1024)
    monkeypatch.setenv("LLM_PLANNER_CACHE", str(cache))
    assert main(["cache", "--clear", "--kind", "ladder"]) == 0
    assert not (cache / "ladder").exists()
    assert (cache / "clones" / "clones.gguf").is_file()
