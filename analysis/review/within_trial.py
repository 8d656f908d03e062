"""Within-trial subgroups computed from a participant-level dataset (not randomised comparisons).

A public participant-level dataset (:mod:`analysis.evidence.ipd`) allows what no published
summary allows: one trial's result restricted to participants with a baseline characteristic,
here the number of antidepressant trials that had failed before entry. Such a result is **a
subgroup of one randomised trial, not a randomised comparison**: randomisation was not
stratified by the characteristic, so the two arms of the subgroup can differ in other ways, and
the subgroup is small. Every text and table this module returns says so.

The effect is computed exactly as for a trial in the main analysis: observed-case n, mean and SD
per arm at the end of treatment (:func:`analysis.evidence.ipd.arm_summary`), then Hedges' g (or
the mean difference) with its 95% Wald confidence interval (:func:`analysis.effect_size`);
nothing is pooled.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from analysis.evidence.ipd import IpdDataset, arm_summary
from analysis.evidence.selection import NONSTANDARD
from analysis.review.records import Estimate
from analysis.review.text import fmt_number, study_label
from analysis.stats.effects import effect_size

__all__ = [
    "MIN2_ID",
    "NOT_RANDOMISED",
    "SUBGROUPS",
    "SingleTrialEffect",
    "subgroup_effect",
    "subgroup_estimate",
    "subgroup_summary",
    "subgroup_table",
    "subgroup_text",
    "within_trial_note",
]

#: The label every within-trial subgroup carries.
NOT_RANDOMISED = "a subgroup of one randomised trial, not a randomised comparison"
_Z = 1.959963984540054

#: Catalogued within-trial subgroups: result id -> (study id, subgroup of its mapping).
SUBGROUPS: dict[str, tuple[str, str]] = {
    "symptoms.smd.withintrial.Heshmati2023.min2": ("Heshmati2023", "min2"),
}


@dataclass(frozen=True)
class SingleTrialEffect:
    """One trial's effect with its Wald 95% CI, shaped like a pooled result (``k = 1``, no
    heterogeneity, no prediction interval) so that it can be published under a result id."""

    estimate: float
    ci_low: float
    ci_high: float
    se: float
    p: float
    k: int = 1
    method: str = "single trial, not pooled"
    hksj: bool = False
    tau2: float = math.nan
    i2: float = math.nan
    pi_low: float = math.nan
    pi_high: float = math.nan


def _dataset(trials: Any, study_id: str) -> IpdDataset:
    try:
        return trials.ipd[study_id]
    except KeyError:
        raise KeyError(f"{study_id} has no participant-level dataset in data/ipd") from None


def _outcome(ds: IpdDataset) -> dict[str, Any]:
    """The mapping's continuous outcome and its end-of-treatment time value."""
    spec = ds.mapping.spec
    out = next(o for o in spec["outcomes"] if o["outcome"] == "depressive_symptoms")
    post = next(t for t in spec["timepoints"] if t["timepoint"] == "post")
    detail = str(out.get("instrument_detail") or out["instrument"]).split(" (")[0]
    return {"variable": out["variable"], "instrument": out["instrument"], "time": post["value"],
            "name": detail}  # fmt: skip


def _arm_names(ds: IpdDataset) -> tuple[str, str]:
    """Reader names of the two arms (``arm.labels`` of the mapping, else the values)."""
    arm = ds.mapping.spec["arm"]
    labels = arm.get("labels") or {}
    return (str(labels.get("intervention", arm["intervention"])),
            str(labels.get("control", arm["control"])))  # fmt: skip


def subgroup_summary(trials: Any, study_id: str, subgroup: str | None) -> pd.DataFrame:
    """Observed-case n, mean and SD per arm at the end of treatment, for a subgroup declared in
    the trial's mapping (``None`` = every participant)."""
    ds = _dataset(trials, study_id)
    o = _outcome(ds)
    return arm_summary(ds, o["variable"], o["time"], subgroup)


def subgroup_effect(
    trials: Any, study_id: str, subgroup: str | None, measure: str = "SMD"
) -> SingleTrialEffect:
    """Psychotherapy minus control (negative favours psychotherapy on a lower-is-better scale)
    as Hedges' g (``"SMD"``) or mean difference (``"MD"``), with its Wald 95% CI."""
    s = subgroup_summary(trials, study_id, subgroup)
    i, c = s.loc["intervention"], s.loc["control"]
    es = effect_size(measure, m1=[i["mean"]], sd1=[i["sd"]], n1=[i["n"]],
                     m2=[c["mean"]], sd2=[c["sd"]], n2=[c["n"]])  # fmt: skip
    y, v = float(es.yi[0]), float(es.vi[0])
    se = math.sqrt(v)
    p = math.erfc(abs(y / se) / math.sqrt(2))
    return SingleTrialEffect(estimate=y, ci_low=y - _Z * se, ci_high=y + _Z * se, se=se, p=p)


def subgroup_estimate(trials: Any, result_id: str) -> Estimate:
    """The published :class:`Estimate` of a catalogued within-trial subgroup id."""
    from analysis.review.catalogue import label

    study_id, subgroup = SUBGROUPS[result_id]
    s = subgroup_summary(trials, study_id, subgroup)
    return Estimate(
        result_id=result_id, label=label(result_id), outcome="depressive_symptoms",
        measure="SMD", result=subgroup_effect(trials, study_id, subgroup),
        participants=int(s["n"].sum()), studies=(study_id,),
    )  # fmt: skip


def _heading(name: str) -> str:
    """``"the wait-list"`` -> ``"Wait-list"`` (a column heading)."""
    name = name.removeprefix("the ")
    return name[:1].upper() + name[1:]


def _arm_text(row: pd.Series) -> str:
    return f"{fmt_number(row['mean'])} (SD {fmt_number(row['sd'])}, n = {int(row['n'])})"


def _effect_text(e: SingleTrialEffect, measure: str) -> str:
    return (f"{measure} {fmt_number(e.estimate)} (95% CI {fmt_number(e.ci_low)} to "
            f"{fmt_number(e.ci_high)})")  # fmt: skip


def subgroup_table(trials: Any, study_id: str) -> pd.DataFrame:
    """Every participant and each subgroup of the trial's mapping: arm means at the end of
    treatment, mean difference and Hedges' g with 95% CIs, and what kind of comparison it is."""
    ds = _dataset(trials, study_id)
    a, c = (_heading(x) for x in _arm_names(ds))
    groups: list[tuple[str | None, str]] = [(None, "all participants (randomised comparison)")]
    for name, sg in (ds.mapping.spec.get("subgroups") or {}).items():
        groups.append((name, f"{sg['label']} ({NOT_RANDOMISED})"))
    rows = []
    for name, label in groups:
        s = subgroup_summary(trials, study_id, name)
        rows.append({
            "Participants": label,
            f"{a}: mean (SD, n)": _arm_text(s.loc["intervention"]),
            f"{c}: mean (SD, n)": _arm_text(s.loc["control"]),
            "MD [95% CI]": _effect_text(subgroup_effect(trials, study_id, name, "MD"), "MD"),
            "SMD [95% CI]": _effect_text(subgroup_effect(trials, study_id, name), "SMD"),
        })  # fmt: skip
    return pd.DataFrame(rows)


#: The within-trial subgroup shown wherever the book discusses the two-failures definition.
MIN2_ID = "symptoms.smd.withintrial.Heshmati2023.min2"


def subgroup_text(trials: Any, result_id: str = MIN2_ID) -> str:
    """One sentence on a within-trial subgroup, with its label and its caveats."""
    study_id, subgroup = SUBGROUPS[result_id]
    ds = _dataset(trials, study_id)
    sg = ds.mapping.spec["subgroups"][subgroup]
    o = _outcome(ds)
    s = subgroup_summary(trials, study_id, subgroup)
    a, c = _arm_names(ds)
    smd = subgroup_effect(trials, study_id, subgroup)
    scale = f"the {o['name']} ({o['instrument']})"
    if o["instrument"] in NONSTANDARD:
        scale += ", which is not an established depression-severity instrument"
    return (
        f"In {study_label(study_id)}, among the {sg['label']}, the end-of-treatment score was "
        f"{_arm_text(s.loc['intervention'])} with {a} and {_arm_text(s.loc['control'])} with "
        f"{c} (observed cases; {_effect_text(smd, 'SMD')}; negative favours {a}). This is "
        f"{NOT_RANDOMISED}: computed from the trial's participant-level dataset, on {scale}"
    )


#: The within-trial subgroup that corresponds to each TRD definition of
#: :data:`analysis.evidence.selection.TRD_DEFINITIONS`, where one exists.
DEFINITION_SUBGROUPS: dict[str, str] = {"min2": MIN2_ID}


def within_trial_note(trials: Any, definition: str) -> str:
    """What participant-level data add under a TRD definition: the within-trial subgroup
    (:func:`subgroup_text` with its estimate) where one corresponds to the definition, else a
    sentence saying that none does and which trials have participant-level data."""
    if definition in DEFINITION_SUBGROUPS:
        return subgroup_text(trials, DEFINITION_SUBGROUPS[definition]) + "."
    with_ipd = sorted(getattr(trials, "ipd", {}) or {})
    if not with_ipd:
        return "No trial in the database has participant-level data."
    names = " and ".join(study_label(s) for s in with_ipd)
    return (
        f"No within-trial subgroup corresponds to this definition. Participant-level data are "
        f"available for {names}; they are used to show the trial's participants who had failed "
        f"at least two antidepressants, on the page for that definition"
    ) + "."
