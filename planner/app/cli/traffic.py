"""Traffic commands: what a usage log says about the load to plan for."""
from __future__ import annotations

import json
from pathlib import Path

import typer

from planner.app.cli.options import check_choice

app = typer.Typer(no_args_is_help=True, help="Usage logs (litellm spend logs, OpenAI completions or usage records, a plain table)")


@app.command()
def summarize(
    file: Path = typer.Argument(..., help="a usage log (CSV, JSON or JSON lines), or a preset's name (`llm-planner traffic presets`)"),
    output_format: str = typer.Option("table", "--format", help="table or json"),
):
    """Volume a month, prompt and output length distributions, cached share, peak-to-average and the busiest hour."""
    from planner.core.traffic import summarize as summarize_traffic
    from planner.formats.traffic import read_traffic
    from planner.present.tables import key_values, say

    check_choice("--format", output_format, ("table", "json"))
    summary = summarize_traffic(read_traffic(file))
    if output_format == "json":
        typer.echo(json.dumps(summary.as_dict(), indent=2))
        return
    typer.echo(key_values(summary.rows()))
    for note in summary.notes:
        say(f"note: {note}")


@app.command()
def presets():
    """The published production traces shipped as usage logs: their names (for --traffic and summarize), what they
    are, where they come from."""
    import pandas as pd

    from planner.formats.traffic import traffic_presets
    from planner.present.tables import fit_table

    rows = [{"name": p.name, "requests": p.rows, "what": p.what, "source": f"{p.source} ({p.licence}, commit {p.commit[:10]})"}
            for p in traffic_presets().values()]
    typer.echo(fit_table(pd.DataFrame(rows), ("what", "source"), keep=("name",)))
