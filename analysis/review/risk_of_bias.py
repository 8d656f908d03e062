"""Risk of bias as the database records it, plus the protocol's design rule: per-trial status,
counts and the plots' inputs.

The judgements are Cochrane risk-of-bias tool (version 1) items: Metapsy's four items and the
Cochrane review's statement on detection bias (``risk_of_bias.csv``), and, for every trial whose
participants could not be blinded (``data/protocol.yml`` ``grade.unblinded_designs``), a
*derived* high risk of detection bias for self-reported outcomes where no source judges that
domain (:func:`analysis.review.grade.with_design_rule`). The status rule
(:func:`analysis.review.grade.rob_status`) is shared with the GRADE rules and the
low-risk-of-bias sensitivity analysis.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from analysis.review.analyses import meta_analysis
from analysis.review.grade import (
    DERIVED_SOURCE,
    HIGH,
    NO_HIGH,
    NOT_ASSESSED,
    rob_status,
    rules_of,
    with_design_rule,
)
from analysis.review.protocol import protocol_of
from analysis.review.text import study_label

__all__ = ["DOMAINS", "derived_count", "effective_rob", "rob_counts", "rob_frame",
           "rob_status_table", "summary_weights"]

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


def effective_rob(trials: Any) -> pd.DataFrame:
    """``risk_of_bias.csv`` plus the judgements derived from the design (column ``derived``)."""
    rules = rules_of(protocol_of(trials))
    return with_design_rule(trials.risk_of_bias, trials.studies, rules.unblinded_designs)


def derived_count(trials: Any) -> dict[str, str]:
    """Texts: ``n_derived`` (trials given a derived judgement) and ``derived_list``."""
    rob = effective_rob(trials)
    ids = list(dict.fromkeys(rob.loc[rob["derived"].astype(bool), "study_id"]))
    return {"n_derived": str(len(ids)),
            "derived_list": ", ".join(study_label(s) for s in ids) if ids else "none",
            "derived_source": DERIVED_SOURCE}  # fmt: skip


def rob_frame(trials: Any, derived: bool = True) -> tuple[pd.DataFrame, list[str]]:
    """Risk-of-bias rows (with the design-derived judgements unless ``derived`` is false) with
    ``Study`` and ``Domain`` labels, and the domains present in display order."""
    rob = effective_rob(trials) if derived else trials.risk_of_bias.assign(derived=False)
    rob["Study"] = rob["study_id"].map(study_label)
    rob["Domain"] = rob["domain"].map(DOMAINS).fillna(rob["domain"])
    order = [d for d in DOMAINS.values() if d in set(rob["Domain"])]
    return rob, order


def rob_counts(trials: Any) -> dict[str, str]:
    """Texts: ``n_trials``, ``n_assessed``, ``n_high``, ``n_nohigh`` and ``not_assessed``."""
    status = rob_status(effective_rob(trials), trials.studies["study_id"])
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
    rob, studies = effective_rob(trials), trials.studies
    status = rob_status(rob, studies["study_id"])
    src = rob.loc[~rob["derived"].astype(bool)]
    return pd.DataFrame({
        "Trial": [study_label(s) for s in status.index],
        "Domains judged by a source": [int((src["study_id"] == s).sum()) for s in status.index],
        "Derived from the design": ["detection bias (self-report): high" if
                                    ((rob["study_id"] == s) & rob["derived"].astype(bool)).any()
                                    else "—" for s in status.index],
        "Status": status.to_numpy(),
        "In main analysis": studies.set_index("study_id").loc[status.index,
                                                               "main_analysis"].to_numpy(),
    })  # fmt: skip


def summary_weights(trials: Any) -> tuple[pd.DataFrame, dict[str, float]]:
    """The judgements of the trials in the primary analysis of depressive symptoms and each
    trial's weight there (by study label), for the weighted summary plot."""
    rob, _ = rob_frame(trials)
    ma = meta_analysis(trials, "depressive_symptoms", "SMD")
    w = ma.table.groupby("study_id")["weight"].sum() if len(ma.table) else pd.Series(dtype=float)
    weights = {study_label(s): float(v) for s, v in w.items()}
    return rob.loc[rob["study_id"].isin(w.index)], weights
