"""Where the read-only evidence folder ``shared/`` is, for cross-check tests that skip without it.

The repository may be checked out beside ``shared/`` (``<parent>/shared``) or in a worktree one
level further down (``<parent>/<worktrees>/<name>``); ``$TRD_SHARED_DIR`` overrides both.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def shared_dir() -> Path:
    """The ``shared/`` folder (it may not exist: callers skip then)."""
    env = os.environ.get("TRD_SHARED_DIR")
    if env:
        return Path(env)
    for base in (ROOT.parent, ROOT.parent.parent):
        if (base / "shared").is_dir():
            return base / "shared"
    return ROOT.parent / "shared"
