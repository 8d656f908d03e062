"""Cache keys of executed notebooks and the decision to reuse a cached execution.

Each executed notebook has a folder ``_build/.cache/<slug>`` with ``executed.ipynb``, the
``results.json`` it published and a ``manifest.json``::

    {"key": "<20 hex digits>",
     "data_reads": {"data/outcomes.csv": "<sha256>", ...},
     "data_listings": {"data/history": "<sha256 of the names in it>", ...},
     "code_reads": {"analysis/__init__.py": "<sha256>",
                    "analysis/stats/pooling.py": "<sha256>", ...},
     "seconds": 1.73}

``key`` covers the notebook's own inputs (:func:`execution_key`): its text, parameters, title,
the pipeline version and ``requirements.lock``. ``data_reads`` and ``code_reads`` are recorded
while it runs (:mod:`analysis.book.tracking`): the files under ``data/`` it opened and the
source files of the ``analysis`` modules it loaded, with their SHA-256 (paths relative to the
repository); ``data_listings`` the folders under ``data/`` whose entries it listed (a glob such
as ``data/history/*.json``), with a hash of their entries' names, so that a file added to or
removed from such a folder re-executes it. A cached execution is reused when its key matches,
every recorded file still has the recorded hash and every listed folder the same entries
(:func:`stale_reason`), so an edit to a module no notebook imports (the build itself) executes
nothing, and an edit to ``analysis/stats/pooling.py`` executes exactly the notebooks that
loaded it."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from analysis.book.discovery import Notebook

CACHE_DIR = Path("_build/.cache")
#: Bump to invalidate every cached execution when the way notebooks are executed changes.
PIPELINE_VERSION = "3"
#: The locked dependency set; it enters every key, so an upgrade re-executes every notebook.
LOCK_FILE = Path("requirements.lock")


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes, in hex."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


class FileHashes:
    """SHA-256 of the files under ``root``, each read at most once (one per build).

    Parameters
    ----------
    root
        Repository folder; files are named by their path relative to it.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self._digests: dict[str, str | None] = {}

    def __call__(self, rel: str) -> str | None:
        """The digest of ``root/rel``, or None when it is not a file."""
        if rel not in self._digests:
            path = self.root / rel
            self._digests[rel] = file_digest(path) if path.is_file() else None
        return self._digests[rel]


def listing_digest(folder: Path) -> str:
    """SHA-256 of the sorted names of the entries of ``folder`` (``"missing"`` if it is none).

    Only names count: a file whose content changes is tracked by its own hash when it is read.
    """
    if not folder.is_dir():
        return "missing"
    names = sorted(os.listdir(folder))
    return hashlib.sha256("\n".join(names).encode("utf-8", "surrogateescape")).hexdigest()


def changed_listing(listings: Mapping[str, str], root: Path) -> str | None:
    """The first recorded folder whose entries are no longer the recorded ones, else None."""
    for rel, digest in sorted(listings.items()):
        if listing_digest(root / rel) != digest:
            return rel
    return None


def lock_hash(root: Path) -> str:
    """Hash of ``requirements.lock`` (``"no lock file"`` when there is none)."""
    path = root / LOCK_FILE
    return file_digest(path) if path.is_file() else "no lock file"


def execution_key(root: Path, nb: Notebook, dependencies: str) -> str:
    """Key of a notebook's own inputs: its text, parameters, title and the locked dependencies.

    Parameters
    ----------
    root
        Repository folder.
    nb
        The notebook (or rendering of a template).
    dependencies
        :func:`lock_hash` of the repository.

    Notes
    -----
    The data files and ``analysis`` modules a notebook reads are recorded when it runs (see
    :func:`stale_reason`) rather than hashed up front, so a notebook that reads no data is not
    re-run when ``data/`` changes, and one that never imports the plots is not re-run when
    they change.
    """
    digest = hashlib.sha256(PIPELINE_VERSION.encode())
    digest.update((root / nb.source).read_bytes())
    digest.update(json.dumps(nb.parameters, sort_keys=True, default=str).encode())
    digest.update(json.dumps(nb.title).encode())
    digest.update(dependencies.encode())
    return digest.hexdigest()[:20]


def changed_file(reads: Mapping[str, str], hashes: FileHashes) -> str | None:
    """The first recorded file whose content is no longer the recorded one, else None."""
    for rel, digest in sorted(reads.items()):
        if hashes(rel) != digest:
            return rel
    return None


def read_manifest(cache: Path, nb: Notebook) -> dict[str, Any]:
    """The manifest of ``nb``'s cached execution, or ``{}`` when there is none."""
    path = cache / nb.slug / "manifest.json"
    return json.loads(path.read_text()) if path.exists() else {}


def stale_reason(cache: Path, nb: Notebook, key: str, hashes: FileHashes) -> str | None:
    """Why ``nb`` must be executed, or None when its cached execution can be reused.

    Parameters
    ----------
    cache
        The cache folder (``root/_build/.cache``).
    nb
        The notebook.
    key
        Its current :func:`execution_key`.
    hashes
        Digests of the repository's files.

    Returns
    -------
    str or None
        ``"not executed yet"``, ``"notebook, parameters or dependencies changed"``,
        ``"<file> changed"`` (a data file or ``analysis`` module it read),
        ``"<folder> listing changed (a file was added or removed)"`` (a data folder it listed),
        or None.
    """
    manifest = read_manifest(cache, nb)
    if not manifest or not (cache / nb.slug / "executed.ipynb").exists():
        return "not executed yet"
    if manifest.get("key") != key or not manifest.get("code_reads"):
        return "notebook, parameters or dependencies changed"
    for reads in (manifest.get("data_reads", {}), manifest["code_reads"]):
        changed = changed_file(reads, hashes)
        if changed is not None:
            return f"{changed} changed"
    listed = changed_listing(manifest.get("data_listings", {}), hashes.root)
    if listed is not None:
        return f"{listed} listing changed (a file was added or removed)"
    return None
