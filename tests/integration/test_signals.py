"""Signals during real measurements: SIGTERM (timeout, a CI cancel, systemd) and SIGINT (Ctrl-C) end the tool with
its own exit code, keep the finished measurements in a file the tool reads back, and leave no server or log behind."""
from __future__ import annotations

import glob
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from planner.formats.profiles import load_profile


def _wait_for(predicate, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_sigterm_during_serve_profile_stops_the_server_and_keeps_the_levels(tmp_path):
    logs_before = set(glob.glob(os.path.join(tempfile.gettempdir(), "llama-cpp-server-*.log")))
    out = tmp_path / "serving.json"
    proc = subprocess.Popen([sys.executable, "-m", "planner", "serve-profile", "--engine", "llama-cpp", "--concurrency", "1,2,4,8",
                             "--requests", "6", "--max-tokens", "8", "--prompt-tokens", "16", "--n-ctx", "256", "--full-sweep",
                             "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    tool = psutil.Process(proc.pid)
    try:
        # wait until the server is up and the first level is saved
        assert _wait_for(lambda: out.exists() and load_profile(out).serving, 240), "no level finished"
        server = [c for c in tool.children(recursive=True) if "llama_cpp.server" in " ".join(c.cmdline())]
        assert server, "the tool started no server"
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode in (130, 143), err  # terminated: the sweep's own interrupt path ran
    assert "Traceback" not in err and len([ln for ln in err.splitlines() if ln.startswith("error:")]) == 1, err
    assert _wait_for(lambda: not any(s.is_running() and s.status() != psutil.STATUS_ZOMBIE for s in server), 20), "server outlived the tool"
    saved = load_profile(out)
    assert saved.status == "partial" and saved.serving and all(lvl.sent == lvl.succeeded + lvl.failed + lvl.timed_out for lvl in saved.serving)
    assert set(glob.glob(os.path.join(tempfile.gettempdir(), "llama-cpp-server-*.log"))) <= logs_before  # no log left


def test_sigint_during_profile_keeps_a_readable_partial_profile(tmp_path):
    out = tmp_path / "p.json"
    proc = subprocess.Popen([sys.executable, "-m", "planner", "profile", "--quick", "--out", str(out), "--concurrency", "1,2,4"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert _wait_for(lambda: out.exists() and load_profile(out).prefill, 240), "no test finished"
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "the finished tests are saved" in err
    saved = load_profile(out)
    assert saved.status in ("partial", "complete") and saved.prefill
    assert not [p for p in Path(tmp_path).iterdir() if p.name.startswith(".")]  # no temp file left behind
