"""How the trials defined treatment resistance, and how the pooled result moves with the definition.

The definitions themselves (which trials qualify) are
:data:`analysis.evidence.selection.TRD_DEFINITIONS`, applied by
:func:`analysis.evidence.selection.trd_filter`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from analysis.evidence.selection import TRD_DEFINITION_LABELS, TRD_DEFINITIONS
from analysis.review.analyses import MetaAnalysis, meta_analysis, select_studies
from analysis.review.text import ci_text, count_text, fmt_number, study_label

__all__ = [
    "definition_analysis",
    "definition_comparison",
    "definition_counts",
    "definition_counts_text",
    "definition_table",
    "definition_trials",
]


def definition_table(studies: pd.DataFrame) -> pd.DataFrame:
    """How each trial defined TRD, sorted by failed antidepressants required (most first, not
    stated last) then year; each definition in full, as extracted (whitespace collapsed)."""
    s = studies.copy()
    s["_m"] = pd.to_numeric(s["min_failed_ad"], errors="coerce")
    s = s.sort_values(["_m", "year"], ascending=[False, True], na_position="last")
    return pd.DataFrame({
        "Trial": [study_label(x) for x in s["study_id"]],
        "Failed antidepressants required": [
            "not stated" if pd.isna(m) else str(int(m)) for m in s["_m"]],
        "Failed psychotherapy required": s["prior_psychotherapy_failure"].fillna("unclear"),
        "Chronic depression required": s["chronic_required"].fillna("unclear"),
        "Definition as extracted": [" ".join(str(t).split()) if pd.notna(t) else ""
                                    for t in s["trd_definition"]],
    }).reset_index(drop=True)  # fmt: skip


def definition_counts(studies: pd.DataFrame) -> dict[str, int]:
    """Counts of trials by their TRD rule: ``min2`` (at least two failed antidepressants
    stated), ``min1`` (exactly one), ``not_stated`` (no count stated), ``psychotherapy``
    (prior failed psychotherapy required), ``total``."""
    m = pd.to_numeric(studies["min_failed_ad"], errors="coerce")
    return {
        "total": len(studies),
        "min2": int((m >= 2).sum()),
        "min1": int((m == 1).sum()),
        "not_stated": int(m.isna().sum()),
        "psychotherapy": int(
            studies["prior_psychotherapy_failure"].astype("string").eq("yes").fillna(False).sum()
        ),
    }


def definition_counts_text(studies: pd.DataFrame) -> str:
    """The counts of :func:`definition_counts` as one sentence fragment."""
    c = definition_counts(studies)
    return (
        f"Of the {count_text(c['total'], 'trial')} in the database, "
        f"{c['min2']} required at least two failed antidepressants, "
        f"{c['min1']} required one, "
        f"{c['not_stated']} stated no operational count, and "
        f"{c['psychotherapy']} required a previously failed psychotherapy"
    )


def definition_analysis(trials: Any, definition: str) -> MetaAnalysis:
    """The main analysis of depressive symptoms (SMD) under one TRD definition."""
    return meta_analysis(trials, definition=definition)


def definition_comparison(trials: Any) -> pd.DataFrame:
    """One row per TRD definition: description, k, participants, SMD with 95% CI and
    prediction interval (numeric columns ``est, lo, hi`` kept for plotting)."""
    rows = []
    for name, desc in TRD_DEFINITIONS.items():
        ma = definition_analysis(trials, name)
        r = ma.result
        if r is None:
            smd, pi, est, lo, hi = "no usable data yet", "", np.nan, np.nan, np.nan
        else:
            smd = ci_text(r.estimate, r.ci_low, r.ci_high)
            pi = ("not estimable (k < 3)" if not np.isfinite(r.pi_low)
                  else f"{fmt_number(r.pi_low)} to {fmt_number(r.pi_high)}")  # fmt: skip
            est, lo, hi = r.estimate, r.ci_low, r.ci_high
        rows.append({"Definition": TRD_DEFINITION_LABELS[name], "Description": desc, "k": ma.k,
                     "Participants": ma.participants, "SMD [95% CI]": smd,
                     "Prediction interval": pi, "est": est, "lo": lo, "hi": hi})  # fmt: skip
    return pd.DataFrame(rows)


def definition_trials(trials: Any, definition: str) -> pd.DataFrame:
    """The trials (rows of ``studies.csv``) meeting a definition, in and out of the main
    analysis."""
    return select_studies(trials, definition=definition, main_only=False)


def explorer_table(trials: Any, definition: str) -> pd.DataFrame:
    """The trials meeting a definition (:func:`analysis.review.tables.trial_table`) with a
    "Main analysis" column."""
    from analysis.review.tables import trial_table

    qualify = definition_trials(trials, definition)
    table = trial_table(qualify)
    table["Main analysis"] = list(qualify["main_analysis"].fillna("no"))
    return table


def definition_overview(
    trials: Any, definitions: list[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """For teaching: the pooled SMD under each definition, and which trials each includes.

    Returns (one row per definition: meaning, trials selected, comparisons with data, pooled
    SMD; one row per trial with data under any definition: "yes" or "—" per definition).
    """
    rows, included = [], {}
    for d in definitions:
        ma = definition_analysis(trials, d)
        included[d] = set(ma.studies)
        r = ma.result
        if r is None:
            effect = "no trial data yet"
        elif ma.k == 1:
            effect = f"a single trial: SMD {ci_text(r.estimate, r.ci_low, r.ci_high)}"
        else:
            effect = f"SMD {ci_text(r.estimate, r.ci_low, r.ci_high)}"
        rows.append({"Definition": d, "Meaning": TRD_DEFINITIONS.get(d, "?"),
                     "Trials in selection": len(select_studies(trials, definition=d)),
                     "Comparisons with data (k)": ma.k, "Pooled SMD [95% CI]": effect})  # fmt: skip
    everyone = sorted(set().union(*included.values())) if included else []
    membership = pd.DataFrame(
        {"Trial": [study_label(s) for s in everyone],
         **{d: ["yes" if s in included[d] else "—" for s in everyone] for d in definitions}}
    )  # fmt: skip
    return pd.DataFrame(rows), membership
