"""Rule-based GRADE certainty ratings and the plain-language statements made from them.

These are **transparent rules applied by the review's code, not reviewer judgements**. The
thresholds and the wording are the protocol's (``data/protocol.yml``, ``grade``;
:func:`rules_of`); every rule is tested in ``tests/test_grade.py``. A human GRADE assessment could
reach a different rating. All effects are on the analysis scale (log scale for ratio measures),
so the null effect is 0 for every measure.

Rules (each domain downgrades at most one level; evidence from randomised trials starts *high*):

* **Risk of bias** – downgrade when more than ``risk_of_bias_weight_share``% of the pooled weight
  comes from comparisons at high risk in a domain that applies to their outcome, or with no
  judgement in any such domain. The domains that apply: detection bias of self-report
  (``detection_bias_self_report``) for self-rated outcomes, blinding of outcome assessors for
  clinician-rated outcomes, neither for dropout, all other domains always. Participants of the
  ``unblinded_designs`` know whether they receive psychotherapy, so a self-reported outcome is
  at high risk of detection bias **in every such trial**, unless a source judges otherwise
  (:func:`with_design_rule` adds these judgements, marked as derived from the design).
* **Inconsistency** – downgrade when I² > ``inconsistency_i2``%, or when tau² > 0 and the
  prediction interval crosses the null while the confidence interval does not. Not assessable
  with fewer than 2 trials (noted).
* **Indirectness** – downgrade when more than ``indirectness_weight_share``% of the weight comes
  from trials that do not answer the question for the stated population: trials that do not
  require at least ``strict_min_failed_antidepressants`` failed courses (most participants had
  failed one antidepressant; the strict question asks about two or more), or trials whose
  population may not be treatment-resistant (``doubtful_population_flags``).
* **Imprecision** – downgrade when the confidence interval crosses the null, or when fewer than
  ``imprecision_participants`` participants contribute (a rough optimal information size).
* **Publication bias** – not assessed (no downgrade, noted) with fewer than
  ``publication_bias_min_trials`` trials; otherwise downgrade when Egger's test gives
  p < ``publication_bias_p``.

Plain-language statements (:func:`statement`) follow GRADE guidance (Santesso et al. 2020):
high "reduces", moderate "probably reduces", low "may reduce", very low "we are very uncertain
whether ... reduces"; "little or no difference" when the confidence interval includes no effect.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

__all__ = [
    "DETECTION_DOMAINS",
    "DOUBTFUL_TRD",
    "LEVELS",
    "GradeRating",
    "GradeRules",
    "domains_for",
    "effect_kind",
    "grade",
    "rob_status",
    "rules_of",
    "statement",
    "with_design_rule",
]

#: Certainty levels by number of points (4 = high).
LEVELS = {4: "high", 3: "moderate", 2: "low", 1: "very low"}
#: ``doubtful_inclusion`` tokens that question whether the population is TRD (the protocol's
#: ``doubtful_population_flags`` as released; :func:`rules_of` reads the protocol).
DOUBTFUL_TRD = frozenset({"chronic_not_trd", "borderline_trd", "trd_definition_not_seen"})
SELF_DOMAIN = "detection_bias_self_report"
CLINICIAN_DOMAIN = "blinding_outcome_assessors_clinician"
DETECTION_DOMAINS = (SELF_DOMAIN, CLINICIAN_DOMAIN)
#: ``support`` and ``source`` of the judgements :func:`with_design_rule` derives.
DERIVED_SOURCE = "review rule (data/protocol.yml grade.unblinded_designs)"

HIGH = "at least one high-risk domain"
NOT_ASSESSED = "not assessed"
NO_HIGH = "no high-risk domain"

_DEFAULT_WORDING = {
    "effect": {
        "high": "{subject} {verb} {outcome}",
        "moderate": "{subject} probably {verb} {outcome}",
        "low": "{subject} may {verb_base} {outcome}",
        "very low": "we are very uncertain whether {subject_lower} {verb} {outcome}",
    },
    "no_difference": {
        "high": "{subject} results in little or no difference in {outcome}",
        "moderate": "{subject} probably results in little or no difference in {outcome}",
        "low": "{subject} may result in little or no difference in {outcome}",
        "very low": "we are very uncertain whether {subject_lower} changes {outcome}",
    },
}


@dataclass(frozen=True)
class GradeRules:
    """The thresholds and wording of the rules (the protocol's ``grade`` section)."""

    rob_share: float = 50.0
    unblinded_designs: tuple[str, ...] = ("add-on", "switch", "active")
    i2: float = 50.0
    indirect_share: float = 50.0
    strict_min_failed: int = 2
    doubtful_flags: frozenset[str] = DOUBTFUL_TRD
    ois: int = 400
    pub_min_trials: int = 10
    pub_p: float = 0.10
    start: str = "high"
    wording: Mapping[str, Mapping[str, str]] = field(default_factory=lambda: _DEFAULT_WORDING)


def rules_of(proto: Any) -> GradeRules:
    """The :class:`GradeRules` of a validated protocol (``Trials.protocol``)."""
    g = proto.grade
    return GradeRules(
        rob_share=float(g["risk_of_bias_weight_share"]),
        unblinded_designs=tuple(g.get("unblinded_designs") or ()),
        i2=float(g["inconsistency_i2"]),
        indirect_share=float(g["indirectness_weight_share"]),
        strict_min_failed=int(proto.strict_min_failed),
        doubtful_flags=frozenset(proto.doubtful_population_flags),
        ois=int(g["imprecision_participants"]),
        pub_min_trials=int(g["publication_bias_min_trials"]),
        pub_p=float(g["publication_bias_p"]),
        start=str(g["start"]),
        wording=g["wording"],
    )


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


def domains_for(rater: object, domains: Iterable[str]) -> set[str]:
    """The risk-of-bias domains that apply to an outcome rated by ``rater``: all domains but the
    detection domain of the other kind of rater (both for dropout, which has no rater)."""
    r = "" if rater is None or rater is pd.NA or (isinstance(rater, float) and math.isnan(rater)) \
        else str(rater)  # fmt: skip
    drop = {"self": {CLINICIAN_DOMAIN}, "clinician": {SELF_DOMAIN}}.get(r, set(DETECTION_DOMAINS))
    return set(domains) - drop


def rob_status(
    rob: pd.DataFrame, study_ids: Iterable[str], domains: Iterable[str] | None = None
) -> pd.Series:
    """Risk-of-bias status per trial from ``risk_of_bias.csv`` rows.

    Returns a Series indexed by study id with ``"at least one high-risk domain"``,
    ``"not assessed"`` (no judgement in the file) or ``"no high-risk domain"`` (at least one
    domain assessed and none judged high). With ``domains``, only judgements in those domains
    count (``rob`` then needs a ``domain`` column). "No high-risk domain" does not mean every
    domain was judged low.
    """
    ids = list(dict.fromkeys(study_ids))
    judged = rob.assign(j=rob["judgement"].astype(str).str.strip().str.lower())
    if domains is not None:
        judged = judged.loc[judged["domain"].isin(list(domains))]
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


def with_design_rule(rob: pd.DataFrame, studies: pd.DataFrame,
                     unblinded_designs: Sequence[str]) -> pd.DataFrame:  # fmt: skip
    """``risk_of_bias.csv`` rows plus one derived judgement per trial of an unblinded design
    without a source judgement of detection bias for self-report: ``high``, with ``support``
    naming the design and ``source`` = :data:`DERIVED_SOURCE` (column ``derived`` True).

    Participants of a trial comparing psychotherapy with usual care, a wait-list, medication or
    another treatment know what they receive; their own ratings of their symptoms are therefore
    at high risk of detection bias (as the Cochrane review judged for its six trials), unless a
    source states otherwise.
    """
    out = rob.assign(derived=False)
    stated = set(rob.loc[rob["domain"] == SELF_DOMAIN, "study_id"])
    rows = []
    for sid, design in zip(studies["study_id"], studies["design"], strict=True):
        if str(design) in set(unblinded_designs) and sid not in stated:
            rows.append({
                "study_id": sid, "domain": SELF_DOMAIN, "judgement": "high",
                "support": f"derived from the design ({design}): participants know whether they "
                           "receive psychotherapy and rate their own symptoms",
                "source": DERIVED_SOURCE, "location": "studies.csv design", "derived": True,
            })  # fmt: skip
    if rows:
        out = pd.concat([out, pd.DataFrame(rows)], ignore_index=True)
    return out


def _weights(table: pd.DataFrame) -> pd.Series:
    return pd.to_numeric(table["weight"], errors="coerce").fillna(0.0)


def _share(table: pd.DataFrame, flagged: pd.Series) -> float:
    """Percent of pooled weight from the comparisons flagged (boolean, aligned with table)."""
    w = _weights(table)
    total = float(w.sum())
    if total <= 0:
        return math.nan
    return 100.0 * float(w[flagged.to_numpy(dtype=bool)].sum()) / total


def _rob_flags(table: pd.DataFrame, rob: pd.DataFrame) -> pd.Series:
    """Per comparison: at high risk, or not assessed, in the domains that apply to it."""
    if "domain" not in rob or "rater" not in table:
        status = rob_status(rob, table["study_id"])
        flagged = set(status.index[status.isin([HIGH, NOT_ASSESSED])])
        return table["study_id"].isin(flagged)
    all_domains = set(rob["domain"].dropna().astype(str))
    flags = []
    for sid, rater in zip(table["study_id"], table["rater"], strict=True):
        st = rob_status(rob, [sid], domains_for(rater, all_domains)).iloc[0]
        flags.append(st in (HIGH, NOT_ASSESSED))
    return pd.Series(flags, index=table.index)


def grade(
    result: Any,
    table: pd.DataFrame,
    *,
    participants: int,
    rob: pd.DataFrame,
    doubtful: Mapping[str, object] | None = None,
    min_failed: Mapping[str, object] | None = None,
    egger_p: float | None = None,
    ois: int | None = None,
    randomised: bool = True,
    rules: GradeRules | None = None,
    participants_note: str = "",
) -> GradeRating:
    """Rate the certainty of one pooled outcome by the rules in the module docstring.

    Parameters
    ----------
    result
        A :class:`~analysis.pooling.PoolResult` (or ``MetaAnalysis.result``); ``None`` = no data.
    table
        One row per comparison with ``study_id`` and ``weight`` (percent), and ``rater`` when the
        risk of bias is judged per domain (``MetaAnalysis.table``).
    participants
        Participants contributing (compared with the optimal information size).
    rob
        Risk-of-bias rows (``study_id``, ``judgement`` and, for the domain rules, ``domain``),
        normally :func:`with_design_rule` of ``risk_of_bias.csv``.
    doubtful
        Study id -> ``doubtful_inclusion`` value (``;``-separated tokens).
    min_failed
        Study id -> ``min_failed_ad`` (failed antidepressant courses required; missing =
        not stated). When given, trials requiring fewer than ``rules.strict_min_failed`` courses
        count as indirect.
    egger_p
        Egger's test p-value, used only with at least ``rules.pub_min_trials`` trials.
    ois
        Optimal information size (default ``rules.ois``).
    randomised
        Start at ``rules.start`` (randomised trials; *high*) or two levels lower.
    rules
        Thresholds (default :class:`GradeRules`, the protocol as released; pass
        :func:`rules_of` of the loaded protocol).
    participants_note
        Said after the participant count in the imprecision reason (e.g. that it includes the
        randomised participants of comparisons whose analysed number is not reported).
    """
    rules = rules or GradeRules()
    ois = rules.ois if ois is None else ois
    if result is None or int(getattr(result, "k", 0)) == 0:
        return GradeRating("not rated", notes=("no trial data",))
    k = int(result.k)
    n_trials = int(table["study_id"].nunique()) if len(table) else k
    down: dict[str, int] = {}
    reasons: list[str] = []
    notes: list[str] = []

    # risk of bias
    share = _share(table, _rob_flags(table, rob))
    down["risk of bias"] = int(share > rules.rob_share)
    if down["risk of bias"]:
        reasons.append(
            f"risk of bias: {share:.0f}% of the weight from comparisons at high risk of bias "
            "(including detection bias of self-rated outcomes in unblinded trials) or not assessed"
        )

    # inconsistency
    i2 = float(result.i2)
    tau2 = float(getattr(result, "tau2", math.inf))
    ci_crosses = result.ci_low <= 0 <= result.ci_high
    pi_ok = math.isfinite(result.pi_low) and math.isfinite(result.pi_high)
    pi_crosses = pi_ok and result.pi_low <= 0 <= result.pi_high
    if k < 2 or not math.isfinite(i2):
        down["inconsistency"] = 0
        notes.append("inconsistency not assessable (single trial)")
    elif i2 > rules.i2:
        down["inconsistency"] = 1
        reasons.append(f"inconsistency: I² = {i2:.0f}%")
    elif pi_crosses and not ci_crosses and tau2 > 0:
        down["inconsistency"] = 1
        reasons.append("inconsistency: prediction interval includes no effect")
    else:
        down["inconsistency"] = 0

    # indirectness
    flagged_doubt = {s for s, v in (doubtful or {}).items() if _tokens(v) & rules.doubtful_flags}
    flagged_one = set()
    if min_failed is not None:
        for sid, m in min_failed.items():
            value = pd.to_numeric(pd.Series([m]), errors="coerce").iloc[0]
            if not (pd.notna(value) and value >= rules.strict_min_failed):
                flagged_one.add(sid)
    indirect = table["study_id"].isin(flagged_doubt | flagged_one)
    share_d = _share(table, indirect)
    down["indirectness"] = int(share_d > rules.indirect_share)
    if down["indirectness"]:
        why = []
        if flagged_one:
            why.append(f"not requiring at least {rules.strict_min_failed} failed antidepressants")
        if flagged_doubt:
            why.append("of doubtful treatment resistance")
        reasons.append(f"indirectness: {share_d:.0f}% of the weight from trials "
                       + " or ".join(why))  # fmt: skip

    # imprecision
    why = []
    if ci_crosses:
        why.append("CI includes no effect")
    if participants < ois:
        why.append(f"{participants} participants{participants_note} (< {ois})")
    down["imprecision"] = int(bool(why))
    if why:
        reasons.append("imprecision: " + " and ".join(why))

    # publication bias
    if n_trials < rules.pub_min_trials:
        down["publication bias"] = 0
        trials_text = f"{n_trials} trial" + ("" if n_trials == 1 else "s")
        notes.append(f"publication bias not assessed ({trials_text}, fewer than "
                     f"{rules.pub_min_trials})")  # fmt: skip
    elif egger_p is not None and math.isfinite(egger_p) and egger_p < rules.pub_p:
        down["publication bias"] = 1
        reasons.append(f"publication bias: Egger's test p < {rules.pub_p:g}")
    else:
        down["publication bias"] = 0
        if egger_p is None:
            notes.append("publication bias: Egger's test not supplied")

    start = {v: k for k, v in LEVELS.items()}[rules.start]
    points = max(1, (start if randomised else start - 2) - sum(down.values()))
    return GradeRating(LEVELS[points], down, tuple(reasons), tuple(notes))


def effect_kind(result: Any) -> str:
    """``"lower"`` / ``"higher"`` when the confidence interval lies below / above the null
    (analysis scale), ``"no difference"`` when it includes it, ``"none"`` without a result."""
    if result is None:
        return "none"
    if result.ci_high < 0:
        return "lower"
    if result.ci_low > 0:
        return "higher"
    return "no difference"


_VERBS = {"lower": ("reduces", "reduce"), "higher": ("increases", "increase")}


def statement(
    certainty: str,
    kind: str,
    *,
    subject: str,
    outcome: str,
    rules: GradeRules | None = None,
) -> str:
    """The plain-language statement of one result: the protocol's wording for the certainty
    level and the kind of effect (:func:`effect_kind`), e.g. "Psychotherapy added to usual care
    may reduce depressive symptoms". Without a rating or data: that no estimate is available.
    """
    rules = rules or GradeRules()
    if kind == "none" or certainty not in rules.wording["effect"]:
        return f"no trial has reported usable data on {outcome} yet"
    if kind == "no difference":
        template = rules.wording["no_difference"][certainty]
        verb, base = "changes", "change"
    else:
        template = rules.wording["effect"][certainty]
        verb, base = _VERBS[kind]
    text = template.format(subject=subject, subject_lower=subject[:1].lower() + subject[1:],
                           verb=verb, verb_base=base, outcome=outcome)  # fmt: skip
    return text[:1].upper() + text[1:]
