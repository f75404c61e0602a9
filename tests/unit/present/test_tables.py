"""Terminal tables: within the width, long text as numbered footnotes, nothing dropped."""
import io

import pandas as pd

from planner.present.tables import fit_table, key_values, paint, wrap


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


def test_optional_columns_are_left_out_last_first_and_named():
    frame = pd.DataFrame({"instance": ["a-very-long-instance-name"] * 2, "usd": ["$1.00", "$2.00"], "extra_one": ["x" * 20] * 2,
                          "extra_two": ["y" * 20] * 2})
    text = fit_table(frame, width=60, optional=("extra_one", "extra_two"))
    lines = text.splitlines()
    assert all(len(line) <= 60 for line in lines)
    assert "extra_one" in lines[0] and "extra_two" not in lines[0]  # the last optional column goes first
    assert lines[-2:] == ["not shown at this width: extra_two (a wider terminal, or", "  --format csv, shows them)"]
    wide = fit_table(frame, width=200, optional=("extra_one", "extra_two"))
    assert "not shown" not in wide and "extra_two" in wide.splitlines()[0]


def test_key_values_align_wrap_and_footnote_each_basis_once():
    rows = [("capacity", "0.924 req/s", "TTFT p95 ≤ 2 s"), ("self-hosted per month", "$97.84 " * 12, "always on"), ("API", "$1", "TTFT p95 ≤ 2 s")]
    text = key_values(rows, width=60)
    lines = text.splitlines()
    assert lines[0] == "capacity               0.924 req/s [1]"  # labels padded to the longest (21 < 60 // 2)
    assert all(len(line) <= 60 for line in lines)
    assert lines[1].startswith("self-hosted per month  $97.84") and lines[2].startswith(" " * 23 + "$97.84")  # the value wraps under itself
    assert text.count("[1]") == 3 and "[2] always on" in lines and "[1] TTFT p95 ≤ 2 s" in lines  # one footnote per distinct basis


def test_wrap_never_splits_a_path_at_its_hyphens():
    path = "profiles/reference/validation/SmolLM2-135M-Instruct__vllm__20261126T194313695049Z-p27868.json"
    out = wrap(f"[1] {path}", 40).splitlines()
    assert path in [line.strip() for line in out]


def test_colour_only_on_a_terminal_and_never_with_no_color(monkeypatch):
    class Tty(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    assert paint("verdict: x", "verdict", Tty()) == "\x1b[32m\x1b[1mverdict: x\x1b[0m"
    assert paint("verdict: x", "verdict", io.StringIO()) == "verdict: x"  # piped
    monkeypatch.setenv("NO_COLOR", "1")
    assert paint("verdict: x", "verdict", Tty()) == "verdict: x"
