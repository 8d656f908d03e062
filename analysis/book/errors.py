"""The one exception of the book build (re-exported by :mod:`analysis.book.build`)."""

from __future__ import annotations


class BuildError(RuntimeError):
    """A build step failed; the message says which file and why.

    Parameters
    ----------
    message
        Everything the reader needs: which file, notebook or extension, and the details
        (tracebacks, the lines of a tool's output that explain it).
    summary
        The cause in one line (file, notebook or extension, and reason); the build prints it
        last. Defaults to the first line of ``message``.
    """

    def __init__(self, message: str, summary: str | None = None) -> None:
        super().__init__(message)
        lines = [ln.strip() for ln in message.splitlines() if ln.strip()]
        self.summary = " ".join((summary or (lines[0] if lines else "the build failed")).split())
