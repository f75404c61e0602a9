"""The notebooks' display helpers."""
from planner.present.notebook import money_text


def test_dollar_amounts_are_not_typeset_as_maths():
    out = money_text("at 20,000,000 requests/month $51,200 API vs $9,547 self-hosted — **holds** (<2 s)")
    sign = '<code style="all:unset">$</code>'  # MathJax skips <code>: no two signs in text it reads
    assert out.data == (f'<div class="tex2jax_ignore">at 20,000,000 requests/month {sign}51,200 API vs {sign}9,547 self-hosted — '
                        "<b>holds</b> (&lt;2 s)</div>")
