"""Text for a terminal: tables and key/value lists as wide as the terminal (long text moved to numbered footnotes,
columns that do not fit left out and named), lines wrapped at its width, colour only where it helps and is wanted."""
from __future__ import annotations

import base64
import os
import shutil
import sys
import textwrap
from typing import Literal, TextIO

import pandas as pd

from planner.core.units import usd


def terminal_width(default: int = 100) -> int:
    return max(60, shutil.get_terminal_size((default, 24)).columns)


def fit_table(frame: pd.DataFrame, footnote_columns: tuple[str, ...] = (), *, width: int | None = None, max_cell: int = 40,
              keep: tuple[str, ...] = (), optional: tuple[str, ...] = ()) -> str:
    """The frame as text no wider than `width`: the named columns become footnote marks ([1], [2] …, one per distinct
    text) listed under the table, other text cells are cut with an ellipsis (at `max_cell`, less if needed) except
    the `keep` columns (names a user copies into an option, e.g. `--api`) — but first the `optional` columns are left
    out, last first, until it fits, and a line names them. Whatever still does not fit continues in a block below."""
    width = width or terminal_width()
    frame = frame.copy()
    notes: dict[str, int] = {}
    for col in footnote_columns:
        if col in frame:
            frame[col] = [f"[{notes.setdefault(str(v), len(notes) + 1)}]" if isinstance(v, str) and v else "" for v in frame[col]]
    def render(cell: int, shown: pd.DataFrame, wrap_width: int | None = None) -> str:
        cut = shown.copy()
        for col in cut.columns.difference(keep, sort=False):
            cut[col] = [v if not isinstance(v, str) or len(v) <= cell else v[: cell - 1] + "…" for v in cut[col]]
        return cut.to_string(index=False, line_width=wrap_width)  # with a wrap width: columns past it continue in a block below
    def fits(body: str) -> bool:
        return max(map(len, body.splitlines())) <= width
    cell = max_cell
    left_out: list[str] = []  # first the optional columns, last first: a column a reader can do without beats cut text
    for col in reversed([c for c in optional if c in frame]):
        if fits(render(cell, frame.drop(columns=left_out))):
            break
        left_out.insert(0, col)
    while cell > 12 and not fits(render(cell, frame.drop(columns=left_out))):  # then narrow the text cells until it fits
        cell -= 4
    body = render(cell, frame.drop(columns=left_out), width)
    lines = [line[:width] for line in body.splitlines()]
    for text, k in notes.items():
        lines += wrap(f"[{k}] {text}", width, indent="    ").splitlines()
    if left_out:
        lines += wrap(f"not shown at this width: {', '.join(left_out)} (a wider terminal, or --format csv, shows them)", width).splitlines()
    return "\n".join(lines)


def wrap(text: str, width: int | None = None, *, indent: str = "  ") -> str:
    """Text wrapped at the terminal's width with a hanging indent; paths and names are never split at hyphens."""
    return "\n".join(textwrap.fill(line, width or terminal_width(), subsequent_indent=indent, break_on_hyphens=False,
                                   break_long_words=False) for line in text.splitlines() or [""])


def key_values(rows: list[tuple[str, str, str]], *, width: int | None = None) -> str:
    """(label, value, basis) rows as aligned "label  value [n]" lines wrapped at `width`, each basis once as a
    numbered footnote below — a summary that reads down the page at 80 columns instead of splitting into blocks."""
    width = width or terminal_width()
    notes: dict[str, int] = {}
    label_w = min(max((len(r[0]) for r in rows), default=0), width // 2)
    lines = []
    for label, value, basis in rows:
        mark = f" [{notes.setdefault(basis, len(notes) + 1)}]" if basis else ""
        body = textwrap.wrap(f"{value}{mark}", max(20, width - label_w - 2), break_on_hyphens=False, break_long_words=False) or [""]
        head = textwrap.wrap(label, label_w, break_on_hyphens=False) or [""]
        for i in range(max(len(head), len(body))):
            left = head[i] if i < len(head) else ""
            lines.append(f"{left:<{label_w}}  {body[i] if i < len(body) else ''}".rstrip())
    for text, k in notes.items():
        lines.append(wrap(f"[{k}] {text}", width, indent="    "))
    return "\n".join(lines)


Tone = Literal["verdict", "no-verdict", "warning", "error", "note"]
_TONES: dict[str, dict] = {"verdict": dict(fg="green", bold=True), "no-verdict": dict(fg="red", bold=True), "warning": dict(fg="yellow"),
                           "error": dict(fg="red"), "note": dict(dim=True)}


def use_colour(stream: TextIO | None = None) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org)."""
    stream = stream or sys.stdout
    return not os.environ.get("NO_COLOR") and hasattr(stream, "isatty") and stream.isatty()


def paint(text: str, tone: Tone, stream: TextIO | None = None) -> str:
    """`text` in its tone's colour where `use_colour`, else unchanged (piped output stays plain text)."""
    if not use_colour(stream):
        return text
    import click  # typer's dependency; imported here so a piped run never needs it

    return click.style(text, **_TONES[tone])


def say(text: str, tone: Tone | None = None, *, err: bool = False) -> None:
    """One message to the terminal: wrapped at its width, coloured by tone on a TTY."""
    stream = sys.stderr if err else sys.stdout
    out = wrap(text)
    print(paint(out, tone, stream) if tone else out, file=stream)


def money_columns(table: pd.DataFrame) -> pd.DataFrame:
    """A comparison table's cost columns as dollars ('—' where the option cannot serve the workload)."""
    return table.assign(usd_per_month=[usd(v) for v in table["usd_per_month"]], usd_per_request=[usd(v) for v in table["usd_per_request"]])


def csv_base64(frame: pd.DataFrame) -> str:
    """The frame as CSV, base64-encoded for a `data:text/csv;base64,…` download link (report and dashboard)."""
    return base64.b64encode(frame.to_csv(index=False).encode()).decode()
