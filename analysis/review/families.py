"""Psychotherapy families: the one mapping from a trial arm to its therapy and family.

Multi-arm trials carry the code of their first psychotherapy arm only in ``studies.csv``
(``Michalak2015`` is coded MBCT but also has a group CBASP arm; ``Kocsis2009`` is coded CBASP
and also has a brief supportive psychotherapy arm). Classification is therefore per
*comparison*: :func:`therapy_of` reads the therapy the comparison label names (the first code
it names; "BSP" and "brief supportive psychotherapy" are "other"), falling back to the trial's
``modality`` code, and :func:`family_of` maps that therapy to one of the :data:`FAMILIES`.
Every page, the subgroup analyses, the limitations chapter and the release history use these
functions; there is no other family mapping in the package.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from analysis.review.analyses import MetaAnalysis, meta_analysis
from analysis.review.text import ci_text, study_label

__all__ = [
    "FAMILIES",
    "Family",
    "family",
    "family_analysis",
    "family_evidence_text",
    "family_grouped_table",
    "family_of",
    "family_of_code",
    "family_summary",
    "family_table",
    "family_trials",
    "single_trial_families",
    "therapy_groups",
    "in_family",
    "outside_main_text",
    "therapy_of",
]


@dataclass(frozen=True)
class Family:
    """A family of psychotherapies.

    Attributes
    ----------
    slug
        Page name and id part (``"third-wave"``).
    title
        Title of the family's page (``"Mindfulness-, acceptance- and compassion-based"``).
    short
        Short name used in tables and sentences (``"third-wave therapies"``).
    codes
        The ``modality`` codes of ``studies.csv`` in the family.
    plain
        The family in plain words for readers who do not know the abbreviations (the landing
        page); empty means ``short``.
    """

    slug: str
    title: str
    short: str
    codes: tuple[str, ...]
    plain: str = ""

    @property
    def plain_name(self) -> str:
        """``plain``, or ``short`` when there is no plain name."""
        return self.plain or self.short


#: The six families of the book's "Psychotherapies" part, in the order of its pages.
FAMILIES: tuple[Family, ...] = (
    Family("cbt", "CBT, cognitive therapy, behavioural activation", "CBT and related",
           ("CBT", "CT", "BA"), "CBT"),
    Family("cbasp", "CBASP", "CBASP", ("CBASP",),
           "CBASP (a CBT for chronic depression)"),
    Family("third-wave", "Mindfulness-, acceptance- and compassion-based",
           "third-wave therapies", ("MBCT", "DBT", "CFT"),
           "mindfulness-based and related therapy"),
    Family("ipt", "Interpersonal psychotherapy", "IPT", ("IPT", "IPT+OT"),
           "interpersonal therapy"),
    Family("psychodynamic", "Psychodynamic (ISTDP, LTPP)", "psychodynamic therapies",
           ("ISTDP", "LTPP"), "psychodynamic therapy"),
    Family("other", "Other approaches", "other therapies", ("BODY", "TF-CBT", "other"),
           "other therapies"),
)  # fmt: skip
_BY_SLUG = {f.slug: f for f in FAMILIES}
_BY_CODE = {code: f for f in FAMILIES for code in f.codes}

#: Words in a comparison label or arm description that name a therapy code.
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


def therapy_of(comparison: str, modality: str) -> str:
    """The therapy code of one comparison: the first code its label names, else ``modality``.

    >>> therapy_of("group CBASP+TAU vs TAU", "MBCT")
    'CBASP'
    >>> therapy_of("BSP+MEDS vs MEDS", "CBASP")
    'other'
    """
    codes = _named_codes(comparison)
    return codes[0] if codes else str(modality)


def family(slug: str) -> Family:
    """The family with this slug (``KeyError`` naming the known slugs otherwise)."""
    try:
        return _BY_SLUG[slug]
    except KeyError:
        raise KeyError(f"unknown family {slug!r}; known: {', '.join(_BY_SLUG)}") from None


def family_of_code(code: str) -> Family:
    """The family of a modality code (the "other" family for an unknown code)."""
    return _BY_CODE.get(str(code), _BY_SLUG["other"])


def family_of(comparison: str, modality: str) -> Family:
    """The family of one comparison (:func:`therapy_of`, then :func:`family_of_code`)."""
    return family_of_code(therapy_of(comparison, modality))


def in_family(studies: pd.DataFrame, codes: Sequence[str]) -> pd.Series:
    """Trials with a psychotherapy arm of one of ``codes``: their ``modality`` or any arm named
    in ``modality_detail`` (e.g. the group CBASP arm of Michalak2015)."""
    wanted = set(codes)
    main = studies["modality"].astype("string").isin(list(wanted)).fillna(False)
    detail = studies["modality_detail"].map(lambda d: bool(set(_named_codes(d)) & wanted))
    return (main | detail.astype(bool)).astype(bool)


def family_analysis(
    trials: Any,
    codes: Sequence[str],
    outcome: str = "depressive_symptoms",
    measure: str = "SMD",
    **kwargs: Any,
) -> MetaAnalysis:
    """:func:`~analysis.review.analyses.meta_analysis` of the comparisons of the therapies
    ``codes``.

    Trials are selected with :func:`in_family`; comparisons are kept when :func:`therapy_of` is
    one of ``codes`` *before* shared control arms are divided, so a multi-arm trial with one arm
    in the family keeps its whole control group (Cochrane Handbook 23.3.4). Other keyword
    arguments go to ``meta_analysis`` (``where`` is combined with the family filter); the
    comparison defaults to ``"all_controls"`` (usual care or wait-list: the therapy pages show
    every inactive-control trial of a therapy, with the protocol's established instruments). The
    table gains a ``therapy`` column.
    """
    where = kwargs.pop("where", None)
    kwargs.setdefault("comparison", "all_controls")
    wanted = set(codes)

    def select(s: pd.DataFrame) -> pd.Series:
        mask = in_family(s, codes)
        return mask & where(s).fillna(False).astype(bool) if where is not None else mask

    def keep(table: pd.DataFrame) -> np.ndarray:
        return np.array([therapy_of(c, m) in wanted for c, m in
                         zip(table["comparison"], table["modality"], strict=True)], dtype=bool)

    ma = meta_analysis(trials, outcome, measure, where=select, keep_comparisons=keep, **kwargs)
    therapy = [therapy_of(c, m) for c, m in
               zip(ma.table["comparison"], ma.table["modality"], strict=True)]  # fmt: skip
    return replace(ma, table=ma.table.assign(therapy=therapy))


def family_labels(table: pd.DataFrame) -> list[str]:
    """The family short name of every comparison of an analysis table."""
    return [
        family_of(c, m).short
        for c, m in zip(table["comparison"], table["modality"], strict=True)
    ]


def family_summary(trials: Any) -> pd.DataFrame:
    """One row per family: trials (any design), trials and comparisons pooled in the main
    analysis of depressive symptoms, participants and the SMD with its 95% CI."""
    s = trials.studies
    rows = []
    for fam in FAMILIES:
        ma = family_analysis(trials, fam.codes)
        if ma.result is None:
            effect = "no usable data yet"
        else:
            r = ma.result
            effect = ci_text(r.estimate, r.ci_low, r.ci_high)
            if ma.k == 1:
                effect += " (single trial)"
        rows.append({
            "Family": fam.title,
            "Trials (any design)": int(in_family(s, fam.codes).sum()),
            "Trials pooled": len(ma.studies),
            "Comparisons pooled": ma.k,
            "Participants analysed": ma.participants,
            "SMD [95% CI]": effect,
        })  # fmt: skip
    return pd.DataFrame(rows)


def family_table(trials: Any) -> pd.DataFrame:
    """The main-analysis comparisons of every family, with a ``family`` column (family title),
    in family order: the rows of a forest plot grouped by family."""
    frames = []
    for fam in FAMILIES:
        ma = family_analysis(trials, fam.codes)
        if len(ma.table):
            frames.append(ma.table.assign(family=fam.title))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def single_trial_families(table: pd.DataFrame) -> list[str]:
    """Short names of the families represented by exactly one trial in an analysis table."""
    if not len(table):
        return []
    counts = pd.Series(list(table["study_id"]), index=family_labels(table))
    per_family = counts.groupby(level=0).nunique()
    return [f.short for f in FAMILIES if per_family.get(f.short, 0) == 1]


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


def therapy_groups(ma: MetaAnalysis) -> np.ndarray | None:
    """The ``therapy`` column of a family analysis as group labels (``None`` without data)."""
    return ma.table["therapy"].to_numpy() if ma.k else None


def family_trials(trials: Any, codes: Sequence[str]) -> pd.DataFrame:
    """The rows of ``studies.csv`` with a psychotherapy arm of one of ``codes`` (any design)."""
    return trials.studies.loc[in_family(trials.studies, codes)]


def family_evidence_text(trials: Any) -> str:
    """How much evidence each family has, in one sentence fragment per family (all inactive
    controls, established instruments): trials pooled and the SMD with its 95% CI, or that no
    trial has usable data. A family resting on one trial says so; a CI that includes no effect
    is said in words."""
    parts = []
    for fam in FAMILIES:
        ma = family_analysis(trials, fam.codes)
        r = ma.result
        if r is None:
            parts.append(f"{fam.short}: no trial with usable data")
            continue
        n = len(ma.studies)
        who = "a single trial" if n == 1 else f"{n} trials"
        crosses = " (the interval includes no effect)" if r.ci_low <= 0 <= r.ci_high else ""
        parts.append(f"{fam.short}: {who}, SMD {ci_text(r.estimate, r.ci_low, r.ci_high)}"
                     f"{crosses}")  # fmt: skip
    return "; ".join(parts)


def family_grouped_table(ma: MetaAnalysis) -> pd.DataFrame:
    """The comparisons of one analysis with a ``family`` column (family title), in family
    order: the rows of a forest plot grouped by family within that analysis (a shared control
    stays divided as in the analysis, unlike :func:`family_table`)."""
    if not len(ma.table):
        return ma.table.assign(family=[])
    titles = [family_of(c, m).title for c, m in
              zip(ma.table["comparison"], ma.table["modality"], strict=True)]  # fmt: skip
    order = {f.title: i for i, f in enumerate(FAMILIES)}
    out = ma.table.assign(family=titles, _o=[order[t] for t in titles])
    return out.sort_values("_o", kind="stable").drop(columns="_o").reset_index(drop=True)
