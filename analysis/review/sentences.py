"""Sentences about analyses: what the pages say, generated from the results.

Every function is pure (no glue, no file access) and returns reader-facing text; the notebooks
glue it. Numbers are formatted by :mod:`analysis.review.text`.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from analysis.review.analyses import MetaAnalysis
from analysis.review.records import result_record
from analysis.review.text import count_text, describe, percent, study_label
from analysis.stats.nnt import nnt, nnt_from_counts

__all__ = [
    "ASSUMED_CONTROL_RESPONSE_RATE",
    "awaiting_text",
    "contribution_text",
    "effect_text",
    "largest_trial_share",
    "nnt_from_counts_text",
    "nnt_from_smd_text",
    "outcome_note",
    "smd_direction",
]

#: Assumed proportion of control participants who respond, used to turn the pooled SMD into a
#: number needed to treat (Furukawa & Leucht 2011). It is an ASSUMPTION, not an estimate from
#: our data: no pooled control response rate is available (no trial gives response counts with
#: denominators). It is a round value close to the usual-care response rate printed for the
#: largest trial, CoBalT (``outcomes.csv``, Wiles2013, response, control arm: "46 (22%)" at six
#: months), and above the rate reported for the (active) control arm of Eisendrath2016
#: (15.3%). A lower control rate gives a larger NNT and vice versa.
ASSUMED_CONTROL_RESPONSE_RATE = 0.20


def awaiting_text(ma: MetaAnalysis) -> str:
    """``"; "``-separated list of the trials of ``ma`` awaiting data, each with the reason."""
    if not len(ma.awaiting):
        return "none"
    return "; ".join(
        f"{study_label(s)} ({r})"
        for s, r in zip(ma.awaiting["study_id"], ma.awaiting["reason"], strict=True)
    )


def effect_text(ma: MetaAnalysis, none: str = "no trial has usable data yet") -> str:
    """One sentence fragment for the pooled or single-trial effect of ``ma``.

    k = 0: ``none`` plus the trials awaiting data; k = 1: the single trial's effect and name;
    k >= 2: the pooled effect with k, participants and I², then the prediction interval.
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


def pi_width_text(result: Any) -> str:
    """How the prediction interval compares with the confidence interval, in words: much wider
    when the trials vary (tau^2 > 0), about as wide when tau^2 = 0 (it then differs only by
    the t quantile with one degree of freedom fewer)."""
    if result is None or not math.isfinite(getattr(result, "pi_low", math.nan)):
        return "a prediction interval needs at least three trials"
    ci = result.ci_high - result.ci_low
    pi = result.pi_high - result.pi_low
    if result.tau2 <= 0:
        return ("it is about as wide as the confidence interval, because the trials' results "
                "varied no more than chance would explain (τ² = 0)")
    return (f"it is {pi / ci:.1f} times as wide as the confidence interval of the average "
            "effect, because the trials' results varied more than chance would explain")


def contribution_text(ma: MetaAnalysis, study_id: str) -> str:
    """Whether ``study_id`` contributes to ``ma``, and if not, why (from the data)."""
    if study_id in ma.studies:
        return "contributes to this estimate"
    row = ma.awaiting.loc[ma.awaiting["study_id"] == study_id]
    why = row["reason"].iloc[0] if len(row) else "it is not part of this analysis"
    return f"does not contribute to this estimate ({why})"


def outcome_note(ma: MetaAnalysis) -> str:
    """How much evidence an outcome rests on: none, a single trial, or the number of trials."""
    if ma.k == 0:
        return "no trial has reported usable data yet"
    if ma.k == 1:
        return "from a single trial"
    return count_text(len(ma.studies), "trial")


def smd_direction(ci_low: float | None, ci_high: float | None) -> str:
    """Plain-language direction of a pooled SMD (negative favours psychotherapy) from its CI."""
    if ci_low is None or ci_high is None or not (math.isfinite(ci_low) and math.isfinite(ci_high)):
        return "no pooled estimate is available yet"
    if ci_high < 0:
        return "psychotherapy was followed by fewer depressive symptoms than the control conditions"
    if ci_low > 0:
        return "psychotherapy was followed by more depressive symptoms than the control conditions"
    return (
        "the trials do not show a clear difference in depressive symptoms between "
        "psychotherapy and the control conditions"
    )


def nnt_from_smd_text(
    smd: float | None,
    ci_low: float | None = None,
    ci_high: float | None = None,
    cer: float = ASSUMED_CONTROL_RESPONSE_RATE,
) -> str:
    """Reader-facing NNT from a pooled SMD (negative favours psychotherapy), rounded up.

    :func:`analysis.stats.nnt.nnt` (Furukawa & Leucht) at the point estimate and, with a
    confidence interval, at its limits; when the interval includes no effect, the text says
    that the NNT's interval is unbounded.
    """
    if smd is None or not math.isfinite(smd):
        return "not estimable (no pooled SMD)"
    point = nnt(smd=smd, cer=cer)
    if not math.isfinite(point):
        return "not estimable (no difference)"
    if point < 0:
        main = f"{math.ceil(abs(point))} (number needed to harm)"
    else:
        main = str(math.ceil(point))
    if ci_low is None or ci_high is None or not (math.isfinite(ci_low) and math.isfinite(ci_high)):
        return main
    if ci_low < 0 < ci_high or ci_high == 0 or ci_low == 0:
        return f"{main} (its 95% CI is unbounded because the CI of the SMD includes no effect)"
    a, b = (math.ceil(abs(nnt(smd=x, cer=cer))) for x in (ci_low, ci_high))
    lo, hi = sorted((a, b))
    return f"{main} (95% CI {lo} to {hi})"


def nnt_from_counts_text(e1: float, n1: float, e2: float, n2: float) -> str:
    """``"NNT 4 (95% CI 3 to 9)"`` from arm counts (:func:`analysis.stats.nnt.nnt_from_counts`,
    rounded up as is usual for NNTs); an infinite bound (CI of the risk difference includes 0)
    is stated."""
    point, lo, hi = nnt_from_counts(e1, n1, e2, n2)
    if not math.isfinite(point):
        return "NNT not estimable (no difference in risk)"

    def up(x: float) -> str:
        return str(math.ceil(x - 1e-9)) if math.isfinite(x) else "infinity"

    return f"NNT {up(point)} (95% CI {up(lo)} to {up(hi)})"


def largest_trial_share(table: pd.DataFrame) -> dict[str, Any]:
    """The trial with most participants in an analysis and its share of participants and weight.

    Shares are percentages of the analysis totals (all comparisons of a multi-arm trial summed).
    Comparisons entered as published effect sizes carry no participant count, so the
    participant share is of the participants *counted* in the analysis.
    """
    if not len(table) or table["participants"].sum() <= 0:
        return {"study_id": None, "label": "none", "participants_pct": math.nan,
                "weight_pct": math.nan}  # fmt: skip
    by = table.groupby("study_id")[["participants", "weight"]].sum()
    top = by["participants"].idxmax()
    return {
        "study_id": top,
        "label": study_label(top),
        "participants_pct": 100 * by.loc[top, "participants"] / by["participants"].sum(),
        "weight_pct": 100 * by.loc[top, "weight"] / by["weight"].sum(),
    }


def input_text(ma: MetaAnalysis, outcomes: pd.DataFrame) -> str:
    """How each comparison of ``ma`` entered: from arm-level data or as a published
    comparison-level estimate (with its location), with the participants analysed."""
    rows = outcomes.set_index("outcome_id")
    how = []
    for ids, kind in zip(ma.table["outcome_ids"], ma.table["input"], strict=True):
        row = rows.loc[ids.split(";")[0]]
        n = "" if pd.isna(row["n"]) else f", {int(row['n'])} participants analysed"
        how.append(f"from arm-level data{n}" if kind == "arms" else
                   f"a published comparison-level estimate ({row['location']}{n})")  # fmt: skip
    return "; ".join(how) if how else "no data"


def timepoint_text(ma: MetaAnalysis, outcomes: pd.DataFrame) -> str:
    """The week (after randomisation) at which each comparison's data are coded."""
    weeks = outcomes.set_index("outcome_id")["weeks"]
    values = [weeks.loc[i.split(";")[0]] for i in ma.table["outcome_ids"]]
    parts = [f"week {w:g} after randomisation" for w in values if pd.notna(w)]
    return "; ".join(parts) or "not stated in our data"


def counts_text(ma: MetaAnalysis, arm_names: tuple[str, str]) -> str:
    """The single-trial risk ratio of ``ma`` with the event counts of each arm and the NNT
    (``"not available in our data"`` without data)."""
    if not ma.k:
        return "not available in our data"
    r = ma.table.iloc[0]
    return effect_text(ma) + (
        f", {ma.outcome} on the {r['instrument']} in {r['e1']:g} of {r['n1']:g} participants "
        f"with {arm_names[0]} and {r['e2']:g} of {r['n2']:g} with {arm_names[1]}; "
        f"{nnt_from_counts_text(r['e1'], r['n1'], r['e2'], r['n2'])}"
    )


def inclusion_text(studies: pd.DataFrame, study_id: str) -> str:
    """Whether a trial is counted in the main analysis (with the reason) and its
    doubtful-inclusion flags."""
    row = studies.set_index("study_id").loc[study_id]
    counted = "is counted" if row["main_analysis"] == "yes" else "is not counted"
    return (f"{counted} in the main analysis ({row['main_analysis_reason']}), and it is flagged "
            f"as a doubtful inclusion ({row['doubtful_inclusion']})")  # fmt: skip


def outside_main_reason(studies: pd.DataFrame, study_id: str) -> str:
    """``"the trial is outside the main analysis (<reason>; data status: <status>)"``."""
    row = studies.set_index("study_id").loc[study_id]
    return (f"the trial is outside the main analysis ({row['main_analysis_reason']}; "
            f"data status: {row['data_status']})")  # fmt: skip


def smd_headline(ma: MetaAnalysis, cer: float = ASSUMED_CONTROL_RESPONSE_RATE) -> dict[str, str]:
    """Texts of the landing page's bottom line for a pooled SMD: ``nnt`` (from the SMD and an
    assumed control response rate ``cer``), ``smd_direction`` and ``cer`` (as a percentage)."""
    r = ma.result
    if r is None:
        nnt_text = nnt_from_smd_text(None)
        direction = smd_direction(None, None)
    else:
        nnt_text = nnt_from_smd_text(r.estimate, r.ci_low, r.ci_high, cer)
        direction = smd_direction(r.ci_low, r.ci_high)
    return {"nnt": nnt_text, "smd_direction": direction, "cer": percent(cer)}
