"""The repository stands alone: every document and every `pydtrain.…` name its files cite exists in it."""
import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TREES = ["pydtrain", "csrc", "tests", "bench", "docs", ".ci"]
TOP_FILES = ["README.md", "setup.py", "pyproject.toml"]
TEXT_SUFFIXES = {".py", ".pyi", ".c", ".h", ".inc", ".def", ".md", ".toml", ".txt", ""}
SKIP_DIRS = {"__pycache__", "build", ".pytest_cache", ".mypy_cache", ".ruff_cache"}

DOCUMENT = re.compile(r"[\w./-]*\w\.md\b")
# a document cited by a bare name and a section or decision number, not by its path
BARE_CITATION = re.compile(r"\b(SPEC|DESIGN)\b\s*(§|\d|,\s*decision)")
DOTTED = re.compile(r"\bpydtrain(?:\.[A-Za-z_]\w*)+")


def _files():
    paths = [ROOT / name for name in TOP_FILES]
    for tree in TREES:
        for path in sorted((ROOT / tree).rglob("*")):
            if path.is_file() and path.suffix in TEXT_SUFFIXES and not SKIP_DIRS & set(path.parts):
                paths.append(path)
    for path in paths:
        try:
            yield path, path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, FileNotFoundError):
            continue


def _lines(pattern):
    for path, text in _files():
        for number, line in enumerate(text.splitlines(), 1):
            for match in pattern.finditer(line):
                yield f"{path.relative_to(ROOT)}:{number}", match.group(0), path, line


def _document_exists(name: str, cited_from: Path) -> bool:
    return any((base / name).is_file() for base in (cited_from.parent, ROOT))


def test_the_files_are_found():
    files = {path.relative_to(ROOT).as_posix() for path, _ in _files()}
    assert {"pydtrain/functional.py", "csrc/kernels.def", "tests/reference.py", "docs/design.md"} <= files


def test_every_cited_document_is_in_the_repository():
    missing = [f"{where}: {name}" for where, name, path, _ in _lines(DOCUMENT) if not _document_exists(name, path)]
    assert not missing, "documents cited but not in the repository:\n" + "\n".join(missing)


def test_no_document_is_cited_by_a_bare_name():
    bare = [f"{where}: {line.strip()}" for where, _, _, line in _lines(BARE_CITATION)]
    assert not bare, "cite docs/design.md or docs/formulas.md by path and section:\n" + "\n".join(bare)


def _resolves(dotted: str) -> bool:
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for attr in parts[cut:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return False
        return True
    return False


@pytest.mark.filterwarnings("ignore")
def test_every_cited_pydtrain_name_exists():
    unresolved = sorted({f"{where}: {name}" for where, name, _, _ in _lines(DOTTED) if not _resolves(name)})
    assert not unresolved, "names cited that pydtrain does not have:\n" + "\n".join(unresolved)
