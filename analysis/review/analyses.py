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

import re
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from analysis.evidence.loading import Trials
from analysis.evidence.selection import effect_inputs, main_analysis_studies, trd_filter
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


def study_label(study_id: str) -> str:
    """``CladderMicus2018`` -> ``Cladder-Micus 2018``; ``Wiles2013`` -> ``Wiles 2013``."""
    match = re.fullmatch(r"(.*?)(\d{4})([a-z]?)", study_id)
    if not match:
        return study_id
    name = {"CladderMicus": "Cladder-Micus"}.get(match.group(1), match.group(1))
    return f"{name} {match.group(2)}{match.group(3)}"


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

    @property
    def is_ratio(self) -> bool:
        return self.measure in RATIO

    def publish(self, result_id: str, label: str, **kwargs: Any) -> dict[str, str]:
        """Glue and record the pooled result (see :func:`analysis.report.publish`).

        When no trial has data, glues ``"no trial data yet"`` under the same keys instead.
        """
        from analysis import report

        if self.result is None:
            key = report.glue_key(result_id)
            text = "no trial data yet"
            for suffix in ("", "est", "ci", "pi", "k", "n", "who", "i2", "tau2", "p", "full"):
                report.glue_text(
                    f"{key}_{suffix}" if suffix else key, text if suffix not in ("k", "n") else "0"
                )
            return {"": text}
        return report.publish(
            result_id, self.result, measure=self.measure, label=label,
            outcome=self.outcome, participants=self.participants, studies=self.studies,
            **kwargs,
        )  # fmt: skip

    def forest(self, **kwargs: Any):
        """A forest plot of this analysis (:func:`analysis.plots.forest_plot`)."""
        from analysis.plots import forest_plot

        return forest_plot(**forest_arguments(self), **kwargs)

    def display_table(self) -> pd.DataFrame:
        """A reader-facing table: study, comparison, instrument, n, effect with 95% CI, weight."""
        from analysis.review.text import fmt_number

        if not len(self.table):
            return pd.DataFrame(columns=["Study", "Comparison", "Instrument", "n", "Effect"])
        t = self.table
        tr = np.exp if self.is_ratio else (lambda x: x)
        effect = [
            f"{fmt_number(tr(y))} [{fmt_number(tr(lo))}, {fmt_number(tr(hi))}]"
            for y, lo, hi in zip(t["yi"], t["ci_low"], t["ci_high"], strict=True)
        ]
        return pd.DataFrame({
            "Study": t["label"],
            "Comparison": t["comparison"],
            "Instrument": t["instrument"].replace("", "—"),
            "n": [str(int(n)) if n > 0 else "not reported" for n in t["participants"]],
            f"{self.measure} [95% CI]": effect,
            "Weight (%)": [f"{w:.1f}" for w in t["weight"]],
        })  # fmt: skip


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


def forest_arguments(ma: MetaAnalysis) -> dict[str, Any]:
    """Keyword arguments for :func:`analysis.plots.forest_plot` from an analysis."""
    from analysis.plots import forest_plot  # noqa: F401  (documents the dependency)

    return {"data": forest_frame(ma), "measure": ma.measure, "method": ma.method,
            "hksj": ma.hksj, "log_scale": ma.is_ratio}  # fmt: skip


def forest_frame(ma: MetaAnalysis) -> pd.DataFrame:
    """The study table in the column names :func:`analysis.plots.forest_plot` expects."""
    t = ma.table
    frame = pd.DataFrame({"label": t["label"], "yi": t["yi"], "vi": t["vi"]})
    arms = t["input"].eq("arms").all() if len(t) else False
    if arms and ma.measure in ("MD", "SMD"):
        for col in ("m1", "sd1", "n1", "m2", "sd2", "n2"):
            frame[f"{col}i"] = t[col]
    elif arms:
        for src, dest in (("e1", "ai"), ("n1", "n1i"), ("e2", "ci"), ("n2", "n2i")):
            frame[dest] = t[src]
    return frame


def trial_table(
    trials: Trials,
    where: Callable[[pd.DataFrame], pd.Series] | None = None,
) -> pd.DataFrame:
    """A reader-facing table of trials (e.g. one psychotherapy family) from ``studies.csv``."""
    s = trials.studies
    if where is not None:
        s = s.loc[where(s).fillna(False).astype(bool)]

    def n_text(a: Any, b: Any) -> str:
        a = "" if pd.isna(a) else str(a)
        b = "" if pd.isna(b) else str(b)
        return f"{a} vs {b}" if a or b else "not reported"

    return pd.DataFrame({
        "Trial": [study_label(x) + (f" ({n})" if isinstance(n, str) and n else "")
                  for x, n in zip(s["study_id"], s["trial_name"].fillna(""), strict=True)],
        "Country": s["country"].fillna("not reported"),
        "Therapy": s["modality"],
        "Format": s["format"].fillna("not reported"),
        "Design": s["design"],
        "Comparator": s["comparator"].fillna(""),
        "Randomised (therapy vs control)": [n_text(a, b) for a, b in
                                            zip(s["n_rand_int"], s["n_rand_ctl"], strict=True)],
        "Data": s["data_status"],
    }).reset_index(drop=True)  # fmt: skip
