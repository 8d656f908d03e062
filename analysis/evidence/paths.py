"""Where the trial database is and which version it is.

The data folder is, in this order (:func:`find_data_dir`):

1. ``data_dir``, when given;
2. ``$TRD_DATA_DIR``, when set (the book's build sets it);
3. the first ``data/`` folder holding ``studies.csv`` found walking up from the current
   working directory (a checkout of the repository);
4. the snapshot of ``data/`` packaged with the installed ``analysis`` package
   (:data:`PACKAGED_DATA`, ``analysis/_data``), which exists only in the wheel that the book's
   build makes (:mod:`analysis.book.package`) and offers for download beside the teaching
   notebooks. The fallback is logged (logger ``analysis.evidence.paths``, level INFO).

:func:`describe_data` says in one line which of these a folder is and its data version; the
teaching notebooks print it.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

from analysis.evidence.schema import CSV_FILES, IPD_DIR, OTHER_FILES

__all__ = ["PACKAGED_DATA", "data_files", "data_version", "describe_data", "find_data_dir"]

#: The snapshot of ``data/`` inside an installed wheel (absent in a checkout).
PACKAGED_DATA = Path(__file__).resolve().parents[1] / "_data"

logger = logging.getLogger(__name__)


def _is_data_dir(folder: Path) -> bool:
    return (folder / "studies.csv").is_file()


def find_data_dir(data_dir: str | os.PathLike[str] | None = None) -> Path:
    """Resolve the data folder: argument, ``$TRD_DATA_DIR``, checkout, packaged snapshot.

    Parameters
    ----------
    data_dir
        The folder to use; when None it is looked for (see the module docstring).

    Returns
    -------
    pathlib.Path
        The data folder.

    Raises
    ------
    FileNotFoundError
        When no argument or ``$TRD_DATA_DIR`` is given, no ``data/studies.csv`` exists above
        the current directory and the package carries no data snapshot.
    """
    if data_dir is not None:
        return Path(data_dir)
    env = os.environ.get("TRD_DATA_DIR")
    if env:
        return Path(env)
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        candidate = folder / "data"
        if _is_data_dir(candidate):
            return candidate
    if _is_data_dir(PACKAGED_DATA):
        logger.info(
            "no data/studies.csv found above %s; using the snapshot packaged with the analysis "
            "package (%s)",
            here,
            PACKAGED_DATA,
        )
        return PACKAGED_DATA
    raise FileNotFoundError(
        f"no data/studies.csv found above the current directory ({here}) and the installed "
        "analysis package carries no data snapshot; pass data_dir, set TRD_DATA_DIR, run from "
        "a checkout of the repository or install the package offered on the book's site"
    )


def data_files(root: Path) -> list[str]:
    """The files that make up the database, relative to ``root``: the CSV files, the other
    files (``references.bib``, ``version.yml``) and every file under ``ipd/`` (participant-level
    datasets and their mappings, whose rows are generated when the data are loaded)."""
    names = list(CSV_FILES + OTHER_FILES)
    ipd = root / IPD_DIR
    if ipd.is_dir():
        names += [p.relative_to(root).as_posix() for p in ipd.rglob("*") if p.is_file()]
    return sorted(names)


def data_version(data_dir: str | os.PathLike[str] | None = None) -> str:
    """SHA-256 over the data files (:func:`data_files`, sorted by name; name + bytes), first 12
    hex digits."""
    root = find_data_dir(data_dir)
    h = hashlib.sha256()
    for name in data_files(root):
        path = root / name
        if path.is_file():
            h.update(name.encode())
            h.update(b"\0")
            h.update(path.read_bytes())
            h.update(b"\0")
    return h.hexdigest()[:12]


def _semver(folder: Path) -> str:
    """``version`` of the folder's ``version.yml``, or ``"unversioned"``."""
    import yaml

    path = folder / "version.yml"
    info = yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else None
    return str(info.get("version", "unversioned")) if isinstance(info, dict) else "unversioned"


def describe_data(data_dir: str | os.PathLike[str]) -> str:
    """One line saying which data folder this is and its version.

    Parameters
    ----------
    data_dir
        A data folder, e.g. ``load_trials().data_dir``.

    Returns
    -------
    str
        ``"Data: the snapshot of data/ packaged with the analysis package (<path>); data
        version 1.0.0 (83536dbfe669)"`` for :data:`PACKAGED_DATA`, else ``"Data: the folder
        <path>; data version ..."``, the path relative to the working directory when that is
        at most three levels up (``../../data``), else absolute. The hash is
        :func:`data_version`.
    """
    folder = Path(data_dir)
    if folder.resolve() == PACKAGED_DATA:
        where = f"the snapshot of data/ packaged with the analysis package ({folder})"
    else:
        try:
            shown = os.path.relpath(folder)  # e.g. ../../data from a chapter's folder
        except ValueError:  # another drive (Windows)
            shown = str(folder)
        if shown.split(os.sep).count(os.pardir) > 3:
            shown = str(folder.resolve())
        where = f"the folder {shown}"
    return f"Data: {where}; data version {_semver(folder)} ({data_version(folder)})"
