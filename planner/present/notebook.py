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


def styled(frame, formats: dict, *, headers: dict[str, str] | None = None, na: str = "—", name: str = "table"):
    """A table for a notebook: units in the headers (`headers` renames columns), each column in its own format
    (`formats`, keyed by the new names: "${:,.0f}", "{:.0%}" …), `na` for a missing value ("never" for a break-even
    that does not exist), no index. The fixed `name` keeps the HTML identical run to run, so nbval can compare it."""
    shown = frame.rename(columns=headers or {})
    return shown.style.format({k: v for k, v in formats.items() if k in shown}, na_rep=na).hide(axis="index").set_uuid(name)


TORNADO_HEADERS = {"low_value": "low", "high_value": "high", "saving_at_low": "saving at low ($/month)",
                   "saving_at_high": "saving at high ($/month)", "swing_usd": "swing ($/month)"}
TORNADO_FORMATS = {"low": "{:.4g}", "high": "{:.4g}", "saving at low ($/month)": "${:,.0f}", "saving at high ($/month)": "${:,.0f}",
                   "swing ($/month)": "${:,.0f}"}


def tornado_table(table):
    """`core.uncertainty.tornado`'s table as a notebook shows it: dollars as dollars, each input's range in its own
    units (tokens, $/h, $/token) at four significant figures, not `1.467738e+02`."""
    return styled(table, TORNADO_FORMATS, headers=TORNADO_HEADERS, name="tornado")


def interval_table(table):
    """`core.uncertainty.plan_interval`'s table in words and dollars: each quantity in its own unit, "never" where no
    scenario has a break-even, and how many scenarios had none."""
    import math

    import pandas as pd

    names = {"selfhost_usd_per_month": "self-hosted per month", "api_usd_per_month": "API per month", "break_even": "break-even volume"}

    def fmt(quantity: str, v: float) -> str:
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return "never" if quantity == "break_even" else "—"
        return f"{v:,.0f} requests/month" if quantity == "break_even" else f"${v:,.0f}"

    return pd.DataFrame({"quantity": [names.get(q, q) for q in table["quantity"]],
                         "low": [fmt(q, v) for q, v in zip(table["quantity"], table["low"])],
                         "high": [fmt(q, v) for q, v in zip(table["quantity"], table["high"])],
                         "scenarios without a value": table["scenarios_without_value"]})
