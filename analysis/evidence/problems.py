"""Validation problems and the error that carries them (shared by the data and protocol checks)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["DataValidationError", "Problem"]


@dataclass(frozen=True)
class Problem:
    """One validation problem.

    ``row`` is the 1-based line number in the file (header = line 1) or ``None`` for a
    file-level problem; ``column`` is ``None`` when the problem concerns a whole row/file. For
    ``protocol.yml`` ``row`` is the line of the key and ``column`` the dotted
    key (``model.tau2``).
    """

    file: str
    row: int | None
    column: str | None
    value: str | None
    rule: str

    def __str__(self) -> str:
        yml = self.file.endswith("protocol.yml")
        parts = [self.file]
        if self.row is not None:
            parts.append(f"{'line' if yml else 'row'} {self.row}")
        if self.column is not None:
            parts.append(f"{'key' if yml else 'column'} {self.column!r}")
        where = ", ".join(parts)
        if self.value is not None:
            return f"{where}: value {self.value!r} breaks rule {self.rule!r}"
        return f"{where}: breaks rule {self.rule!r}"


class DataValidationError(ValueError):
    """Raised by :func:`load_trials` when the data are invalid; ``.problems`` lists them all."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems: list[Problem] = list(problems)
        lines = "\n".join(str(p) for p in self.problems[:50])
        more = len(self.problems) - 50
        if more > 0:
            lines += f"\n... and {more} more"
        super().__init__(f"{len(self.problems)} data problem(s):\n{lines}")
