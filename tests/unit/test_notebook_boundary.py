"""In a notebook a PlannerError is one line on stderr and the cell still fails; other errors keep their traceback."""
from IPython.core.interactiveshell import InteractiveShell

from planner.present.notebook import one_line_errors


def test_planner_errors_are_one_line_and_still_fail(capsys):
    shell = InteractiveShell.instance()
    one_line_errors(shell)
    result = shell.run_cell("from planner.core.errors import InputError\nraise InputError('--requests: must be > 0 (got -5)')")
    assert result.error_in_exec is not None  # the cell failed: "run all" and nbval stop here
    err = capsys.readouterr().err
    assert err.strip() == "error: --requests: must be > 0 (got -5)"
    result = shell.run_cell("1 / 0")
    out = capsys.readouterr()
    assert result.error_in_exec is not None and "ZeroDivisionError" in out.out + out.err
