"""Choosing the data that enter an analysis (pure functions on the DataFrames of ``load_trials``).

Every function takes and returns pandas DataFrames and never mutates its input.

Conventions (see ``data/README.md``)
------------------------------------
* Only rows with ``use == "primary"`` are selected by default. ``duplicate`` rows (e.g. Metapsy
  ``precalc_g``, computed from the arm rows) must never be pooled with the rows they were
  computed from; ``alternative``/``conflict``/``context`` rows are for sensitivity analyses and
  narrative reporting.
* Orientation of :func:`effect_inputs`: continuous outcomes are oriented so that a NEGATIVE
  MD/SMD means psychotherapy is better; for response/remission a ratio > 1 means psychotherapy is
  better; for dropout a ratio < 1 means fewer dropouts with psychotherapy.

Instrument hierarchies (one instrument per study and comparison)
-----------------------------------------------------------------
``"self_first"`` (as Cochrane 2018 did for self-reported symptoms): BDI-II, BDI-I, BDI
(version not stated), PHQ-9, QIDS-SR, IDS-SR, then the clinician scales HAMD-17, HAMD-21,
HAMD-24, HAMD (version not stated), MADRS, then scales that are not established
depression-severity instruments (``WAI-D``, the Weinberger Adjustment Inventory depression
subscale), then ``unclear``.
``"clinician_first"``: HAMD-17, HAMD-21, HAMD-24, HAMD, MADRS, then the self-report scales in
the order above, then ``WAI-D``, then ``unclear``. Dropout rows have no instrument (empty)
and are always eligible. A custom ordered list of instrument codes may be passed instead.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd

__all__ = [
    "CLINICIAN_FIRST",
    "SELF_FIRST",
    "TRD_DEFINITIONS",
    "EffectInputs",
    "effect_inputs",
    "main_analysis_studies",
    "primary_outcomes",
    "split_shared_control",
    "trd_filter",
]

SELF_REPORT: tuple[str, ...] = ("BDI-II", "BDI-I", "BDI", "PHQ-9", "QIDS-SR", "IDS-SR")
CLINICIAN: tuple[str, ...] = ("HAMD-17", "HAMD-21", "HAMD-24", "HAMD", "MADRS")
#: Scales used as a last resort: not established depression-severity instruments.
NONSTANDARD: tuple[str, ...] = ("WAI-D",)
SELF_FIRST: tuple[str, ...] = (*SELF_REPORT, *CLINICIAN, *NONSTANDARD, "unclear", "")
CLINICIAN_FIRST: tuple[str, ...] = (*CLINICIAN, *SELF_REPORT, *NONSTANDARD, "unclear", "")

#: TRD definitions understood by :func:`trd_filter`.
TRD_DEFINITIONS: dict[str, str] = {
    "any": "all trials in studies.csv (every trial the seed reviews or Metapsy counted as TRD)",
    "min1": "at least one failed antidepressant course stated (min_failed_ad >= 1)",
    "min2": "at least two failed antidepressant courses stated (min_failed_ad >= 2)",
    "psychotherapy_failure": "prior failed psychotherapy required (prior_psychotherapy_failure "
    "== 'yes')",
    "strict": "excluding doubtful inclusions flagged chronic_not_trd, active_vs_active or "
    "non_randomised in doubtful_inclusion",
}
STRICT_EXCLUDE: frozenset[str] = frozenset(
    {"chronic_not_trd", "active_vs_active", "non_randomised"}
)

_CONTINUOUS = ("MD", "SMD")
_BINARY = ("RR", "OR", "RD")


def _s(x: object) -> str:
    """Missing-safe string."""
    return "" if x is None or (isinstance(x, float) and math.isnan(x)) or x is pd.NA else str(x)


def _tokens(value: object) -> set[str]:
    return {t.strip() for t in _s(value).split(";") if t.strip()}


# --------------------------------------------------------------------------- studies
def trd_filter(studies: pd.DataFrame, definition: str = "any") -> pd.DataFrame:
    """Studies meeting a TRD definition (see :data:`TRD_DEFINITIONS`).

    ``min1``/``min2`` keep only trials whose source *states* the number of failed courses
    (an empty ``min_failed_ad`` is unknown and is excluded).
    """
    if definition not in TRD_DEFINITIONS:
        raise ValueError(f"definition must be one of {sorted(TRD_DEFINITIONS)}, got {definition!r}")
    if definition == "any":
        keep = pd.Series(True, index=studies.index)
    elif definition in ("min1", "min2"):
        need = 1 if definition == "min1" else 2
        mfa = pd.to_numeric(studies["min_failed_ad"], errors="coerce")
        keep = (mfa >= need).fillna(False).astype(bool)
    elif definition == "psychotherapy_failure":
        keep = studies["prior_psychotherapy_failure"].astype("string").eq("yes").fillna(False)
    else:  # strict
        keep = ~studies["doubtful_inclusion"].map(lambda v: bool(_tokens(v) & STRICT_EXCLUDE))
    return studies.loc[keep.astype(bool)].copy()


def main_analysis_studies(studies: pd.DataFrame) -> pd.DataFrame:
    """Studies coded ``main_analysis == "yes"`` in studies.csv (reasons in main_analysis_reason)."""
    return studies.loc[studies["main_analysis"].astype("string").eq("yes").fillna(False)].copy()


# --------------------------------------------------------------------------- outcomes
def _hierarchy(hierarchy: str | Sequence[str]) -> tuple[str, ...]:
    if isinstance(hierarchy, str):
        if hierarchy == "self_first":
            return SELF_FIRST
        if hierarchy == "clinician_first":
            return CLINICIAN_FIRST
        raise ValueError("hierarchy must be 'self_first', 'clinician_first' or a list of codes")
    return (*tuple(hierarchy), "")


def _usable_for(rows: pd.DataFrame, measure: str | None) -> pd.Series:
    """Which rows can feed an analysis on ``measure`` (None = any)."""
    st = rows["stat_type"].astype("string").fillna("")
    arm = rows["arm"].astype("string").fillna("")
    meas = rows["measure"].astype("string").fillna("")
    is_arm = arm.isin(["intervention", "control"])
    if measure is None:
        return pd.Series(True, index=rows.index)
    if measure in _CONTINUOUS:
        ok_meas = ("MD",) if measure == "MD" else ("SMD", "g")
        return (is_arm & st.eq("post_msd")) | (arm.eq("comparison") & meas.isin(ok_meas))
    if measure in _BINARY:
        return (is_arm & st.eq("events")) | (arm.eq("comparison") & meas.eq(measure))
    raise ValueError(f"unknown measure {measure!r}")


def primary_outcomes(
    outcomes: pd.DataFrame,
    outcome: str = "depressive_symptoms",
    hierarchy: str | Sequence[str] = "self_first",
    timepoint: str = "post",
    *,
    measure: str | None = None,
    use: Sequence[str] = ("primary",),
) -> pd.DataFrame:
    """One row set per study and comparison for ``outcome`` at ``timepoint``.

    For each (study_id, comparison) the first instrument of the hierarchy that has usable rows
    (``use`` in ``use``; if ``measure`` is given, rows that can yield that measure) is chosen;
    if that instrument has several time labels at the time point (e.g. 12 and 18 months of
    follow-up), the first in file order is kept. Returns the chosen rows (all their columns) in
    file order, with an added ``hierarchy_rank`` column (0 = first choice).
    """
    order = _hierarchy(hierarchy)
    rank = {code: i for i, code in enumerate(order)}
    o = outcomes
    sel = o.loc[
        o["outcome"].astype("string").eq(outcome).fillna(False)
        & o["timepoint"].astype("string").eq(timepoint).fillna(False)
        & o["use"].astype("string").isin(list(use)).fillna(False)
    ].copy()
    sel = sel.loc[_usable_for(sel, measure)]
    inst = sel["instrument"].astype("string").fillna("")
    sel = sel.loc[inst.isin(list(order))]
    sel["hierarchy_rank"] = sel["instrument"].astype("string").fillna("").map(rank).astype(int)
    sel["_tl"] = sel["time_label"].astype("string").fillna("")
    keep: list[pd.Index] = []
    for _, grp in sel.groupby(["study_id", "comparison"], sort=False):
        best = grp["hierarchy_rank"].min()
        g = grp.loc[grp["hierarchy_rank"] == best]
        first_tl = g["_tl"].iloc[0]
        keep.append(g.index[g["_tl"] == first_tl])
    idx = keep[0].append(keep[1:]) if keep else pd.Index([])
    return sel.loc[sel.index.isin(idx)].drop(columns="_tl")


def split_shared_control(rows: pd.DataFrame, *, round_counts: bool = True) -> pd.DataFrame:
    """Split a shared control arm between the comparisons that use it (multi-arm trials).

    For control rows flagged ``shared_control == "yes"``, ``k`` = number of distinct
    comparisons of the same study, outcome, instrument, time point, stat_type and arm_label in
    ``rows``; ``n``, ``events`` and ``total`` are divided by ``k`` (Cochrane Handbook 23.3.4),
    while means and SDs are kept. With ``round_counts`` the divided counts are rounded half up to
    integers (binary effect sizes need integer counts; ``events <= total`` is preserved);
    otherwise they stay fractional. Adds ``shared_split`` (k; 1 for other rows).
    Examples: Kocsis2009 MEDS arm (CBASP and BSP comparisons, k = 2) and Michalak2015 TAU arm
    (MBCT and CBASP comparisons, k = 2).
    """
    out = rows.copy()
    out["shared_split"] = 1
    if out.empty:
        return out
    shared = out["shared_control"].astype("string").eq("yes").fillna(False) & out["arm"].astype(
        "string"
    ).eq("control").fillna(False)
    if not shared.any():
        return out
    keys = [
        "study_id",
        "outcome",
        "instrument",
        "timepoint",
        "time_label",
        "stat_type",
        "arm_label",
    ]
    sub = out.loc[shared, keys + ["comparison"]].astype("string").fillna("")
    k = sub.groupby(keys)["comparison"].transform("nunique")
    out.loc[shared, "shared_split"] = k.astype(int).to_numpy()
    for col in ("n", "events", "total"):
        vals = pd.to_numeric(out[col], errors="coerce").astype("float64")
        divided = vals / out["shared_split"].astype("float64")
        if round_counts:
            divided = np.floor(divided + 0.5)
        out[col] = vals.where(~shared, divided)
    if round_counts:
        ev = pd.to_numeric(out["events"], errors="coerce")
        tot = pd.to_numeric(out["total"], errors="coerce")
        out["events"] = ev.where(~(ev > tot), tot)
    return out


class EffectInputs(NamedTuple):
    """Result of :func:`effect_inputs`."""

    ready: pd.DataFrame
    """One row per study x comparison with the inputs for ``analysis.effect_size``."""
    awaiting: pd.DataFrame
    """Studies without usable data for the outcome/measure (study_id, trial_name, reason)."""


_READY_COLUMNS = [
    "study_id",
    "comparison",
    "outcome",
    "instrument",
    "rater",
    "timepoint",
    "time_label",
    "input",
    "m1",
    "sd1",
    "n1",
    "m2",
    "sd2",
    "n2",
    "e1",
    "e2",
    "effect",
    "ci_low",
    "ci_high",
    "se",
    "measure_reported",
    "sign_flipped",
    "shared_split",
    "outcome_ids",
]


def _orient_comparison(row: pd.Series, outcome: str) -> dict[str, object]:
    eff, lo, hi = (
        float(row[c]) if pd.notna(row[c]) else np.nan for c in ("effect", "ci_low", "ci_high")
    )
    se = float(row["se"]) if pd.notna(row["se"]) else np.nan
    fav = _s(row["favours_psychotherapy_when"])
    meas = _s(row["measure"])
    flipped = False
    if meas in ("RR", "OR"):
        target = "positive" if outcome in ("response", "remission") else "negative"
        if fav and fav != target:
            eff, lo, hi = 1 / eff, 1 / hi, 1 / lo
            flipped = True
    else:
        if fav == "positive":
            eff, lo, hi = -eff, -hi, -lo
            flipped = True
    return {
        "effect": eff,
        "ci_low": lo,
        "ci_high": hi,
        "se": se,
        "sign_flipped": flipped,
        "measure_reported": meas,
    }


def effect_inputs(
    outcomes: pd.DataFrame,
    studies: pd.DataFrame | None = None,
    outcome: str = "depressive_symptoms",
    measure: str = "SMD",
    hierarchy: str | Sequence[str] = "self_first",
    timepoint: str = "post",
    *,
    split_shared: bool = True,
    allow_precomputed: bool = True,
) -> EffectInputs:
    """Tidy per-study/comparison inputs for ``analysis.effect_size`` plus the studies awaiting data.

    ``measure``: ``"MD"``/``"SMD"`` (continuous) or ``"RR"``/``"OR"``/``"RD"`` (binary).
    Rows are chosen with :func:`primary_outcomes` (``use == "primary"`` only) and, for
    multi-arm trials, :func:`split_shared_control`.

    ``ready`` columns: ``input`` is ``"arms"`` (use ``m1, sd1, n1, m2, sd2, n2`` or
    ``e1, n1, e2, n2``; group 1 = psychotherapy) or ``"precomputed"`` (use
    ``effect, ci_low, ci_high`` / ``se``: ratios stay on the ratio scale, pass
    ``log_scale=True``). Continuous arm means are oriented so that a negative difference means
    psychotherapy is better (means of ``higher_better`` scales are negated); precomputed effects
    are re-signed (``sign_flipped``) to the same convention, and ratios to RR/OR > 1 = more
    response/remission with psychotherapy (dropout ratios: < 1 = fewer dropouts).
    ``awaiting`` lists the studies of ``studies`` (default: every study in ``outcomes``) with no
    ready row, with a reason.
    """
    binary = measure in _BINARY
    if not binary and measure not in _CONTINUOUS:
        raise ValueError(f"measure must be one of {_CONTINUOUS + _BINARY}, got {measure!r}")
    chosen = primary_outcomes(outcomes, outcome, hierarchy, timepoint, measure=measure)
    if not allow_precomputed:
        chosen = chosen.loc[chosen["arm"].astype("string") != "comparison"]
    if split_shared:
        chosen = split_shared_control(chosen)
    elif "shared_split" not in chosen:
        chosen = chosen.assign(shared_split=1)
    records: list[dict[str, object]] = []
    for (sid, comp), grp in chosen.groupby(["study_id", "comparison"], sort=False):
        first = grp.iloc[0]
        base: dict[str, object] = {
            "study_id": sid,
            "comparison": comp,
            "outcome": outcome,
            "instrument": _s(first["instrument"]),
            "rater": _s(first["rater"]),
            "timepoint": timepoint,
            "time_label": _s(first["time_label"]),
            "outcome_ids": ";".join(grp["outcome_id"].astype(str)),
            "shared_split": int(grp["shared_split"].max()),
        }
        arms = grp.loc[grp["arm"].astype("string").isin(["intervention", "control"])]
        if len(arms) == 2:
            i = arms.loc[arms["arm"].astype("string") == "intervention"].iloc[0]
            c = arms.loc[arms["arm"].astype("string") == "control"].iloc[0]
            rec = dict(base, input="arms", sign_flipped=False, measure_reported="")
            if binary:
                rec.update(
                    e1=float(i["events"]),
                    n1=float(i["total"]),
                    e2=float(c["events"]),
                    n2=float(c["total"]),
                )
            else:
                sign = -1.0 if _s(i["direction"]) == "higher_better" else 1.0
                rec.update(
                    m1=sign * float(i["mean"]),
                    sd1=float(i["sd"]),
                    n1=float(i["n"]),
                    m2=sign * float(c["mean"]),
                    sd2=float(c["sd"]),
                    n2=float(c["n"]),
                    sign_flipped=sign < 0,
                )
            records.append(rec)
            continue
        comps = grp.loc[grp["arm"].astype("string") == "comparison"]
        if len(comps):
            row = comps.iloc[0]
            records.append(dict(base, input="precomputed", **_orient_comparison(row, outcome)))
    ready = pd.DataFrame.from_records(records, columns=_READY_COLUMNS)

    pool = (
        studies
        if studies is not None
        else pd.DataFrame({"study_id": pd.unique(outcomes["study_id"]), "trial_name": pd.NA})
    )
    have = set(ready["study_id"])
    reasons: list[dict[str, object]] = []
    for _, st in pool.iterrows():
        sid = st["study_id"]
        if sid in have:
            continue
        rows = outcomes.loc[
            (outcomes["study_id"] == sid)
            & outcomes["outcome"].astype("string").eq(outcome).fillna(False)
        ]
        prim = rows.loc[rows["use"].astype("string").eq("primary").fillna(False)]
        at_time = prim.loc[prim["timepoint"].astype("string").eq(timepoint).fillna(False)]
        if rows.empty:
            why = f"no {outcome} data"
        elif prim.empty:
            why = f"{outcome} data are not usable (only {', '.join(sorted(set(rows['use'])))} rows)"
        elif at_time.empty:
            why = f"no usable {outcome} data at time point '{timepoint}'"
        else:
            got = sorted(
                {
                    f"{_s(m) or _s(t)} [{_s(i) or 'no instrument'}]"
                    for m, t, i in zip(
                        at_time["measure"], at_time["stat_type"], at_time["instrument"], strict=True
                    )
                }
            )
            why = (
                f"no data usable for {measure} with the chosen instrument hierarchy "
                f"(available: {', '.join(got)})"
            )
        reasons.append(
            {
                "study_id": sid,
                "trial_name": st.get("trial_name", pd.NA),
                "data_status": st.get("data_status", pd.NA),
                "reason": why,
            }
        )
    awaiting = pd.DataFrame.from_records(
        reasons, columns=["study_id", "trial_name", "data_status", "reason"]
    )
    return EffectInputs(ready=ready, awaiting=awaiting)
