"""The search and screening record: PRISMA counts, tables of searches and of excluded, ongoing
and unclassified studies, and the "searched to" statement.

Everything is computed from ``data/searches.csv`` and ``data/screening.csv`` (loaded as
``trials.searches`` and ``trials.screening``).

How the PRISMA 2020 boxes are counted (:func:`prisma_counts`)
-------------------------------------------------------------
* **Records identified**, per search method of ``searches.csv`` (``database``, ``register``,
  ``other`` methods): the screened records that name at least one search of that method in
  ``search_ids``. The raw number of hits of each search was mostly not recorded (see
  :func:`search_table`), so these are the records the searches contributed to the screening
  record.
* **Duplicates removed**: records identified through more than one method are counted once;
  the difference between the sum over methods and the number of distinct records.
* **Records screened**: every record of ``screening.csv``; **records excluded**: those excluded
  at ``stage == "records"`` (on the title, database entry or reference).
* **Reports sought / assessed**: the records not excluded at that stage. A "report" is what was
  read to decide: an abstract, journal page, registry entry or database row (full texts were
  mostly not reached); none is counted as not retrieved because every such record had one.
* **Reports excluded**: excluded at ``stage == "reports"``, by reason (the text of ``reason``
  before the first colon).
* **Studies included**: decision ``included``; the other decisions (ongoing, terminated,
  awaiting classification) are listed under them.

So ``identified - duplicates = screened``, ``screened - records excluded = reports assessed``
and ``reports assessed - reports excluded = included + ongoing + terminated + awaiting``.
"""

from __future__ import annotations

import calendar
from typing import Any

import pandas as pd

from analysis.review.text import count_text, study_label

__all__ = [
    "METHOD_LABELS",
    "awaiting_classification_table",
    "date_text",
    "excluded_table",
    "ongoing_table",
    "prisma_arguments",
    "prisma_counts",
    "search_table",
    "searched_to_text",
    "screening_counts",
]

#: Reader labels of the search methods of ``searches.csv``.
METHOD_LABELS: dict[str, str] = {
    "database": "Databases",
    "register": "Registers",
    "other": "Other methods",
}


def _ids(value: Any) -> list[str]:
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return []
    return [x.strip() for x in str(value).split(";") if x.strip()]


def date_text(value: Any) -> str:
    """``"2024-01-01"`` -> ``"1 January 2024"``; ``"2026-12"`` -> ``"December 2026"``;
    empty -> ``"not known"``."""
    if value is None or value is pd.NA or not str(value).strip():
        return "not known"
    parts = [int(x) for x in str(value).split("-")]
    month = calendar.month_name[parts[1]]
    return f"{parts[2]} {month} {parts[0]}" if len(parts) == 3 else f"{month} {parts[0]}"


def _methods(trials: Any) -> dict[str, str]:
    """search_id -> method."""
    s = trials.searches
    return dict(zip(s["search_id"].astype(str), s["method"].astype(str), strict=True))


def _record_methods(trials: Any) -> list[set[str]]:
    methods = _methods(trials)
    return [{methods[i] for i in _ids(v) if i in methods} for v in trials.screening["search_ids"]]


def screening_counts(trials: Any) -> dict[str, int]:
    """Records by decision: ``screened`` (all), ``included``, ``excluded``, ``ongoing``,
    ``terminated``, ``awaiting`` (awaiting classification)."""
    d = trials.screening["decision"].astype(str)
    return {
        "screened": len(d),
        "included": int((d == "included").sum()),
        "excluded": int((d == "excluded").sum()),
        "ongoing": int((d == "ongoing").sum()),
        "terminated": int((d == "terminated").sum()),
        "awaiting": int((d == "awaiting classification").sum()),
    }


def prisma_counts(trials: Any) -> dict[str, Any]:
    """The PRISMA 2020 counts of the screening record (see the module docstring).

    Returns a dict with the keys of :func:`analysis.plots.prisma_flow` plus ``identified``
    (method -> records), ``exclusion_reasons`` (reason -> reports excluded), ``ongoing``
    (ongoing + terminated) and ``awaiting``.
    """
    scr = trials.screening
    methods = _record_methods(trials)
    present = [m for m in METHOD_LABELS if m in set(trials.searches["method"].astype(str))]
    identified = {m: sum(m in ms for ms in methods) for m in present}
    stage = scr["stage"].astype(str)
    decision = scr["decision"].astype(str)
    excl_records = int(((decision == "excluded") & (stage == "records")).sum())
    rep_excl = scr.loc[(decision == "excluded") & (stage == "reports")]
    reasons: dict[str, int] = {}
    for r in rep_excl["reason"].astype(str):
        key = r.split(":")[0].strip()
        reasons[key] = reasons.get(key, 0) + 1
    screened = len(scr)
    sought = screened - excl_records
    c = screening_counts(trials)
    return {
        "identified": identified,
        "records_databases": identified.get("database", 0),
        "records_registers": identified.get("register", 0),
        "duplicates_removed": sum(identified.values()) - screened,
        "automation_excluded": 0,
        "other_removed": 0,
        "records_screened": screened,
        "records_excluded": excl_records,
        "reports_sought": sought,
        "reports_not_retrieved": 0,
        "reports_assessed": sought,
        "reports_excluded": len(rep_excl),
        "exclusion_reasons": reasons,
        "studies_included": c["included"],
        "reports_included": "not recorded",
        "ongoing": c["ongoing"] + c["terminated"],
        "awaiting": c["awaiting"],
    }


def prisma_arguments(trials: Any) -> dict[str, Any]:
    """Keyword arguments of :func:`analysis.plots.prisma_flow` for the screening record: the
    counts, the sources by method (named with their searches), the exclusion reasons and the
    ongoing/terminated and awaiting-classification studies."""
    c = prisma_counts(trials)
    s = trials.searches
    sources = {}
    for m, n in c["identified"].items():
        names = [str(x) for x in s.loc[s["method"].astype(str) == m, "source"]]
        label = METHOD_LABELS[m] + (f": {names[0]}" if len(names) == 1 else "")
        if len(names) > 1:
            label += " (" + count_text(len(names), "search", "searches") + ")"
        sources[label] = n
    other = {
        "Ongoing or terminated studies": c["ongoing"],
        "Studies awaiting classification": c["awaiting"],
    }
    counts = {k: v for k, v in c.items() if k not in ("identified", "exclusion_reasons")}
    return {"counts": counts, "sources": sources, "exclusion_reasons": c["exclusion_reasons"],
            "other_studies": other}  # fmt: skip


def _names(trials: Any, value: Any) -> str:
    studies = trials.studies.set_index("study_id")
    out = []
    for sid in _ids(value):
        name = studies["trial_name"].get(sid) if sid in studies.index else None
        out.append(study_label(sid) + (f" ({name})" if isinstance(name, str) and name else ""))
    return ", ".join(out) if out else "none"


def search_table(trials: Any) -> pd.DataFrame:
    """One row per search: source, method, searched to, scope, records found (or why not
    known) and the trials it first brought into the review."""
    s = trials.searches
    found = [
        str(int(n)) if pd.notna(n) else (note or "not known")
        for n, note in zip(s["records_found"], s["records_note"].fillna(""), strict=True)
    ]
    when = [
        date_text(d) if pd.notna(d) else f"not known: {note}"
        for d, note in zip(s["date"], s["date_note"].fillna(""), strict=True)
    ]
    return pd.DataFrame({
        "Source": s["source"].to_numpy(),
        "Method": [METHOD_LABELS[m] for m in s["method"]],
        "Searched to": when,
        "Scope": s["scope"].to_numpy(),
        "Records found": found,
        "New inclusions": [_names(trials, v) for v in s["new_inclusions"]],
    }).reset_index(drop=True)  # fmt: skip


def _table(trials: Any, decisions: tuple[str, ...], reason_title: str) -> pd.DataFrame:
    scr = trials.screening
    sel = scr.loc[scr["decision"].astype(str).isin(decisions)]
    sources = dict(zip(trials.searches["search_id"], trials.searches["source"], strict=True))
    return pd.DataFrame({
        "Study": sel["citation"].to_numpy(),
        "Decision": sel["decision"].to_numpy(),
        reason_title: sel["reason"].to_numpy(),
        "Assessed on": sel["assessed_on"].to_numpy(),
        "Found through": ["; ".join(sources.get(i, i) for i in _ids(v))
                          for v in sel["search_ids"]],
    }).reset_index(drop=True)  # fmt: skip


def excluded_table(trials: Any) -> pd.DataFrame:
    """Every excluded study with the reason, what the decision rested on and where it was
    found."""
    return _table(trials, ("excluded",), "Reason for exclusion")


def ongoing_table(trials: Any) -> pd.DataFrame:
    """Ongoing and terminated studies (listed without data)."""
    return _table(trials, ("ongoing", "terminated"), "Status")


def awaiting_classification_table(trials: Any) -> pd.DataFrame:
    """Studies awaiting classification, with what is missing to classify them."""
    return _table(trials, ("awaiting classification",), "Why not yet classified")


def searched_to_text(trials: Any) -> str:
    """Per source, what was searched and up to when (``; ``-separated), e.g.
    ``"Metapsy depression-psyctr database: to 1 January 2024; ..."``; sources without a known
    date say so."""
    s = trials.searches
    parts = []
    for src, d in zip(s["source"], s["date"], strict=True):
        when = f"to {date_text(d)}" if pd.notna(d) else "search date not known"
        if pd.notna(d) and len(str(d)) == 7:
            when = f"in {date_text(d)}"
        parts.append(f"{src} ({when})")
    return "; ".join(parts)
