"""Reader-facing text from numbers and results: one way to format, used everywhere.

Numbers get a typographic minus (``−0.40``), p values are formatted as journals do, and a
pooled result becomes the phrases a page shows (``SMD −0.40 (95% CI −0.65 to −0.14)``).
"""

from __future__ import annotations

import math
from typing import Any

MINUS = "\u2212"


def fmt_number(value: float, digits: int = 2) -> str:
    """Format a number with a typographic minus; ``NaN`` becomes ``"NA"``."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "NA"
    text = f"{value:.{digits}f}"
    if text.startswith("-"):
        text = MINUS + text[1:]
    if text in (f"{MINUS}0.{'0' * digits}",):
        text = text[1:]
    return text


def fmt_p(p: float) -> str:
    """Format a p value as journals do (``p < 0.001``, ``p = 0.03``)."""
    if p is None or not math.isfinite(p):
        return "p = NA"
    if p < 0.001:
        return "p < 0.001"
    return f"p = {p:.3f}" if p < 0.01 else f"p = {p:.2f}"


def describe(rec: dict[str, Any], digits: int = 2) -> dict[str, str]:
    """Formatted text pieces of a record (what gets glued)."""
    f = lambda v: fmt_number(float("nan") if v is None else v, digits)  # noqa: E731
    est, lo, hi = f(rec["estimate"]), f(rec["ci_low"]), f(rec["ci_high"])
    ci = f"95% CI {lo} to {hi}"
    pi = (
        f"95% prediction interval {f(rec['pi_low'])} to {f(rec['pi_high'])}"
        if rec.get("pi_low") is not None
        else "prediction interval not estimable (fewer than 3 trials)"
    )
    k = rec["k"]
    n = rec.get("participants")
    n_trials = len(set(rec.get("studies") or [])) or k
    trials = f"{k} trial" + ("" if k == 1 else "s")
    if n_trials != k:
        trials = f"{k} comparisons from {n_trials} trials"
    who = f"{trials}, {n} participants" if n else trials
    i2 = "NA" if rec.get("i2") is None else f"{rec['i2']:.0f}%"
    tau2 = "NA" if rec.get("tau2") is None else fmt_number(rec["tau2"], 3)
    return {
        "": f"{rec['measure']} {est} ({ci})",
        "est": est,
        "ci": ci,
        "pi": pi,
        "k": str(k),
        "n": str(n) if n is not None else "NA",
        "who": who,
        "i2": i2,
        "tau2": tau2,
        "p": fmt_p(float("nan") if rec.get("p") is None else rec["p"]),
        "full": f"{rec['measure']} {est} ({ci}; {who}; I² = {i2})",
    }
