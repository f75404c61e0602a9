"""What the command-line tests share: a small workload, the one-line error check, a run of `main` in this process."""
from __future__ import annotations

from planner.app.cli import main

WL = ["--tokens-in", "64", "--tokens-out", "8", "--ttft-slo", "30", "--itl-slo", "5"]


def one_line(capsys) -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    return lines[0]


def run(capsys, *args) -> tuple[int, str]:
    code = main(list(args))
    return code, (one_line(capsys) if code else capsys.readouterr().out)
