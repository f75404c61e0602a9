"""Re-execute the planning notebooks and store their outputs, which nbval then checks cell by cell.

The notebooks that plan from committed reference profiles and catalogs (02_plan, 04_seed_claims) are analyses, not
smoke tests: their tables and verdicts are stored and `make test` fails when the code or the data no longer
reproduce them (cells marked `# NBVAL_CHECK_OUTPUT`; tests/nbval_sanitize.cfg masks timestamps and paths only).
Run this after a deliberate change to the planner or a catalog, and review the diff of the stored outputs.
Live-profiling notebooks (01_*, 03_report) measure this machine and stay without outputs.

    python scripts/refresh_notebook_outputs.py
"""
from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import nbformat.validator
from nbconvert.preprocessors import ExecutePreprocessor

ROOT = Path(__file__).resolve().parent.parent
CHECKED = ("02_plan.ipynb", "04_seed_claims.ipynb", "05_fleet.ipynb", "05_traffic.ipynb")
MARK = "# NBVAL_CHECK_OUTPUT"
IGNORE = "# NBVAL_IGNORE_OUTPUT"  # plotly figures: stored for readers (and GitHub), not compared (random div ids)
PLOTLY = "application/vnd.plotly.v1+json"


def refresh(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    _, nb = nbformat.validator.normalize(nb)  # cell ids, as nbformat 5 wants them
    nb = nbformat.from_dict(nb)
    ExecutePreprocessor(timeout=900, kernel_name="python3").preprocess(nb, {"metadata": {"path": str(path.parent)}})
    nb.metadata.pop("widgets", None)  # widget state: random model ids, megabytes, nothing nbval checks
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.metadata.pop("execution", None)
            widget = any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in cell.get("outputs", []))
            figure = any(PLOTLY in o.get("data", {}) for o in cell.get("outputs", []))
            mark = IGNORE if figure else MARK
            if cell.outputs and not widget and not cell.source.startswith(mark):
                cell.source = f"{mark}\n{cell.source}"
    tmp = path.with_suffix(".tmp")
    nbformat.write(nb, tmp)
    tmp.replace(path)  # atomic: a failed run leaves the stored notebook as it was
    print(f"stored outputs of {path.relative_to(ROOT)}")


if __name__ == "__main__":
    for name in sys.argv[1:] or CHECKED:
        refresh(ROOT / "notebooks" / name)
