"""Applying the review protocol (``data/protocol.yml``): which trials, rows and model an analysis
uses, as the protocol states them.

The protocol is loaded and validated with the data (:mod:`analysis.evidence.protocol`,
``Trials.protocol``). This module turns it into selections: the kind of control of each trial,
the trials of a comparison, the instrument hierarchy, and the readers' texts and tables that
render it (the Protocol page and the Methods chapter glue them, so the text is the rule the code
applies).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pandas as pd

from analysis.evidence.protocol import Protocol, load_protocol
from analysis.review.grade import rules_of, statement
from analysis.review.text import join_words

__all__ = [
    "comparison_mask",
    "control_type",
    "hierarchy",
    "protocol_of",
    "tokens",
]


def protocol_of(trials: Any) -> Protocol:
    """The protocol of a loaded database (``trials.protocol``; loaded from its data folder when
    the object carries none)."""
    proto = getattr(trials, "protocol", None)
    return proto if proto is not None else load_protocol(trials.data_dir)


def tokens(value: object) -> set[str]:
    """The ``;``-separated tokens of a cell (empty set for a missing value)."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return set()
    return {t.strip() for t in str(value).split(";") if t.strip()}


def control_type(studies: pd.DataFrame, proto: Protocol) -> pd.Series:
    """``"wait-list"`` for trials carrying the protocol's wait-list flag in
    ``doubtful_inclusion``, ``"usual care"`` otherwise (indexed like ``studies``)."""
    flag = proto.waitlist_flag
    wait = studies["doubtful_inclusion"].map(lambda v: flag in tokens(v)).astype(bool)
    return wait.map({True: "wait-list", False: "usual care"})


def comparison_mask(
    studies: pd.DataFrame, proto: Protocol, comparison: str, *, self_help: bool = False
) -> pd.Series:
    """Trials of ``studies`` in one comparison of the protocol (``"primary"`` or
    ``"all_controls"``): its design (never a never-pooled design), its kinds of control,
    therapist-delivered formats (and the self-help formats with ``self_help``), never a trial
    flagged as never pooled, and not a trial whose source states fewer failed antidepressant
    courses than the population requires (``min_failed_ad`` empty = not stated, kept)."""
    comp = {"primary": proto.primary, "all_controls": proto.all_controls}[comparison]
    formats = set(proto.therapist_formats) | (set(proto.self_help_formats) if self_help else set())
    design = (studies["design"].astype("string").eq(comp.design).fillna(False)
              & ~studies["design"].astype("string").isin(list(proto.never_pooled_designs))
              .fillna(False))  # fmt: skip
    failed = pd.to_numeric(studies["min_failed_ad"], errors="coerce")
    eligible = ~(failed < proto.min_failed).fillna(False)
    control = control_type(studies, proto).isin(list(comp.controls))
    fmt = studies["format"].astype("string").isin(list(formats)).fillna(False)
    never = studies["doubtful_inclusion"].map(
        lambda v: bool(tokens(v) & set(proto.never_pooled_flags))).astype(bool)  # fmt: skip
    return (design & control & fmt & ~never & eligible).astype(bool)


def hierarchy(
    proto: Protocol, spec: str | Sequence[str] | None = None, *, any_instrument: bool = False
) -> tuple[str, ...]:
    """The instrument hierarchy of an analysis.

    ``None``: the protocol's established instruments, its first rater's scales first;
    ``"self_first"`` / ``"clinician_first"``: the same with that rater first; a list: those
    codes in that order (single-scale analyses). With ``any_instrument`` every other instrument
    code follows (the "any instrument" sensitivity analyses).
    """
    if spec is None or isinstance(spec, str):
        first = {None: None, "self_first": "self", "clinician_first": "clinician"}.get(spec, "?")
        if first == "?":
            raise ValueError("hierarchy must be None, 'self_first', 'clinician_first' or a list "
                             "of instrument codes")  # fmt: skip
        return proto.instrument_order(first, any_instrument=any_instrument)
    order = tuple(spec)
    if any_instrument:
        order += tuple(c for c in proto.instrument_order(any_instrument=True) if c not in order)
    return order


# --------------------------------------------------------------------------- reader texts
_TEST_WORDS = {
    "z": "a normal (Wald-type) confidence interval and z test",
    "knha": "the Knapp–Hartung adjustment (t distribution with k − 1 degrees of freedom and a "
            "rescaled standard error, which can be narrower than the standard one)",
    "adhoc": "the modified Knapp–Hartung adjustment: a t distribution with k − 1 degrees of "
             "freedom and the larger of two standard errors, the Knapp–Hartung one and the usual "
             "one, so that the adjustment never makes an interval narrower than the usual "
             "interval (metafor's test = \"adhoc\")",
}
_TEST_SHORT = {"z": "a Wald-type (z) confidence interval", "knha": "the Knapp–Hartung adjustment",
               "adhoc": "the modified Knapp–Hartung adjustment"}  # fmt: skip
_METHOD_WORDS = {"REML": "REML", "DL": "DerSimonian–Laird", "PM": "Paule–Mandel",
                 "FE": "a fixed-effect model"}  # fmt: skip
_POPULATION_WORDS = {"itt": "intention-to-treat data (all randomised participants)",
                     "not reported": "data whose analysis population the source does not state",
                     "completers": "completers' data (only participants with outcome data)"}




def model_text(proto: Protocol) -> str:
    """The model in a few words: ``"REML with the modified Knapp–Hartung adjustment"``."""
    return f"{_METHOD_WORDS.get(proto.method, proto.method)} with {_TEST_SHORT[proto.test]}"


def _examples(kind: str, rules: Any) -> str:
    said = {lvl: statement(lvl, kind, subject="Psychotherapy", outcome="symptoms", rules=rules)
            for lvl in ("high", "moderate", "low", "very low")}  # fmt: skip
    return "; ".join(f'{lvl} "{text}"' for lvl, text in said.items())


def protocol_texts(proto: Protocol) -> dict[str, str]:
    """Every rule of the protocol as the sentence readers see (Protocol page, Methods chapter).

    Each sentence is built from the values the code applies, so it cannot say something else.
    """
    g = proto.grade
    rules = rules_of(proto)
    self_help = join_words(proto.self_help_formats, "or") or "none"
    acr = proto.assumed_control_risk
    risks = []
    for outcome, spec in acr.items():
        if spec == "trials":
            risks.append(f"{outcome}: the median risk in the control groups of the trials in the "
                         "analysis")  # fmt: skip
        else:
            risks.append(f"{outcome}: {100 * spec['value']:.0f}% ({spec['source']})")
    return {
        "version": proto.version,
        "question": proto.question,
        "strict_question": proto.strict_question,
        "population": " ".join(str(proto.raw["population"]["description"]).split()),
        "min_failed": str(proto.min_failed),
        "strict_min_failed": str(proto.strict_min_failed),
        "doubtful_flags": join_words([f"{f}" for f in proto.doubtful_population_flags], "or"),
        "designs": " ".join(str(proto.raw["designs"]["eligible"]).split()),
        "interventions": " ".join(str(proto.raw["interventions"]["description"]).split()),
        "self_help": (f"Self-help formats (studies.csv format {self_help}) are excluded from the "
                      "primary analysis, which is about psychotherapy delivered by a therapist. "
                      "They enter a pre-specified sensitivity analysis and are shown, labelled "
                      "\"self-help\", in the single-scale analyses."),
        "primary_label": proto.primary.label,
        "primary_comparison": (
            f"The primary comparison is {proto.primary.label}: trials of design "
            f"{proto.primary.design} whose control group is "
            f"{join_words(proto.primary.controls, 'or')}."
        ),
        "all_controls": (
            f"A secondary analysis, shown beside the primary one, pools "
            f"{proto.all_controls.label}: "
            f"{join_words(proto.all_controls.controls, 'and')} controls "
            f"together. A trial's control is a wait-list when the trial carries the "
            f"{proto.waitlist_flag} flag (usual treatment, including medication, continued); "
            "otherwise it is usual care."
        ),
        "waitlist_subgroup": " ".join(str(proto.raw["comparisons"]["waitlist_subgroup"]).split()),
        "never_pooled": (f"Trials of design {join_words(proto.never_pooled_designs, 'or')} (a "
                         "psychotherapy against medication, an active control or another "
                         "psychotherapy) are never pooled with these comparisons."),
        "outcomes": ("The primary outcome is depressive symptoms at the end of treatment, as a "
                     "standardised mean difference (SMD). Secondary outcomes: "
                     f"{join_words(proto.raw['outcomes']['secondary'])}."),
        "instruments": (
            "Established depression-severity instruments, in the order of preference of the "
            f"primary analysis ({proto.first_rater}-rated first): "
            f"{join_words(proto.established_instruments)}. Any other instrument (for example an "
            "adjustment-inventory subscale, or a scale the sources do not name) enters only the "
            "\"any instrument\" sensitivity analyses."
        ),
        "hierarchy": (
            "For each comparison one set of data is chosen: for response and remission the "
            "trial's own primary definition first (then a definition not known to be the "
            "trial's, then another one); then the first instrument in the order above; then "
            + "; then ".join(_POPULATION_WORDS[p] for p in proto.population_order) + "; then "
            + join_words([f"rows marked {u}" for u in proto.use_order], "before")
            + " in the data; then arm-level data before published effects. Only the end of "
            f"treatment (time point {proto.timepoint}) enters the main analyses."
        ),
        "standardise": (
            "An intention-to-treat mean difference enters an SMD analysis standardised by the "
            "trial's own post-treatment standard deviation on the same instrument (the pooled SD "
            "of its arm rows): g = J(N − 2) × MD / SD and v = (SE / SD)² + g² / (2N), where N is "
            "the participants behind the MD; with arm data this is exactly Hedges' g."
            if proto.standardise_itt_md else
            "A mean difference is never converted into an SMD."
        ),
        "dichotomous": (
            "Response, remission and dropout are pooled as risk ratios "
            "(RR) from event counts. A trial that reports only an odds "
            "ratio cannot enter a risk ratio without an assumed control risk, so odds ratios "
            "(reported, or computed from counts) are pooled in a separate analysis shown beside "
            "the risk ratios."
        ),
        "multi_arm": " ".join(str(proto.raw["multi_arm"]["rule"]).split()),
        "participants": " ".join(str(proto.raw["participants"]["rule"]).split()),
        "model": (
            f"Random-effects meta-analysis with the between-trial variance τ² estimated by "
            f"{_METHOD_WORDS.get(proto.method, proto.method)} and {_TEST_WORDS[proto.test]}. "
            f"Confidence level {100 * proto.level:g}%. The prediction interval is estimate ± "
            "t(k − 2) × √(SE² + τ²), with the standard error of the reported confidence interval "
            "(it needs at least three trials)."
        ),
        "model_short": model_text(proto),
        "grade_rob": (
            f"Risk of bias: rated down when more than {g['risk_of_bias_weight_share']:g}% of the "
            "weight comes from comparisons at high risk of bias in a domain that applies to the "
            "outcome, or never assessed. Participants of trials of design "
            f"{join_words(g['unblinded_designs'], 'or')} know whether they receive "
            "psychotherapy, so "
            "their self-rated outcomes are at high risk of detection bias unless a source judges "
            "otherwise."
        ),
        "grade_inconsistency": (
            f"Inconsistency: rated down when I² exceeds {g['inconsistency_i2']:g}%, or when τ² > 0 "
            "and the prediction interval includes no effect while the confidence interval does "
            "not."
        ),
        "grade_indirectness": (
            f"Indirectness: rated down when more than {g['indirectness_weight_share']:g}% of the "
            f"weight comes from trials that did not require at least {proto.strict_min_failed} "
            "failed antidepressants (most of their participants had failed one), or whose "
            "population may not be treatment-resistant (flags "
            f"{join_words([f'{f}' for f in proto.doubtful_population_flags], 'or')})."
        ),
        "grade_imprecision": (
            "Imprecision: rated down when the confidence interval includes no effect, or when "
            f"fewer than {g['imprecision_participants']:g} participants contribute (a comparison "
            "whose analysed number is not reported counts its trial's randomised participants)."
        ),
        "grade_publication": (
            f"Publication bias: assessed with at least {g['publication_bias_min_trials']:g} "
            f"trials; rated down when Egger's test gives p < {g['publication_bias_p']:g}."
        ),
        "grade_wording": (
            "Plain-language statements follow the certainty (for example, for a reduction: "
            + _examples("lower", rules) + "; when the confidence interval includes no effect: "
            + _examples("no difference", rules) + ")."
        ),
        "absolute": (
            f"Dichotomous outcomes are re-expressed per {proto.per:,} people with an assumed "
            f"control risk ({'; '.join(risks)}). The SMD is re-expressed in {proto.smd_scale} "
            f"points by multiplying it by the median post-treatment standard deviation of the "
            f"{proto.smd_scale} in the control groups of the trials in the analysis."
        ),
    }


def protocol_lists(proto: Protocol) -> dict[str, pd.DataFrame]:
    """The pre-specified subgroup and sensitivity analyses, as tables (result id, what)."""
    return {
        "subgroups": pd.DataFrame({"Result ids": [f"{k}.*" for k in proto.subgroups],
                                   "Subgroups by": list(proto.subgroups.values())}),
        "sensitivity": pd.DataFrame({"Result id": list(proto.sensitivity),
                                     "Analysis": list(proto.sensitivity.values())}),
    }  # fmt: skip
