"""The CLI's spelling of the fields the core names in its errors: `tokens_in` → `--tokens-in`.

The core says which argument is at fault as the Python API spells it (`PlannerError.field`), so a notebook user reads
"tokens_in: …"; the CLI prints the flag its user typed instead. Light on purpose: `main` imports it before any
command group.
"""
from __future__ import annotations

from planner.core.errors import PlannerError

# where the flag is not the field's name with dashes (the rest: `a_b` → `--a-b`)
FIELD_FLAGS = {"price_kind": "--price", "n_layers": "--layers", "requests_per_month": "--requests", "ttft_slo_s": "--ttft-slo",
               "itl_slo_s": "--itl-slo", "monthly_active_users": "--users",
               # a workload's length distribution reaches the command line as a usage log
               "lengths": "--traffic", "lengths.weights": "--traffic", "lengths.cached_in": "--traffic", "lengths.n_prefixes": "--traffic",
               "lengths.arrival_gaps": "--traffic"}


def flag_for(field: str) -> str:
    """`tokens_in/tokens_out` → `--tokens-in/--tokens-out`."""
    return "/".join(FIELD_FLAGS.get(f, "--" + f.replace("_", "-")) for f in field.split("/"))


def cli_message(exc: PlannerError) -> str:
    """The error's one line as the CLI prints it: the flag in place of the field."""
    return f"{flag_for(exc.field)}: {exc.detail}" if exc.field else str(exc)
