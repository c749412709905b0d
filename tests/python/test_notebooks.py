"""Every notebook runs top to bottom without an error (and its own asserts hold), and its charts
appear inline, as Jupyter shows them: each cell tagged ``chart`` outputs exactly one image, and
no notebook switches matplotlib to a headless backend."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))
# The charts each notebook draws (cells tagged "chart"): a chart dropped or untagged is caught.
CHARTS = {"01_quickstart": 1, "02_saas_revenue": 5, "03_customer_journey": 5, "04_sales_and_support": 0,
          "05_kpis_and_scorecards": 1, "06_customer_lifetime_value": 4}


def test_there_are_notebooks() -> None:
    assert [p.stem for p in NOTEBOOKS] == sorted(CHARTS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_and_shows_its_charts_inline(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    # A notebook that picks the Agg backend shows no chart in Jupyter.
    assert not [c.source for c in code if "matplotlib.use(" in c.source]
    charts = [c for c in code if "chart" in c.metadata.get("tags", [])]
    assert len(charts) == CHARTS[path.stem]
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    for cell in charts:
        images = [o for o in cell.outputs if "image/png" in o.get("data", {})]
        assert len(images) == 1, cell.source
        # Not a figure's repr in place of the figure ("<Figure size 1200x1040 with 12 Axes>").
        assert not [o for o in cell.outputs if "<Figure size" in o.get("data", {}).get("text/plain", "")
                    and "image/png" not in o.get("data", {})], cell.source
    # No other cell draws an untagged chart.
    others = [c for c in code if c not in charts and any("image/png" in o.get("data", {}) for o in c.outputs)]
    assert others == []
