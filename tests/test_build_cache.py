"""The decision to reuse a cached notebook execution (``analysis.book.cache``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from analysis.book.cache import (
    CACHE_DIR,
    FileHashes,
    execution_key,
    file_digest,
    listing_digest,
    lock_hash,
    stale_reason,
)
from analysis.book.discovery import Notebook

NB = Notebook(page="chapters/page", source=Path("chapters/page.md"))


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A repository with one notebook, two modules, a data file and a cached execution."""
    files = {
        "chapters/page.md": "---\nkernelspec: {name: python3}\n---\n# Page\n",
        "analysis/__init__.py": "",
        "analysis/plots/forest.py": "def forest_plot(): ...\n",
        "analysis/stats/pooling.py": "def pool(): ...\n",
        "data/outcomes.csv": "id,mean\n1,2.5\n",
        "data/history/1.0.0.json": "{}\n",
        "requirements.lock": "numpy==2.4.6\n",
    }
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    entry = tmp_path / CACHE_DIR / NB.slug
    entry.mkdir(parents=True)
    (entry / "executed.ipynb").write_text("{}")
    manifest = {
        "key": key(tmp_path),
        "data_reads": {"data/outcomes.csv": file_digest(tmp_path / "data/outcomes.csv")},
        "data_listings": {"data/history": listing_digest(tmp_path / "data/history")},
        "code_reads": {
            rel: file_digest(tmp_path / rel)
            for rel in ("analysis/__init__.py", "analysis/stats/pooling.py")
        },
        "seconds": 1.0,
    }
    (entry / "manifest.json").write_text(json.dumps(manifest))
    return tmp_path


def key(root: Path) -> str:
    return execution_key(root, NB, lock_hash(root))


def reason(root: Path) -> str | None:
    return stale_reason(root / CACHE_DIR, NB, key(root), FileHashes(root))


def append(path: Path, text: str) -> None:
    path.write_text(path.read_text() + text)


def test_unchanged_inputs_are_reused(root: Path) -> None:
    assert reason(root) is None


def test_a_changed_imported_module_is_executed(root: Path) -> None:
    append(root / "analysis/stats/pooling.py", "# edited\n")
    assert reason(root) == "analysis/stats/pooling.py changed"


def test_a_deleted_imported_module_is_executed(root: Path) -> None:
    (root / "analysis/stats/pooling.py").unlink()
    assert reason(root) == "analysis/stats/pooling.py changed"


def test_a_module_it_did_not_import_does_not_matter(root: Path) -> None:
    append(root / "analysis/plots/forest.py", "# edited\n")
    (root / "analysis/book").mkdir()
    (root / "analysis/book/build.py").write_text("# a new build module\n")
    assert reason(root) is None


def test_a_changed_data_file_is_executed(root: Path) -> None:
    append(root / "data/outcomes.csv", "2,3.5\n")
    assert reason(root) == "data/outcomes.csv changed"


def test_a_file_added_to_a_listed_folder_is_executed(root: Path) -> None:
    # The changelog finds data/history/*.json with a glob: `make release` adds a file there.
    (root / "data/history/1.1.0.json").write_text("{}\n")
    assert reason(root) == "data/history listing changed (a file was added or removed)"


def test_a_file_removed_from_a_listed_folder_is_executed(root: Path) -> None:
    (root / "data/history/1.0.0.json").unlink()
    assert reason(root) == "data/history listing changed (a file was added or removed)"


def test_a_removed_listed_folder_is_executed(root: Path) -> None:
    (root / "data/history/1.0.0.json").unlink()
    (root / "data/history").rmdir()
    assert reason(root) == "data/history listing changed (a file was added or removed)"


def test_a_file_added_to_an_unlisted_folder_does_not_matter(root: Path) -> None:
    (root / "data/other").mkdir()
    (root / "data/other/notes.txt").write_text("x\n")
    assert reason(root) is None


@pytest.mark.parametrize("rel", ["chapters/page.md", "requirements.lock"])
def test_own_inputs_and_the_lock_file_are_in_the_key(root: Path, rel: str) -> None:
    before = key(root)
    append(root / rel, "\n# edited\n")
    assert key(root) != before
    assert reason(root) == "notebook, parameters or dependencies changed"


def test_parameters_and_title_are_in_the_key(root: Path) -> None:
    keys = {
        execution_key(root, nb, lock_hash(root))
        for nb in (
            NB,
            Notebook(NB.page, NB.source, parameters={"definition": "min2"}),
            Notebook(NB.page, NB.source, title="Another title"),
        )
    }
    assert len(keys) == 3


def test_a_manifest_without_code_reads_is_not_trusted(root: Path) -> None:
    path = root / CACHE_DIR / NB.slug / "manifest.json"
    manifest = json.loads(path.read_text())
    del manifest["code_reads"]
    path.write_text(json.dumps(manifest))
    assert reason(root) == "notebook, parameters or dependencies changed"


def test_without_a_cached_execution_it_is_executed(root: Path) -> None:
    (root / CACHE_DIR / NB.slug / "executed.ipynb").unlink()
    assert reason(root) == "not executed yet"
