"""Re-executes the course notebooks in place and saves them with their outputs.

    python notebooks/execute.py                                   # every notebook in this folder
    python notebooks/execute.py 02_dropout.ipynb                  # only the ones named

Each notebook runs top to bottom in a fresh kernel whose working directory is this
folder and whose PYTHONPATH starts with the folder holding the pydtrain this script
imports: the repository's own when it is built in place (``python setup.py build_ext
--inplace``), otherwise the installed one. The notebooks seed every draw
(``pdt.seed``, ``np.random.default_rng(seed)``), so a re-run gives the same outputs;
timing metadata is not recorded, so a re-run changes only what really changed.
A notebook whose run fails is reported and left as it was; the exit status is then 1.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import nbclient
import nbformat

HERE = Path(__file__).resolve().parent
TIMEOUT = 600  # seconds per cell


def _pydtrain_parent() -> str:
    """The folder holding the pydtrain package: the repository's if it imports, else the installed one."""
    repo = str(HERE.parent)
    sys.path.insert(0, repo)
    try:
        import pydtrain
    except ImportError:  # not built in place: the installed package
        sys.path.remove(repo)
        for name in [m for m in sys.modules if m == "pydtrain" or m.startswith("pydtrain.")]:
            del sys.modules[name]
        import pydtrain
    return str(Path(pydtrain.__file__).resolve().parent.parent)


def _merged_streams(outputs: list) -> list:
    """Adjacent stdout (or stderr) outputs as one: how the kernel splits a cell's prints depends on timing."""
    merged: list = []
    for out in outputs:
        last = merged[-1] if merged else None
        if last is not None and out.output_type == last.output_type == "stream" and out.name == last.name:
            last.text += out.text
        else:
            merged.append(out)
    return merged


def execute(path: Path) -> float:
    """Runs the notebook at ``path``, writes it back with its outputs; returns the run time in seconds."""
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=TIMEOUT, kernel_name="python3", record_timing=False,
                                     resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    client.execute()
    elapsed = time.perf_counter() - start
    # keep only what does not change from one machine or run to the next
    nb.metadata["language_info"] = {"name": "python"}
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code":
            cell.outputs = _merged_streams(cell.outputs)
    nbformat.write(nb, path)
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", help="notebook files or names in notebooks/ (default: all)")
    args = parser.parse_args(argv)
    paths = [Path(n) if Path(n).exists() else HERE / n for n in args.notebooks] or sorted(HERE.glob("*.ipynb"))
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        parser.error(f"no such notebook: {', '.join(missing)}")
    parent = _pydtrain_parent()
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (parent, os.environ.get("PYTHONPATH")) if p)
    failed = 0
    for path in paths:
        print(f"{path.name} ...", end=" ", flush=True)
        try:
            elapsed = execute(path)
        except nbclient.exceptions.CellExecutionError as e:
            failed += 1
            print(f"FAILED, left unchanged\n{e}", flush=True)
            continue
        print(f"{elapsed:.1f} s, {path.stat().st_size / 1024:.0f} KiB", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
