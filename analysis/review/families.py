"""Therapy families and TRD definitions for the modality and definition pages.

Pure helpers on top of :func:`analysis.review.meta_analysis`:

* :data:`FAMILIES` groups the ``modality`` codes of ``studies.csv`` into the six families of the
  book's "Psychotherapies" part.
* Multi-arm trials carry the code of their first psychotherapy arm only (``Michalak2015`` is
  coded MBCT but also has a group CBASP arm; ``Kocsis2009`` is CBASP with a brief supportive
  psychotherapy arm). :func:`comparison_therapy` therefore assigns each *comparison* to the
  therapy it names, and :func:`family_analysis` pools only the comparisons of the requested
  therapies (re-pooled with the same model as the main analysis).
* :func:`definition_table`, :func:`definition_counts` and :func:`definition_comparison` summarise
  how the trials defined treatment resistance and how the pooled result changes with the
  definition (:data:`analysis.selection.TRD_DEFINITIONS`).
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from analysis.evidence.selection import TRD_DEFINITIONS
from analysis.review.analyses import MetaAnalysis, meta_analysis, study_label
from analysis.review.records import result_record
from analysis.review.text import describe, fmt_number
from analysis.stats.pooling import pool

#: family slug -> (title, modality codes); order = order of the book's pages.
FAMILIES: dict[str, tuple[str, tuple[str, ...]]] = {
    "cbt": ("CBT, cognitive therapy, behavioural activation", ("CBT", "CT", "BA")),
    "cbasp": ("CBASP", ("CBASP",)),
    "third-wave": ("Mindfulness-, acceptance- and compassion-based", ("MBCT", "DBT", "CFT")),
    "ipt": ("Interpersonal psychotherapy", ("IPT", "IPT+OT")),
    "psychodynamic": ("Psychodynamic (ISTDP, LTPP)", ("ISTDP", "LTPP")),
    "other": ("Other approaches", ("BODY", "TF-CBT", "other")),
}

#: words in a comparison or arm description that name a therapy code.
_ALIASES: dict[str, str] = {
    "IPT+OT": "IPT+OT",
    "TF-CBT": "TF-CBT",
    "trauma-focused CBT": "TF-CBT",
    "CBASP": "CBASP",
    "MBCT": "MBCT",
    "ISTDP": "ISTDP",
    "LTPP": "LTPP",
    "DBT": "DBT",
    "CFT": "CFT",
    "IPT": "IPT",
    "CBT": "CBT",
    "BSP": "other",
    "brief supportive psychotherapy": "other",
    "body psychotherapy": "BODY",
}


def _named_codes(text: object) -> list[str]:
    """Therapy codes named in ``text``, in order of appearance (longest alias wins)."""
    s = "" if text is None or (isinstance(text, float) and math.isnan(text)) else str(text)
    if s == "<NA>":
        return []
    found: list[tuple[int, str]] = []
    taken: list[tuple[int, int]] = []
    for alias in sorted(_ALIASES, key=len, reverse=True):
        pattern = r"(?<![A-Za-z-])" + re.escape(alias) + r"(?![A-Za-z])"
        for m in re.finditer(pattern, s, flags=re.IGNORECASE):
            if any(a < m.end() and m.start() < b for a, b in taken):
                continue
            taken.append((m.start(), m.end()))
            found.append((m.start(), _ALIASES[alias]))
    return [code for _, code in sorted(found)]


def comparison_therapy(comparison: str, modality: str) -> str:
    """The therapy code of one comparison: the first code its text names, else ``modality``.

    >>> comparison_therapy("group CBASP+TAU vs TAU", "MBCT")
    'CBASP'
    >>> comparison_therapy("body psychotherapy vs waiting group", "BODY")
    'BODY'
    """
    codes = _named_codes(comparison)
    return codes[0] if codes else str(modality)


def family_of(code: str) -> str:
    """The family slug of a modality code (``"other"`` if unknown)."""
    for slug, (_, codes) in FAMILIES.items():
        if code in codes:
            return slug
    return "other"


def in_family(studies: pd.DataFrame, codes: Sequence[str]) -> pd.Series:
    """Trials with a psychotherapy arm of one of ``codes``: their ``modality`` or any arm named
    in ``modality_detail`` (e.g. the group CBASP arm of Michalak2015)."""
    codes = set(codes)
    main = studies["modality"].astype("string").isin(list(codes)).fillna(False)
    detail = studies["modality_detail"].map(lambda d: bool(set(_named_codes(d)) & codes))
    return (main | detail.astype(bool)).astype(bool)


def restrict(ma: MetaAnalysis, keep: pd.Series | np.ndarray) -> MetaAnalysis:
    """``ma`` with only the comparisons in ``keep`` (boolean, aligned with ``ma.table``),
    re-pooled with the same model; trials that lose all comparisons are not listed as awaiting."""
    keep = np.asarray(keep, dtype=bool)
    table = ma.table.loc[keep].reset_index(drop=True)
    result = None
    if len(table):
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*one study.*")
            result = pool(table["yi"], table["vi"], method=ma.method, hksj=ma.hksj)
        table["weight"] = np.asarray(result.weights, dtype=float)
    return replace(ma, table=table, result=result)


def family_analysis(
    trials: Any,
    codes: Sequence[str],
    outcome: str = "depressive_symptoms",
    measure: str = "SMD",
    **kwargs: Any,
) -> MetaAnalysis:
    """:func:`~analysis.review.meta_analysis` of the comparisons of the therapies ``codes``.

    Trials are selected with :func:`in_family`; comparisons are kept when
    :func:`comparison_therapy` is one of ``codes``. Other keyword arguments go to
    ``meta_analysis`` (``where`` is combined with the family filter).
    """
    where = kwargs.pop("where", None)

    def sel(s: pd.DataFrame) -> pd.Series:
        mask = in_family(s, codes)
        return mask & where(s).fillna(False).astype(bool) if where is not None else mask

    ma = meta_analysis(trials, outcome, measure, where=sel, **kwargs)
    if not len(ma.table):
        return ma
    therapy = [
        comparison_therapy(c, m)
        for c, m in zip(ma.table["comparison"], ma.table["modality"], strict=True)
    ]
    ma = restrict(ma, pd.Series(therapy).isin(list(codes)).to_numpy())
    table = ma.table.assign(therapy=[t for t in therapy if t in set(codes)])
    return replace(ma, table=table)


def awaiting_text(ma: MetaAnalysis, studies: pd.DataFrame | None = None) -> str:
    """Comma-separated list of the trials of ``ma`` awaiting data (with the reason)."""
    if not len(ma.awaiting):
        return "none"
    parts = [
        f"{study_label(s)} ({r})"
        for s, r in zip(ma.awaiting["study_id"], ma.awaiting["reason"], strict=True)
    ]
    return "; ".join(parts)


def effect_text(ma: MetaAnalysis, none: str = "no trial has usable data yet") -> str:
    """One sentence fragment for the pooled or single-trial effect of ``ma``.

    k = 0: ``none`` plus the trials awaiting data; k = 1: the single trial's effect and name;
    k >= 2: the pooled effect with k, participants and I².
    """
    if ma.result is None:
        waiting = awaiting_text(ma)
        return none + ("" if waiting == "none" else f" (awaiting: {waiting})")
    rec = result_record("x", ma.result, measure=ma.measure, label="", outcome=ma.outcome,
                        participants=ma.participants or None)  # fmt: skip
    d = describe(rec)
    if ma.k == 1:
        return f"{d['']} from a single trial ({ma.table['label'].iloc[0]})"
    full = d["full"]
    if (ma.table["input"] == "precomputed").any() and rec["participants"]:
        # published comparison-level estimates carry no arm sizes in the analysis table
        full = full.replace(" participants;", " participants in trials with arm-level data;")
    return f"{full}; {d['pi']}"


def nnt_from_counts(e1: float, n1: float, e2: float, n2: float) -> tuple[float, float, float]:
    """NNT (benefit, for a desirable event) = 1 / risk difference, with the 95% CI from the
    Wald interval of the risk difference (bounds ``inf`` when that interval includes 0)."""
    p1, p2 = e1 / n1, e2 / n2
    rd = p1 - p2
    se = math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    lo, hi = rd - 1.959963984540054 * se, rd + 1.959963984540054 * se
    inv = lambda x: math.inf if x <= 0 else 1 / x  # noqa: E731
    return inv(rd), inv(hi), inv(lo) if lo > 0 else math.inf


def family_summary(trials: Any) -> pd.DataFrame:
    """One row per family: trials (any design), trials and comparisons pooled in the main
    analysis of depressive symptoms, participants and the SMD with its 95% CI."""
    s = trials.studies
    rows = []
    for title, codes in FAMILIES.values():
        ma = family_analysis(trials, codes)
        if ma.result is None:
            effect = "no usable data yet"
        else:
            r = ma.result
            effect = f"{fmt_number(r.estimate)} [{fmt_number(r.ci_low)}, {fmt_number(r.ci_high)}]"
            if ma.k == 1:
                effect += " (single trial)"
        rows.append({
            "Family": title,
            "Trials (any design)": int(in_family(s, codes).sum()),
            "Trials pooled": len(ma.studies),
            "Comparisons pooled": ma.k,
            "Participants analysed": ma.participants,
            "SMD [95% CI]": effect,
        })  # fmt: skip
    return pd.DataFrame(rows)


def family_forest_frame(trials: Any) -> pd.DataFrame:
    """The main-analysis comparisons with a ``family`` column (for a grouped forest plot)."""
    frames = []
    for title, codes in FAMILIES.values():
        ma = family_analysis(trials, codes)
        if len(ma.table):
            frames.append(ma.table.assign(family=title))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


# ----------------------------------------------------------------------- TRD definitions
def _short(text: object, width: int = 120) -> str:
    s = "" if pd.isna(text) else " ".join(str(text).split())
    return s if len(s) <= width else s[: width - 1].rstrip() + "…"


def definition_table(studies: pd.DataFrame, width: int = 120) -> pd.DataFrame:
    """How each trial defined TRD, sorted by failed antidepressants required (most first, not
    stated last) then year; definitions shortened to ``width`` characters."""
    s = studies.copy()
    s["_m"] = pd.to_numeric(s["min_failed_ad"], errors="coerce")
    s = s.sort_values(["_m", "year"], ascending=[False, True], na_position="last")
    return pd.DataFrame({
        "Trial": [study_label(x) for x in s["study_id"]],
        "Failed antidepressants required": [
            "not stated" if pd.isna(m) else str(int(m)) for m in s["_m"]],
        "Failed psychotherapy required": s["prior_psychotherapy_failure"].fillna("unclear"),
        "Chronic depression required": s["chronic_required"].fillna("unclear"),
        "Definition (shortened)": [_short(t, width) for t in s["trd_definition"]],
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
            smd = f"{fmt_number(r.estimate)} [{fmt_number(r.ci_low)}, {fmt_number(r.ci_high)}]"
            pi = ("not estimable (k < 3)" if not np.isfinite(r.pi_low)
                  else f"{fmt_number(r.pi_low)} to {fmt_number(r.pi_high)}")  # fmt: skip
            est, lo, hi = r.estimate, r.ci_low, r.ci_high
        rows.append({"Definition": name, "Description": desc, "k": ma.k,
                     "Participants": ma.participants, "SMD [95% CI]": smd,
                     "Prediction interval": pi, "est": est, "lo": lo, "hi": hi})  # fmt: skip
    return pd.DataFrame(rows)


def contribution_text(ma: MetaAnalysis, study_id: str) -> str:
    """Whether ``study_id`` contributes to ``ma``, and if not, why (from the data)."""
    if study_id in ma.studies:
        return "contributes to this estimate"
    row = ma.awaiting.loc[ma.awaiting["study_id"] == study_id]
    why = row["reason"].iloc[0] if len(row) else "it is not part of this analysis"
    return f"does not contribute to this estimate ({why})"


def outside_main_text(studies: pd.DataFrame, codes: Sequence[str]) -> str:
    """The trials of a family that are outside the main analysis, with the reason and their
    data status (``"none"`` if every trial is in the main analysis)."""
    s = studies.loc[in_family(studies, codes)]
    s = s.loc[~s["main_analysis"].astype("string").eq("yes").fillna(False)]
    if not len(s):
        return "none"
    return "; ".join(
        f"{study_label(sid)} ({reason}; data status: {status})"
        for sid, reason, status in zip(
            s["study_id"], s["main_analysis_reason"], s["data_status"], strict=True)
    )  # fmt: skip


def forest_or_note(ma: MetaAnalysis, **kwargs: Any):
    """A forest plot of ``ma``, or (no usable data) a small figure saying so, so that a page's
    glued figure always exists."""
    if ma.k >= 1:
        return ma.forest(**kwargs)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 1.2))
    ax.axis("off")
    ax.text(0.5, 0.5, "No trial with usable data yet", ha="center", va="center")
    fig.alt_text = "Placeholder: no trial has usable data for this forest plot yet."
    return fig


def nnt_text(e1: float, n1: float, e2: float, n2: float) -> str:
    """``"NNT 4 (95% CI 3 to 9)"`` from arm counts (:func:`nnt_from_counts`, rounded up as is
    usual for NNTs); an infinite bound (CI of the risk difference includes 0) is stated."""
    nnt, lo, hi = nnt_from_counts(e1, n1, e2, n2)
    if not math.isfinite(nnt):
        return "NNT not estimable (no difference in risk)"
    up = lambda x: str(math.ceil(x - 1e-9)) if math.isfinite(x) else "infinity"  # noqa: E731
    return f"NNT {up(nnt)} (95% CI {up(lo)} to {up(hi)})"
