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
    "TRD_DEFINITION_LABELS",
    "TRD_DEFINITION_RULES",
    "EffectInputs",
    "effect_inputs",
    "main_analysis_studies",
    "primary_outcomes",
    "split_shared_comparisons",
    "split_shared_control",
    "trd_filter",
]

SELF_REPORT: tuple[str, ...] = ("BDI-II", "BDI-I", "BDI", "PHQ-9", "QIDS-SR", "IDS-SR")
CLINICIAN: tuple[str, ...] = ("HAMD-17", "HAMD-21", "HAMD-24", "HAMD", "MADRS")
#: Scales used as a last resort: not established depression-severity instruments.
NONSTANDARD: tuple[str, ...] = ("WAI-D",)
SELF_FIRST: tuple[str, ...] = (*SELF_REPORT, *CLINICIAN, *NONSTANDARD, "unclear", "")
CLINICIAN_FIRST: tuple[str, ...] = (*CLINICIAN, *SELF_REPORT, *NONSTANDARD, "unclear", "")

#: TRD definitions understood by :func:`trd_filter`, in words a reader can follow; the rule
#: each applies to ``data/studies.csv`` is :data:`TRD_DEFINITION_RULES`.
TRD_DEFINITIONS: dict[str, str] = {
    "any": "every trial that the seed reviews or the Metapsy database counted as "
    "treatment-resistant depression",
    "min1": "the trial report states that participants' depression had not responded to at "
    "least one antidepressant course",
    "min2": "the trial report states that participants' depression had not responded to at "
    "least two antidepressant courses",
    "psychotherapy_failure": "participants must also have had a psychotherapy that did not help",
    "strict": "every trial counted as treatment-resistant depression except those whose "
    "inclusion is doubtful (chronic depression without a failed treatment, two active "
    "treatments compared, or not randomised)",
}
#: The rule of each definition in terms of the columns of ``data/studies.csv`` (the data
#: dictionary's vocabulary; for the methods text and the data dictionary, not reader pages).
TRD_DEFINITION_RULES: dict[str, str] = {
    "any": "all rows of studies.csv",
    "min1": "min_failed_ad >= 1 (an empty value is unknown and excluded)",
    "min2": "min_failed_ad >= 2 (an empty value is unknown and excluded)",
    "psychotherapy_failure": "prior_psychotherapy_failure == 'yes'",
    "strict": "doubtful_inclusion contains none of chronic_not_trd, active_vs_active, "
    "non_randomised",
}
#: Short names of the definitions, for headings, controls and table rows (one home: the
#: explorer, the definition pages and the subgroup page use these).
TRD_DEFINITION_LABELS: dict[str, str] = {
    "any": "Every trial counted as TRD",
    "min1": "At least one failed antidepressant stated",
    "min2": "At least two failed antidepressants stated",
    "psychotherapy_failure": "Prior failed psychotherapy required",
    "strict": "Doubtful inclusions removed",
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


def _ranks(values: pd.Series, order: Sequence[str] | None) -> pd.Series:
    """Position of each value in ``order`` (0 for every value when ``order`` is None; values
    not in ``order`` rank after it)."""
    if order is None:
        return pd.Series(0, index=values.index)
    rank = {v: i for i, v in enumerate(order)}
    return values.astype("string").fillna("").map(lambda v: rank.get(v, len(rank))).astype(int)


def _standardisable(rows: pd.DataFrame, use: Sequence[str]) -> pd.Series:
    """Comparison-level MD rows whose trial has post-treatment arm rows (mean, SD, n) on the
    same instrument, time point and comparison, so the MD can be standardised with them."""
    o = rows
    if o.empty:
        return pd.Series(False, index=o.index)
    arm = o["arm"].astype("string").fillna("")
    st = o["stat_type"].astype("string").fillna("")
    ok_use = o["use"].astype("string").isin(list(use)).fillna(False)
    has_sd = (arm.isin(["intervention", "control"]) & st.eq("post_msd") & ok_use
              & o["sd"].notna() & o["n"].notna())  # fmt: skip
    keys = ["study_id", "comparison", "instrument", "timepoint"]
    k = o[keys].astype("string").fillna("").agg("|".join, axis=1)
    both = {key for key, g in o.loc[has_sd].assign(_k=k[has_sd]).groupby("_k")
            if set(g["arm"].astype(str)) == {"intervention", "control"}}  # fmt: skip
    meas = o["measure"].astype("string").fillna("")
    return arm.eq("comparison") & meas.eq("MD") & k.isin(both)


def primary_outcomes(
    outcomes: pd.DataFrame,
    outcome: str = "depressive_symptoms",
    hierarchy: str | Sequence[str] = "self_first",
    timepoint: str = "post",
    *,
    measure: str | None = None,
    use: Sequence[str] = ("primary",),
    populations: Sequence[str] | None = None,
    definitions: Sequence[str] | None = None,
    standardise_md: bool = False,
) -> pd.DataFrame:
    """One row set per study and comparison for ``outcome`` at ``timepoint``.

    Candidate *row sets* are the rows with ``use`` in ``use`` that can give ``measure`` (any
    when None): a pair of arm-level rows (one intervention and one control row of the same
    instrument, time label, stat_type, use and analysis population), or one comparison-level
    row. For each (study_id, comparison) the best set is chosen by, in this order:

    1. ``definitions``: the order of ``trial_primary_definition`` values (response and
       remission: the trial's own primary definition first; ``None`` = not ranked);
    2. the instrument ``hierarchy`` (instruments not in it are never chosen);
    3. ``populations``: the order of ``analysis_population`` values (e.g. ``itt`` before
       ``completers``; ``None`` = not ranked);
    4. the order of ``use`` (``primary`` before ``alternative``);
    5. arm-level before comparison-level data;
    6. file order (e.g. the first of several follow-up time labels).

    With ``standardise_md`` (``measure="SMD"``), a comparison-level MD also counts as a
    candidate when the trial has post-treatment arm rows (mean, SD, n) on the same instrument
    (:func:`effect_inputs` standardises it with their pooled SD).

    Returns the chosen rows (all their columns) in file order, with an added
    ``hierarchy_rank`` column (0 = first instrument of the hierarchy).
    """
    order = _hierarchy(hierarchy)
    rank = {code: i for i, code in enumerate(order)}
    o = outcomes
    sel = o.loc[
        o["outcome"].astype("string").eq(outcome).fillna(False)
        & o["timepoint"].astype("string").eq(timepoint).fillna(False)
        & o["use"].astype("string").isin(list(use)).fillna(False)
    ].copy()
    usable = _usable_for(sel, measure)
    if standardise_md and measure == "SMD":
        usable = usable | _standardisable(sel, use)
    sel = sel.loc[usable]
    inst = sel["instrument"].astype("string").fillna("")
    sel = sel.loc[inst.isin(list(order))]
    sel["hierarchy_rank"] = sel["instrument"].astype("string").fillna("").map(rank).astype(int)
    if sel.empty:
        return sel
    arm = sel["arm"].astype("string").fillna("")
    is_arm = arm.isin(["intervention", "control"])
    pop = sel["analysis_population"] if "analysis_population" in sel else pd.Series(
        "", index=sel.index)
    tpd = (sel["trial_primary_definition"] if "trial_primary_definition" in sel
           else pd.Series("", index=sel.index))  # fmt: skip
    set_cols = ["study_id", "comparison", "instrument", "time_label", "stat_type", "use"]
    arm_key = sel[set_cols].astype("string").fillna("").agg("|".join, axis=1) + "|" + pop.astype(
        "string").fillna("")
    sel["_set"] = arm_key.where(is_arm, sel["outcome_id"].astype(str))
    sel["_rank"] = list(zip(
        _ranks(tpd, definitions), sel["hierarchy_rank"], _ranks(pop, populations),
        _ranks(sel["use"], list(use)), (~is_arm).astype(int), range(len(sel)), strict=True,
    ))  # fmt: skip
    keep: list[pd.Index] = []
    for _, grp in sel.groupby(["study_id", "comparison"], sort=False):
        sets = []
        for _, rows in grp.groupby("_set", sort=False):
            kinds = sorted(rows["arm"].astype(str))
            if kinds[0] in ("intervention", "control") and kinds != ["control", "intervention"]:
                continue  # an incomplete arm-level set cannot give an effect
            sets.append((min(rows["_rank"]), rows.index))
        if sets:
            keep.append(min(sets, key=lambda x: x[0])[1])
    idx = keep[0].append(keep[1:]) if keep else pd.Index([])
    return sel.loc[sel.index.isin(idx)].drop(columns=["_set", "_rank"])


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
    "population",
    "use",
    "n_reported",
    "shared_key",
    "n2_full",
    "e2_full",
    "sd_source",
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


def split_shared_comparisons(ready: pd.DataFrame) -> pd.DataFrame:
    """Divide shared control arms between the comparisons of ``ready`` that use them.

    ``ready`` holds one row per comparison (:func:`effect_inputs` with ``split_shared=False``)
    with the whole control group in ``n2_full``/``e2_full`` and ``shared_key`` naming a shared
    control arm (empty otherwise). A control arm is divided only between the comparisons *in
    this table* that share it (Cochrane Handbook 23.3.4): the number of such comparisons is
    ``shared_split``, ``n2`` and ``e2`` are the whole-group counts divided by it, rounded half
    up (``e2 <= n2`` kept); means and SDs are unchanged. A comparison whose partner arm is not
    in the table keeps the whole control group.
    """
    out = ready.copy()
    if out.empty:
        return out.assign(shared_split=pd.Series(dtype=int))
    key = out["shared_key"].astype("string").fillna("")
    counts = key.map(key[key != ""].value_counts()).fillna(1).astype(int).where(key != "", 1)
    out["shared_split"] = counts.astype(int)
    for col, full in (("n2", "n2_full"), ("e2", "e2_full")):
        whole = pd.to_numeric(out[full], errors="coerce").astype("float64")
        divided = np.floor(whole / out["shared_split"] + 0.5)
        out[col] = np.where(key != "", divided, pd.to_numeric(out[col], errors="coerce"))
    e2, n2 = pd.to_numeric(out["e2"], errors="coerce"), pd.to_numeric(out["n2"], errors="coerce")
    out["e2"] = e2.where(~(e2 > n2), n2)
    return out


def _sd_source(outcomes: pd.DataFrame, row: pd.Series, use: Sequence[str]) -> str | None:
    """``"sd1;n1;sd2;n2;outcome ids"`` of the post-treatment arm rows a comparison-level MD is
    standardised with (same study, comparison, instrument and time point; the same time label
    first), or None."""
    o = outcomes
    m = (
        (o["study_id"] == row["study_id"]) & (o["comparison"] == row["comparison"])
        & o["instrument"].astype("string").eq(_s(row["instrument"])).fillna(False)
        & o["timepoint"].astype("string").eq(_s(row["timepoint"])).fillna(False)
        & o["stat_type"].astype("string").eq("post_msd").fillna(False)
        & o["use"].astype("string").isin(list(use)).fillna(False)
        & o["sd"].notna() & o["n"].notna()
    )  # fmt: skip
    arms = o.loc[m].copy()
    if arms.empty:
        return None
    arms["_same"] = (arms["time_label"].astype("string").fillna("") != _s(row["time_label"]))
    arms = arms.sort_values("_same", kind="stable")
    i = arms.loc[arms["arm"].astype("string") == "intervention"]
    c = arms.loc[arms["arm"].astype("string") == "control"]
    if i.empty or c.empty:
        return None
    i, c = i.iloc[0], c.iloc[0]
    return (f"{float(i['sd'])!r};{float(i['n'])!r};{float(c['sd'])!r};{float(c['n'])!r};"
            f"{i['outcome_id']} {c['outcome_id']}")  # fmt: skip


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
    use: Sequence[str] = ("primary",),
    populations: Sequence[str] | None = None,
    definitions: Sequence[str] | None = None,
    standardise_md: bool = False,
) -> EffectInputs:
    """Tidy per-study/comparison inputs for ``analysis.effect_size`` plus the studies awaiting data.

    ``measure``: ``"MD"``/``"SMD"`` (continuous) or ``"RR"``/``"OR"``/``"RD"`` (binary).
    Rows are chosen with :func:`primary_outcomes` (``use``, ``populations``, ``definitions``
    and ``standardise_md`` are passed on) and, with ``split_shared``, shared control arms are
    divided between the chosen comparisons (:func:`split_shared_comparisons`).

    ``ready`` columns: ``input`` is ``"arms"`` (use ``m1, sd1, n1, m2, sd2, n2`` or
    ``e1, n1, e2, n2``; group 1 = psychotherapy), ``"precomputed"`` (use
    ``effect, ci_low, ci_high`` / ``se``: ratios stay on the ratio scale, pass
    ``log_scale=True``) or ``"standardised"`` (an MD with its CI, for an SMD analysis, to be
    standardised with the SDs in ``sd_source`` = ``"sd1;n1;sd2;n2;outcome ids"`` of the trial's
    arm rows). Continuous arm means are oriented so that a negative difference means
    psychotherapy is better (means of ``higher_better`` scales are negated); precomputed effects
    are re-signed (``sign_flipped``) to the same convention, and ratios to RR/OR > 1 = more
    response/remission with psychotherapy (dropout ratios: < 1 = fewer dropouts).
    ``population`` and ``use`` are those of the chosen rows, ``n_reported`` the ``n`` of a
    comparison-level row, ``shared_key`` names a shared control arm (``n2_full``/``e2_full``
    hold its whole counts). ``awaiting`` lists the studies of ``studies`` (default: every study
    in ``outcomes``) with no ready row, with a reason.
    """
    binary = measure in _BINARY
    if not binary and measure not in _CONTINUOUS:
        raise ValueError(f"measure must be one of {_CONTINUOUS + _BINARY}, got {measure!r}")
    chosen = primary_outcomes(outcomes, outcome, hierarchy, timepoint, measure=measure, use=use,
                              populations=populations, definitions=definitions,
                              standardise_md=standardise_md)  # fmt: skip
    if not allow_precomputed:
        chosen = chosen.loc[chosen["arm"].astype("string") != "comparison"]
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
            "shared_split": 1,
            "population": _s(first.get("analysis_population", "")),
            "use": _s(first["use"]),
            "shared_key": "",
        }
        arms = grp.loc[grp["arm"].astype("string").isin(["intervention", "control"])]
        if len(arms) == 2:
            i = arms.loc[arms["arm"].astype("string") == "intervention"].iloc[0]
            c = arms.loc[arms["arm"].astype("string") == "control"].iloc[0]
            rec = dict(base, input="arms", sign_flipped=False, measure_reported="")
            if _s(c["shared_control"]) == "yes":
                rec["shared_key"] = "|".join(
                    _s(c[k]) for k in ("study_id", "outcome", "instrument", "timepoint",
                                       "time_label", "stat_type", "arm_label"))  # fmt: skip
            if binary:
                rec.update(
                    e1=float(i["events"]),
                    n1=float(i["total"]),
                    e2=float(c["events"]),
                    n2=float(c["total"]),
                    e2_full=float(c["events"]),
                    n2_full=float(c["total"]),
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
                    n2_full=float(c["n"]),
                    sign_flipped=sign < 0,
                )
            records.append(rec)
            continue
        comps = grp.loc[grp["arm"].astype("string") == "comparison"]
        if len(comps):
            row = comps.iloc[0]
            rec = dict(base, input="precomputed", **_orient_comparison(row, outcome))
            rec["n_reported"] = float(row["n"]) if pd.notna(row["n"]) else np.nan
            if measure == "SMD" and _s(row["measure"]) == "MD":
                rec["input"] = "standardised"
                rec["sd_source"] = _sd_source(outcomes, row, use)
            records.append(rec)
    ready = pd.DataFrame.from_records(records, columns=_READY_COLUMNS)
    if split_shared:
        ready = split_shared_comparisons(ready)

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
