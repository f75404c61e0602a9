"""Terminal tables: within the width, long text as numbered footnotes, nothing dropped."""
import pandas as pd

from planner.present.tables import fit_table


def test_fits_the_width_with_footnotes_and_keeps_every_column():
    frame = pd.DataFrame({"name": ["a" * 70, "b"], "price": [1.5, 2.25], **{f"col{k}": [k, k] for k in range(12)},
                          "source": ["https://example.org/a very long source text " * 3, "https://example.org/b"]})
    text = fit_table(frame, ("source",), width=80)
    lines = text.splitlines()
    assert all(len(line) <= 80 for line in lines)
    assert "[1]" in text and "[2]" in text and "[1] https://example.org/a very long" in text
    assert all(f"col{k}" in text for k in range(12)) and "price" in text  # wrapped into blocks, not cut off
    assert "a" * 70 not in text and "…" in text


def test_keep_columns_are_never_cut():
    frame = pd.DataFrame({"model": ["fireworks_ai/accounts/fireworks/models/code-llama-13b-instruct", "x"],
                          "note": ["n" * 70, "short"], "price": [1.5, 2.25]})
    kept = fit_table(frame, width=80, keep=("model",))
    assert "fireworks_ai/accounts/fireworks/models/code-llama-13b-instruct" in kept and "n" * 70 not in kept
    assert "code-llama-13b-instruct" not in fit_table(frame, width=80)  # without keep it is cut with an ellipsis
