"""Reproducing the pooled results of the seed reviews from the trial database.

For every row of ``published_results.csv`` with a published estimate, :func:`recompute` maps the
studies the review pooled (the ``studies`` column, parsed into our study ids) and pools our data
for them with the review's method: for Cochrane 2018 (RevMan 5) inverse-variance DerSimonian–Laird
random effects for MD and SMD, and Mantel–Haenszel random effects for risk ratios.
:func:`reproduction_table` returns one row per published result with the published and the
recomputed figures side by side, their difference, a status, the agreement and an explanation.

Statuses (one per published result)
-----------------------------------
``"independent"``
    every listed study has data, and none of the rows we pooled is the review's own result: the
    recomputation checks the review against data from another source (e.g. Metapsy arm means).
``"same source"``
    every listed study has data, but at least one pooled row *is* the review's number (its
    ``source`` or ``location`` in ``outcomes.csv`` cites the review, :data:`REVIEW_CITATIONS`):
    agreement then checks our transcription and arithmetic, not the review (circular).
``"not recomputable"``
    the study list is unknown, a listed study has no usable data, or no figure was published
    (the explanation says which).

Agreement (``agreement`` column): ``"within 0.02"`` when the estimate and both CI limits agree
within 0.02 on the published scale (ratios as ratios), ``"differs"`` otherwise, ``""`` when not
recomputable. Only independent results that agree count as *reproduced*
(:func:`status_counts`, key ``"reproduced"``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from analysis.evidence.loading import Trials
from analysis.review.analyses import MetaAnalysis, meta_analysis
from analysis.review.catalogue import reproduction_id
from analysis.review.records import Estimate
from analysis.review.text import fmt_number, study_label

#: How the reviews name trials that we file under another id.
ALIASES: dict[str, str] = {"Wiles2016": "Wiles2013"}
TOLERANCE = 0.02
STATUSES = ("independent", "same source", "not recomputable")
AGREEMENT = ("within 0.02", "differs")
#: How ``outcomes.csv`` cites each review (``published_results.csv`` ``review_key``) in a row's
#: ``source`` or ``location``: a row that does is the review's own number.
REVIEW_CITATIONS: dict[str, tuple[str, ...]] = {
    "ijaz2018": ("Ijaz 2018", "Cochrane", "CD010558"),
    "giguere2025": ("Giguere 2025", "Giguère 2025", "J Pers Med"),
    "vanbronswijk2019": ("van Bronswijk", "S003329171800199X"),
}

#: Instrument hierarchy per token of the result id (``cochrane2018.<token>.<measure>...``).
HIERARCHIES: dict[str, list[str]] = {
    "bdi": ["BDI-II", "BDI-I", "BDI"],
    "phq9": ["PHQ-9"],
    "hamd": ["HAMD-17", "HAMD-21", "HAMD-24", "HAMD"],
    "selfreport": ["BDI-II", "BDI-I", "BDI", "PHQ-9", "QIDS-SR", "IDS-SR"],
}
OUTCOMES = {"remission": "remission", "response": "response", "dropout": "dropout"}


@dataclass
class Recomputation:
    """What :func:`recompute` found for one published result."""

    result_id: str
    wanted: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    analysis: MetaAnalysis | None = None
    inferred: bool = False
    reasons: list[str] = field(default_factory=list)
    same_source: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """All listed studies had data and something was pooled."""
        return (
            bool(self.wanted)
            and not self.missing
            and self.analysis is not None
            and self.analysis.result is not None
        )


def _s(value: Any) -> str:
    return (
        ""
        if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA
        else str(value)
    )


def parse_studies(text: Any, studies: pd.DataFrame, review: str = "") -> tuple[list[str], bool]:
    """Study ids named in a ``studies`` cell, and whether the list is an inference.

    ``"Harley 2008; Wiles 2016 (inferred ...)"`` -> ``(["Harley2008", "Wiles2013"], True)``.
    ``"all six ..."`` means the Cochrane 2018 included studies (``in_cochrane2018 == "yes"``).
    An empty cell or a list the source did not print (``"not seen"``) gives ``([], False)``.
    """
    t = _s(text)
    if not t:
        return [], False
    inferred = bool(re.search(r"infer|probabl|presum", t, re.I))
    known = set(studies["study_id"])
    ids: list[str] = []
    for name, year in re.findall(r"([A-Z][A-Za-z'\-]+)\s+(\d{4})", t):
        sid = name.replace("-", "") + year
        sid = ALIASES.get(sid, sid)
        if sid in known and sid not in ids:
            ids.append(sid)
    cochrane = "ijaz" in review.lower() or "cochrane" in review.lower()
    if not ids and re.match(r"\s*all six", t, re.I) and cochrane:
        ids = list(studies.loc[studies["in_cochrane2018"] == "yes", "study_id"])
    return ids, inferred


def _spec(result_id: str, measure: str) -> dict[str, Any] | None:
    """Outcome, measure, hierarchy and time point implied by a Cochrane result id."""
    parts = result_id.split(".")
    token = parts[1] if len(parts) > 1 else ""
    timepoint = "fu" if any(p.endswith("months") for p in parts) else "post"
    if measure in ("MD", "SMD") and token in HIERARCHIES:
        return {"outcome": "depressive_symptoms", "measure": measure,
                "hierarchy": HIERARCHIES[token], "timepoint": timepoint}  # fmt: skip
    if measure in ("RR", "OR") and token in OUTCOMES:
        return {"outcome": OUTCOMES[token], "measure": measure, "hierarchy": "self_first",
                "timepoint": timepoint}  # fmt: skip
    return None


def recompute(trials: Trials, row: pd.Series) -> Recomputation:
    """Pool our data for the studies one published result pooled, with the review's method."""
    rid = str(row["result_id"])
    rec = Recomputation(rid)
    if not np.isfinite(pd.to_numeric(row.get("estimate"), errors="coerce")):
        rec.reasons.append("no pooled figure was published")
        return rec
    rec.wanted, rec.inferred = parse_studies(row.get("studies"), trials.studies, _s(row["review"]))
    if not rec.wanted:
        rec.reasons.append("the list of pooled studies was not published or not retrieved")
        return rec
    spec = _spec(rid, _s(row.get("measure")))
    if spec is None:
        rec.reasons.append("the outcome or measure cannot be mapped to our database")
        return rec
    wanted = set(rec.wanted)
    ma = meta_analysis(
        trials, spec["outcome"], spec["measure"], main_only=False, comparison=None,
        where=lambda s: s["study_id"].isin(wanted), hierarchy=spec["hierarchy"],
        timepoint=spec["timepoint"], method="DL", test="z", mh=spec["measure"] in ("RR", "OR"),
    )  # fmt: skip
    months = re.search(r"\.(\d+)months", rid)
    wrong_time: list[str] = []
    if months and len(ma.table):
        label = f"{months.group(1)} months"
        off = ~ma.table["time_label"].fillna("").astype(str).str.contains(label, regex=False)
        wrong_time = list(dict.fromkeys(ma.table.loc[off, "study_id"]))
        if wrong_time:
            ma = meta_analysis(
                trials, spec["outcome"], spec["measure"], main_only=False, comparison=None,
                where=lambda s: s["study_id"].isin(wanted), exclude=wrong_time,
                hierarchy=spec["hierarchy"], timepoint=spec["timepoint"], method="DL",
                test="z", mh=spec["measure"] in ("RR", "OR"),
            )  # fmt: skip
            rec.reasons.append(
                "our follow-up data for "
                + ", ".join(study_label(s) for s in wrong_time)
                + f" are not at {label}"
            )
    rec.analysis = ma
    rec.same_source = same_source_studies(trials, ma, _s(row.get("review_key")))
    rec.missing = [s for s in rec.wanted if s not in set(ma.studies)]
    no_data = [s for s in rec.missing if s not in wrong_time]
    if no_data:
        rec.reasons.append(
            "no usable data in our database for " + ", ".join(study_label(s) for s in no_data)
        )
    if (
        spec["measure"] in ("RR", "OR")
        and len(ma.table)
        and not (ma.table["input"] == "arms").all()
    ):
        rec.reasons.append("some trials entered as published effects, so inverse variance "
                           "replaced Mantel–Haenszel")  # fmt: skip
    return rec


def same_source_studies(trials: Trials, ma: MetaAnalysis, review_key: str) -> list[str]:
    """Trials of ``ma`` whose pooled rows are the review's own numbers: the row's ``source`` or
    ``location`` cites the review (:data:`REVIEW_CITATIONS`)."""
    names = REVIEW_CITATIONS.get(review_key, ())
    if not names or not len(ma.table):
        return []
    rows = trials.outcomes.set_index("outcome_id")
    out = []
    for sid, ids in zip(ma.table["study_id"], ma.table["outcome_ids"], strict=True):
        for oid in str(ids).split(";"):
            text = f"{_s(rows.loc[oid, 'source'])} {_s(rows.loc[oid, 'location'])}"
            if any(n.lower() in text.lower() for n in names) and sid not in out:
                out.append(sid)
    return out


def _fmt(measure: str, est: float, lo: float, hi: float, k: Any = None) -> str:
    if not np.isfinite(est):
        return "—"
    text = f"{measure} {fmt_number(est)} [{fmt_number(lo)}, {fmt_number(hi)}]"
    return text + (f"; k = {int(k)}" if k is not None and np.isfinite(k) else "")


def _display(rec: Recomputation) -> tuple[float, float, float]:
    res = rec.analysis.result if rec.analysis is not None else None
    if res is None:
        return (math.nan, math.nan, math.nan)
    tr = math.exp if rec.analysis.is_ratio else float
    return tr(res.estimate), tr(res.ci_low), tr(res.ci_high)


def reproduction_table(
    trials: Trials, recomputations: dict[str, Recomputation] | None = None
) -> pd.DataFrame:
    """Published versus recomputed, one row per published result with an estimate.

    Columns: ``result_id, review, analysis, published, recomputed, difference, status,
    agreement, explanation`` (``difference`` = recomputed − published point estimate, on the
    published scale; NaN unless every listed study could be recomputed). Statuses and agreement
    as in the module docstring.
    """
    pub = trials.published
    pub = pub.loc[np.isfinite(pd.to_numeric(pub["estimate"], errors="coerce"))]
    if recomputations is None:
        recomputations = {r["result_id"]: recompute(trials, r) for _, r in pub.iterrows()}
    rows = []
    for _, r in pub.iterrows():
        rec = recomputations[r["result_id"]]
        measure = _s(r["measure"])
        est, lo, hi = (float(pd.to_numeric(r[c], errors="coerce")) for c in
                       ("estimate", "ci_low", "ci_high"))  # fmt: skip
        published = _fmt(measure, est, lo, hi, pd.to_numeric(r.get("k"), errors="coerce"))
        new = _display(rec)
        recomputed = _fmt(measure, *new, rec.analysis.k if rec.analysis is not None and
                          rec.analysis.result is not None else None)  # fmt: skip
        reasons = list(rec.reasons)
        agreement = ""
        if rec.complete:
            diffs = np.abs(np.array(new) - np.array([est, lo, hi]))
            ok = bool(np.nanmax(diffs) <= TOLERANCE + 1e-9)
            agreement = AGREEMENT[0] if ok else AGREEMENT[1]
            difference = new[0] - est
            if not ok:
                reasons.append(f"largest difference {fmt_number(float(np.nanmax(diffs)))} "
                               "(estimate or a CI limit)")  # fmt: skip
            if rec.same_source:
                status = STATUSES[1]
                reasons.append(
                    "our data for " + ", ".join(study_label(x) for x in rec.same_source)
                    + " are the review's own published effect, so agreement is not an "
                    "independent check")  # fmt: skip
            else:
                status = STATUSES[0]
        else:
            status, difference = STATUSES[2], math.nan
            if rec.analysis is not None and rec.analysis.result is not None:
                recomputed += " (partial)"
        if rec.inferred:
            reasons.append("study list inferred, not printed")
        if _s(r.get("reproducible")) in ("no", "partial") and _s(r.get("reproducibility_note")):
            reasons.append(_s(r["reproducibility_note"]).rstrip("."))
        rows.append({
            "result_id": r["result_id"], "review": _s(r["review"]).split(" (")[0],
            "analysis": _s(r["analysis"]), "published": published, "recomputed": recomputed,
            "difference": difference, "status": status, "agreement": agreement,
            "explanation": "; ".join(reasons) if reasons else "",
        })  # fmt: skip
    return pd.DataFrame(rows, columns=["result_id", "review", "analysis", "published",
                                       "recomputed", "difference", "status", "agreement",
                                       "explanation"])  # fmt: skip


def status_counts(table: pd.DataFrame) -> dict[str, int]:
    """Number of results per status (all three present, possibly 0), plus ``"reproduced"``:
    independent recomputations that agree within 0.02 (the only ones that count as
    reproduced), ``"independent_differs"`` and ``"same_source_agrees"``."""
    counts = table["status"].value_counts()
    out = {s: int(counts.get(s, 0)) for s in STATUSES}
    ind = table["status"] == STATUSES[0]
    out["reproduced"] = int((ind & (table["agreement"] == AGREEMENT[0])).sum())
    out["independent_differs"] = int((ind & (table["agreement"] == AGREEMENT[1])).sum())
    out["same_source_agrees"] = int(((table["status"] == STATUSES[1])
                                     & (table["agreement"] == AGREEMENT[0])).sum())  # fmt: skip
    return out


def recompute_all(trials: Trials) -> dict[str, Recomputation]:
    """:func:`recompute` for every published result with an estimate, by result id."""
    pub = trials.published
    pub = pub.loc[pd.to_numeric(pub["estimate"], errors="coerce").notna()]
    return {r["result_id"]: recompute(trials, r) for _, r in pub.iterrows()}


def reproduction_estimates(recomputations: dict[str, Recomputation]) -> list[Estimate]:
    """Our recomputations as estimates under ``reproduction.<published id>`` (those that pooled
    something; the label says whether every listed study was available)."""
    out = []
    for rid, rec in recomputations.items():
        ma = rec.analysis
        if ma is None or ma.result is None:
            continue
        scope = ("all listed studies" if rec.complete
                 else f"partial: {ma.k} of {len(rec.wanted)} listed studies")  # fmt: skip
        label = f"Recomputation of {rid} with the review's method ({scope})"
        out.append(ma.estimate(reproduction_id(rid), label))
    return out


def reproduction_display(table: pd.DataFrame) -> pd.DataFrame:
    """:func:`reproduction_table` rows for readers (formatted difference, plain headers)."""
    out = table.assign(
        difference=["—" if pd.isna(d) else fmt_number(d) for d in table["difference"]],
        agreement=[a or "—" for a in table["agreement"]],
    )[["analysis", "result_id", "published", "recomputed", "difference", "status", "agreement",
       "explanation"]]  # fmt: skip
    out.columns = ["Analysis", "Result id", "Published", "Recomputed", "Difference", "Status",
                   "Agreement", "Explanation"]  # fmt: skip
    return out.reset_index(drop=True)
