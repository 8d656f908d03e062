"""The schema of the trial database: files, columns, types, allowed values and ranges.

Defined once here and documented for humans in ``data/README.md``. The validator
(:mod:`analysis.evidence.validation`) checks every file against it; the loader
(:mod:`analysis.evidence.loading`) types the columns with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from analysis.evidence.dates import FIRST_TRIAL_YEAR

__all__ = [
    "ANALYSIS_POPULATIONS",
    "CSV_FILES",
    "DATE_PATTERN",
    "DECISIONS",
    "INSTRUMENT_RANGES",
    "IPD_DIR",
    "MODALITIES",
    "OTHER_FILES",
    "SCHEMAS",
    "Col",
]

CSV_FILES: tuple[str, ...] = (
    "studies.csv",
    "outcomes.csv",
    "risk_of_bias.csv",
    "published_results.csv",
    "searches.csv",
    "screening.csv",
    "changelog.csv",
)
OTHER_FILES: tuple[str, ...] = ("references.bib", "version.yml", "protocol.yml")
#: Folder of the participant-level datasets (one sub-folder per trial with ``mapping.yml``).
IPD_DIR = "ipd"
#: Pattern of a (possibly partial) date: ``YYYY-MM-DD`` or ``YYYY-MM`` (day not recorded).
DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}(-[0-9]{2})?$"

#: Possible score range (min, max) of each instrument code; ``None`` = no range check.
INSTRUMENT_RANGES: dict[str, tuple[float, float] | None] = {
    "BDI-I": (0, 63),
    "BDI-II": (0, 63),
    "BDI": (0, 63),  # version not stated; both versions score 0-63
    "HAMD-17": (0, 52),
    "HAMD-21": (0, 63),  # HAMD-17 (0-52) + items 18-21 (2 + 4 + 3 + 2)
    "HAMD-24": (0, 75),  # HAMD-21 + items 22-24 (3 x 0-4)
    "HAMD": None,  # version not stated
    "PHQ-9": (0, 27),
    "MADRS": (0, 60),
    "QIDS-SR": (0, 27),
    "IDS-SR": (0, 84),
    # Weinberger Adjustment Inventory, depression subscale: 7 items scored 1-5, higher = worse,
    # self-report. Not an established depression-severity instrument (Heshmati2023).
    "WAI-D": (7, 35),
    "unclear": None,
}

MODALITIES = (
    "CBT",
    "CT",
    "BA",
    "CBASP",
    "MBCT",
    "IPT",
    "ISTDP",
    "LTPP",
    "DBT",
    "CFT",
    "TF-CBT",
    "BODY",
    "IPT+OT",
    "other",
)
DOUBT_TOKENS = (
    "chronic_not_trd",
    "borderline_trd",
    "active_vs_active",
    "active_control",
    "vs_medication",
    "non_randomised",
    "trd_definition_not_seen",
    "waitlist_control",
    "instrument_unclear",
    "nonstandard_instrument",
)
#: Delivery formats of studies.csv; ``self-help`` = a psychological therapy worked through by the
#: participant alone (book, computer or smartphone programme), with at most brief support.
FORMATS = ("individual", "group", "mixed", "self-help", "unknown")
YES_NO = ("yes", "no")
#: ``outcomes.csv`` ``analysis_population``: who the row's figures analysed.
ANALYSIS_POPULATIONS = ("itt", "completers", "not reported")
YES_NO_UNCLEAR = ("yes", "no", "unclear")
YES_NO_UNVERIFIED = ("yes", "no", "unverified")


#: A study id (``Wiles2013``): first author + year (+ a letter).
STUDY_ID = r"[A-Z][A-Za-z]+[0-9]{4}[a-z]?"
#: A BibTeX key as the database uses them (``wiles2013``).
BIB_KEY = r"^[a-z][a-z0-9_]*$"

# --------------------------------------------------------------------------- schema
@dataclass(frozen=True)
class Col:
    """Column specification.

    kind: "str", "int", "float", "enum", "intlist" (``;``-separated ints),
    "floatlist" (``;``-separated numbers), "tokens" (``; ``-separated enum tokens),
    "date" (``YYYY-MM-DD``, or ``YYYY-MM`` when the day was not recorded) or "strlist"
    (``;``-separated strings matching ``pattern``).
    ``not_future``: a date column whose value may not lie after today
    (:func:`analysis.evidence.dates.partial_date_problem`).

    text: for "str" columns without a ``pattern``, the kind of text (rules in
    :mod:`analysis.evidence.textrules`): "name" (a short one-line label shown in tables),
    "free" (notes and text as printed; line breaks allowed) or "url" (``' | '``-separated
    http(s) URLs). Columns with a pattern are identifiers and need no text rule.
    """

    kind: str = "str"
    required: bool = False  # value must be non-empty
    allowed: tuple[str, ...] = ()
    min: float | None = None
    max: float | None = None
    min_exclusive: bool = False
    pattern: str | None = None
    description: str = ""
    text: str = "free"
    not_future: bool = False


def _c(kind: str = "str", **kw: Any) -> Col:
    return Col(kind=kind, **kw)


STUDIES: dict[str, Col] = {
    "study_id": _c(required=True, pattern=rf"^{STUDY_ID}$"),
    "trial_name": _c(text="name"),
    "citation_key": _c(required=True, pattern=BIB_KEY),
    # Upper bound: the year of version.yml's extraction_date (checked by the validator).
    "year": _c("int", required=True, min=FIRST_TRIAL_YEAR),
    "country": _c(text="name"),
    "modality": _c("enum", required=True, allowed=MODALITIES),
    "modality_detail": _c(),
    "format": _c("enum", required=True, allowed=FORMATS),
    "sessions": _c("int", min=1, max=500),
    "sessions_note": _c(),
    "weeks": _c("float", min=0, max=520, min_exclusive=True),
    "design": _c("enum", required=True, allowed=("add-on", "switch", "active")),
    "comparator": _c(required=True, text="name"),
    "trd_definition": _c(required=True),
    "min_failed_ad": _c("int", min=0, max=20),
    "prior_psychotherapy_failure": _c("enum", required=True, allowed=YES_NO_UNCLEAR),
    "chronic_required": _c("enum", required=True, allowed=YES_NO_UNCLEAR),
    "n_rand_int": _c("intlist", min=1),
    "n_rand_ctl": _c("intlist", min=1),
    "mean_age": _c("float", min=10, max=100),
    "pct_women": _c("float", min=0, max=100),
    "baseline_instrument": _c("enum", allowed=tuple(INSTRUMENT_RANGES)),
    "baseline_mean_int": _c("floatlist"),
    "baseline_mean_ctl": _c("floatlist"),
    "baseline_note": _c(),
    "in_cochrane2018": _c("enum", required=True, allowed=YES_NO_UNVERIFIED),
    "in_vanbronswijk2019": _c("enum", required=True, allowed=YES_NO_UNVERIFIED),
    "in_jpm2025": _c("enum", required=True, allowed=YES_NO_UNVERIFIED),
    "data_status": _c("enum", required=True, allowed=("complete", "partial", "awaiting data")),
    "doubtful_inclusion": _c("tokens", allowed=DOUBT_TOKENS),
    "main_analysis": _c("enum", required=True, allowed=YES_NO),
    "main_analysis_reason": _c(required=True),
    "source_urls": _c(required=True, text="url"),
    "notes": _c(),
}

OUTCOMES: dict[str, Col] = {
    "outcome_id": _c(required=True, pattern=rf"^{STUDY_ID}\.o[0-9]+$"),
    "study_id": _c(required=True, pattern=rf"^{STUDY_ID}$"),
    "comparison": _c(required=True, text="name"),
    "outcome": _c(
        "enum", required=True, allowed=("depressive_symptoms", "response", "remission", "dropout")
    ),
    "instrument": _c("enum", allowed=tuple(INSTRUMENT_RANGES)),
    "instrument_detail": _c(),
    "rater": _c("enum", allowed=("self", "clinician", "unclear")),
    "timepoint": _c("enum", required=True, allowed=("post", "fu")),
    "time_label": _c(text="name"),
    "weeks": _c("float", min=0, max=520),
    "arm": _c("enum", required=True, allowed=("intervention", "control", "comparison", "overall")),
    "arm_label": _c(text="name"),
    "shared_control": _c("enum", required=True, allowed=YES_NO),
    "n": _c("int", min=1),
    "mean": _c("float"),
    "sd": _c("float", min=0, min_exclusive=True),
    "events": _c("int", min=0),
    "total": _c("int", min=1),
    "stat_type": _c(
        "enum",
        required=True,
        allowed=(
            "post_msd",
            "adjusted_mean",
            "events",
            "precalc_md",
            "precalc_smd",
            "precalc_g",
            "precalc_or",
            "precalc_rr",
            "other_stat",
        ),
    ),
    "measure": _c("enum", allowed=("MD", "SMD", "g", "d", "RR", "OR")),
    "effect": _c("float"),
    "ci_low": _c("float"),
    "ci_high": _c("float"),
    "se": _c("float", min=0, min_exclusive=True),
    "direction": _c("enum", allowed=("lower_better", "higher_better")),
    "favours_psychotherapy_when": _c("enum", allowed=("negative", "positive")),
    "analysis_population": _c("enum", required=True, allowed=ANALYSIS_POPULATIONS),
    "trial_primary_definition": _c("enum", allowed=YES_NO),
    "use": _c(
        "enum",
        required=True,
        allowed=("primary", "alternative", "duplicate", "conflict", "context"),
    ),
    "source": _c(required=True),
    "location": _c(required=True),
    "conflict_flag": _c(),
    "note": _c(),
}

RISK_OF_BIAS: dict[str, Col] = {
    "study_id": _c(required=True, pattern=rf"^{STUDY_ID}$"),
    "domain": _c(
        "enum",
        required=True,
        allowed=(
            "sequence_generation",
            "allocation_concealment",
            "blinding_outcome_assessors_clinician",
            "detection_bias_self_report",
            "incomplete_outcome_data_itt",
            "selective_reporting",
            "other_bias",
            "overall",
        ),
    ),
    "judgement": _c("enum", required=True, allowed=("low", "high", "unclear", "some concerns")),
    "support": _c(required=True),
    "source": _c(required=True),
    "location": _c(required=True),
}

PUBLISHED: dict[str, Col] = {
    "result_id": _c(required=True, pattern=r"^[a-z0-9]+(\.[A-Za-z0-9_]+)+$"),
    "review": _c(required=True, text="name"),
    "review_key": _c(required=True, pattern=BIB_KEY),
    "analysis": _c(required=True, text="name"),
    "outcome": _c(text="name"),
    "measure": _c("enum", allowed=("MD", "SMD", "RR", "OR", "d", "g", "effect size")),
    "model": _c(text="name"),
    "k": _c("int", min=1),
    "k_unit": _c("enum", allowed=("studies", "comparisons")),
    "participants": _c("int", min=1),
    "estimate": _c("float"),
    "ci_low": _c("float"),
    "ci_high": _c("float"),
    "i2": _c("float", min=0, max=100),
    "tau2": _c("float", min=0),
    "studies": _c(),
    "source": _c(required=True, text="url"),
    "note": _c(),
    "favours_psychotherapy_when": _c("enum", allowed=("negative", "positive")),
    "reproducible": _c("enum", required=True, allowed=("yes", "partial", "no", "not assessed")),
    "reproducible_from": _c(pattern=rf"^{STUDY_ID}(; {STUDY_ID})*$"),
    "reproducibility_note": _c(),
}

_ID = r"^[A-Za-z][A-Za-z0-9]*[0-9]{4,}[a-z]?$"

SEARCHES: dict[str, Col] = {
    "search_id": _c(required=True, pattern=r"^S[0-9]{2}$"),
    "source": _c(required=True, text="name"),
    "method": _c("enum", required=True, allowed=("database", "register", "other")),
    "date": _c("date", not_future=True),
    "date_note": _c(),
    "scope": _c(required=True),
    "records_found": _c("int", min=0),
    "records_note": _c(),
    "new_inclusions": _c("strlist", pattern=_ID),
    "reference": _c(pattern=BIB_KEY),
    "note": _c(),
}

#: Screening decisions of screening.csv.
DECISIONS = ("included", "excluded", "ongoing", "terminated", "awaiting classification")

SCREENING: dict[str, Col] = {
    "record_id": _c(required=True, pattern=_ID),
    "study_id": _c(pattern=rf"^{STUDY_ID}$"),
    "citation": _c(required=True),
    "search_ids": _c("strlist", required=True, pattern=r"^S[0-9]{2}$"),
    "stage": _c("enum", required=True, allowed=("records", "reports")),
    "assessed_on": _c(required=True),
    "decision": _c("enum", required=True, allowed=DECISIONS),
    "reason": _c(required=True),
    "source": _c(required=True),
    "note": _c(),
}

CHANGELOG: dict[str, Col] = {
    "version": _c(required=True, pattern=r"^[0-9]+\.[0-9]+\.[0-9]+$"),
    "change": _c(
        "enum",
        required=True,
        allowed=("trial added", "data added", "correction", "reclassification", "screening"),
    ),
    "record_id": _c(pattern=_ID),
    "description": _c(required=True),
    "outcome_ids": _c("strlist", pattern=rf"^{STUDY_ID}\.o[0-9]+$"),
    "source": _c(required=True),
}

SCHEMAS: dict[str, dict[str, Col]] = {
    "studies.csv": STUDIES,
    "outcomes.csv": OUTCOMES,
    "risk_of_bias.csv": RISK_OF_BIAS,
    "published_results.csv": PUBLISHED,
    "searches.csv": SEARCHES,
    "screening.csv": SCREENING,
    "changelog.csv": CHANGELOG,
}
