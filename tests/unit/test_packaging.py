"""Packaging facts: conda's environment.yml matches pyproject, .ci/run calls the README's test command."""
import tomllib

import yaml

from tests.conftest import REPO


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    expected = set(project["dependencies"]) | set(extras["dev"]) | set(extras["notebooks"]) | set(extras["vllm"])
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    assert set(pip_section) - {"-e ."} == expected
    assert "python=3.11" in env["dependencies"]


def test_ci_runs_the_readme_test_command():
    readme = (REPO / "README.md").read_text()
    assert "make test" in readme and "make demo" in readme
    assert "make test" in (REPO / ".ci" / "run").read_text()


def test_the_install_command_takes_the_extras_the_tests_need():
    makefile = (REPO / "Makefile").read_text()
    assert "-e '.[dev,notebooks,vllm]'" in makefile
    assert "pip uninstall --yes --quiet torchvision torchaudio torchcodec" in makefile
