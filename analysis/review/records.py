"""Published estimates: what a page shows under a stable result id, and its ``results.json`` record.

An :class:`Estimate` is the review layer's hand-over to the book layer: a pooled result (any
object with the attributes of :class:`analysis.stats.pooling.PoolResult`, or ``None`` when no
trial has data) with its result id, label, outcome, measure, participants and studies. The book
layer (:func:`analysis.book.report.publish`) glues its texts and records it; nothing else
decides what a result id means (ids are made in :mod:`analysis.review.catalogue`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from analysis.review.text import describe

RATIO_MEASURES = {"RR", "OR"}
#: Text glued under every key of an estimate without data (counts read "0").
NO_DATA_TEXT = "no trial data yet"
#: Suffixes of the glue keys of an estimate (``""`` is the main text).
TEXT_SUFFIXES = ("", "est", "ci", "pi", "k", "n", "who", "i2", "tau2", "p", "full")


def _display(value: float, ratio: bool) -> float:
    if value is None or not math.isfinite(value):
        return float("nan")
    return math.exp(value) if ratio else float(value)


def result_record(
    result_id: str,
    result: Any,
    *,
    measure: str,
    label: str,
    outcome: str,
    participants: int | None = None,
    studies: Sequence[str] | None = None,
    participants_unknown: int = 0,
) -> dict[str, Any]:
    """A JSON-serialisable record of a pooled result (ratio measures exponentiated).

    ``participants`` counts the comparisons whose participants are known;
    ``participants_unknown`` is the number of comparisons for which no source states them.
    ``test`` is the test of the pooled effect (``z``, ``knha``, ``adhoc``).
    """
    ratio = measure.upper() in RATIO_MEASURES
    get = lambda name: float(getattr(result, name, float("nan")))  # noqa: E731
    rec = {
        "id": result_id,
        "label": label,
        "outcome": outcome,
        "measure": measure,
        "scale": "ratio" if ratio else "difference",
        "estimate": _display(get("estimate"), ratio),
        "ci_low": _display(get("ci_low"), ratio),
        "ci_high": _display(get("ci_high"), ratio),
        "pi_low": _display(get("pi_low"), ratio),
        "pi_high": _display(get("pi_high"), ratio),
        "se": get("se"),
        "p": get("p"),
        "tau2": get("tau2"),
        "i2": get("i2"),
        "k": int(getattr(result, "k", 0)),
        "participants": None if participants is None else int(participants),
        "participants_unknown": int(participants_unknown),
        "method": str(getattr(result, "method", "")),
        "hksj": bool(getattr(result, "hksj", False)),
        "test": str(getattr(result, "test", "knha" if getattr(result, "hksj", False) else "z")),
        "studies": list(studies) if studies is not None else None,
    }
    return {
        k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in rec.items()
    }


@dataclass(frozen=True)
class Estimate:
    """A pooled result under its stable id, ready to be glued and recorded.

    Attributes
    ----------
    result_id, label, outcome, measure
        Stable dotted id (``symptoms.smd.overall``), human-readable label, outcome and measure.
    result
        The pooled result, or ``None`` when no trial has usable data.
    participants
        Participants behind the estimate (``None`` when not counted).
    studies
        Study ids behind the estimate.
    no_data_text
        What every text piece reads when there is no result.
    participants_unknown
        Comparisons whose participants no source states (not in ``participants``).
    """

    result_id: str
    label: str
    outcome: str
    measure: str
    result: Any | None
    participants: int | None = None
    studies: tuple[str, ...] | None = None
    no_data_text: str = NO_DATA_TEXT
    participants_unknown: int = 0

    @property
    def has_data(self) -> bool:
        """Whether a pooled result exists."""
        return self.result is not None

    def record(self) -> dict[str, Any] | None:
        """The ``results.json`` record (``None`` when there is no result)."""
        if self.result is None:
            return None
        return result_record(
            self.result_id, self.result, measure=self.measure, label=self.label,
            outcome=self.outcome, participants=self.participants, studies=self.studies,
            participants_unknown=self.participants_unknown,
        )  # fmt: skip

    def texts(self, digits: int = 2) -> dict[str, str]:
        """Reader-facing pieces keyed by suffix (see :func:`analysis.review.text.describe`).

        Without a result every piece reads :attr:`no_data_text` (``k`` and ``n`` read ``"0"``).
        """
        rec = self.record()
        if rec is None:
            return {s: ("0" if s in ("k", "n") else self.no_data_text) for s in TEXT_SUFFIXES}
        return describe(rec, digits)
