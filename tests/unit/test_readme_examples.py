"""Every `llm-planner …` example in README.md, so the README cannot drift from the CLI.

Examples that only read profiles and catalogs run for real, verbatim but for the placeholders the README explains
(P.json and the like become committed reference files; [optional parts] are left out, `a|b` takes a). Examples that measure (profile, serve-profile, clone, hardware) take minutes and are run by the integration
tests; here every option they name must still be an option of that command.
"""
import re
import shlex

import pytest

from planner.app.cli import main
from tests.conftest import REPO, VLLM_VALIDATION_PROFILE

README = (REPO / "README.md").read_text()
SUBSTITUTE = {
    "P.json": str(next((REPO / "profiles/reference/cpu").glob("SmolLM2-135M-Instruct.Q4_1__cpu__*.json"))),
    "Q.json": str(VLLM_VALIDATION_PROFILE),
    "a.json": str(next((REPO / "profiles/reference/h100").glob("Mistral-7B*.json"))),
    "b.json": str(next((REPO / "profiles/reference/h100").glob("SmolLM2*.json"))),
    "data/examples/traffic-litellm-spendlogs.csv": str(REPO / "data/examples/traffic-litellm-spendlogs.csv"),  # the tests run elsewhere
}
MEASURING = {"profile", "serve-profile", "clone", "hardware"}


def examples() -> list[str]:
    """Commands in the README's code blocks: continuation lines joined, comments dropped."""
    found = []
    for block in re.findall(r"```bash\n(.*?)```", README, flags=re.S):
        text = re.sub(r"#[^\n]*", "", block)
        text = re.sub(r"\\\n\s*", " ", text)
        lines: list[str] = []
        for line in text.splitlines():
            if line.strip().startswith("llm-planner "):
                lines.append(line.strip())
            elif line.startswith(" ") and line.strip() and lines:
                lines[-1] += " " + line.strip()  # an option list continued on an indented line
        found += lines
    return found


def concrete(command: str) -> list[str]:
    """[optional parts] dropped, `a|b` choices taken first, placeholders replaced by committed files."""
    command = re.sub(r"\[[^\[\]]*\]", "", command)
    args = shlex.split(command)[1:]
    return [SUBSTITUTE.get(a, a.split("|")[0] if "|" in a and not a.startswith("http") else a) for a in args]


def options(command: str) -> set[str]:
    return set(re.findall(r"(--[a-z][a-z0-9-]*)", command))


def test_the_readme_has_examples_of_every_command():
    names = {concrete(c)[0] for c in examples()}
    assert {"plan", "compare", "fleet", "profile", "serve-profile", "report", "catalog", "project", "clone"} <= names


@pytest.mark.parametrize("command", [c for c in examples() if shlex.split(c)[1] not in MEASURING])
def test_planning_examples_run(command, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    args = concrete(command)
    if args[0] == "report":
        (tmp_path / "plan.yaml").write_text(f"name: readme\nprofile: {SUBSTITUTE['P.json']}\noutput_dir: {tmp_path}\n"
                                            "workload: {tokens_in: 128, tokens_out: 16, ttft_slo_s: 5, itl_slo_s: 0.5}\n")
    code = main(args)  # verbatim: only the placeholders the README names (P.json, …) are replaced
    out = capsys.readouterr()
    assert code == 0, f"`llm-planner {' '.join(args)}` failed: {out.err}"


def declared_options(name: str) -> set[str]:
    """The option strings the command really declares (click's parameters, not a substring of its help text)."""
    import typer.main

    from planner.app.cli import app
    group, *sub = name.split()
    command = typer.main.get_command(app).commands[group]
    for word in sub:  # a command group (`traffic summarize`): its subcommand's options
        command = command.commands[word]
    return {opt for p in command.params for opt in (*p.opts, *p.secondary_opts)}


def command_name(command: str) -> str:
    """`plan`, or `traffic summarize` for a command group's subcommand."""
    import typer.main

    from planner.app.cli import app
    words = shlex.split(command)[1:3]
    return " ".join(words) if hasattr(typer.main.get_command(app).commands[words[0]], "commands") else words[0]


@pytest.mark.parametrize("command", [c for c in examples() if shlex.split(c)[1] in MEASURING])
def test_measuring_examples_name_real_options(command):
    name = command_name(command)
    missing = options(command) - declared_options(name)
    assert not missing, f"README's `{command}` names options `{name}` does not have: {sorted(missing)}"


@pytest.mark.parametrize("command", examples())
def test_every_example_names_only_declared_options(command):
    name = command_name(command)
    missing = options(command) - declared_options(name)
    assert not missing, f"README's `{command}` names options `{name}` does not have: {sorted(missing)}"


def test_catalog_kinds_agree_between_code_help_and_readme(capsys):
    """Issue 25: `catalog`'s help listed 5 kinds, the code had 7 and the README 6."""
    from planner.formats.catalog import SCHEMAS
    assert main(["catalog", "--help"]) == 0
    help_text = " ".join(capsys.readouterr().out.split())
    readme = (REPO / "README.md").read_text()
    line = next(i for i, ln in enumerate(readme.splitlines()) if ln.startswith("llm-planner catalog"))
    listed = " ".join(readme.splitlines()[line:line + 2])
    for kind in SCHEMAS:
        assert kind in help_text and kind in listed, kind
    assert main(["catalog", "nosuch"]) == 2
    assert "KIND: must be" in capsys.readouterr().err
