"""The notebooks' display helpers."""
from planner.present.notebook import markdown


def test_dollar_amounts_are_not_typeset_as_maths():
    md = markdown("at 20,000,000 requests/month $51,200 API vs $9,547 self-hosted — **holds**")
    assert md.data == r"at 20,000,000 requests/month \$51,200 API vs \$9,547 self-hosted — **holds**"
    assert markdown("no money here").data == "no money here"
