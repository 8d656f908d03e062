"""Machine-readable records of pooled results (the entries of ``results.json``)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

RATIO_MEASURES = {"RR", "OR"}


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
) -> dict[str, Any]:
    """A JSON-serialisable record of a pooled result (ratio measures exponentiated)."""
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
        "method": str(getattr(result, "method", "")),
        "hksj": bool(getattr(result, "hksj", False)),
        "studies": list(studies) if studies is not None else None,
    }
    return {
        k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in rec.items()
    }
