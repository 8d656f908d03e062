"""What the landing page says: the protocol's primary answer, the secondary all-controls analysis
beside it, the number needed to treat from the primary analysis, and the strict question (people
who failed two or more antidepressants), all generated from the data and the protocol.

Every statement of certainty comes from
:func:`analysis.review.summary_of_findings.certainty_statement`, the function the summary of
findings and the results pages use, so the book says the same thing everywhere.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from analysis.review.analyses import MetaAnalysis, meta_analysis
from analysis.review.protocol import comparison_mask, control_type, protocol_of
from analysis.review.records import result_record
from analysis.review.sentences import nnt_from_smd_text
from analysis.review.summary_of_findings import certainty_statement
from analysis.review.text import count_text, describe, percent, study_label, trial_list

__all__ = [
    "assumed_response_risk",
    "headline_texts",
    "outcome_statement",
    "strict_question",
    "within_trial_subgroups",
]


def assumed_response_risk(trials: Any) -> tuple[float, str]:
    """The assumed control response risk of the protocol (``absolute_effects``), with its
    source: it turns the pooled SMD into a number needed to treat and the response odds ratio
    into an absolute effect."""
    spec = protocol_of(trials).assumed_control_risk.get("response", "trials")
    if isinstance(spec, dict):
        return float(spec["value"]), spec["source"]
    ma = meta_analysis(trials, "response", "RR")
    if not len(ma.table):
        return math.nan, "no control-group response counts in the data"
    arms = ma.table.loc[ma.table["input"] == "arms"].drop_duplicates("study_id")
    if not len(arms):
        return math.nan, "no control-group response counts in the data"
    risks = arms["e2_full"].astype(float) / arms["n2_full"].astype(float)
    return float(risks.median()), "median control-group response risk of the trials"


def headline_texts(trials: Any, primary: MetaAnalysis, secondary: MetaAnalysis) -> dict[str, str]:
    """Texts of the landing page's bottom line: ``statement`` and ``certainty`` of the primary
    analysis, ``nnt`` (from the primary SMD and the assumed control response risk ``cer``,
    with ``cer_source``), ``comparison`` (the primary comparison in words) and ``secondary``
    (the all-controls analysis in words)."""
    proto = protocol_of(trials)
    rating, text = certainty_statement(trials, "symptoms.smd.overall", primary)
    cer, source = assumed_response_risk(trials)
    r = primary.result
    if r is None or not math.isfinite(cer):
        nnt = "not estimable"
    else:
        nnt = nnt_from_smd_text(r.estimate, r.ci_low, r.ci_high, cer)
    if secondary.result is None:
        sec = "no trial data yet"
    else:
        rec = result_record("x", secondary.result, measure=secondary.measure, label="",
                            outcome=secondary.outcome, participants=secondary.participants,
                            studies=secondary.studies,
                            participants_unknown=secondary.participants_unknown)  # fmt: skip
        sec = describe(rec)["full"]
    waitlisted = [s for s in secondary.studies if s not in set(primary.studies)]
    return {
        "statement": text,
        "certainty": rating.certainty,
        "nnt": nnt,
        "cer": percent(cer),
        "cer_source": source,
        "comparison": proto.primary.label,
        "secondary": sec,
        "secondary_extra": trial_list(waitlisted),
        "secondary_extra_n": count_text(len(waitlisted), "wait-list trial"),
    }


def within_trial_subgroups(trials: Any) -> pd.DataFrame:
    """Results of randomised trials restricted to their participants who failed at least the
    strict number of antidepressants (a subgroup of a trial, not a randomised comparison in
    itself): columns ``study_id``, ``result_id``, ``text``.

    They come from participant-level datasets (:mod:`analysis.review.within_trial`): the
    catalogued subgroup that corresponds to the protocol's strict definition (``min<N>``,
    N = ``strict_min_failed_antidepressants``), for each trial whose dataset is loaded. Empty
    when there is none; the landing page then says so.
    """
    from analysis.review.within_trial import DEFINITION_SUBGROUPS, SUBGROUPS, subgroup_text

    rows = []
    rid = DEFINITION_SUBGROUPS.get(f"min{protocol_of(trials).strict_min_failed}")
    if rid is not None and SUBGROUPS[rid][0] in (getattr(trials, "ipd", None) or {}):
        rows.append({"study_id": SUBGROUPS[rid][0], "result_id": rid,
                     "text": subgroup_text(trials, rid)})  # fmt: skip
    return pd.DataFrame(rows, columns=["study_id", "result_id", "text"])


def strict_question(trials: Any) -> dict[str, str]:
    """The strict question in words a clinician reads in a minute: which trials required at
    least two failed antidepressants (the protocol's ``strict_min_failed_antidepressants``),
    whether any has usable data, and what the data show.

    Keys: ``n`` (trials requiring it), ``min`` (the number), ``trials`` (each with its design,
    control and data status), ``data`` (the pooled primary-comparison result of those trials,
    or that none has usable data), ``subgroups`` (within-trial subgroups), ``answer`` (one
    paragraph).
    """
    proto = protocol_of(trials)
    need = proto.strict_min_failed
    s = trials.studies
    failed = pd.to_numeric(s["min_failed_ad"], errors="coerce")
    qualify = s.loc[(failed >= need).fillna(False)]
    kinds = control_type(qualify, proto)
    in_primary = comparison_mask(qualify, proto, "primary")
    described = []
    for (_, row), kind, prim in zip(qualify.iterrows(), kinds, in_primary, strict=True):
        design = {"active": "compared with an active control", "switch": "compared with "
                  "medication", "add-on": f"add-on, {kind} control"}.get(str(row["design"]),
                                                                         str(row["design"]))
        what = "in the primary comparison" if prim else f"outside the primary comparison: {design}"
        described.append(f"{study_label(row['study_id'])} ({row['modality']}; {what}; data "
                         f"status: {row['data_status']})")  # fmt: skip
    ids = list(qualify["study_id"])
    ma = meta_analysis(trials, where=lambda st: st["study_id"].isin(ids))
    if ma.result is None:
        data = ("no usable data on depressive symptoms in the primary comparison exist for "
                + ("it" if len(qualify) == 1 else "them") + " yet")  # fmt: skip
    else:
        rec = result_record("x", ma.result, measure=ma.measure, label="", outcome=ma.outcome,
                            participants=ma.participants, studies=ma.studies,
                            participants_unknown=ma.participants_unknown)  # fmt: skip
        data = f"their pooled result in the primary comparison is {describe(rec)['full']}"
    sub = within_trial_subgroups(trials)
    if len(sub):
        subgroups = "; ".join(sub["text"])
        looked = f"Participant-level data allow a closer look: {subgroups}."
    else:
        subgroups = ("no trial reports its results separately for the participants who had "
                     f"failed {need} or more antidepressants")  # fmt: skip
        looked = f"Among the other trials, {subgroups}."
    n = len(qualify)
    listed = "; ".join(described) if described else "none"
    if ma.result is None:
        verdict = ("therefore not known from randomised evidence yet: the results above come "
                   "mostly from people who had failed one"
                   + ("; a subgroup of one trial is small and not randomised" if len(sub) else "")
                   + ".")  # fmt: skip
    else:
        verdict = "limited to the data just described."
    answer = (
        f"Of the {count_text(len(s), 'trial')} in the database, {n} required at least {need} "
        f"failed antidepressants ({listed}); {data}. {looked} The answer for people who have "
        f"failed {need} or more antidepressants is {verdict}"
    )
    return {"n": str(n), "min": str(need), "trials": listed, "data": data,
            "subgroups": subgroups, "answer": answer}  # fmt: skip


def outcome_statement(trials: Any, result_id: str, ma: MetaAnalysis) -> str:
    """``"<plain-language statement> (<certainty> certainty)"`` for one published result, from
    :func:`analysis.review.summary_of_findings.certainty_statement`; without data, that no trial
    has reported usable data yet."""
    if ma.result is None:
        return f"no trial has reported usable data on {ma.outcome} for this comparison yet"
    rating, text = certainty_statement(trials, result_id, ma)
    return f"{text} ({rating.certainty} certainty)"
