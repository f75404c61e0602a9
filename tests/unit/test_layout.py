"""tests/unit mirrors planner/ one-to-one: the tests of planner/<path>/<module>.py are tests/unit/<path>/test_<module>.py.

Exceptions, all listed here and nowhere else:
  TOP_LEVEL   tests about the whole package rather than one module, at tests/unit/ itself
  PACKAGE     tests/unit/app/cli/test_main.py holds the tests of planner/app/cli/__init__.py (`main`, `entry`, the signal
              and exit-code handling), as test___init__.py would be unreadable

A test that drives a command end to end (`main([...])`) belongs to the CLI module defining that command. Shared helpers
live in a conftest.py of the lowest folder that needs them; nothing else but test_*.py, conftest.py and __init__.py
lives under tests/unit. The tests of the pure rooms (core, formats) import nothing of app, present or measure, so they
cannot lean on what the package forbids those rooms (see test_architecture.py). A planted test of a module that does not
exist must make the check fail (last test), so the check itself can fail.
"""
from __future__ import annotations

import ast
import shutil
from pathlib import Path

from tests.conftest import REPO

TOP_LEVEL = {
    "test_architecture.py",  # the import direction of the package's rooms
    "test_data_builds.py",  # derived data (the GPU serving corpus) rebuilds from its committed extracts
    "test_layout.py",  # this file: the layout of the tests themselves
    "test_notebook_boundary.py",  # planner errors in a notebook: one line, and the cell still fails
    "test_one_path.py",  # the same inputs through the CLI, compare, the dashboard and the notebook API give the same numbers
    "test_packaging.py",  # environment.yml, the Makefile and CI agree with pyproject.toml
    "test_readme_examples.py",  # every `llm-planner …` example in README.md still runs
}
PACKAGE = {Path("app/cli/test_main.py"): Path("app/cli/__init__.py")}
PURE = ("core", "formats")  # test folders that may not import these rooms of the package:
FORBIDDEN = ("planner.app", "planner.present", "planner.measure")


def module_under_test(test: Path) -> Path | None:
    """planner/… path, relative to planner/, that tests/unit/<test> must test; None for a top-level exception."""
    if test in PACKAGE:
        return PACKAGE[test]
    if test.parent == Path("."):
        return None
    return test.parent / f"{test.name.removeprefix('test_')}"


def layout_problems(tests_dir: Path, package_dir: Path) -> list[str]:
    problems = []
    for path in sorted(tests_dir.rglob("*.py")):
        rel = path.relative_to(tests_dir)
        if "__pycache__" in rel.parts:
            continue
        if not rel.name.startswith("test_"):
            if rel.name not in ("__init__.py", "conftest.py"):
                problems.append(f"{rel}: only test_*.py, conftest.py and __init__.py belong under tests/unit")
            continue
        if rel.parent == Path(".") and rel.name not in TOP_LEVEL:
            problems.append(f"{rel}: a top-level test that is not one of the listed exceptions ({', '.join(sorted(TOP_LEVEL))}); "
                            f"put it beside the module it tests")
            continue
        target = module_under_test(rel)
        if target is not None and not (package_dir / target).is_file():
            problems.append(f"{rel}: tests planner/{target}, which does not exist")
        for folder in rel.parents:
            if folder != Path(".") and not (tests_dir / folder / "__init__.py").is_file():
                problems.append(f"{rel}: {folder}/ has no __init__.py (same-named test files in two folders would clash)")
    return sorted(set(problems))


def _imported(tree: ast.AST) -> list[tuple[int, str]]:
    """Every module an AST imports, at any depth: import/from statements and __import__ / import_module calls."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module == "planner":  # `from planner import app`
            found += [(node.lineno, f"planner.{alias.name}") for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            if name in ("__import__", "import_module"):
                found.append((node.lineno, node.args[0].value))
    return sorted(found)


def import_problems(tests_dir: Path) -> list[str]:
    problems = []
    for room in PURE:
        for path in sorted((tests_dir / room).rglob("*.py")):
            for line, name in _imported(ast.parse(path.read_text(), str(path))):
                if any(name == f or name.startswith(f + ".") for f in FORBIDDEN):
                    problems.append(f"{path.relative_to(tests_dir)}:{line}: imports {name} (tests of {room} may not import "
                                    f"{', '.join(FORBIDDEN)}: move the test beside the module it tests)")
    return problems


def test_every_test_file_mirrors_a_module():
    assert layout_problems(REPO / "tests" / "unit", REPO / "planner") == []


def test_core_and_formats_tests_import_no_outer_room():
    assert import_problems(REPO / "tests" / "unit") == []


def test_a_planted_misplaced_test_is_caught(tmp_path):
    tests = tmp_path / "unit"
    shutil.copytree(REPO / "tests" / "unit", tests, ignore=shutil.ignore_patterns("__pycache__"))
    (tests / "core" / "test_nonexistent.py").write_text("def test_x():\n    pass\n")
    (tests / "test_loose.py").write_text("")
    (tests / "present" / "helpers.py").write_text("")
    (tests / "formats" / "test_catalog.py").write_text("def test_x():\n    from planner.app.cli import main\n")
    (tests / "core" / "test_plan.py").write_text("import planner.present.report\n__import__('planner.measure.session')\nfrom planner import app\n")
    (tests / "measure" / "deep").mkdir()
    (tests / "measure" / "deep" / "test_session.py").write_text("")
    problems = layout_problems(tests, REPO / "planner")
    assert any(p.startswith("core/test_nonexistent.py: tests planner/core/nonexistent.py") for p in problems), problems
    assert any(p.startswith("test_loose.py: a top-level test") for p in problems), problems
    assert any(p.startswith("present/helpers.py: only test_*.py") for p in problems), problems
    assert any(p.startswith("measure/deep/test_session.py: tests planner/measure/deep/session.py") for p in problems), problems
    assert any("measure/deep/ has no __init__.py" in p for p in problems), problems
    imports = import_problems(tests)
    assert [p.split(" (")[0] for p in imports] == ["core/test_plan.py:1: imports planner.present.report",
                                                  "core/test_plan.py:2: imports planner.measure.session",
                                                  "core/test_plan.py:3: imports planner.app",
                                                  "formats/test_catalog.py:2: imports planner.app.cli"], imports
