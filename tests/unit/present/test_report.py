"""planner/present/report.py: printing the PDF through Chromium fails in one line, and never leaves a browser running
(fault suite)."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.fault


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
