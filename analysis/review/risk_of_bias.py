"""Risk of bias as the database records it: per-trial status, counts and the plots' inputs.

The status rule (:func:`analysis.review.grade.rob_status`) is shared with the GRADE rules and the
low-risk-of-bias sensitivity analysis.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from analysis.review.analyses import meta_analysis
from analysis.review.grade import HIGH, NO_HIGH, NOT_ASSESSED, rob_status
from analysis.review.text import study_label

__all__ = ["DOMAINS", "rob_counts", "rob_frame", "rob_status_table", "summary_weights"]

#: Database domain code -> label shown on the page, in display order.
DOMAINS: dict[str, str] = {
    "sequence_generation": "Random sequence generation",
    "allocation_concealment": "Allocation concealment",
    "blinding_outcome_assessors_clinician": "Blinding of assessors (clinician-rated)",
    "detection_bias_self_report": "Detection bias (self-report)",
    "incomplete_outcome_data_itt": "Incomplete outcome data (ITT)",
    "selective_reporting": "Selective reporting",
    "other_bias": "Other bias",
    "overall": "Overall",
}


def rob_frame(trials: Any) -> tuple[pd.DataFrame, list[str]]:
    """``risk_of_bias.csv`` with ``Study`` and ``Domain`` labels, and the domains present in
    display order."""
    rob = trials.risk_of_bias.copy()
    rob["Study"] = rob["study_id"].map(study_label)
    rob["Domain"] = rob["domain"].map(DOMAINS).fillna(rob["domain"])
    order = [d for d in DOMAINS.values() if d in set(rob["Domain"])]
    return rob, order


def rob_counts(trials: Any) -> dict[str, str]:
    """Texts: ``n_trials``, ``n_assessed``, ``n_high``, ``n_nohigh`` and ``not_assessed``."""
    status = rob_status(trials.risk_of_bias, trials.studies["study_id"])
    missing = [study_label(s) for s in status.index[status == NOT_ASSESSED]]
    return {
        "n_trials": str(len(trials.studies)),
        "n_assessed": str(int((status != NOT_ASSESSED).sum())),
        "n_high": str(int((status == HIGH).sum())),
        "n_nohigh": str(int((status == NO_HIGH).sum())),
        "not_assessed": ", ".join(missing) if missing else "none",
    }


def rob_status_table(trials: Any) -> pd.DataFrame:
    """Every trial with the number of judged domains, its status and main-analysis flag."""
    rob, studies = trials.risk_of_bias, trials.studies
    status = rob_status(rob, studies["study_id"])
    return pd.DataFrame({
        "Trial": [study_label(s) for s in status.index],
        "Domains judged": [int((rob["study_id"] == s).sum()) for s in status.index],
        "Status": status.to_numpy(),
        "In main analysis": studies.set_index("study_id").loc[status.index,
                                                               "main_analysis"].to_numpy(),
    })  # fmt: skip


def summary_weights(trials: Any) -> tuple[pd.DataFrame, dict[str, float]]:
    """The judgements of the trials in the main analysis of depressive symptoms and each
    trial's weight there (by study label), for the weighted summary plot."""
    rob, _ = rob_frame(trials)
    ma = meta_analysis(trials, "depressive_symptoms", "SMD")
    w = ma.table.groupby("study_id")["weight"].sum() if len(ma.table) else pd.Series(dtype=float)
    weights = {study_label(s): float(v) for s, v in w.items()}
    return rob.loc[rob["study_id"].isin(w.index)], weights
