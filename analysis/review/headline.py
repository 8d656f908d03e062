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
from analysis.review.families import FAMILIES, family_of
from analysis.review.protocol import comparison_mask, control_type, protocol_of
from analysis.review.records import result_record
from analysis.review.sentences import nnt_from_smd_text
from analysis.review.summary_of_findings import certainty_statement, subject
from analysis.review.text import (
    count_text,
    describe,
    join_words,
    percent,
    study_label,
    trial_list,
)

__all__ = [
    "FAMILY_MIN_TRIALS",
    "assumed_response_risk",
    "certainty_meaning",
    "family_trial_counts",
    "headline_texts",
    "outcome_brief",
    "outcome_statement",
    "population_text",
    "strict_question",
    "which_therapy_text",
    "within_trial_subgroups",
]

#: What each GRADE certainty level means, in the words of the GRADE working group
#: (Balshem et al. 2011, table 2), shortened for the landing page.
CERTAINTY_MEANINGS: dict[str, str] = {
    "high": "the true effect is very probably close to the trials' estimate",
    "moderate": "the true effect is probably close to the trials' estimate, but may be "
                "substantially different",
    "low": "the true effect may be substantially different",
    "very low": "the true effect is probably substantially different",
    "not rated": "no trial data to rate yet",
}  # fmt: skip

#: GRADE domains in plain words (why a certainty was rated down); ``{need}`` is the strict
#: number of failed antidepressants of the protocol.
_DOMAIN_WORDS: dict[str, str] = {
    "risk of bias": "risk of bias in the trials",
    "inconsistency": "results that differ between trials",
    "indirectness": "indirectness (most of the evidence comes from trials that did not require "
                    "{need} or more failed antidepressants, or whose participants may not have "
                    "been treatment-resistant)",
    "imprecision": "imprecision (a wide interval or few participants)",
    "publication bias": "possible publication bias",
}

#: A therapy family with fewer trials than this in the primary analysis is too small to judge on
#: its own: the subgroups page counts families that "rest on two trials or fewer"
#: (:meth:`analysis.review.subgroup_analyses.SubgroupAnalysis.small_subgroups`), and a
#: random-effects analysis gives a prediction interval only from three trials.
FAMILY_MIN_TRIALS = 3


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
    analysis, with ``certainty_meaning`` (:func:`certainty_meaning`) and ``certainty_why`` (the
    GRADE domains rated down, in plain words), ``nnt`` (from the primary SMD and the assumed
    control response risk ``cer``, with ``cer_source`` and its first clause
    ``cer_source_short``), ``comparison`` (the primary comparison in words), ``primary_who``
    (trials and participants of the primary analysis) and ``secondary`` (the all-controls
    analysis in words)."""
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
    who = f"{count_text(len(set(primary.studies)), 'trial')}, {primary.participants} participants"
    if primary.participants_unknown:
        who += (f" plus {count_text(int(primary.participants_unknown), 'comparison')} whose "
                "participants are not reported")  # fmt: skip
    down = [_DOMAIN_WORDS.get(d, d).format(need=proto.strict_min_failed)
            for d, levels in rating.downgrades.items() if levels]  # fmt: skip
    return {
        "statement": text,
        "certainty": rating.certainty,
        "certainty_meaning": certainty_meaning(rating.certainty),
        "certainty_why": ("rated down for " + join_words(down)) if down else "not rated down",
        "nnt": nnt,
        "cer": percent(cer),
        "cer_source": source,
        "cer_source_short": source.split(": ", 1)[0],
        "comparison": proto.primary.label,
        "primary_who": who,
        "secondary": sec,
        "secondary_extra": trial_list(waitlisted),
        "secondary_extra_n": count_text(len(waitlisted), "wait-list trial"),
    }


def certainty_meaning(certainty: str) -> str:
    """What a GRADE certainty level means, in plain words (:data:`CERTAINTY_MEANINGS`)."""
    return CERTAINTY_MEANINGS[certainty]


def population_text(trials: Any) -> str:
    """Whom the review's answer applies to, from the protocol: the population's number of failed
    antidepressant courses (``min_failed_antidepressants``) and the primary comparison."""
    proto = protocol_of(trials)
    courses = count_text(proto.min_failed, "adequate antidepressant course")
    control = proto.primary.label.split(" versus ", 1)[-1]
    return (f"adults whose depression did not respond to at least {courses}, compared with "
            f"{control}")  # fmt: skip


def family_trial_counts(primary: MetaAnalysis) -> dict[str, int]:
    """Trials per therapy family in an analysis (family slug -> number of distinct trials), in
    the order of :data:`~analysis.review.families.FAMILIES`, families without a trial left out.

    Comparisons are classified with :func:`~analysis.review.families.family_of`, as on the
    therapy pages and the subgroups page, so a multi-arm trial counts once in each family it
    tested."""
    t = primary.table
    if not len(t):
        return {}
    slugs = [family_of(c, m).slug for c, m in zip(t["comparison"], t["modality"], strict=True)]
    per = pd.DataFrame({"family": slugs, "study_id": list(t["study_id"])})
    counts = per.groupby("family")["study_id"].nunique()
    return {f.slug: int(counts[f.slug]) for f in FAMILIES if f.slug in counts.index}


def which_therapy_text(trials: Any, primary: MetaAnalysis | None = None) -> str:
    """What the trials of the primary analysis say about which therapy to choose, in words a
    clinician reads in a minute: the trials of each therapy family (most trials first, families
    with equal numbers together; :func:`family_trial_counts`), which families have at least
    :data:`FAMILY_MIN_TRIALS` trials, and that with so few trials, each compared with usual care
    rather than with another therapy, differences between families are uncertain."""
    primary = meta_analysis(trials) if primary is None else primary
    counts = family_trial_counts(primary)
    if not counts:
        return ("No trial has usable data yet, so the trials cannot say which therapy to "
                "choose.")  # fmt: skip
    by_slug = {f.slug: f for f in FAMILIES}
    t = primary.table
    fams = pd.Series([family_of(c, m).slug for c, m in
                      zip(t["comparison"], t["modality"], strict=True)])  # fmt: skip
    per_trial = fams.groupby(list(t["study_id"])).nunique()
    n_trials, multi = len(per_trial), int((per_trial > 1).sum())
    groups = []
    for n in sorted(set(counts.values()), reverse=True):
        names = [by_slug[slug].plain_name for slug in counts if counts[slug] == n]
        groups.append(f"{join_words(names)} ({count_text(n, 'trial')}"
                      + (" each)" if len(names) > 1 else ")"))  # fmt: skip
    lead = f"The {count_text(n_trials, 'trial')} tested " + "; ".join(groups)
    if multi:
        most = int(per_trial.max())
        lead += (f"; {count_text(multi, 'trial')} tested "
                 f"{count_text(most, 'therapy', 'therapies')}")  # fmt: skip
    enough = [by_slug[slug].plain_name for slug in counts if counts[slug] >= FAMILY_MIN_TRIALS]
    if not enough:
        judge = f"No therapy has {FAMILY_MIN_TRIALS} or more trials"
    elif len(enough) == len(counts):
        judge = f"Every therapy has {FAMILY_MIN_TRIALS} or more trials"
    else:
        # the families are listed most trials first, so those with enough trials come first
        first = "the first has" if len(enough) == 1 else f"the first {len(enough)} have"
        judge = (f"Only {first} {FAMILY_MIN_TRIALS} or more trials; the others have too few to "
                 "judge alone")  # fmt: skip
    return (f"{lead}. {judge}. Each was compared with usual care, not with another therapy, so "
            "which works best is uncertain.")


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
    required = (f"{n} of {count_text(len(s), 'trial')} required at least {need} failed "
                "antidepressants")  # fmt: skip
    if not n:
        short = f"Not known: none of the {count_text(len(s), 'trial')} required at least {need}."
    elif ma.result is None:
        short = (f"Not known yet: {required}, and "
                 + ("it has" if n == 1 else "they have") + " no usable results yet.")
    else:
        short = f"{required[0].upper()}{required[1:]}; {data}."
    return {"n": str(n), "min": str(need), "trials": listed, "data": data,
            "subgroups": subgroups, "answer": answer, "short": short}  # fmt: skip


def outcome_statement(trials: Any, result_id: str, ma: MetaAnalysis) -> str:
    """``"<plain-language statement> (<certainty> certainty)"`` for one published result, from
    :func:`analysis.review.summary_of_findings.certainty_statement`; without data, that no trial
    has reported usable data yet."""
    if ma.result is None:
        return f"no trial has reported usable data on {ma.outcome} for this comparison yet"
    rating, text = certainty_statement(trials, result_id, ma)
    return f"{text} ({rating.certainty} certainty)"


def outcome_brief(trials: Any, result_id: str, ma: MetaAnalysis) -> str:
    """:func:`outcome_statement` without its subject where the sentence is about the
    intervention (``"may result in little or no difference in dropout (low certainty)"``), for a
    line that already names the outcome; a very-low-certainty statement ("we are very uncertain
    whether ...") and the no-data text stay whole."""
    text = outcome_statement(trials, result_id, ma)
    lead = subject(trials) + " "
    return text[len(lead):] if text.startswith(lead) else text
