"""examples/see_a_run.ipynb runs top to bottom in a real Jupyter kernel, and its outputs
hold the pictures crossflow draws (API §8): the workflow, the run over it, the progress,
the event log, the cancelled run and the tree of the cancellation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

pytestmark = pytest.mark.slow


def outputs(cell: Any) -> dict[str, str]:
    """Every form a code cell displayed, the last display of each kind winning."""
    found: dict[str, str] = {}
    for output in cell.outputs:
        assert output.output_type != "error", "\n".join(output.traceback)
        found.update(output.get("data", {}))
    return found


def test_the_notebook_runs_and_shows_the_pictures(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """API §8: the example notebook runs in an ipykernel; the workflow, the session and the
    cancelled run display as SVG (and HTML holding it), the event log as a table, the
    cancellation as a tree, all without JavaScript."""
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    notebook = nbformat.read(EXAMPLES / "see_a_run.ipynb", as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = []
    client = nbclient.NotebookClient(
        notebook, timeout=120, kernel_name="python3",
        resources={"metadata": {"path": str(EXAMPLES)}},
    )  # fmt: skip
    client.execute()
    cells = {cell.source.splitlines()[-1]: outputs(cell) for cell in notebook.cells
             if cell.cell_type == "code"}  # fmt: skip
    for last in ("order", "session", "cancelled"):
        shown = cells[last]
        assert shown["image/svg+xml"].startswith("<svg ")
        assert "<svg " in shown["text/html"] and "<script" not in shown["text/html"]
        assert shown["text/vnd.mermaid"].startswith("flowchart TB")
    assert "ran once" in cells["session"]["image/svg+xml"]
    assert "TERMINATED" in cells["session"]["text/html"]
    assert "never reached" in cells["cancelled"]["image/svg+xml"]
    assert "The disposals that made terminate unreachable" in cells["cancelled"]["image/svg+xml"]
    assert "<table" in cells["session.events"]["text/html"]
    assert "+0.000 ms" in cells["session.events"]["text/html"]
    assert "<table" in cells["session.progress()"]["text/html"]
    tree = cells["cancelled.cancellation"]
    assert "ServiceFailed" in tree["text/html"] and tree["image/svg+xml"].startswith("<svg ")
