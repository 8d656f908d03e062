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
from analysis.evidence.selection import effect_inputs, main_analysis_studies, trd_filter
from analysis.review.records import Estimate
from analysis.review.text import study_label
from analysis.stats.effects import effect_size
from analysis.stats.mantel_haenszel import mantel_haenszel
from analysis.stats.pooling import PoolResult, pool

#: Main analysis model (see the Methods chapter): REML with the Knapp–Hartung adjustment.
DEFAULT_METHOD = "REML"
DEFAULT_HKSJ = True
RATIO = {"RR", "OR"}
OUTCOME_LABELS = {
    "depressive_symptoms": "depressive symptoms",
    "response": "response",
    "remission": "remission",
    "dropout": "dropout (leaving the study early)",
}


@dataclass(frozen=True)
class MetaAnalysis:
    """A pooled analysis of one outcome and measure, with its study table.

    Attributes
    ----------
    outcome, measure, method, hksj
        What was pooled and how.
    table
        One row per comparison: ``study_id, label, comparison, modality, year, design,
        instrument, rater, input, yi, vi, se, ci_low, ci_high`` (ratio measures on the log
        scale), arm data (``m1, sd1, n1, m2, sd2, n2`` or ``e1, n1, e2, n2``), ``participants``
        and ``weight`` (percent).
    result
        The pooled :class:`~analysis.pooling.PoolResult`, or ``None`` when no trial has data.
    awaiting
        Trials in the selection without usable data for this outcome (``study_id``,
        ``trial_name``, ``reason``).
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

    @property
    def k(self) -> int:
        return 0 if self.result is None else int(self.result.k)

    @property
    def participants(self) -> int:
        return int(self.table["participants"].sum()) if len(self.table) else 0

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
        """Trials with a comparison entered as a published effect estimate (no arm data)."""
        if not len(self.table):
            return []
        return list(dict.fromkeys(self.table.loc[self.table["input"] == "precomputed",
                                                 "study_id"]))  # fmt: skip

    @property
    def is_ratio(self) -> bool:
        return self.measure in RATIO

    def estimate(self, result_id: str, label: str) -> Estimate:
        """This analysis as a published :class:`~analysis.review.records.Estimate`."""
        return Estimate(
            result_id=result_id, label=label, outcome=self.outcome, measure=self.measure,
            result=self.result, participants=self.participants, studies=tuple(self.studies),
        )  # fmt: skip


def select_studies(
    trials: Trials,
    *,
    definition: str = "any",
    main_only: bool = True,
    where: Callable[[pd.DataFrame], pd.Series] | None = None,
    exclude: Sequence[str] = (),
) -> pd.DataFrame:
    """The rows of ``studies.csv`` an analysis draws on."""
    studies = trials.studies
    if main_only:
        studies = main_analysis_studies(studies)
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
    where: Callable[[pd.DataFrame], pd.Series] | None = None,
    exclude: Sequence[str] = (),
    hierarchy: str | Sequence[str] = "self_first",
    timepoint: str = "post",
    method: str = DEFAULT_METHOD,
    hksj: bool = DEFAULT_HKSJ,
    mh: bool = False,
    allow_precomputed: bool = True,
    level: float = 0.95,
) -> MetaAnalysis:
    """Select, compute and pool one outcome.

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
        Restrict to trials coded ``main_analysis == "yes"`` (psychotherapy versus usual care or
        another non-psychotherapy control).
    where
        Further filter on ``studies.csv`` (a function returning a boolean Series).
    exclude
        Study ids to leave out (sensitivity analyses).
    hierarchy, timepoint
        Outcome selection (:func:`analysis.selection.primary_outcomes`).
    method, hksj
        Pooling model. With ``mh=True`` dichotomous outcomes are pooled with Mantel–Haenszel
        (``method="FE"``: fixed effect; otherwise RevMan's random-effects variant).
    allow_precomputed
        Whether comparison-level effects (e.g. a published SMD with its CI) may enter.
    level
        Confidence level.
    """
    if measure == "MD" and isinstance(hierarchy, str):
        raise ValueError(
            "an MD pools one scale: pass a single-scale hierarchy, e.g. "
            "hierarchy=['BDI-II', 'BDI-I', 'BDI'] or ['PHQ-9'] or ['HAMD-17', 'HAMD-21', 'HAMD-24']"
        )
    studies = select_studies(
        trials, definition=definition, main_only=main_only, where=where, exclude=exclude
    )
    outcomes = trials.outcomes.loc[trials.outcomes["study_id"].isin(studies["study_id"])]
    inputs = effect_inputs(
        outcomes, studies, outcome=outcome, measure=measure, hierarchy=hierarchy,
        timepoint=timepoint, allow_precomputed=allow_precomputed,
    )  # fmt: skip
    ready = inputs.ready.reset_index(drop=True)
    notes: list[str] = []
    if len(ready):
        ready = _add_effects(ready, measure)
        info = studies.set_index("study_id")
        ready["modality"] = ready["study_id"].map(info["modality"])
        ready["year"] = ready["study_id"].map(info["year"])
        ready["design"] = ready["study_id"].map(info["design"])
        ready["format"] = ready["study_id"].map(info["format"])
        multi = ready["study_id"].duplicated(keep=False)
        ready["label"] = [
            study_label(s) + (f" ({c})" if m else "")
            for s, c, m in zip(ready["study_id"], ready["comparison"], multi, strict=True)
        ]
    else:
        ready = ready.assign(
            yi=[],
            vi=[],
            se=[],
            ci_low=[],
            ci_high=[],
            participants=[],
            label=[],
            modality=[],
            year=[],
            design=[],
            format=[],
        )
    result: PoolResult | None = None
    if len(ready):
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*one study.*")
            if mh and measure in RATIO and (ready["input"] == "arms").all():
                result = mantel_haenszel(
                    ready["e1"], ready["n1"], ready["e2"], ready["n2"], measure=measure,
                    random=method != "FE", level=level,
                )  # fmt: skip
            else:
                result = pool(ready["yi"], ready["vi"], method=method, hksj=hksj, level=level)
        ready["weight"] = np.asarray(result.weights, dtype=float)
    else:
        ready["weight"] = []
    awaiting = inputs.awaiting.reset_index(drop=True)
    return MetaAnalysis(
        outcome=outcome, measure=measure, method=result.method if result else method,
        hksj=bool(result.hksj) if result else hksj, table=ready, result=result,
        awaiting=awaiting, selection=definition, notes=tuple(notes),
    )  # fmt: skip


def _add_effects(ready: pd.DataFrame, measure: str) -> pd.DataFrame:
    """Per-comparison yi, vi (log scale for ratios) and participants."""
    yi = np.full(len(ready), np.nan)
    vi = np.full(len(ready), np.nan)
    arms = ready["input"] == "arms"
    if arms.any():
        a = ready.loc[arms]
        if measure in ("MD", "SMD"):
            es = effect_size(measure, m1=a["m1"], sd1=a["sd1"], n1=a["n1"],
                             m2=a["m2"], sd2=a["sd2"], n2=a["n2"])  # fmt: skip
        else:
            es = effect_size(measure, e1=a["e1"], n1=a["n1"], e2=a["e2"], n2=a["n2"])
        positions = np.flatnonzero(arms.to_numpy())[np.asarray(es.index)]
        yi[positions], vi[positions] = es.yi, es.vi
    pre = ready["input"] == "precomputed"
    if pre.any():
        p = ready.loc[pre]
        es = effect_size("precomputed", effect=p["effect"], ci_low=p["ci_low"],
                         ci_high=p["ci_high"], log_scale=measure in RATIO)  # fmt: skip
        yi[np.flatnonzero(pre.to_numpy())] = es.yi
        vi[np.flatnonzero(pre.to_numpy())] = es.vi
    se = np.sqrt(vi)
    out = ready.assign(yi=yi, vi=vi, se=se, ci_low=yi - 1.959963984540054 * se,
                       ci_high=yi + 1.959963984540054 * se)  # fmt: skip
    out = out.loc[np.isfinite(out["yi"])].reset_index(drop=True)
    n1 = pd.to_numeric(out["n1"], errors="coerce")
    n2 = pd.to_numeric(out["n2"], errors="coerce")
    out["participants"] = (n1.fillna(0) + n2.fillna(0)).astype(int)
    return out


def repool(ma: MetaAnalysis, keep: pd.Series | np.ndarray) -> MetaAnalysis:
    """``ma`` with only the comparisons in ``keep`` (boolean, aligned with ``ma.table``),
    re-pooled with the same model; trials that lose all comparisons are not listed as awaiting."""
    keep = np.asarray(keep, dtype=bool)
    table = ma.table.loc[keep].reset_index(drop=True)
    result = None
    if len(table):
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*one study.*")
            result = pool(table["yi"], table["vi"], method=ma.method, hksj=ma.hksj)
        table["weight"] = np.asarray(result.weights, dtype=float)
    return replace(ma, table=table, result=result)


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
