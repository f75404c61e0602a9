"""planner/formats/files.py: writing is atomic (a full disk leaves the earlier file intact, an impossible place is one
line), output names are unique and short, and no spelling of an input's path lets an output land on it (fault suite)."""
from __future__ import annotations

import errno
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner.core.errors import InputError, SetupError
from planner.formats import files
from planner.formats.files import atomic_write_text, dated_name

pytestmark = pytest.mark.fault


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


def test_two_runs_in_the_same_second_get_different_names():
    when = datetime(2026, 11, 26, 17, 0, 0, 123456, tzinfo=UTC)
    code = ("from datetime import datetime, UTC; from planner.formats.files import dated_name; "
            "print(dated_name('m.gguf', 'cpu', when=datetime(2026, 11, 26, 17, 0, 0, 123456, tzinfo=UTC)))")
    names = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout for _ in range(2)}
    assert len(names) == 2  # same instant, two processes: two files
    assert dated_name("m.gguf", "cpu", when=when).startswith("m.gguf__cpu__20261126T170000123456Z-p")


def test_a_very_long_model_name_makes_a_short_unique_file_name():
    from datetime import UTC, datetime
    when = datetime(2026, 12, 2, tzinfo=UTC)
    a, b = dated_name("x" * 300 + "a", "cpu", when=when), dated_name("x" * 300 + "b", "cpu", when=when)
    assert len(a) < 140 and len(a.encode()) < 255 and a != b
    assert dated_name("short-name", "cpu", when=when).startswith("short-name__cpu__")


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
