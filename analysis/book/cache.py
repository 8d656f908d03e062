"""Cache keys of executed notebooks and the decision to reuse a cached execution.

Each executed notebook has a folder ``_build/.cache/<slug>`` with ``executed.ipynb``, the
``results.json`` it published and a ``manifest.json``::

    {"key": "<20 hex digits>",
     "data_reads": {"data/outcomes.csv": "<sha256>", ...},
     "seconds": 1.73}

``key`` covers the notebook's own inputs (:func:`execution_key`); ``data_reads`` are the data
files it opened when it last ran, with their SHA-256. A cached execution is reused when its key
matches and every recorded file still has the recorded hash (:func:`reusable`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from analysis.book.discovery import Notebook

CACHE_DIR = Path("_build/.cache")
#: Bump to invalidate every cached execution when the way notebooks are executed changes.
PIPELINE_VERSION = "1"


def _hash_files(paths: Iterable[Path], root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def code_hash(root: Path) -> str:
    """Hash of the ``analysis`` package: a code change re-executes every notebook."""
    code = [p for p in (root / "analysis").rglob("*.py") if "__pycache__" not in p.parts]
    return _hash_files(code, root)


def execution_key(root: Path, nb: Notebook, analysis_hash: str) -> str:
    """Key of a notebook's own inputs: its text, parameters, title and the analysis code.

    The data files a notebook reads are recorded when it runs (see :func:`data_reads_current`)
    rather than hashed up front, so a notebook that reads no data is not re-run when
    ``data/`` changes, and one that reads ``outcomes.csv`` only is re-run when that file does.
    """
    digest = hashlib.sha256(PIPELINE_VERSION.encode())
    digest.update((root / nb.source).read_bytes())
    digest.update(json.dumps(nb.parameters, sort_keys=True, default=str).encode())
    digest.update(json.dumps(nb.title).encode())
    digest.update(analysis_hash.encode())
    return digest.hexdigest()[:20]


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes, in hex."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def data_reads_current(root: Path, reads: Mapping[str, str]) -> bool:
    """Whether every data file a notebook read still has the content it read."""
    for rel, digest in reads.items():
        path = root / rel
        if not path.is_file() or file_digest(path) != digest:
            return False
    return True


def read_manifest(cache: Path, nb: Notebook) -> dict[str, Any]:
    """The manifest of ``nb``'s cached execution, or ``{}`` when there is none."""
    path = cache / nb.slug / "manifest.json"
    return json.loads(path.read_text()) if path.exists() else {}


def reusable(root: Path, cache: Path, nb: Notebook, key: str) -> bool:
    """Whether ``nb``'s cached execution is current, so that it need not be executed again."""
    manifest = read_manifest(cache, nb)
    return (
        manifest.get("key") == key
        and (cache / nb.slug / "executed.ipynb").exists()
        and data_reads_current(root, manifest.get("data_reads", {}))
    )
