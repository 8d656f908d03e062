"""Reader-facing tables built from the database and from analyses.

Each function returns a pandas DataFrame with plain column names and a fresh ``RangeIndex``
(the book shows tables without their index); cells are strings or integers ready to print.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from analysis.review.analyses import MetaAnalysis
from analysis.review.text import ci_text, short_reason, study_label

__all__ = [
    "analysis_table",
    "arm_level_table",
    "awaiting_table",
    "not_complete_table",
    "trial_table",
]


def _trial_name(study_id: str, name: Any) -> str:
    return study_label(study_id) + (f" ({name})" if isinstance(name, str) and name else "")


def trial_table(studies: pd.DataFrame) -> pd.DataFrame:
    """One row per trial of ``studies`` (rows of ``studies.csv``): name, country, therapy,
    format, design, comparator, randomised numbers and data status."""
    s = studies

    def n_text(a: Any, b: Any) -> str:
        a = "" if pd.isna(a) else str(a)
        b = "" if pd.isna(b) else str(b)
        return f"{a} vs {b}" if a or b else "not reported"

    return pd.DataFrame({
        "Trial": [_trial_name(x, n) for x, n in
                  zip(s["study_id"], s["trial_name"].fillna(""), strict=True)],
        "Country": s["country"].fillna("not reported"),
        "Therapy": s["modality"],
        "Format": s["format"].fillna("not reported"),
        "Design": s["design"],
        "Comparator": s["comparator"].fillna(""),
        "Randomised (therapy vs control)": [n_text(a, b) for a, b in
                                            zip(s["n_rand_int"], s["n_rand_ctl"], strict=True)],
        "Data": s["data_status"],
    }).reset_index(drop=True)  # fmt: skip


def analysis_table(ma: MetaAnalysis) -> pd.DataFrame:
    """The comparisons of an analysis: study, comparison, instrument, who was analysed
    (``population``), n (participants counted; "not reported" when no source states them),
    effect with 95% CI (ratios exponentiated) and weight."""
    if not len(ma.table):
        return pd.DataFrame(columns=["Study", "Comparison", "Instrument", "n", "Effect"])
    t = ma.table
    tr = np.exp if ma.is_ratio else (lambda x: x)
    effect = [
        ci_text(tr(y), tr(lo), tr(hi))
        for y, lo, hi in zip(t["yi"], t["ci_low"], t["ci_high"], strict=True)
    ]
    population = (t["population"].replace({"itt": "intention to treat", "": "not reported"})
                  if "population" in t else pd.Series(["not reported"] * len(t)))  # fmt: skip
    return pd.DataFrame({
        "Study": t["label"],
        "Comparison": t["comparison"],
        "Instrument": t["instrument"].replace("", "—"),
        "Analysed": population.to_numpy(),
        "n": [str(int(n)) if n > 0 else "not reported" for n in t["participants"]],
        f"{ma.measure} [95% CI]": effect,
        "Weight (%)": [f"{w:.1f}" for w in t["weight"]],
    })  # fmt: skip


def not_complete_table(studies: pd.DataFrame) -> pd.DataFrame:
    """Every trial whose ``data_status`` is not ``complete``, with why it is not (fully) pooled."""
    s = studies.loc[studies["data_status"].fillna("") != "complete"]
    why = []
    for main, reason, note in zip(s["main_analysis"], s["main_analysis_reason"], s["notes"],
                                  strict=True):  # fmt: skip
        parts = []
        if str(main) != "yes":
            parts.append(f"Not in the main analysis: {reason}.")
        parts.append(short_reason(note))
        why.append(" ".join(p for p in parts if p))
    return pd.DataFrame({
        "Trial": [_trial_name(x, n) for x, n in
                  zip(s["study_id"], s["trial_name"].fillna(""), strict=True)],
        "Therapy": s["modality"].to_numpy(),
        "Data status": s["data_status"].to_numpy(),
        "Main analysis": s["main_analysis"].to_numpy(),
        "Why (from the extraction notes)": why,
    }).reset_index(drop=True)  # fmt: skip


def awaiting_table(awaiting: pd.DataFrame) -> pd.DataFrame:
    """A reader-facing version of ``MetaAnalysis.awaiting``: trial, data status and reason."""
    if not len(awaiting):
        return pd.DataFrame(columns=["Trial", "Data status", "Reason"])
    names = awaiting["trial_name"].fillna("") if "trial_name" in awaiting else [""] * len(awaiting)
    return pd.DataFrame({
        "Trial": [_trial_name(x, n) for x, n in zip(awaiting["study_id"], names, strict=True)],
        "Data status": awaiting.get("data_status", pd.Series([""] * len(awaiting))).to_numpy(),
        "Reason": awaiting["reason"].to_numpy(),
    }).reset_index(drop=True)  # fmt: skip


def arm_level_table(outcomes: pd.DataFrame, study_id: str) -> pd.DataFrame:
    """A trial's arm-level rows side by side: outcome, instrument, time, each arm's mean (SD, n)
    or events/total, the direction of the scale and any conflict flagged in the data."""
    o = outcomes.loc[(outcomes["study_id"] == study_id)
                     & outcomes["arm"].isin(["intervention", "control"])]  # fmt: skip
    rows = []
    keys = ["outcome", "instrument", "timepoint", "time_label"]
    for _, g in o.groupby(keys, sort=False, dropna=False):
        first = g.iloc[0]
        cells = {}
        for _, r in g.iterrows():
            if pd.notna(r["mean"]):
                val = f"{r['mean']:g} (SD {r['sd']:g}, n = {int(r['n'])})"
            else:
                val = f"{int(r['events'])} of {int(r['total'])}" if pd.notna(r["events"]) else "—"
            label = r["arm_label"] if isinstance(r["arm_label"], str) else r["arm"]
            cells[label] = val
        flag = first["conflict_flag"] if isinstance(first["conflict_flag"], str) else ""
        rows.append({
            "Outcome": str(first["outcome"]).replace("_", " "),
            "Instrument": first["instrument"] if isinstance(first["instrument"], str) else "—",
            "Time": first["time_label"] if isinstance(first["time_label"], str) else "",
            **cells,
            "Scale": "lower is better" if first["direction"] == "lower_better"
            else "higher is better",
            "Conflict flagged in the data": flag.split(" - ")[0] or "none",
        })  # fmt: skip
    return pd.DataFrame(rows).fillna("—")
