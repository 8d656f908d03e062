"""Characteristics of included studies (Cochrane style), generated from ``data/``.

One row per trial with screening decision ``included`` (``screening.csv``): design, population
and TRD definition, therapy and sessions, comparator, outcomes in the database, and where the
data come from. Nothing here is typed: every cell is assembled from ``studies.csv``,
``outcomes.csv`` (including the rows generated from participant-level datasets) and
``screening.csv``.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from analysis.review.text import study_label

__all__ = ["DESIGNS", "characteristics_table", "data_sources", "outcomes_text"]

#: Reader wording of the ``design`` codes of ``studies.csv``.
DESIGNS: dict[str, str] = {
    "add-on": "psychotherapy added to usual care, vs usual care or an inactive control",
    "switch": "psychotherapy vs medication (switch or augmentation)",
    "active": "psychotherapy vs an active control or another psychotherapy",
}
_OUTCOMES = {"depressive_symptoms": "Depressive symptoms", "response": "Response",
             "remission": "Remission", "dropout": "Dropout"}  # fmt: skip
_TIMES = {"post": "end of treatment", "fu": "follow-up"}


def _s(x: Any) -> str:
    return "" if x is None or x is pd.NA or (isinstance(x, float) and x != x) else str(x)


def outcomes_text(outcomes: pd.DataFrame, study_id: str) -> str:
    """The outcomes the database holds for a trial: outcome, instruments and time points
    (``"Depressive symptoms: BDI-II, HAMD-17 (end of treatment); Dropout (end of
    treatment)"``), or ``"none in the database"``."""
    rows = outcomes.loc[outcomes["study_id"] == study_id]
    parts = []
    for key, label in _OUTCOMES.items():
        r = rows.loc[rows["outcome"] == key]
        if not len(r):
            continue
        inst = sorted({_s(i) for i in r["instrument"]} - {""})
        times = [_TIMES[t] for t in _TIMES if t in set(r["timepoint"])]
        text = label + (": " + ", ".join(inst) if inst else "")
        parts.append(f"{text} ({', '.join(times)})")
    return "; ".join(parts) or "none in the database"


def data_sources(outcomes: pd.DataFrame, study_id: str) -> str:
    """Where a trial's outcome rows come from, in words (kinds of source, most direct first)."""
    src = [_s(s) for s in outcomes.loc[outcomes["study_id"] == study_id, "source"]]
    kinds: list[str] = []

    def add(cond: bool, text: str) -> None:
        if cond and text not in kinds:
            kinds.append(text)

    add(any(s.startswith("data/ipd/") for s in src), "the trial's participant-level dataset")
    add(any("jmir.org" in s or "pubmed" in s.lower() or "doi.org" in s for s in src),
        "the trial report (abstract)")  # fmt: skip
    add(any("cochrane" in s.lower() for s in src), "the Cochrane 2018 review's analyses")
    add(any("Metapsy depression-psyctr" in s for s in src),
        "the Metapsy database (secondary extraction)")  # fmt: skip
    add(any("Metapsy depression-inpatients" in s for s in src),
        "the Metapsy in-patient database (secondary extraction)")  # fmt: skip
    known = ("data/ipd/", "jmir.org", "pubmed", "doi.org", "cochrane", "Metapsy")
    add(any(s and not any(k.lower() in s.lower() for k in known) for s in src),
        "other published or web sources (named in outcomes.csv)")  # fmt: skip
    return "; ".join(kinds) if kinds else "no outcome data yet"


def characteristics_table(trials: Any) -> pd.DataFrame:
    """Characteristics of the included trials, one row each, sorted by year then name."""
    scr = trials.screening
    included = set(scr.loc[scr["decision"] == "included", "study_id"].dropna())
    s = trials.studies.loc[trials.studies["study_id"].isin(included)]
    s = s.sort_values(["year", "study_id"])
    o = trials.outcomes
    rows = []
    for r in s.itertuples(index=False):
        name = study_label(r.study_id) + (f" ({r.trial_name})" if _s(r.trial_name) else "")
        doubts = _s(r.doubtful_inclusion)
        design = f"Randomised; {DESIGNS.get(r.design, r.design)}"
        if doubts:
            design += f". Flags: {doubts.replace('_', ' ')}"
        n = " vs ".join(x for x in (_s(r.n_rand_int), _s(r.n_rand_ctl)) if x) or "not reported"
        failed = "not stated" if pd.isna(r.min_failed_ad) else str(int(r.min_failed_ad))
        people = [f"TRD: {_s(r.trd_definition)}",
                  f"failed antidepressants required: {failed}",
                  f"randomised: {n}"]  # fmt: skip
        if pd.notna(r.mean_age):
            people.append(f"mean age {r.mean_age:g}")
        if pd.notna(r.pct_women):
            people.append(f"{r.pct_women:g}% women")
        if _s(r.country):
            people.append(_s(r.country))
        sessions = "sessions not reported" if pd.isna(r.sessions) else f"{int(r.sessions)} sessions"
        if pd.notna(r.weeks):
            sessions += f" over {r.weeks:g} weeks"
        therapy = f"{r.modality} ({_s(r.format)} format; {sessions}): {_s(r.modality_detail)}"
        rows.append({
            "Trial": name,
            "Design": design,
            "Participants and TRD definition": "; ".join(people),
            "Therapy and sessions": therapy,
            "Comparator": _s(r.comparator),
            "Outcomes in the database": outcomes_text(o, r.study_id),
            "Data source": f"{data_sources(o, r.study_id)} (data status: {r.data_status})",
        })  # fmt: skip
    return pd.DataFrame(rows)
