"""The summary-of-findings table: each key outcome with its relative and absolute effect, its
rule-based certainty and the plain-language statement made from them.

:func:`certainty_statement` is the one function that rates a published result and words it;
the landing page, the summary of findings and the results pages all call it, so they say the
same thing. Absolute effects follow the protocol (``data/protocol.yml``, ``absolute_effects``):
dichotomous outcomes per 1,000 people with an assumed control risk that is stated and sourced,
the SMD re-expressed on a named scale with a stated standard deviation and its source.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from analysis.review.analyses import MetaAnalysis, _randomised
from analysis.review.catalogue import run, spec
from analysis.review.grade import (
    GradeRating,
    effect_kind,
    grade,
    rules_of,
    statement,
    with_design_rule,
)
from analysis.review.protocol import protocol_of
from analysis.review.records import Estimate
from analysis.review.text import count_text, fmt_number, percent, study_label, trial_list
from analysis.stats.bias import egger_test
from analysis.stats.nnt import risk_with_intervention

__all__ = [
    "ROWS",
    "SummaryOfFindings",
    "absolute_effect",
    "assumed_control_risk",
    "certainty_statement",
    "smd_scale_sd",
    "subject",
    "summary_of_findings",
]

#: The outcomes of the table, in order: result id, outcome in words, how to read the effect.
ROWS: tuple[tuple[str, str, str], ...] = (
    ("sof.symptoms.smd", "depressive symptoms", "negative SMD favours psychotherapy"),
    ("sof.remission.rr", "remission", "RR above 1 favours psychotherapy"),
    ("sof.response.rr", "response", "RR above 1 favours psychotherapy"),
    ("sof.response.or", "response", "OR above 1 favours psychotherapy"),
    ("sof.dropout.rr", "dropout", "RR below 1 means fewer dropouts with psychotherapy"),
)
#: The outcome in words for each catalogued outcome (statements).
OUTCOME_WORDS = {"depressive_symptoms": "depressive symptoms", "remission": "remission",
                 "response": "response", "dropout": "dropout"}  # fmt: skip


@dataclass(frozen=True)
class SummaryOfFindings:
    """The table, the estimates behind it, each outcome's certainty rating and statement (by
    result id)."""

    table: pd.DataFrame
    estimates: tuple[Estimate, ...]
    certainty: dict[str, GradeRating]
    statements: dict[str, str]


def subject(trials: Any) -> str:
    """The intervention as the statements name it, from the protocol's primary comparison
    (``"Psychotherapy added to usual care"``)."""
    label = protocol_of(trials).primary.label.split(" versus ")[0]
    return label[:1].upper() + label[1:]


def rate(trials: Any, ma: MetaAnalysis) -> GradeRating:
    """The rule-based certainty of one analysis (:func:`analysis.review.grade.grade` with the
    protocol's rules, the design-derived detection-bias judgements, the trials' TRD criteria and,
    with enough trials, Egger's test)."""
    proto = protocol_of(trials)
    rules = rules_of(proto)
    s = trials.studies
    rob = with_design_rule(trials.risk_of_bias, s, rules.unblinded_designs)
    egger_p = None
    if len(ma.table) and ma.table["study_id"].nunique() >= rules.pub_min_trials:
        egger_p = egger_test(ma.table["yi"], ma.table["vi"]).p
    n, note = ois_participants(trials, ma)
    return grade(
        ma.result, ma.table, participants=n, participants_note=note, rob=rob,
        doubtful=dict(zip(s["study_id"], s["doubtful_inclusion"], strict=True)),
        min_failed=dict(zip(s["study_id"], s["min_failed_ad"], strict=True)),
        egger_p=egger_p, rules=rules,
    )  # fmt: skip


def ois_participants(trials: Any, ma: MetaAnalysis) -> tuple[int, str]:
    """Participants compared with the optimal information size: those analysed, plus, for a
    comparison whose analysed number no source states, its trial's randomised participants
    (an upper bound, said in the note)."""
    n = ma.participants
    if not ma.participants_unknown:
        return n, ""
    t = ma.table
    unknown = t.loc[pd.to_numeric(t["participants"], errors="coerce").isna(), "study_id"]
    rand = _randomised(trials.studies)
    extra = int(sum(rand.get(s, 0.0) for s in dict.fromkeys(unknown)))
    note = (f" (including {extra} randomised in {count_text(len(unknown), 'comparison')} whose "
            "analysed number is not reported)") if extra else \
        f" (not reported for {count_text(len(unknown), 'comparison')})"  # fmt: skip
    return n + extra, note


def certainty_statement(trials: Any, result_id: str, ma: MetaAnalysis | None = None
                        ) -> tuple[GradeRating, str]:  # fmt: skip
    """The certainty rating of a catalogued result and its plain-language statement, e.g.
    ``(moderate, "Psychotherapy added to usual care probably reduces depressive symptoms")``.

    The one function behind every such statement in the book (landing page, summary of
    findings, results pages)."""
    ma = run(trials, result_id) if ma is None else ma
    rating = rate(trials, ma)
    outcome = OUTCOME_WORDS.get(ma.outcome, ma.outcome)
    text = statement(rating.certainty, effect_kind(ma.result), subject=subject(trials),
                     outcome=outcome, rules=rules_of(protocol_of(trials)))  # fmt: skip
    return rating, text


def _control_rows(trials: Any, ma: MetaAnalysis) -> pd.DataFrame:
    """One row per trial of ``ma`` with its whole control group's events and total."""
    t = ma.table
    if not len(t) or "e2_full" not in t:
        return pd.DataFrame(columns=["study_id", "e2", "n2"])
    arms = t.loc[t["input"] == "arms"]
    rows = arms.drop_duplicates("study_id")[["study_id", "e2_full", "n2_full"]]
    return rows.rename(columns={"e2_full": "e2", "n2_full": "n2"})


def assumed_control_risk(trials: Any, ma: MetaAnalysis) -> tuple[float, str]:
    """The assumed control risk of a dichotomous analysis and its source (protocol
    ``absolute_effects.assumed_control_risk``): the median control-group risk of the analysis's
    trials, or a stated value with its source. NaN when the trials give no control counts."""
    spec_ = protocol_of(trials).assumed_control_risk.get(ma.outcome, "trials")
    if isinstance(spec_, dict):
        return float(spec_["value"]), spec_["source"]
    rows = _control_rows(trials, ma)
    if not len(rows):
        return math.nan, "no control-group counts in this analysis"
    risks = rows["e2"].astype(float) / rows["n2"].astype(float)
    parts = [f"{study_label(s)} {int(e)}/{int(n)}" for s, e, n in
             zip(rows["study_id"], rows["e2"], rows["n2"], strict=True)]  # fmt: skip
    what = "the control-group risk" if len(rows) == 1 else "the median control-group risk"
    return float(np.median(risks)), (f"{what} of the {count_text(len(rows), 'trial')} in this "
                                     f"analysis ({'; '.join(parts)})")  # fmt: skip


def smd_scale_sd(trials: Any, ma: MetaAnalysis) -> tuple[float, str, str]:
    """The SD that re-expresses an SMD on the protocol's named scale: the median
    post-treatment SD of that instrument in the control groups of the analysis's trials
    (``outcomes.csv`` arm rows, one per trial). Returns (SD, scale, source)."""
    proto = protocol_of(trials)
    scale = proto.smd_scale
    o = trials.outcomes
    rows = o.loc[
        o["study_id"].isin(ma.studies) & (o["instrument"] == scale) & (o["arm"] == "control")
        & (o["stat_type"] == "post_msd") & (o["timepoint"] == proto.timepoint)
        & o["use"].isin(list(proto.use_order)) & o["sd"].notna()
    ].drop_duplicates("study_id")  # fmt: skip
    if not len(rows):
        return math.nan, scale, f"no control group of this analysis reports the {scale}"
    parts = [f"{study_label(s)} {fmt_number(v)}" for s, v in zip(rows["study_id"], rows["sd"],
                                                                  strict=True)]  # fmt: skip
    sd = float(np.median(rows["sd"].astype(float)))
    return sd, scale, (f"median post-treatment SD of the {scale} in the control groups of "
                       f"{count_text(len(rows), 'trial')} of this analysis ({'; '.join(parts)})")


def absolute_effect(trials: Any, ma: MetaAnalysis) -> str:
    """The absolute effect of an analysis in words (see the module docstring)."""
    r = ma.result
    if r is None:
        return "no trial data yet"
    if ma.measure in ("SMD",):
        sd, scale, source = smd_scale_sd(trials, ma)
        if not math.isfinite(sd):
            return f"not re-expressed ({source})"
        pts = [v * sd for v in (r.estimate, r.ci_low, r.ci_high)]
        return (f"{fmt_number(pts[0], 1)} {scale} points (95% CI {fmt_number(pts[1], 1)} to "
                f"{fmt_number(pts[2], 1)}), using SD {fmt_number(sd, 1)}: {source}")
    if ma.measure in ("RR", "OR"):
        per = protocol_of(trials).per
        cr, source = assumed_control_risk(trials, ma)
        if not math.isfinite(cr):
            return f"not computed ({source})"
        ratios = [math.exp(v) for v in (r.estimate, r.ci_low, r.ci_high)]
        risk = [risk_with_intervention(x, cr, ma.measure) for x in ratios]
        diff = [per * (x - cr) for x in risk]

        def more(d: float) -> str:
            return f"{abs(d):.0f} {'more' if d >= 0 else 'fewer'}"

        return (f"{per * cr:.0f} per {per:,} with usual care (assumed: {source}); "
                f"{per * risk[0]:.0f} per {per:,} with psychotherapy, i.e. {more(diff[0])} per "
                f"{per:,} (95% CI {more(diff[1])} to {more(diff[2])})")
    return ""


def summary_of_findings(trials: Any) -> SummaryOfFindings:
    """Pool each outcome of :data:`ROWS` (the protocol's primary comparison), rate its
    certainty, word it and give its absolute effect."""
    rows, estimates, certainty, statements = [], [], {}, {}
    for rid, _outcome, direction in ROWS:
        ma = run(trials, rid)
        name = spec(rid).label
        est = ma.estimate(rid, name)
        estimates.append(est)
        rating, text = certainty_statement(trials, rid, ma)
        certainty[rid] = rating
        statements[rid] = text
        if ma.k == 0:
            effect = kn = "no trial data yet"
        else:
            effect = est.texts()[""] + f"; {direction}"
            kn = f"{count_text(len(ma.studies), 'trial')} ({trial_list(ma.studies)}); " + \
                est.texts()["who"].split(", ", 1)[-1]  # fmt: skip
        rows.append({"Outcome": name, "Trials (participants)": kn, "Relative effect (95% CI)":
                     effect, "Absolute effect": absolute_effect(trials, ma),
                     "Certainty (rule-based GRADE)": rating.certainty,
                     "What this means": text if ma.k else "no trial data yet",
                     "Reasons for downgrading": rating.reasons_text})  # fmt: skip
    return SummaryOfFindings(pd.DataFrame(rows), tuple(estimates), certainty, statements)


def control_risk_text(cr: float) -> str:
    """An assumed control risk as a percentage (``"22%"``)."""
    return percent(cr)
