"""Reader-facing text from numbers and results: one way to format, used everywhere.

Numbers get a typographic minus (``−0.40``), p values are formatted as journals do, and a
pooled result becomes the phrases a page shows (``SMD −0.40 (95% CI −0.65 to −0.14)``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Any

import pandas as pd

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
    unknown = int(rec.get("participants_unknown") or 0)
    if unknown:
        comps = "comparison" if unknown == 1 else "comparisons"
        who = (f"{trials}, {n} participants plus {unknown} {comps} whose participants are "
               "not reported") if n else f"{trials}, participants not reported"  # fmt: skip
    else:
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


def count_text(n: int, singular: str, plural: str | None = None) -> str:
    """A count with the right noun: ``(1, "trial")`` -> ``"1 trial"``, ``(3, ...)`` -> "3 trials".

    The one pluralising helper of the book: every count that reaches a page goes through it.
    """
    return f"{n} {singular if n == 1 else (plural or singular + 's')}"


def study_label(study_id: str) -> str:
    """``CladderMicus2018`` -> ``Cladder-Micus 2018``; ``Wiles2013`` -> ``Wiles 2013``."""
    match = re.fullmatch(r"(.*?)(\d{4})([a-z]?)", study_id)
    if not match:
        return study_id
    name = {"CladderMicus": "Cladder-Micus"}.get(match.group(1), match.group(1))
    return f"{name} {match.group(2)}{match.group(3)}"


def join_words(items: Iterable[Any], last: str = "and") -> str:
    """``["a", "b", "c"]`` -> ``"a, b and c"`` (``last="or"``: ``"a, b or c"``); one item alone,
    ``""`` for none. The one list-joining helper of the book's sentences."""
    words = [str(i) for i in items]
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + f" {last} " + words[-1]


def trial_list(ids: Iterable[str]) -> str:
    """``["Wiles2013", "Town2017"]`` -> ``"Wiles 2013 and Town 2017"`` (``"none"`` if empty)."""
    labels = [study_label(x) for x in dict.fromkeys(ids)]
    return join_words(labels) if labels else "none"


def percent(x: float | None, digits: int = 0) -> str:
    """``0.2`` -> ``"20%"`` (``None``/``NaN`` -> ``"NA"``)."""
    if x is None or not math.isfinite(x):
        return "NA"
    return f"{100 * x:.{digits}f}%"


def short_reason(text: Any, limit: int = 180) -> str:
    """The first sentence(s) of a free-text note, cut at ``limit`` characters."""
    if text is None or (isinstance(text, float) and math.isnan(text)) or text is pd.NA:
        return ""
    text = " ".join(str(text).split())
    if len(text) <= limit:
        return text
    cut = text[:limit]
    stop = max(cut.rfind(". "), cut.rfind("; "))
    return (cut[: stop + 1] if stop > 40 else cut.rstrip() + "…").rstrip(";")


def shorten(text: Any, width: int = 120) -> str:
    """``text`` with runs of whitespace collapsed, cut to ``width`` characters with an ellipsis."""
    s = "" if text is None or text is pd.NA or (isinstance(text, float) and math.isnan(text)) else (
        " ".join(str(text).split())
    )
    return s if len(s) <= width else s[: width - 1].rstrip() + "…"


def ci_text(estimate: float, low: float, high: float, digits: int = 2) -> str:
    """``"−0.57 [−0.84, −0.29]"``: an estimate with its interval in brackets."""
    f = fmt_number
    return f"{f(estimate, digits)} [{f(low, digits)}, {f(high, digits)}]"


def range_text(estimate: float, low: float, high: float, digits: int = 2) -> str:
    """``"−0.57 (−0.84 to −0.29)"``: an estimate with its interval in words."""
    f = fmt_number
    return f"{f(estimate, digits)} ({f(low, digits)} to {f(high, digits)})"


def list_or_none(items: Iterable[str]) -> str:
    """``", "``-joined items, or ``"none"``."""
    items = list(items)
    return ", ".join(items) if items else "none"
