"""Subgroup analyses of the main analysis of depressive symptoms.

Each dimension labels every comparison of the main analysis, pools each subgroup separately
with the main analysis's model (:func:`analysis.stats.subgroups.subgroups`) and tests for
subgroup differences. Subgroup estimates are published under
``symptoms.smd.<dimension>.<group>`` (:func:`analysis.review.catalogue.subgroup_id`).

Dimensions
----------
``family``      psychotherapy family of the comparison (:func:`analysis.review.families.family_of`)
``comparator``  wait-list (the trial's ``doubtful_inclusion`` carries the protocol's wait-list
                flag) or usual care, in the all-controls analysis
``format``      individual, group, or mixed / not reported
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from analysis.evidence.protocol import Protocol
from analysis.evidence.selection import TRD_DEFINITION_LABELS
from analysis.review.analyses import MetaAnalysis
from analysis.review.catalogue import run, spec, subgroup_id
from analysis.review.families import FAMILIES, family_of
from analysis.review.protocol import control_type
from analysis.review.records import Estimate
from analysis.review.text import count_text, fmt_number, fmt_p
from analysis.stats.subgroups import SubgroupResult, subgroups

__all__ = [
    "DEFINITION_LABELS",
    "SubgroupAnalysis",
    "by_comparator",
    "by_family",
    "by_format",
    "definition_subgroups",
]

WAITLIST = "wait-list"
USUAL_CARE = "usual care"
MIXED = "mixed or not reported"
#: Definitions compared on the subgroups page (overlapping sets, no test).
DEFINITION_LABELS: dict[str, str] = {
    d: TRD_DEFINITION_LABELS[d] for d in ("min1", "min2", "psychotherapy_failure")
}


@dataclass(frozen=True)
class SubgroupAnalysis:
    """One subgroup dimension of an analysis.

    Attributes
    ----------
    dimension, label
        Id part (``"family"``) and reader-facing name (``"Therapy family"``).
    table
        The analysis table with a ``subgroup`` column.
    slugs
        Subgroup label -> id part.
    result
        The fitted :class:`~analysis.stats.subgroups.SubgroupResult` (``None`` without data).
    measure
        Effect measure.
    """

    dimension: str
    label: str
    table: pd.DataFrame
    slugs: dict[str, str]
    result: SubgroupResult | None
    measure: str = "SMD"

    @property
    def groups(self) -> np.ndarray:
        """The subgroup label of each comparison."""
        return self.table["subgroup"].to_numpy()

    def estimates(self) -> list[Estimate]:
        """One estimate per subgroup, under ``symptoms.smd.<dimension>.<group>``."""
        if self.result is None:
            return []
        out = []
        for g, res in self.result.items():
            sub = self.table.loc[self.groups == g]
            out.append(Estimate(
                result_id=subgroup_id(self.dimension, self.slugs[g]),
                label=f"{self.label}: {g}", outcome="depressive_symptoms", measure=self.measure,
                result=res, participants=int(sub["participants"].sum()),
                studies=tuple(dict.fromkeys(sub["study_id"])),
            ))  # fmt: skip
        return out

    def summary_table(self) -> pd.DataFrame:
        """Subgroup, comparisons, trials, SMD (95% CI), I² and result id of each subgroup."""
        rows = []
        for est in self.estimates():
            texts = est.texts()
            rows.append({
                "Subgroup": est.label.split(": ", 1)[1], "Comparisons": int(est.result.k),
                "Trials": len(est.studies or ()),
                f"{self.measure} (95% CI)": texts[""].removeprefix(f"{self.measure} "),
                "I²": texts["i2"], "Result id": est.result_id,
            })  # fmt: skip
        return pd.DataFrame(rows)

    def test_text(self) -> str:
        """The test for subgroup differences in words."""
        if self.result is None:
            return "not estimable (no trial data yet)"
        if self.result.df_between < 1:
            return "not estimable (fewer than two subgroups)"
        r = self.result
        return f"Q = {fmt_number(r.q_between)}, df = {r.df_between}, {fmt_p(r.p_between)}"

    def small_subgroups(self, max_trials: int = 2) -> int:
        """Number of subgroups resting on ``max_trials`` trials or fewer."""
        return int(sum(len(e.studies or ()) <= max_trials for e in self.estimates()))


def _fit(ma: MetaAnalysis, dimension: str, label: str, groups: list[str],
         slugs: dict[str, str]) -> SubgroupAnalysis:  # fmt: skip
    table = ma.table.assign(subgroup=groups) if len(ma.table) else ma.table.assign(subgroup=[])
    result = None
    if len(table):
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*one study.*")
            result = subgroups(table["yi"], table["vi"], groups, method=ma.method,
                               test=ma.model_test)  # fmt: skip
    return SubgroupAnalysis(dimension, label, table, slugs, result, ma.measure)


def by_family(ma: MetaAnalysis) -> SubgroupAnalysis:
    """Subgroups by psychotherapy family (the comparison's own therapy)."""
    groups = [family_of(c, m).short for c, m in
              zip(ma.table["comparison"], ma.table["modality"], strict=True)]  # fmt: skip
    slugs = {f.short: f.slug.replace("-", "_") for f in FAMILIES}
    return _fit(ma, "family", "Therapy family", groups, slugs)


def by_comparator(ma: MetaAnalysis, studies: pd.DataFrame, proto: Protocol | None = None
                  ) -> SubgroupAnalysis:  # fmt: skip
    """Subgroups by comparator: wait-list (the protocol's wait-list flag, ``waitlist_control``)
    or usual care (:func:`analysis.review.protocol.control_type`). Run it on the all-controls
    analysis (``symptoms.smd.all_controls``): the primary analysis has usual care only."""
    if proto is None:
        from analysis.evidence.protocol import load_protocol

        proto = load_protocol()
    kind = control_type(studies, proto)
    kind.index = studies["study_id"]
    wait = ma.table["study_id"].map(kind).eq("wait-list")
    groups = [WAITLIST if w else USUAL_CARE for w in wait]
    return _fit(ma, "comparator", "Comparator", groups,
                {WAITLIST: "waitlist", USUAL_CARE: "usual_care"})  # fmt: skip


def by_format(ma: MetaAnalysis) -> SubgroupAnalysis:
    """Subgroups by format: individual, group, or mixed / not reported."""
    fmt = ma.table["format"].astype(object)
    groups = [f if f in ("individual", "group") else MIXED for f in fmt]
    return _fit(ma, "format", "Format", groups,
                {"individual": "individual", "group": "group", MIXED: "mixed_unknown"})  # fmt: skip


def definition_subgroups(trials: Any) -> tuple[pd.DataFrame, str, list[MetaAnalysis]]:
    """The main analysis restricted to stricter TRD definitions (overlapping sets, no test).

    Returns the table (definition, comparisons, trials, SMD, I², result id), one sentence per
    definition, and the analyses (in the order of :data:`DEFINITION_LABELS`).
    """
    rows, sentences, analyses = [], [], []
    for name, label in DEFINITION_LABELS.items():
        rid = f"symptoms.smd.definition.{name}"
        ma = run(trials, rid)
        analyses.append(ma)
        est = ma.estimate(rid, spec(rid).label)
        texts = est.texts()
        what = label[0].lower() + label[1:]
        smd = texts[""].removeprefix("SMD ") if ma.k else "no trial data yet"
        rows.append({"Definition": label, "Comparisons": ma.k, "Trials": len(ma.studies),
                     "SMD (95% CI)": smd, "I²": texts["i2"] if ma.k else "NA",
                     "Result id": est.result_id})  # fmt: skip
        if ma.k == 0:
            sentences.append(f"No trial with usable data met the definition '{what}'.")
        else:
            sentences.append(f"With the definition '{what}', {count_text(ma.k, 'comparison')} "
                             f"gave SMD {smd}.")  # fmt: skip
    return pd.DataFrame(rows), " ".join(sentences), analyses
