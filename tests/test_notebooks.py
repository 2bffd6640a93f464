"""The course notebooks: each runs top to bottom, and each committed file is small, executed and self-contained.

Every ``notebooks/*.ipynb`` is picked up. Running them takes a while: ``pytest -m "not notebooks"``
skips these tests; ``python notebooks/execute.py`` re-runs the notebooks and saves their outputs.
"""
import json
import os
import re
import time
from pathlib import Path

import pytest

import pydtrain

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
MAX_SECONDS = 90
MAX_BYTES = 2 * 1024 * 1024

pytestmark = pytest.mark.notebooks
each_notebook = pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])

# an absolute path of this machine (not a URL), a climb out of the repository, or a document kept outside it
OUTSIDE = re.compile(r"(?<![\w:/.])(?:/(?:home|root|work|tmp|usr|opt|var|mnt|srv|Users|private)/|[A-Za-z]:\\\\)"
                     r"|\.\./\.\./|site-packages|\b(?:SPEC|DESIGN|API)\.md\b|\.\./shared\b")


def _load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _code_cells(nb: dict) -> list[dict]:
    return [cell for cell in nb["cells"] if cell["cell_type"] == "code"]


def test_the_notebooks_are_found():
    assert NOTEBOOKS, "no notebooks/*.ipynb"


@each_notebook
def test_notebook_runs(path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    pytest.importorskip("matplotlib")
    # the kernel imports the pydtrain these tests import (the repository's or the installed one)
    parent = str(Path(pydtrain.__file__).resolve().parent.parent)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in (parent, os.environ.get("PYTHONPATH")) if p))
    nb = nbformat.read(path, as_version=4)  # a copy in memory: the file is never written
    client = nbclient.NotebookClient(nb, timeout=2 * MAX_SECONDS, kernel_name="python3",
                                     resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    client.execute()  # raises CellExecutionError, with the cell and its traceback, if a cell fails
    elapsed = time.perf_counter() - start
    assert elapsed < MAX_SECONDS, f"{path.name} took {elapsed:.0f} s to run (at most {MAX_SECONDS} s)"


@each_notebook
def test_notebook_is_small(path):
    size = path.stat().st_size
    assert size < MAX_BYTES, f"{path.name} is {size / 2**20:.1f} MiB; make its figures smaller (dpi, figsize)"


@each_notebook
def test_notebook_is_committed_with_its_outputs(path):
    cells = _code_cells(_load(path))
    assert cells, f"{path.name} has no code cell"
    counts = [cell["execution_count"] for cell in cells]
    assert counts == list(range(1, len(cells) + 1)), (
        f"{path.name}: code cells not executed once, top to bottom (execution counts {counts}); "
        "run python notebooks/execute.py")
    assert any(cell["outputs"] for cell in cells), f"{path.name} has no output at all"
    errors = [i for i, cell in enumerate(cells) if any(o["output_type"] == "error" for o in cell["outputs"])]
    assert not errors, f"{path.name}: code cells {errors} end in an error"


@each_notebook
def test_notebook_kernel_is_python3(path):
    kernelspec = _load(path)["metadata"].get("kernelspec", {})
    assert kernelspec.get("name") == "python3", f"{path.name}: kernelspec {kernelspec}"


def _texts(nb: dict):
    """Every text of the notebook: metadata, cell sources and outputs, except images (base64 is not text)."""
    yield json.dumps(nb["metadata"])
    for cell in nb["cells"]:
        yield "".join(cell["source"])
        for out in cell.get("outputs", []):
            yield "".join(out.get("text", "")) + "\n".join(out.get("traceback", []))
            for mime, data in out.get("data", {}).items():
                if not mime.startswith("image/") or mime == "image/svg+xml":
                    yield data if isinstance(data, str) else json.dumps(data)


@each_notebook
def test_notebook_names_no_path_outside_the_repository(path):
    found = sorted({m.group(0) for text in _texts(_load(path)) for m in OUTSIDE.finditer(text)})
    assert not found, f"{path.name} names paths outside the repository: {found}"
