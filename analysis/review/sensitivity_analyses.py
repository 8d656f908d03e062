"""Sensitivity analyses of the main analysis of depressive symptoms.

Each function re-runs the main analysis with one change (a trial left out, outliers or trials
at risk of bias removed, another estimator, clinician-rated scales first) and returns what the
sensitivity page shows. Estimates are published under ``symptoms.smd.sensitivity.<name>``.

Rules
-----
* **Outliers** (metapsyTools / dmetar rule): a trial whose own 95% CI does not overlap the
  pooled 95% CI (:func:`analysis.stats.sensitivity.influence`, main analysis model).
* **Low risk of bias**: trials with at least one domain judged and none judged high among the
  domains other than detection bias (:func:`analysis.review.grade.rob_status` with
  :data:`LOW_ROB_DOMAINS`). Detection bias of self-reported outcomes is left out because, by the
  protocol's rule, it is high in every trial whose participants knew their allocation, i.e. in
  every trial here; including it would leave no trial.
* **Leave one out**: each comparison left out in turn and the rest re-pooled with the same
  model by :func:`analysis.review.analyses.repool`, so a multi-arm trial left with one arm
  gets its whole control group back (Cochrane Handbook 23.3.4).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from analysis.review.analyses import MetaAnalysis, meta_analysis, repool
from analysis.review.catalogue import label, run, spec
from analysis.review.grade import NO_HIGH, rob_status
from analysis.review.records import Estimate
from analysis.review.text import fmt_number, range_text, study_label
from analysis.stats.sensitivity import influence

__all__ = [
    "LOW_ROB",
    "MODEL_IDS",
    "NO_OUTLIERS",
    "changed_instruments",
    "estimate_of",
    "leave_one_out_table",
    "low_rob_analysis",
    "model_table",
    "outlier_analysis",
    "outliers_text",
    "precomputed_count_text",
    "summary_row",
    "summary_table",
]

NO_OUTLIERS = "symptoms.smd.sensitivity.no_outliers"
LOW_ROB = "symptoms.smd.sensitivity.low_rob"
#: The estimator comparison, in table order.
MODEL_IDS: tuple[str, ...] = tuple(
    f"symptoms.smd.sensitivity.{m}{h}" for m in ("dl", "reml", "pm")
    for h in ("", "_hksj", "_adhoc")
)
#: Risk-of-bias domains of the low-risk-of-bias sensitivity analysis (all but detection bias).
LOW_ROB_DOMAINS: tuple[str, ...] = (
    "sequence_generation", "allocation_concealment", "incomplete_outcome_data_itt",
    "selective_reporting", "other_bias", "overall",
)  # fmt: skip


def summary_row(name: str, ma: MetaAnalysis, result_id: str) -> dict[str, Any]:
    """One row of the sensitivity summary table (handles an analysis without data)."""
    if ma.result is None:
        return {"Analysis": name, "Comparisons": 0, "SMD (95% CI)": "no trial data yet",
                "I²": "NA", "Result id": result_id}  # fmt: skip
    texts = ma.estimate(result_id, name).texts()
    return {"Analysis": name, "Comparisons": ma.k,
            "SMD (95% CI)": texts[""].removeprefix("SMD "), "I²": texts["i2"],
            "Result id": result_id}  # fmt: skip


def leave_one_out_table(ma: MetaAnalysis) -> tuple[pd.DataFrame, dict[str, str]]:
    """Leave-one-out re-analyses (same model) and two texts: ``range`` of the pooled SMDs and
    ``crosses`` (how many re-analyses have a CI including no effect)."""
    if ma.k < 3:
        empty = pd.DataFrame({"Comparison left out": [], "SMD (95% CI) of the rest": []})
        return empty, {"range": "not estimable (fewer than three comparisons)",
                       "crosses": "none of these"}  # fmt: skip
    t = ma.table
    rows = []
    for i in range(len(t)):
        r = repool(ma, np.arange(len(t)) != i).result
        rows.append({"estimate": r.estimate, "ci_low": r.ci_low, "ci_high": r.ci_high,
                     "i2": r.i2})  # fmt: skip
    loo = pd.DataFrame(rows, index=pd.Index(list(t["label"]), name="study"))
    table = pd.DataFrame({
        "Comparison left out": loo.index,
        "SMD (95% CI) of the rest": [range_text(e, lo, hi) for e, lo, hi in
                                     zip(loo["estimate"], loo["ci_low"], loo["ci_high"],
                                         strict=True)],
        "I² (%)": loo["i2"].round(0).astype(int),
    })  # fmt: skip
    crosses = int(((loo["ci_low"] <= 0) & (loo["ci_high"] >= 0)).sum())
    texts = {
        "range": f"from {fmt_number(loo['estimate'].min())} to {fmt_number(loo['estimate'].max())}",
        "crosses": "none of these" if crosses == 0 else f"{crosses} of these",
    }
    return table, texts


def outlier_analysis(trials: Any, ma: MetaAnalysis) -> tuple[list[str], MetaAnalysis]:
    """The outlying trials of ``ma`` (rule in the module docstring) and the analysis without
    them (published as :data:`NO_OUTLIERS`)."""
    outliers: list[str] = []
    if ma.k >= 3:
        flags = influence(ma.table["yi"], ma.table["vi"], method=ma.method,
                          labels=list(ma.table["study_id"]))  # fmt: skip
        outliers = sorted(set(flags.index[flags["outlier"]]))
    options = {**ma.options, "exclude": tuple(ma.options.get("exclude", ())) + tuple(outliers)}
    return outliers, meta_analysis(trials, ma.outcome, ma.measure, **options)


def outliers_text(outliers: list[str]) -> str:
    """The outlying trials in words (``"no trial"`` when there is none)."""
    return ", ".join(study_label(s) for s in outliers) if outliers else "no trial"


def low_rob_analysis(trials: Any) -> tuple[list[str], MetaAnalysis]:
    """Trials without a high-risk judgement (and at least one judged domain) in
    :data:`LOW_ROB_DOMAINS`, and the primary analysis restricted to them (published as
    :data:`LOW_ROB`)."""
    status = rob_status(trials.risk_of_bias, trials.studies["study_id"], domains=LOW_ROB_DOMAINS)
    low = sorted(status.index[status == NO_HIGH])
    return low, meta_analysis(trials, where=lambda s: s["study_id"].isin(low))


def model_table(trials: Any) -> tuple[pd.DataFrame, list[MetaAnalysis]]:
    """The main analysis under three tau² estimators, each with and without Knapp–Hartung."""
    rows, analyses = [], []
    for rid in MODEL_IDS:
        ma = run(trials, rid)
        analyses.append(ma)
        row = summary_row(spec(rid).label, ma, rid)
        if ma.result is not None:
            row["τ²"] = fmt_number(ma.result.tau2, 3)
        rows.append(row)
    return pd.DataFrame(rows), analyses


def estimate_of(ma: MetaAnalysis, result_id: str) -> Estimate:
    """``ma`` as the estimate of a catalogued or computed id (label from the catalogue)."""
    return ma.estimate(result_id, label(result_id))


def changed_instruments(ma: MetaAnalysis, other: MetaAnalysis) -> int:
    """Comparisons whose instrument differs between two analyses of the same comparisons."""
    if not (len(ma.table) and len(other.table)):
        return 0
    a = ma.table.set_index(["study_id", "comparison"])["instrument"]
    b = other.table.set_index(["study_id", "comparison"])["instrument"]
    return int((a.reindex(b.index) != b).sum())


def precomputed_count_text(ma: MetaAnalysis) -> str:
    """Number of comparisons that entered as published effect estimates."""
    return str(int((ma.table["input"] == "precomputed").sum()) if len(ma.table) else 0)


def summary_table(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The sensitivity summary table from :func:`summary_row` rows."""
    return pd.DataFrame(rows)
