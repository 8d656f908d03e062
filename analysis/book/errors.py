"""The one exception of the book build (re-exported by :mod:`analysis.book.build`)."""

from __future__ import annotations


class BuildError(RuntimeError):
    """A build step failed; the message says which file and why."""
