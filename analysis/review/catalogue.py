"""Result ids: the one place that says what each published estimate is.

Every estimate the book publishes has a stable dotted id (``symptoms.smd.overall``) that readers
find in ``results.json``. This module defines, for each id, the analysis behind it (outcome,
measure, selection, model) and its label; pages call :func:`run` or :func:`estimate` with an id
instead of assembling an analysis themselves, so two pages can never publish different numbers
under one id. Ids that are made from a value (a subgroup, a published result being reproduced)
are built by the ``*_id`` functions below and nowhere else.

Families of ids
---------------
``symptoms.smd.overall``                 the protocol's primary analysis (psychotherapy added to
                                         usual care vs usual care, established instruments, SMD)
``symptoms.smd.all_controls``            secondary: usual care or wait-list controls
``symptoms.md.{bdi,phq9,hamd}``          single-scale mean differences (primary comparison;
                                         self-help formats included and labelled)
``{remission,response,dropout}.rr.*``    dichotomous outcomes (``overall``; ``mh``: Mantel–Haenszel;
                                         ``all_controls``)
``{remission,response}.or.overall``      odds ratios (reported by a trial, or from counts)
``symptoms.smd.modality.<CODE>``         one therapy (or the CBT and IPT families) vs control
``symptoms.smd.modality.family-<slug>``  one family vs control (:mod:`analysis.review.families`)
``symptoms.smd.definition.<name>``       the main analysis under one TRD definition
``symptoms.smd.sensitivity.<name>``      sensitivity analyses
``symptoms.smd.<dimension>.<group>``     subgroups of the main analysis (:func:`subgroup_id`)
``sof.<outcome>.<measure>``              summary-of-findings rows
``reproduction.<published id>``          recomputed seed-review results (:func:`reproduction_id`)
``symptoms.smd.withintrial.<trial>.<subgroup>``  a subgroup of ONE trial computed from its
                                         participant-level dataset: not a randomised comparison,
                                         never pooled (:mod:`analysis.review.within_trial`)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from analysis.evidence.selection import TRD_DEFINITIONS
from analysis.review.analyses import COMPLETERS_FIRST, MetaAnalysis, meta_analysis
from analysis.review.families import FAMILIES, family_analysis
from analysis.review.records import Estimate

__all__ = [
    "ANALYSES",
    "COMPUTED",
    "Spec",
    "estimate",
    "label",
    "modality_id",
    "reproduction_id",
    "run",
    "spec",
    "subgroup_id",
]

ALL = "Psychotherapy added to usual care vs usual care"
ALL_CONTROLS = "Psychotherapy vs usual care or wait-list"
BDI = ("BDI-II", "BDI-I", "BDI")
PHQ9 = ("PHQ-9",)
HAMD = ("HAMD-17", "HAMD-21", "HAMD-24", "HAMD")


@dataclass(frozen=True)
class Spec:
    """What one result id means.

    Attributes
    ----------
    label
        Human-readable label (stored in ``results.json``).
    outcome, measure
        Outcome and effect measure.
    options
        Keyword arguments of :func:`analysis.review.analyses.meta_analysis` (selection,
        instrument hierarchy, model).
    codes
        When set, the analysis is :func:`analysis.review.families.family_analysis` of these
        therapy codes (comparison-level classification).
    """

    label: str
    outcome: str = "depressive_symptoms"
    measure: str = "SMD"
    options: Mapping[str, Any] = field(default_factory=dict)
    codes: tuple[str, ...] | None = None


#: Tests of the model comparison: id suffix and label.
TESTS = {"z": ("", "Wald-type (z) CI"), "knha": ("_hksj", "Knapp–Hartung (untruncated)"),
         "adhoc": ("_adhoc", "modified Knapp–Hartung")}  # fmt: skip


def _models() -> dict[str, Spec]:
    names = {"DL": "DerSimonian–Laird", "REML": "REML", "PM": "Paule–Mandel"}
    out = {}
    for method, name in names.items():
        for test, (suffix, tlabel) in TESTS.items():
            rid = f"symptoms.smd.sensitivity.{method.lower()}{suffix}"
            out[rid] = Spec(f"{name}, {tlabel}", options={"method": method, "test": test})
    return out


#: Therapy-level ids of the modality pages: id suffix -> (label, therapy codes).
VS = "vs usual care or wait-list"
MODALITIES: dict[str, tuple[str, tuple[str, ...]]] = {
    "CBT": (f"CBT, cognitive therapy or behavioural activation {VS}", ("CBT", "CT", "BA")),
    "CBASP": (f"CBASP {VS}", ("CBASP",)),
    "MBCT": (f"MBCT {VS}", ("MBCT",)),
    "DBT": (f"DBT or RO DBT {VS}", ("DBT",)),
    "CFT": (f"CFT {VS}", ("CFT",)),
    "IPT": (f"IPT {VS}", ("IPT", "IPT+OT")),
    "ISTDP": (f"ISTDP {VS}", ("ISTDP",)),
    "LTPP": (f"LTPP {VS}", ("LTPP",)),
    "BODY": (f"Body psychotherapy {VS}", ("BODY",)),
}


def _build() -> dict[str, Spec]:
    a: dict[str, Spec] = {
        "symptoms.smd.overall": Spec(f"{ALL}: depressive symptoms (SMD; primary analysis)"),
        "symptoms.smd.all_controls": Spec(
            f"{ALL_CONTROLS}: depressive symptoms (SMD; secondary analysis)",
            options={"comparison": "all_controls"}),
        "symptoms.smd.all_controls.any_instrument": Spec(
            f"{ALL_CONTROLS}, any instrument: depressive symptoms (SMD)",
            options={"comparison": "all_controls", "any_instrument": True}),
        "symptoms.smd.clinician_first": Spec(
            f"{ALL}: clinician-rated scale first (SMD)", options={"hierarchy": "clinician_first"}
        ),
        "symptoms.md.bdi": Spec(f"{ALL}: BDI (any version) (MD)", measure="MD",
                                options={"hierarchy": list(BDI), "self_help": True}),
        "symptoms.md.phq9": Spec(f"{ALL}: PHQ-9 (MD)", measure="MD",
                                 options={"hierarchy": list(PHQ9), "self_help": True}),
        "symptoms.md.hamd": Spec(f"{ALL}: HAMD (any version) (MD)", measure="MD",
                                 options={"hierarchy": list(HAMD), "self_help": True}),
        "sof.symptoms.smd": Spec("Depressive symptoms, end of treatment"),
        "sof.remission.rr": Spec("Remission", "remission", "RR"),
        "sof.response.rr": Spec("Response", "response", "RR"),
        "sof.response.or": Spec("Response (odds ratio)", "response", "OR"),
        "sof.dropout.rr": Spec("Dropout (leaving the study early)", "dropout", "RR"),
        "symptoms.smd.sensitivity.strict": Spec(
            "Doubtful inclusions excluded", options={"definition": "strict"}
        ),
        "symptoms.smd.sensitivity.arms_only": Spec(
            "Arm-level data only (no precomputed effects)", options={"allow_precomputed": False}
        ),
        "symptoms.smd.sensitivity.clinician_first": Spec(
            "Clinician-rated scales preferred", options={"hierarchy": "clinician_first"}
        ),
        "symptoms.smd.sensitivity.any_instrument": Spec(
            "Any depression instrument (not only established ones)",
            options={"any_instrument": True}),
        "symptoms.smd.sensitivity.self_help": Spec(
            "Self-help formats included", options={"self_help": True}),
        "symptoms.smd.sensitivity.completers_first": Spec(
            "Completers' data preferred to intention-to-treat data",
            options={"populations": list(COMPLETERS_FIRST)}),
    }  # fmt: skip
    for outcome in ("remission", "response", "dropout"):
        a[f"{outcome}.rr.overall"] = Spec(f"{ALL}: {outcome} (RR)", outcome, "RR")
        a[f"{outcome}.rr.mh"] = Spec(
            f"{ALL}: {outcome} (RR, Mantel-Haenszel random effects)", outcome, "RR",
            options={"mh": True},
        )  # fmt: skip
    for outcome in ("remission", "response"):
        a[f"{outcome}.or.overall"] = Spec(f"{ALL}: {outcome} (OR)", outcome, "OR")
    a["dropout.rr.all_controls"] = Spec(f"{ALL_CONTROLS}: dropout (RR)", "dropout", "RR",
                                        options={"comparison": "all_controls"})
    a.update(_models())
    for name in TRD_DEFINITIONS:
        a[f"symptoms.smd.definition.{name}"] = Spec(
            f"{ALL}, TRD definition: {name}", options={"definition": name}
        )
    for code, (label, codes) in MODALITIES.items():
        a[modality_id(code)] = Spec(label, codes=codes)
    for fam in FAMILIES:
        a[f"symptoms.smd.modality.family-{fam.slug}"] = Spec(f"{fam.title} {VS}",
                                                            codes=fam.codes)
    return a


def modality_id(code: str) -> str:
    """``symptoms.smd.modality.<CODE>``: the id of one therapy's analysis."""
    return f"symptoms.smd.modality.{code}"


def subgroup_id(dimension: str, group: str) -> str:
    """``symptoms.smd.<dimension>.<group>``: one subgroup of the main analysis
    (e.g. ``symptoms.smd.comparator.waitlist``)."""
    return f"symptoms.smd.{dimension}.{group}"


def reproduction_id(published_id: str) -> str:
    """``reproduction.<published id>``: our recomputation of a seed review's result."""
    return f"reproduction.{published_id}"


#: Every id with a fixed meaning, read-only.
ANALYSES: Mapping[str, Spec] = MappingProxyType(_build())

#: Ids whose selection depends on the data through a rule of the review layer (outliers,
#: risk-of-bias status, trim-and-fill); the functions that compute them are named here.
COMPUTED: Mapping[str, str] = MappingProxyType({
    # analysis.review.sensitivity_analyses.outlier_analysis
    "symptoms.smd.sensitivity.no_outliers": "Outlying trials removed",
    # analysis.review.sensitivity_analyses.low_rob_analysis
    "symptoms.smd.sensitivity.low_rob": "Trials without a high-risk judgement",
    # analysis.review.small_study.small_study_effects
    "symptoms.smd.trimfill": "Trim-and-fill adjusted estimate",
    # analysis.review.within_trial.subgroup_estimate (participant-level data)
    "symptoms.smd.withintrial.Heshmati2023.min2": (
        "Heshmati 2023, participants who had failed at least two antidepressant trials "
        "(WAI depression subscale, end of treatment): a subgroup of one randomised trial, "
        "not a randomised comparison"
    ),
})  # fmt: skip


def spec(result_id: str) -> Spec:
    """The :class:`Spec` of a catalogued id (``KeyError`` naming the id otherwise)."""
    try:
        return ANALYSES[result_id]
    except KeyError:
        raise KeyError(f"{result_id!r} is not a catalogued result id") from None


def label(result_id: str) -> str:
    """The label of a catalogued or computed id."""
    if result_id in COMPUTED:
        return COMPUTED[result_id]
    return spec(result_id).label


def run(trials: Any, result_id: str) -> MetaAnalysis:
    """Run the analysis a catalogued id stands for."""
    s = spec(result_id)
    if s.codes is not None:
        return family_analysis(trials, s.codes, s.outcome, s.measure, **s.options)
    return meta_analysis(trials, s.outcome, s.measure, **s.options)


def estimate(trials: Any, result_id: str) -> Estimate:
    """The published :class:`~analysis.review.records.Estimate` of a catalogued id."""
    return run(trials, result_id).estimate(result_id, spec(result_id).label)
