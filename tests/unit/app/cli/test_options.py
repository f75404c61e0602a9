"""planner/app/cli/options.py: option values the command groups share, refused in one line naming the option (fault
suite)."""
from __future__ import annotations

import os

import pytest

from planner.app.cli import main
from tests.unit.app.cli.conftest import one_line

pytestmark = pytest.mark.fault


@pytest.mark.parametrize("command", [["profile", "--quick", "--threads", "1,1000"], ["profile", "--quick", "--n-threads", "999"],
                                     ["serve-profile", "--engine", "llama-server", "--n-threads", "999"]])
def test_more_threads_than_cores_is_refused_unless_asked_for(command, capsys):
    code = main(command)
    line = one_line(capsys)
    assert code == 2 and "logical cores" in line and "--oversubscribe" in line and str(os.cpu_count()) in line, line
