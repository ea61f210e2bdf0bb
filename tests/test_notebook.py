"""The example notebook (examples/walkthrough.ipynb) runs from top to bottom, every cell, in a fresh
kernel: it cannot rot. Each cell has 40 s; the whole notebook takes well under that on a quiet machine."""

import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[1] / "examples" / "walkthrough.ipynb"


def test_walkthrough_notebook_executes():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert len(code) >= 8  # committed without outputs
    assert not any(cell.get("outputs") for cell in code)
    start = time.perf_counter()
    NotebookClient(
        notebook, timeout=40, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK.parent)}}
    ).execute()
    seconds = time.perf_counter() - start
    errors = [output for cell in code for output in cell.outputs if output.output_type == "error"]
    assert not errors
    assert all(cell.execution_count for cell in code)  # every cell ran
    images = [output for cell in code for output in cell.outputs if "image/png" in output.get("data", {})]
    assert len(images) == 2, "the derivation tree and the training figure are shown as images"
    print(f"notebook executed in {seconds:.1f} s")
