"""Where the trial database is and which version it is."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from analysis.evidence.schema import CSV_FILES, IPD_DIR, OTHER_FILES

__all__ = ["data_files", "data_version", "find_data_dir"]


def find_data_dir(data_dir: str | os.PathLike[str] | None = None) -> Path:
    """Resolve the data folder (see module docstring). Raises FileNotFoundError if none."""
    if data_dir is not None:
        return Path(data_dir)
    env = os.environ.get("TRD_DATA_DIR")
    if env:
        return Path(env)
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        candidate = folder / "data"
        if (candidate / "studies.csv").is_file():
            return candidate
    raise FileNotFoundError(
        "no data/studies.csv found above the current directory; pass data_dir or set TRD_DATA_DIR"
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
