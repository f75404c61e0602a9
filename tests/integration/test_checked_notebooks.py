"""The planning notebooks are checked analyses: their stored outputs are compared by nbval, so a wrong number fails."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys

import pytest

from tests.conftest import REPO

CHECKED = ("02_plan.ipynb", "04_seed_claims.ipynb", "05_fleet.ipynb", "05_traffic.ipynb")
MARK = "# NBVAL_CHECK_OUTPUT"


def _code_cells(name: str) -> list[dict]:
    return [c for c in json.loads((REPO / "notebooks" / name).read_text())["cells"] if c["cell_type"] == "code"]


@pytest.mark.parametrize("name", CHECKED)
def test_every_result_cell_is_stored_and_checked(name):
    cells = _code_cells(name)
    def shown_only(c: dict) -> bool:  # a widget or a plotly figure: stored for readers, never compared (random ids)
        return any(kind in o.get("data", {}) for o in c["outputs"] for kind in ("application/vnd.jupyter.widget-view+json",
                                                                               "application/vnd.plotly.v1+json"))
    results = [c for c in cells if c["outputs"] and not shown_only(c)]
    assert len(results) >= 6
    for c in results:
        assert "".join(c["source"]).startswith(MARK), "".join(c["source"])[:80]


@pytest.mark.slow
def test_a_changed_number_in_a_stored_output_fails(tmp_path):
    work = tmp_path / "work"
    shutil.copytree(REPO / "notebooks", work / "notebooks")
    (work / "profiles").symlink_to(REPO / "profiles")
    path = work / "notebooks" / "04_seed_claims.ipynb"
    nb = json.loads(path.read_text())
    cell = next(c for c in nb["cells"] if c["cell_type"] == "code" and "kv = a10g_kv_verdict" in "".join(c["source"]))
    text = cell["outputs"][0]["data"]["text/html"]  # money_text: HTML that MathJax leaves alone
    text = [text] if isinstance(text, str) else text
    tampered = [re.sub(r"(\d+) requests at a", lambda m: f"{int(m.group(1)) + 1} requests at a", t) for t in text]
    assert tampered != text
    cell["outputs"][0]["data"]["text/html"] = tampered
    path.write_text(json.dumps(nb))
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(REPO), "-c", str(REPO / "pyproject.toml"),
                          str(path)], capture_output=True, text=True, cwd=REPO, timeout=600)
    assert out.returncode != 0 and "Cell outputs differ" in out.stdout, out.stdout[-2000:]
