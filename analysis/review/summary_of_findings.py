"""The summary-of-findings table: each key outcome with its effect and rule-based certainty."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from analysis.review.catalogue import run, spec
from analysis.review.grade import GradeRating, grade
from analysis.review.records import Estimate
from analysis.review.text import count_text
from analysis.stats.bias import egger_test

__all__ = ["ROWS", "SummaryOfFindings", "summary_of_findings"]

#: The outcomes of the table, in order: result id and how to read the effect.
ROWS: tuple[tuple[str, str], ...] = (
    ("sof.symptoms.smd", "negative SMD favours psychotherapy"),
    ("sof.remission.rr", "RR above 1 favours psychotherapy"),
    ("sof.response.rr", "RR above 1 favours psychotherapy"),
    ("sof.dropout.rr", "RR below 1 means fewer dropouts with psychotherapy"),
)


@dataclass(frozen=True)
class SummaryOfFindings:
    """The table, the estimates behind it and each outcome's certainty rating (by result id)."""

    table: pd.DataFrame
    estimates: tuple[Estimate, ...]
    certainty: dict[str, GradeRating]


def summary_of_findings(trials: Any) -> SummaryOfFindings:
    """Pool each outcome of :data:`ROWS` (main analysis) and rate its certainty
    (:func:`analysis.review.grade.grade`; Egger's test is supplied when k >= 10)."""
    doubtful = dict(zip(trials.studies["study_id"], trials.studies["doubtful_inclusion"],
                        strict=True))  # fmt: skip
    rows, estimates, certainty = [], [], {}
    for rid, direction in ROWS:
        ma = run(trials, rid)
        name = spec(rid).label
        est = ma.estimate(rid, name)
        estimates.append(est)
        egger_p = egger_test(ma.table["yi"], ma.table["vi"]).p if ma.k >= 10 else None
        rating = grade(ma.result, ma.table, participants=ma.participants,
                       rob=trials.risk_of_bias, doubtful=doubtful, egger_p=egger_p)  # fmt: skip
        certainty[rid] = rating
        if ma.k == 0:
            effect = kn = "no trial data yet"
        else:
            effect = est.texts()[""] + f"; {direction}"
            kn = (f"{count_text(len(ma.studies), 'trial')}, {count_text(ma.k, 'comparison')} "
                  f"({ma.participants} participants with arm-level data)")  # fmt: skip
        rows.append({"Outcome": name, "Trials (participants)": kn, "Effect (95% CI)": effect,
                     "Certainty (rule-based GRADE)": rating.certainty,
                     "Reasons for downgrading": rating.reasons_text})  # fmt: skip
    return SummaryOfFindings(pd.DataFrame(rows), tuple(estimates), certainty)
