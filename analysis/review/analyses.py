"""One call from the trial database to a pooled analysis: what every results notebook uses.

:func:`meta_analysis` selects the trials (TRD definition, main-analysis set, any subset of
``studies.csv``), picks one outcome per comparison (:mod:`analysis.evidence.selection`),
computes effect sizes (:func:`analysis.effect_size`), pools them (:func:`analysis.pool`, or
Mantel–Haenszel) and returns a frozen :class:`MetaAnalysis` holding the study table, the
pooled result and the trials awaiting data for that outcome, so that a notebook only has to
show and glue.

Conventions: a negative SMD/MD favours psychotherapy; risk ratios for response and remission
above 1 favour psychotherapy; dropout risk ratios below 1 mean fewer dropouts with it.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from analysis.evidence.loading import Trials
from analysis.evidence.selection import (
    effect_inputs,
    main_analysis_studies,
    split_shared_comparisons,
    trd_filter,
)
from analysis.review.protocol import comparison_mask, hierarchy, protocol_of
from analysis.review.records import Estimate
from analysis.review.text import study_label
from analysis.stats.effects import effect_size, pooled_sd, standardised_md
from analysis.stats.mantel_haenszel import mantel_haenszel
from analysis.stats.pooling import PoolResult, pool, resolve_test

#: The model of the review's analyses is the protocol's (``data/protocol.yml``, ``model``):
#: REML with the modified Knapp–Hartung test. These constants are the protocol's values as
#: released and are kept for callers that need a default without a database.
DEFAULT_METHOD = "REML"
DEFAULT_TEST = "adhoc"
DEFAULT_HKSJ = True
RATIO = {"RR", "OR"}
#: Outcomes where more is better: a risk or odds ratio above 1 favours psychotherapy (the
#: figures label their sides by this; symptoms and dropout are lower-is-better).
BENEFICIAL_OUTCOMES: tuple[str, ...] = ("response", "remission")
Z975 = 1.959963984540054
OUTCOME_LABELS = {
    "depressive_symptoms": "depressive symptoms",
    "response": "response",
    "remission": "remission",
    "dropout": "dropout (leaving the study early)",
}
#: Reversed analysis-population order of the "completers first" sensitivity analysis.
COMPLETERS_FIRST = ("completers", "not reported", "itt")


@dataclass(frozen=True)
class MetaAnalysis:
    """A pooled analysis of one outcome and measure, with its study table.

    Attributes
    ----------
    outcome, measure, method, hksj
        What was pooled and how (``hksj``: a Knapp–Hartung test was used; ``test`` names it).
    table
        One row per comparison: ``study_id, label, comparison, modality, year, design, format,
        instrument, rater, population, input, yi, vi, se, ci_low, ci_high`` (ratio measures on
        the log scale), arm data (``m1, sd1, n1, m2, sd2, n2`` or ``e1, n1, e2, n2``; a shared
        control arm divided between the comparisons of this table, ``shared_split``),
        ``participants`` (NaN when the source states none) and ``weight`` (percent).
    result
        The pooled :class:`~analysis.pooling.PoolResult`, or ``None`` when no trial has data.
    awaiting
        Trials in the selection without usable data for this outcome (``study_id``,
        ``trial_name``, ``reason``).
    test
        ``"z"``, ``"knha"`` or ``"adhoc"``.
    options
        The keyword arguments of :func:`meta_analysis` that made this analysis (to re-run it
        with one change, e.g. a trial left out).
    """

    outcome: str
    measure: str
    method: str
    hksj: bool
    table: pd.DataFrame
    result: PoolResult | None
    awaiting: pd.DataFrame
    selection: str = "main analysis"
    notes: tuple[str, ...] = field(default_factory=tuple)
    test: str | None = None
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def model_test(self) -> str:
        """The test of the pooled effect (``test``, or what ``hksj`` implies)."""
        return self.test or ("knha" if self.hksj else "z")

    @property
    def k(self) -> int:
        return 0 if self.result is None else int(self.result.k)

    @property
    def participants(self) -> int:
        """Participants of the comparisons whose number is known (see
        :attr:`participants_unknown`)."""
        if not len(self.table):
            return 0
        return int(np.nansum(pd.to_numeric(self.table["participants"], errors="coerce")))

    @property
    def participants_unknown(self) -> int:
        """Comparisons whose participants no source states (they count none)."""
        if not len(self.table):
            return 0
        return int(pd.to_numeric(self.table["participants"], errors="coerce").isna().sum())

    @property
    def studies(self) -> list[str]:
        return list(dict.fromkeys(self.table["study_id"]))

    def weight_of(self, study_id: str) -> float:
        """Percent weight of one trial (all its comparisons; 0 when it is not pooled)."""
        if not len(self.table):
            return 0.0
        return float(self.table.loc[self.table["study_id"] == study_id, "weight"].sum())

    @property
    def precomputed_studies(self) -> list[str]:
        """Trials with a comparison entered as a published effect estimate (no arm data),
        including intention-to-treat mean differences standardised for an SMD."""
        if not len(self.table):
            return []
        return list(dict.fromkeys(self.table.loc[self.table["input"] != "arms",
                                                 "study_id"]))  # fmt: skip

    @property
    def is_ratio(self) -> bool:
        return self.measure in RATIO

    @property
    def higher_favours_psychotherapy(self) -> bool:
        """Whether an estimate above the null favours psychotherapy: for the outcomes where more
        is better (:data:`BENEFICIAL_OUTCOMES`, response and remission), not for symptoms or
        dropout."""
        return self.outcome in BENEFICIAL_OUTCOMES

    def estimate(self, result_id: str, label: str) -> Estimate:
        """This analysis as a published :class:`~analysis.review.records.Estimate`."""
        return Estimate(
            result_id=result_id, label=label, outcome=self.outcome, measure=self.measure,
            result=self.result, participants=self.participants, studies=tuple(self.studies),
            participants_unknown=self.participants_unknown,
        )  # fmt: skip


def select_studies(
    trials: Trials,
    *,
    definition: str = "any",
    main_only: bool = True,
    comparison: str | None = None,
    self_help: bool = False,
    where: Callable[[pd.DataFrame], pd.Series] | None = None,
    exclude: Sequence[str] = (),
) -> pd.DataFrame:
    """The rows of ``studies.csv`` an analysis draws on.

    ``main_only`` keeps trials coded ``main_analysis == "yes"``; ``comparison`` (``"primary"``
    or ``"all_controls"``) keeps the trials of that comparison of the protocol
    (:func:`analysis.review.protocol.comparison_mask`: design, kind of control, therapist-delivered
    formats, plus self-help formats with ``self_help``); ``definition`` a TRD definition;
    ``where`` any further filter; ``exclude`` study ids.
    """
    studies = trials.studies
    if main_only:
        studies = main_analysis_studies(studies)
    if comparison is not None:
        studies = studies.loc[comparison_mask(studies, protocol_of(trials), comparison,
                                              self_help=self_help)]  # fmt: skip
    studies = trd_filter(studies, definition)
    if where is not None:
        studies = studies.loc[where(studies).fillna(False).astype(bool)]
    if exclude:
        studies = studies.loc[~studies["study_id"].isin(list(exclude))]
    return studies.copy()


def meta_analysis(
    trials: Trials,
    outcome: str = "depressive_symptoms",
    measure: str = "SMD",
    *,
    definition: str = "any",
    main_only: bool = True,
    comparison: str | None = "primary",
    self_help: bool = False,
    where: Callable[[pd.DataFrame], pd.Series] | None = None,
    exclude: Sequence[str] = (),
    hierarchy: str | Sequence[str] | None = None,
    any_instrument: bool = False,
    populations: Sequence[str] | None = None,
    timepoint: str | None = None,
    method: str | None = None,
    hksj: bool | None = None,
    test: str | None = None,
    mh: bool = False,
    allow_precomputed: bool = True,
    level: float | None = None,
    keep_comparisons: Callable[[pd.DataFrame], Any] | None = None,
) -> MetaAnalysis:
    """Select, compute and pool one outcome, by the rules of the review protocol.

    Every default is the protocol's (``data/protocol.yml``, ``trials.protocol``): the primary
    comparison, the end of treatment, the established instruments (self-report first), the
    analysis-population order (intention-to-treat first), the trial's own definition of
    response and remission, REML with the modified Knapp–Hartung test.

    Parameters
    ----------
    trials
        The database (:func:`analysis.load_trials`).
    outcome
        ``depressive_symptoms``, ``response``, ``remission`` or ``dropout``.
    measure
        ``SMD`` or ``MD`` (continuous), ``RR`` or ``OR`` (dichotomous).
    definition
        TRD definition (:data:`analysis.selection.TRD_DEFINITIONS`).
    main_only
        Restrict to trials coded ``main_analysis == "yes"``.
    comparison
        ``"primary"`` (psychotherapy added to usual care vs usual care), ``"all_controls"``
        (usual care or wait-list) or ``None`` (every main-analysis trial, no protocol filter).
    self_help
        Also admit the protocol's self-help formats (excluded from the primary analysis).
    where
        Further filter on ``studies.csv`` (a function returning a boolean Series).
    exclude
        Study ids to leave out (sensitivity analyses).
    hierarchy, any_instrument
        Instruments (:func:`analysis.review.protocol.hierarchy`): ``None`` = the protocol's
        established instruments; ``"self_first"``/``"clinician_first"``; or a list (one scale).
        ``any_instrument`` appends every other instrument code.
    populations
        Analysis-population order (default the protocol's: ``itt`` first).
    timepoint
        ``post`` (default, the protocol's) or ``fu``.
    method, hksj, test, level
        Pooling model (default the protocol's); ``hksj=True`` is ``test="knha"``. With
        ``mh=True`` dichotomous outcomes are pooled with Mantel–Haenszel (``method="FE"``: fixed
        effect; otherwise RevMan's random-effects variant).
    allow_precomputed
        Whether comparison-level effects (e.g. a published SMD with its CI) may enter.
    keep_comparisons
        A function of the table of chosen comparisons returning which to keep (e.g. one therapy
        family), applied *before* shared control arms are divided, so that a trial with one arm
        in the analysis keeps its whole control group.
    """
    options = {k: v for k, v in locals().items() if k not in ("trials", "outcome", "measure")}
    proto = protocol_of(trials)
    if measure == "MD" and (hierarchy is None or isinstance(hierarchy, str)):
        raise ValueError(
            "an MD pools one scale: pass a single-scale hierarchy, e.g. "
            "hierarchy=['BDI-II', 'BDI-I', 'BDI'] or ['PHQ-9'] or ['HAMD-17', 'HAMD-21', 'HAMD-24']"
        )
    method = method or proto.method
    test = resolve_test(test, bool(hksj)) if (test is not None or hksj is not None) else proto.test
    level = proto.level if level is None else level
    timepoint = timepoint or proto.timepoint
    studies = select_studies(trials, definition=definition, main_only=main_only,
                             comparison=comparison, self_help=self_help, where=where,
                             exclude=exclude)  # fmt: skip
    outcomes = trials.outcomes.loc[trials.outcomes["study_id"].isin(studies["study_id"])]
    dichotomous_def = outcome in ("response", "remission")
    inputs = effect_inputs(
        outcomes, studies, outcome=outcome, measure=measure,
        hierarchy=_hierarchy_of(proto, hierarchy, any_instrument), timepoint=timepoint,
        allow_precomputed=allow_precomputed, split_shared=False, use=proto.use_order,
        populations=tuple(populations) if populations is not None else proto.population_order,
        definitions=proto.definition_order if dichotomous_def else None,
        standardise_md=proto.standardise_itt_md,
    )  # fmt: skip
    ready = inputs.ready.reset_index(drop=True)
    if keep_comparisons is not None and len(ready):
        ready = ready.loc[np.asarray(keep_comparisons(_describe(ready, studies, proto)),
                                     dtype=bool)].reset_index(drop=True)  # fmt: skip
    ready = _describe(ready, studies, proto)
    if len(ready):
        ready = _add_effects(ready, measure, studies)
    else:
        ready = ready.assign(yi=[], vi=[], se=[], ci_low=[], ci_high=[], participants=[],
                             shared_split=[])  # fmt: skip
    result = _pool(ready, measure, method, test, level, mh)
    ready["weight"] = np.asarray(result.weights, dtype=float) if result else []
    awaiting = inputs.awaiting.reset_index(drop=True)
    return MetaAnalysis(
        outcome=outcome, measure=measure, method=result.method if result else method,
        hksj=bool(result.hksj) if result else test != "z", table=ready, result=result,
        awaiting=awaiting, selection=definition, test=result.test if result else test,
        options=options,
    )  # fmt: skip


def _hierarchy_of(proto: Any, spec: str | Sequence[str] | None, any_instrument: bool
                  ) -> tuple[str, ...]:  # fmt: skip
    return hierarchy(proto, spec, any_instrument=any_instrument)


def _describe(ready: pd.DataFrame, studies: pd.DataFrame, proto: Any) -> pd.DataFrame:
    """Add trial-level columns (modality, year, design, format) and reader labels."""
    out = ready.copy()
    info = studies.set_index("study_id")
    for col in ("modality", "year", "design", "format"):
        out[col] = out["study_id"].map(info[col]) if len(out) else []
    if not len(out):
        out["label"] = []
        return out
    multi = out["study_id"].duplicated(keep=False)
    self_help = out["format"].astype("string").isin(list(proto.self_help_formats)).fillna(False)
    out["label"] = [
        study_label(s) + (f" ({c})" if m else "") + (" (self-help)" if h else "")
        for s, c, m, h in zip(out["study_id"], out["comparison"], multi, self_help, strict=True)
    ]
    return out


def _pool(ready: pd.DataFrame, measure: str, method: str, test: str, level: float, mh: bool
          ) -> PoolResult | None:  # fmt: skip
    if not len(ready):
        return None
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*one study.*")
        if mh and measure in RATIO and (ready["input"] == "arms").all():
            return mantel_haenszel(
                ready["e1"], ready["n1"], ready["e2"], ready["n2"], measure=measure,
                random=method != "FE", level=level,
            )  # fmt: skip
        return pool(ready["yi"], ready["vi"], method=method, test=test, level=level)


def _randomised(studies: pd.DataFrame) -> dict[str, float]:
    """Randomised participants of two-arm trials (one ``n_rand_int`` and one ``n_rand_ctl``)."""
    out = {}
    for sid, ni, nc in zip(studies["study_id"], studies["n_rand_int"], studies["n_rand_ctl"],
                           strict=True):  # fmt: skip
        a, b = str(ni if pd.notna(ni) else ""), str(nc if pd.notna(nc) else "")
        if a and b and ";" not in a and ";" not in b:
            out[sid] = float(a) + float(b)
    return out


def _add_effects(ready: pd.DataFrame, measure: str, studies: pd.DataFrame) -> pd.DataFrame:
    """Per-comparison yi, vi (log scale for ratios) and participants.

    Shared control arms are divided between the comparisons of ``ready`` first
    (:func:`analysis.evidence.selection.split_shared_comparisons`). Participants: arm-level
    comparisons count ``n1 + n2``; published effects count the ``n`` their source states, or,
    for an intention-to-treat effect without one, the trial's randomised participants; else NaN.
    """
    ready = split_shared_comparisons(ready)
    if "reported_ci_low" not in ready:  # the published CI, kept when the table is re-pooled
        ready = ready.assign(reported_ci_low=ready["ci_low"], reported_ci_high=ready["ci_high"])
    yi = np.full(len(ready), np.nan)
    vi = np.full(len(ready), np.nan)
    participants = np.full(len(ready), np.nan)
    arms = (ready["input"] == "arms").to_numpy()
    if arms.any():
        a = ready.loc[arms]
        if measure in ("MD", "SMD"):
            es = effect_size(measure, m1=a["m1"], sd1=a["sd1"], n1=a["n1"],
                             m2=a["m2"], sd2=a["sd2"], n2=a["n2"])  # fmt: skip
        else:
            es = effect_size(measure, e1=a["e1"], n1=a["n1"], e2=a["e2"], n2=a["n2"])
        positions = np.flatnonzero(arms)[np.asarray(es.index)]
        yi[positions], vi[positions] = es.yi, es.vi
        n1 = pd.to_numeric(a["n1"], errors="coerce").to_numpy()
        n2 = pd.to_numeric(a["n2"], errors="coerce").to_numpy()
        participants[np.flatnonzero(arms)] = n1 + n2
    rand = _randomised(studies)
    known = (pd.to_numeric(ready["participants"], errors="coerce").to_numpy()
             if "participants" in ready else np.full(len(ready), np.nan))  # fmt: skip
    for pos in np.flatnonzero(~arms):
        row = ready.iloc[pos]
        n = row.get("n_reported")
        if np.isfinite(known[pos]):  # already counted (re-pooling a table)
            participants[pos] = known[pos]
        elif pd.notna(n):
            participants[pos] = float(n)
        elif row.get("population") == "itt" and row["study_id"] in rand:
            participants[pos] = rand[row["study_id"]]
    pre = (ready["input"] == "precomputed").to_numpy()
    if pre.any():
        p = ready.loc[pre]
        es = effect_size("precomputed", effect=p["effect"], ci_low=p["reported_ci_low"],
                         ci_high=p["reported_ci_high"], log_scale=measure in RATIO)  # fmt: skip
        yi[np.flatnonzero(pre)] = es.yi
        vi[np.flatnonzero(pre)] = es.vi
    std = (ready["input"] == "standardised").to_numpy()
    for pos in np.flatnonzero(std):
        row = ready.iloc[pos]
        source = row.get("sd_source")
        if not isinstance(source, str) or not source:
            continue
        sd1, n1, sd2, n2 = (float(x) for x in source.split(";")[:4])
        se = (float(row["reported_ci_high"]) - float(row["reported_ci_low"])) / (2.0 * Z975)
        n_total = participants[pos] if np.isfinite(participants[pos]) else n1 + n2
        g, v = standardised_md([row["effect"]], [se], pooled_sd([sd1], [n1], [sd2], [n2]),
                               [n_total])  # fmt: skip
        yi[pos], vi[pos] = g[0], v[0]
    se = np.sqrt(vi)
    out = ready.assign(yi=yi, vi=vi, se=se, ci_low=yi - Z975 * se, ci_high=yi + Z975 * se,
                       participants=participants)  # fmt: skip
    return out.loc[np.isfinite(out["yi"])].reset_index(drop=True)


def repool(ma: MetaAnalysis, keep: pd.Series | np.ndarray) -> MetaAnalysis:
    """``ma`` with only the comparisons in ``keep`` (boolean, aligned with ``ma.table``),
    re-pooled with the same model; shared control arms are divided again between the comparisons
    that remain (a trial left with one arm gets its whole control group back). Trials that lose
    all comparisons are not listed as awaiting."""
    keep = np.asarray(keep, dtype=bool)
    table = ma.table.loc[keep].reset_index(drop=True)
    if len(table):
        table = _add_effects(table, ma.measure, _studies_of(table))
    result = None
    if len(table):
        result = _pool(table, ma.measure, ma.method if ma.method not in ("MH", "MH-DL") else
                       "REML", ma.model_test, getattr(ma.result, "level", 0.95), False)  # fmt: skip
        table["weight"] = np.asarray(result.weights, dtype=float)
    return replace(ma, table=table, result=result)


def _studies_of(table: pd.DataFrame) -> pd.DataFrame:
    """A minimal ``studies`` frame for :func:`_add_effects` when re-pooling a table (randomised
    numbers are not needed again: participants of published effects are already in the table)."""
    return pd.DataFrame({"study_id": [], "n_rand_int": [], "n_rand_ctl": []})


def trial_analysis(
    trials: Trials,
    study_id: str,
    outcome: str = "depressive_symptoms",
    measure: str = "SMD",
    **kwargs: Any,
) -> MetaAnalysis:
    """:func:`meta_analysis` of a single trial (any other option passes through)."""
    return meta_analysis(
        trials, outcome, measure, where=lambda s: s["study_id"].eq(study_id), **kwargs
    )
