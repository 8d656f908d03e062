"""Where the trial database is and which version it is."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from analysis.evidence.schema import CSV_FILES, OTHER_FILES

__all__ = ["data_version", "find_data_dir"]


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


def data_version(data_dir: str | os.PathLike[str] | None = None) -> str:
    """SHA-256 over the data files (sorted by name, name + bytes), first 12 hex digits."""
    root = find_data_dir(data_dir)
    h = hashlib.sha256()
    for name in sorted(CSV_FILES + OTHER_FILES):
        path = root / name
        if path.is_file():
            h.update(name.encode())
            h.update(b"\0")
            h.update(path.read_bytes())
            h.update(b"\0")
    return h.hexdigest()[:12]
