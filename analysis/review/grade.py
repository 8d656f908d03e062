"""Rule-based GRADE certainty ratings for the summary-of-findings table.

These are **transparent rules applied by the review's code, not reviewer judgements**. Every
rule is stated here and tested in ``tests/test_grade.py``; a human GRADE assessment could reach
a different rating. All effects are on the analysis scale (log scale for ratio measures), so the
null effect is 0 for every measure.

Rules (each domain downgrades at most one level; evidence from randomised trials starts *high*):

* **Risk of bias** – downgrade when more than half of the pooled weight comes from trials with
  at least one domain judged at high risk of bias, or with no risk-of-bias judgement at all.
* **Inconsistency** – downgrade when I² > 50%, or when the 95% prediction interval crosses the
  null while the confidence interval does not. Not assessable with fewer than 2 trials (noted).
* **Imprecision** – downgrade when the confidence interval crosses the null, or when fewer than
  400 participants contribute (a rough optimal information size).
* **Indirectness** – downgrade when more than half of the pooled weight comes from trials whose
  TRD status is doubtful (``doubtful_inclusion`` contains ``chronic_not_trd``,
  ``borderline_trd`` or ``trd_definition_not_seen``).
* **Publication bias** – not assessed (no downgrade, noted) with fewer than 10 trials; with 10 or
  more, downgrade when Egger's test gives p < 0.10.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

__all__ = [
    "DOUBTFUL_TRD",
    "LEVELS",
    "GradeRating",
    "grade",
    "rob_status",
]

#: Certainty levels by number of points (4 = high).
LEVELS = {4: "high", 3: "moderate", 2: "low", 1: "very low"}
#: ``doubtful_inclusion`` tokens that question whether the population is TRD (indirectness).
DOUBTFUL_TRD = frozenset({"chronic_not_trd", "borderline_trd", "trd_definition_not_seen"})

HIGH = "at least one high-risk domain"
NOT_ASSESSED = "not assessed"
NO_HIGH = "no high-risk domain"


@dataclass(frozen=True)
class GradeRating:
    """A rule-based certainty rating.

    Attributes
    ----------
    certainty : str
        ``high``, ``moderate``, ``low``, ``very low`` or ``not rated`` (no data).
    downgrades : dict
        Domain -> levels subtracted (0 or 1).
    reasons : tuple of str
        Why each downgrade was applied.
    notes : tuple of str
        Domains not assessable or not assessed (no downgrade).
    """

    certainty: str
    downgrades: dict[str, int] = field(default_factory=dict)
    reasons: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def reasons_text(self) -> str:
        """Downgrading reasons and notes as one sentence-like string."""
        if self.certainty == "not rated":
            return "not rated (no trial data)"
        parts = list(self.reasons) or ["no downgrade"]
        if self.notes:
            parts.append("note: " + "; ".join(self.notes))
        return "; ".join(parts)


def _tokens(value: object) -> set[str]:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return set()
    return {t.strip() for t in str(value).split(";") if t.strip()}


def rob_status(rob: pd.DataFrame, study_ids: Iterable[str]) -> pd.Series:
    """Risk-of-bias status per trial from ``risk_of_bias.csv`` rows.

    Returns a Series indexed by study id with ``"at least one high-risk domain"``,
    ``"not assessed"`` (no judgement in the file) or ``"no high-risk domain"`` (at least one
    domain assessed and none judged high). The last category is what the sensitivity analysis
    calls *low risk of bias*; it does not mean every domain was judged low.
    """
    ids = list(dict.fromkeys(study_ids))
    judged = rob.assign(j=rob["judgement"].astype(str).str.strip().str.lower())
    out = {}
    for sid in ids:
        rows = judged.loc[judged["study_id"] == sid, "j"]
        if rows.empty:
            out[sid] = NOT_ASSESSED
        elif (rows == "high").any():
            out[sid] = HIGH
        else:
            out[sid] = NO_HIGH
    return pd.Series(out, name="rob_status", dtype=object)


def _weight_share(table: pd.DataFrame, flagged: set[str]) -> float:
    """Percent of pooled weight from comparisons of ``flagged`` studies."""
    w = pd.to_numeric(table["weight"], errors="coerce").fillna(0.0)
    total = float(w.sum())
    if total <= 0:
        return math.nan
    return 100.0 * float(w[table["study_id"].isin(flagged)].sum()) / total


def grade(
    result: Any,
    table: pd.DataFrame,
    *,
    participants: int,
    rob: pd.DataFrame,
    doubtful: Mapping[str, object] | None = None,
    egger_p: float | None = None,
    ois: int = 400,
    randomised: bool = True,
) -> GradeRating:
    """Rate the certainty of one pooled outcome by the rules in the module docstring.

    Parameters
    ----------
    result
        A :class:`~analysis.pooling.PoolResult` (or ``MetaAnalysis.result``); ``None`` = no data.
    table
        One row per comparison with ``study_id`` and ``weight`` (percent), e.g.
        ``MetaAnalysis.table``.
    participants
        Participants contributing (compared with ``ois``).
    rob
        ``risk_of_bias.csv`` rows (``study_id``, ``judgement``).
    doubtful
        Study id -> ``doubtful_inclusion`` value (``;``-separated tokens).
    egger_p
        Egger's test p-value, used only when there are at least 10 trials.
    ois
        Optimal information size (participants).
    randomised
        Start at *high* (randomised trials) or *low*.
    """
    if result is None or int(getattr(result, "k", 0)) == 0:
        return GradeRating("not rated", notes=("no trial data",))
    k = int(result.k)
    n_trials = int(table["study_id"].nunique()) if len(table) else k
    down: dict[str, int] = {}
    reasons: list[str] = []
    notes: list[str] = []

    # risk of bias
    status = rob_status(rob, table["study_id"])
    flagged = set(status.index[status.isin([HIGH, NOT_ASSESSED])])
    share = _weight_share(table, flagged)
    down["risk of bias"] = int(share > 50)
    if down["risk of bias"]:
        reasons.append(
            f"risk of bias: {share:.0f}% of the weight from trials with a high-risk domain "
            "or no assessment"
        )

    # inconsistency
    i2 = float(result.i2)
    ci_crosses = result.ci_low <= 0 <= result.ci_high
    pi_ok = math.isfinite(result.pi_low) and math.isfinite(result.pi_high)
    pi_crosses = pi_ok and result.pi_low <= 0 <= result.pi_high
    if k < 2 or not math.isfinite(i2):
        down["inconsistency"] = 0
        notes.append("inconsistency not assessable (single trial)")
    elif i2 > 50:
        down["inconsistency"] = 1
        reasons.append(f"inconsistency: I² = {i2:.0f}%")
    elif pi_crosses and not ci_crosses:
        down["inconsistency"] = 1
        reasons.append("inconsistency: prediction interval includes no effect")
    else:
        down["inconsistency"] = 0

    # indirectness
    doubt = {s for s, v in (doubtful or {}).items() if _tokens(v) & DOUBTFUL_TRD}
    share_d = _weight_share(table, doubt)
    down["indirectness"] = int(share_d > 50)
    if down["indirectness"]:
        reasons.append(f"indirectness: {share_d:.0f}% of the weight from trials of doubtful TRD")

    # imprecision
    why = []
    if ci_crosses:
        why.append("CI includes no effect")
    if participants < ois:
        why.append(f"{participants} participants (< {ois})")
    down["imprecision"] = int(bool(why))
    if why:
        reasons.append("imprecision: " + " and ".join(why))

    # publication bias
    if n_trials < 10:
        down["publication bias"] = 0
        notes.append(f"publication bias not assessed ({n_trials} trials, fewer than 10)")
    elif egger_p is not None and math.isfinite(egger_p) and egger_p < 0.10:
        down["publication bias"] = 1
        reasons.append("publication bias: Egger's test p < 0.10")
    else:
        down["publication bias"] = 0
        if egger_p is None:
            notes.append("publication bias: Egger's test not supplied")

    points = max(1, (4 if randomised else 2) - sum(down.values()))
    return GradeRating(LEVELS[points], down, tuple(reasons), tuple(notes))
