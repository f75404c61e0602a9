"""Tables for a terminal: as wide as the terminal, long text moved to numbered footnotes."""
from __future__ import annotations

import base64
import shutil
import textwrap

import pandas as pd

from planner.core.units import usd


def terminal_width(default: int = 100) -> int:
    return max(60, shutil.get_terminal_size((default, 24)).columns)


def fit_table(frame: pd.DataFrame, footnote_columns: tuple[str, ...] = (), *, width: int | None = None, max_cell: int = 40,
              keep: tuple[str, ...] = ()) -> str:
    """The frame as text no wider than `width`: the named columns become footnote marks ([1], [2] …, one per distinct
    text) listed under the table, other text cells are cut with an ellipsis (at `max_cell`, less if needed) except
    the `keep` columns (names a user copies into an option, e.g. `--api`), and columns that still do not fit continue
    in a block below."""
    width = width or terminal_width()
    frame = frame.copy()
    notes: dict[str, int] = {}
    for col in footnote_columns:
        if col in frame:
            frame[col] = [f"[{notes.setdefault(str(v), len(notes) + 1)}]" if isinstance(v, str) and v else "" for v in frame[col]]
    def render(cell: int) -> str:
        cut = frame.copy()
        for col in cut.columns.difference(keep, sort=False):
            cut[col] = [v if not isinstance(v, str) or len(v) <= cell else v[: cell - 1] + "…" for v in cut[col]]
        return cut.to_string(index=False, line_width=width)  # columns past the width wrap into a further block
    cell = max_cell
    body = render(cell)
    while cell > 12 and max(map(len, body.splitlines())) > width:  # narrow the text cells until the table fits
        cell -= 4
        body = render(cell)
    lines = [line[:width] for line in body.splitlines()]
    for text, k in notes.items():
        lines += textwrap.wrap(f"[{k}] {text}", width=width, subsequent_indent="    ")
    return "\n".join(lines)


def money_columns(table: pd.DataFrame) -> pd.DataFrame:
    """A comparison table's cost columns as dollars ('—' where the option cannot serve the workload)."""
    return table.assign(usd_per_month=[usd(v) for v in table["usd_per_month"]], usd_per_request=[usd(v) for v in table["usd_per_request"]])


def csv_base64(frame: pd.DataFrame) -> str:
    """The frame as CSV, base64-encoded for a `data:text/csv;base64,…` download link (report and dashboard)."""
    return base64.b64encode(frame.to_csv(index=False).encode()).decode()
