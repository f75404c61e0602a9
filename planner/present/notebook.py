"""The notebooks' error boundary: a PlannerError prints as one line (`error: …`), as on the command line.

The cell still counts as failed (IPython keeps `error_in_exec`), so nbval and "run all" stop on it; only the
traceback, which says nothing the message does not, is left out.
"""
from __future__ import annotations

import sys

from planner.core.errors import PlannerError


def one_line_errors(shell=None) -> None:
    """Call once in a notebook's first cell. Also keeps JupyterLab's MathJax off pandas tables: a cell holding two
    dollar amounts ("$0.067/h ($49 a month)") would otherwise be typeset as LaTeX between the dollar signs."""
    import pandas as pd

    pd.set_option("display.html.use_mathjax", False)  # pandas marks its HTML tables tex2jax_ignore
    if shell is None:
        from IPython import get_ipython
        shell = get_ipython()
    if shell is None:  # not in IPython: nothing to install
        return

    def show(self, etype, value, tb, tb_offset=None):
        print(f"error: {value}", file=sys.stderr)

    shell.set_custom_exc((PlannerError,), show)


def money_text(text: str):
    """A verdict with dollar amounts (and **bold**) as HTML that MathJax leaves alone: JupyterLab typeset "$51,200 API
    vs $9,547" between the two dollar signs as italic maths — in Markdown with the signs escaped, and in HTML under
    pandas' `tex2jax_ignore` class too (the browser test saw both). MathJax never reads inside <code> (its
    skipHtmlTags), so each sign sits in one, unstyled."""
    import html
    import re

    from IPython.display import HTML

    body = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", html.escape(text)).replace("$", '<code style="all:unset">$</code>')
    return HTML(f'<div class="tex2jax_ignore">{body}</div>')
