"""The package's rooms and the direction of its imports, checked on the source (every import, also inside functions).

  core     pure maths and the data types it computes on: imports nothing else of the package
  formats  files: profiles, catalogs, plan files — imports only core
  measure  engines, probes, servers, GGUF tools — imports core and formats
  present  charts, report, dashboard — imports core and formats
  app      the CLI and workflows — may import anything; nothing imports it

A planted violation must make the check fail (last test), so the check itself can fail.
"""
from __future__ import annotations

import ast
import re
import shutil
from pathlib import Path

from tests.conftest import REPO

ALLOWED = {
    "core": {"core"},
    "formats": {"core", "formats"},
    "measure": {"core", "formats", "measure"},
    "present": {"core", "formats", "present"},
    "app": {"core", "formats", "measure", "present", "app"},
}
TOP_LEVEL = {"__init__", "__main__"}  # planner/__init__.py (version) and __main__.py (runs the app)


def _imports(path: Path, module: str) -> list[tuple[int, str]]:
    """(line, absolute module) of every planner import in a file, relative imports resolved."""
    out = []
    package = module.rsplit(".", 1)[0] if not path.name == "__init__.py" else module
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "planner"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            if name.split(".")[0] == "planner":
                out += [(node.lineno, f"{name}.{a.name}" if name == "planner" else name) for a in node.names]
    return out


def violations(package_dir: Path) -> list[str]:
    found = []
    for path in sorted(package_dir.rglob("*.py")):
        rel = path.relative_to(package_dir.parent).with_suffix("")
        module = ".".join(rel.parts).removesuffix(".__init__")
        parts = module.split(".")
        if len(parts) == 2 and parts[1] in TOP_LEVEL or module == "planner":
            continue
        room = parts[1]
        if room not in ALLOWED:
            found.append(f"{path}: module outside the rooms {sorted(ALLOWED)}")
            continue
        for line, target in _imports(path, module):
            target_parts = target.split(".")
            if target == "planner.__version__" or target_parts[:2] == ["planner", "__version__"]:
                continue
            target_room = target_parts[1] if len(target_parts) > 1 else ""
            if target_room not in ALLOWED[room]:
                found.append(f"{path}:{line}: {room} imports {target}")
    return found


def test_imports_follow_the_rooms():
    assert violations(REPO / "planner") == []


def test_core_is_pure():
    """The core does no I/O: no file, process, network or environment access in its source."""
    banned = re.compile(r"\b(open\(|read_text|write_text|read_bytes|write_bytes|subprocess|os\.environ|httpx|socket|print\(|input\()")
    for path in (REPO / "planner" / "core").rglob("*.py"):
        hits = banned.findall(path.read_text())
        assert not hits, f"{path} does I/O: {hits}"


def test_a_planted_violation_is_caught(tmp_path):
    copy = tmp_path / "planner"
    shutil.copytree(REPO / "planner", copy, ignore=shutil.ignore_patterns("__pycache__"))
    cost = copy / "core" / "cost.py"
    cost.write_text(cost.read_text() + "\n\ndef _bad():\n    from planner.formats.catalog import load_catalog  # noqa\n")
    (copy / "present" / "charts.py").write_text((copy / "present" / "charts.py").read_text() + "\nfrom planner.app import workflows  # noqa\n")
    (copy / "formats" / "profiles.py").write_text((copy / "formats" / "profiles.py").read_text() + "\nfrom ..measure import probes  # noqa\n")
    found = violations(copy)
    assert len(found) == 3, found
    assert any("core imports planner.formats.catalog" in v for v in found)
    assert any("present imports planner.app" in v for v in found)
    assert any("formats imports planner.measure" in v for v in found)
