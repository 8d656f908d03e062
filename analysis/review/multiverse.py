"""The multiverse of defensible analyses of the primary outcome, for the interactive explorer.

Every combination of the choices below is one analysis of depressive symptoms at the end of
treatment (SMD) made by :func:`analysis.review.analyses.meta_analysis`, with the keyword
arguments :func:`options_of` gives it. The review computes all of them at build time
(:func:`multiverse`); the explorer page only looks the numbers up and draws them, and the
specification curve (:func:`specification_table`, :func:`summary`) sorts them.

Choices (in this order; the first option of each is *not* necessarily the protocol's: the
default combination, :func:`default_key`, is read from the protocol):

``definition``   the five TRD definitions of :data:`analysis.evidence.selection.TRD_DEFINITIONS`
``comparator``   usual care (the protocol's primary comparison), wait-list (the all-controls
                 comparison restricted to trials whose control is a wait-list,
                 :func:`analysis.review.protocol.control_type`), or both (all controls)
``instruments``  self-rated scales first, or clinician-rated scales first
``validity``     established instruments only (the protocol), or any instrument
``model``        REML with the modified Knapp–Hartung adjustment (the protocol),
                 DerSimonian–Laird with a Wald-type (z) interval, or a fixed-effect
                 (inverse-variance) model with a z interval

Self-help formats stay excluded, as in the protocol's primary analysis (including them is a
pre-specified sensitivity analysis of its own, ``symptoms.smd.sensitivity.self_help``).

Each combination's selection of trials and data depends on the first four choices only, so
:func:`multiverse` runs :func:`meta_analysis` once per distinct selection (the same trials,
instrument order and validity rule give the same table) and pools that table with each model by
:func:`analysis.stats.pooling.pool`, as :func:`meta_analysis` does; ``tests/test_multiverse.py``
checks every combination against a direct call of :func:`meta_analysis`.
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from analysis.evidence.selection import TRD_DEFINITION_LABELS, TRD_DEFINITIONS
from analysis.review.analyses import MetaAnalysis, meta_analysis, select_studies
from analysis.review.protocol import control_type, protocol_of
from analysis.review.text import fmt_number, study_label
from analysis.stats.pooling import pool

__all__ = [
    "CHOICES",
    "Option",
    "combinations",
    "default_key",
    "key_of",
    "multiverse",
    "options_of",
    "site_json",
    "site_text",
    "specification_table",
    "summary",
]

SEP = "|"


@dataclass(frozen=True)
class Option:
    """One option of one choice.

    Attributes
    ----------
    key
        Stable identifier (part of a combination's key in the JSON file).
    label
        What readers see in the control.
    short
        Short label for the indicator panel of the specification curve.
    kwargs
        Keyword arguments of :func:`analysis.review.analyses.meta_analysis` this option sets
        (``comparison`` ``"waitlist"`` is resolved by :func:`options_of`).
    """

    key: str
    label: str
    short: str
    kwargs: Mapping[str, Any]


#: Labels of the TRD definitions in the explorer (meaning: ``TRD_DEFINITIONS``).
DEFINITION_LABELS = TRD_DEFINITION_LABELS

DEFINITION_SHORT = {"any": "any", "min1": "\u2265 1 failed AD", "min2": "\u2265 2 failed ADs",
                    "psychotherapy_failure": "failed psychotherapy", "strict": "strict"}

#: The choices of the multiverse, in order, with their options.
CHOICES: dict[str, tuple[str, tuple[Option, ...]]] = {
    "definition": ("Definition of treatment-resistant depression", tuple(
        Option(d, DEFINITION_LABELS[d], DEFINITION_SHORT[d], {"definition": d})
        for d in TRD_DEFINITIONS)),
    "comparator": ("Control group", (
        Option("usual_care", "Usual care", "usual care", {"comparison": "primary"}),
        Option("waitlist", "Wait-list (usual treatment continued)", "wait-list",
               {"comparison": "waitlist"}),
        Option("both", "Usual care or wait-list", "both", {"comparison": "all_controls"}),
    )),
    "instruments": ("Instrument preferred", (
        Option("self_first", "Self-rated scale first", "self-rated first",
               {"hierarchy": "self_first"}),
        Option("clinician_first", "Clinician-rated scale first", "clinician first",
               {"hierarchy": "clinician_first"}),
    )),
    "validity": ("Instruments allowed", (
        Option("established", "Established depression scales only", "established only",
               {"any_instrument": False}),
        Option("any", "Any instrument", "any instrument", {"any_instrument": True}),
    )),
    "model": ("Model", (
        Option("reml_adhoc", "REML, modified Knapp–Hartung", "REML + mKH",
               {"method": "REML", "test": "adhoc"}),
        Option("dl", "DerSimonian–Laird, z interval", "DL (z)",
               {"method": "DL", "test": "z"}),
        Option("fe", "Fixed effect, z interval", "fixed effect",
               {"method": "FE", "test": "z"}),
    )),
}  # fmt: skip


def key_of(choices: Mapping[str, str]) -> str:
    """The key of a combination: its option keys in the order of :data:`CHOICES`, joined by
    ``|`` (``"any|usual_care|self_first|established|reml_adhoc"``)."""
    return SEP.join(choices[name] for name in CHOICES)


def combinations() -> Iterator[dict[str, str]]:
    """Every combination of the options of :data:`CHOICES` (choice name -> option key)."""
    names = list(CHOICES)
    for keys in itertools.product(*[[o.key for o in CHOICES[n][1]] for n in names]):
        yield dict(zip(names, keys, strict=True))


def _option(name: str, key: str) -> Option:
    for opt in CHOICES[name][1]:
        if opt.key == key:
            return opt
    raise KeyError(f"{name}: no option {key!r}")


def options_of(trials: Any, choices: Mapping[str, str]) -> dict[str, Any]:
    """The keyword arguments of :func:`meta_analysis` for one combination."""
    kwargs: dict[str, Any] = {}
    for name in CHOICES:
        kwargs.update(_option(name, choices[name]).kwargs)
    if kwargs["comparison"] == "waitlist":
        proto = protocol_of(trials)
        kwargs["comparison"] = "all_controls"
        kwargs["where"] = _waitlist(proto)
    return kwargs


def _waitlist(proto: Any) -> Callable[[pd.DataFrame], pd.Series]:
    def where(studies: pd.DataFrame) -> pd.Series:
        return control_type(studies, proto).eq("wait-list")

    return where


def default_key(trials: Any) -> str:
    """The protocol's primary analysis as a combination: every definition counted (``any``),
    usual-care controls, the protocol's first rater, established instruments, the protocol's
    model."""
    proto = protocol_of(trials)
    models = {(o.kwargs["method"], o.kwargs["test"]): o.key for o in CHOICES["model"][1]}
    return key_of({
        "definition": "any", "comparator": "usual_care",
        "instruments": f"{'self' if proto.first_rater == 'self' else 'clinician'}_first",
        "validity": "established",
        "model": models[(proto.method, proto.test)],
    })  # fmt: skip


def _with_model(ma: MetaAnalysis, method: str, test: str, options: dict[str, Any]
                ) -> MetaAnalysis:  # fmt: skip
    """``ma``'s table pooled with another model (what :func:`meta_analysis` does with it)."""
    if ma.result is None:
        return replace(ma, method=method, test=test, hksj=test != "z", options=options)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*one study.*")
        result = pool(ma.table["yi"], ma.table["vi"], method=method, test=test,
                      level=ma.result.level)  # fmt: skip
    table = ma.table.assign(weight=np.asarray(result.weights, dtype=float))
    return replace(ma, table=table, result=result, method=result.method,
                   hksj=bool(result.hksj), test=result.test, options=options)  # fmt: skip


def multiverse(trials: Any) -> dict[str, MetaAnalysis]:
    """Every combination's analysis, keyed by :func:`key_of`.

    Equal to ``meta_analysis(trials, **options_of(trials, c))`` for every combination ``c``
    (tested); computed once per distinct selection of trials and data, then pooled per model.
    """
    out: dict[str, MetaAnalysis] = {}
    cache: dict[tuple, MetaAnalysis] = {}
    for choices in combinations():
        kwargs = options_of(trials, choices)
        method, test = kwargs.pop("method"), kwargs.pop("test")
        ids = select_studies(trials, definition=kwargs["definition"],
                             comparison=kwargs["comparison"],
                             where=kwargs.get("where"))["study_id"]  # fmt: skip
        sel = (frozenset(ids), kwargs["hierarchy"], kwargs["any_instrument"])
        if sel not in cache:
            cache[sel] = meta_analysis(trials, **kwargs, method=method, test=test)
        out[key_of(choices)] = _with_model(cache[sel], method, test,
                                           {**kwargs, "method": method, "test": test})
    return out


# --------------------------------------------------------------------------- the site's JSON
def _num(x: Any) -> float | None:
    """A float for JSON (``None`` for NaN or a missing value)."""
    if x is None:
        return None
    x = float(x)
    return None if math.isnan(x) else x


def _entry(ma: MetaAnalysis, rows: dict[tuple, int], trials_out: list[list[Any]]
           ) -> dict[str, Any]:  # fmt: skip
    awaiting = [study_label(s) for s in dict.fromkeys(ma.awaiting.get("study_id", []))]
    if ma.result is None:
        return {"k": 0, "empty": True, "awaiting": awaiting}
    r = ma.result
    idx = []
    for row in ma.table.itertuples(index=False):
        trial = (str(row.label), str(row.instrument or ""), str(row.population or ""),
                 _num(row.yi), _num(row.ci_low), _num(row.ci_high), _num(row.participants))
        if trial not in rows:
            rows[trial] = len(trials_out)
            trials_out.append(list(trial))
        idx.append(rows[trial])
    return {
        "k": ma.k, "participants": ma.participants,
        "participants_unknown": ma.participants_unknown,
        "estimate": _num(r.estimate), "ci": [_num(r.ci_low), _num(r.ci_high)],
        "pi": [_num(r.pi_low), _num(r.pi_high)], "p": _num(r.p), "i2": _num(r.i2),
        "tau2": _num(r.tau2),
        "method": r.method, "test": r.test,
        "trials": idx, "weights": [float(w) for w in ma.table["weight"]],
        "awaiting": awaiting,
    }  # fmt: skip


def site_json(trials: Any, analyses: Mapping[str, MetaAnalysis],
              definition_href: str = "definition.html") -> dict[str, Any]:  # fmt: skip
    """The explorer's JSON: the choices, the default combination, the per-trial effects (each
    distinct row once, in ``trials``: label, instrument, analysis population, SMD, CI low, CI
    high, participants) and every combination (``results``: its key -> pooled estimate, CI,
    prediction interval, k, participants, I², τ², p, model, the rows of ``trials`` it pools
    with their percent weights, and the trials awaiting data; ``{"k": 0, "empty": true}`` when
    no trial has data)."""
    rows: dict[tuple, int] = {}
    trials_out: list[list[Any]] = []
    results = {key: _entry(ma, rows, trials_out) for key, ma in analyses.items()}
    choices = []
    for name, (label, opts) in CHOICES.items():
        options = []
        for o in opts:
            item = {"key": o.key, "label": o.label}
            if name == "definition":
                item["description"] = TRD_DEFINITIONS[o.key]
                item["href"] = f"{definition_href}#trd-trial-definitions"
            options.append(item)
        choices.append({"key": name, "label": label, "options": options})
    return {
        "outcome": "Depressive symptoms at the end of treatment: standardised mean difference "
                   "(SMD, Hedges' g); negative values favour psychotherapy",
        "choices": choices, "separator": SEP, "default": default_key(trials),
        "trial_columns": ["label", "instrument", "population", "smd", "ci_low", "ci_high",
                          "participants"],
        "trials": trials_out, "results": results,
    }  # fmt: skip


def site_text(site: Mapping[str, Any]) -> str:
    """:func:`site_json` as compact JSON text (no NaN: missing values are ``null``)."""
    import json

    return json.dumps(site, separators=(",", ":"), allow_nan=False, ensure_ascii=False)


# --------------------------------------------------------------------- specification curve
def specification_table(analyses: Mapping[str, MetaAnalysis]) -> pd.DataFrame:
    """One row per combination with data, sorted by estimate (most negative first): ``key``,
    one column per choice (option key), ``estimate``, ``ci_low``, ``ci_high``, ``k``,
    ``participants`` and ``rank`` (1 = most negative)."""
    rows = []
    for key, ma in analyses.items():
        if ma.result is None:
            continue
        rows.append({"key": key, **dict(zip(CHOICES, key.split(SEP), strict=True)),
                     "estimate": ma.result.estimate, "ci_low": ma.result.ci_low,
                     "ci_high": ma.result.ci_high, "k": ma.k,
                     "participants": ma.participants})  # fmt: skip
    cols = ["key", *CHOICES, "estimate", "ci_low", "ci_high", "k", "participants"]
    table = pd.DataFrame(rows, columns=cols)
    table = table.sort_values(["estimate", "key"], kind="mergesort").reset_index(drop=True)
    table["rank"] = np.arange(1, len(table) + 1)
    return table


@dataclass(frozen=True)
class Summary:
    """What the specification curve shows, in numbers (see :func:`summary`)."""

    total: int
    with_data: int
    favour: int  # CI entirely below 0 (favours psychotherapy)
    against: int  # CI entirely above 0 (favours the control)
    unclear: int  # CI includes 0
    lowest: float
    lowest_key: str
    highest: float
    highest_key: str
    mover: str  # the choice whose options' median estimates differ most
    mover_low: tuple[str, float]  # (option key, median estimate)
    mover_high: tuple[str, float]
    medians: dict[str, dict[str, float]]  # choice -> option -> median (options with data)


def summary(analyses: Mapping[str, MetaAnalysis]) -> Summary:
    """Counts, range and the choice that moves the estimate most.

    "Moves most": for each choice, the median estimate of the combinations with data that use
    each of its options (options with no combination with data are left out); the choice whose
    largest and smallest option medians differ most. Ties go to the earlier choice of
    :data:`CHOICES`.
    """
    table = specification_table(analyses)
    if not len(table):
        raise ValueError("no combination has data")
    medians: dict[str, dict[str, float]] = {}
    for name in CHOICES:
        med = table.groupby(name)["estimate"].median()
        medians[name] = {o.key: float(med[o.key]) for o in CHOICES[name][1] if o.key in med}
    spread = {n: max(m.values()) - min(m.values()) for n, m in medians.items()}
    mover = max(CHOICES, key=lambda n: (spread[n], -list(CHOICES).index(n)))
    low = min(medians[mover].items(), key=lambda kv: kv[1])
    high = max(medians[mover].items(), key=lambda kv: kv[1])
    first, last = table.iloc[0], table.iloc[-1]
    return Summary(
        total=len(analyses), with_data=len(table),
        favour=int((table["ci_high"] < 0).sum()), against=int((table["ci_low"] > 0).sum()),
        unclear=int(((table["ci_low"] <= 0) & (table["ci_high"] >= 0)).sum()),
        lowest=float(first["estimate"]), lowest_key=str(first["key"]),
        highest=float(last["estimate"]), highest_key=str(last["key"]),
        mover=mover, mover_low=low, mover_high=high, medians=medians,
    )  # fmt: skip


def describe(key: str) -> str:
    """A combination in a few words, from the options' short labels:
    ``"definition any, usual care, self-rated first, established only, REML + mKH"``."""
    parts = [_option(name, k).short for name, k in zip(CHOICES, key.split(SEP), strict=True)]
    return "definition " + ", ".join(parts)


def summary_texts(s: Summary) -> dict[str, str]:
    """The glued sentences of the specification curve."""
    mover_label = CHOICES[s.mover][0].lower()
    low_label = _option(s.mover, s.mover_low[0]).label.lower()
    high_label = _option(s.mover, s.mover_high[0]).label.lower()
    return {
        "total": str(s.total),
        "with_data": str(s.with_data),
        "empty": str(s.total - s.with_data),
        "favour": str(s.favour),
        "unclear": str(s.unclear),
        "against": str(s.against),
        "counts": (
            f"Of the {s.total} combinations, {s.with_data} have data. In {s.favour} of them the "
            f"pooled estimate favours psychotherapy with a 95% confidence interval that excludes "
            f"no effect; in {s.unclear} the interval includes no effect; "
            + (f"in {s.against} it favours the control with an interval that excludes no effect"
               if s.against else "in none does it favour the control with an interval that "
               "excludes no effect")
        ),
        "range": (
            f"The estimates range from SMD {fmt_number(s.lowest)} ({describe(s.lowest_key)}) "
            f"to SMD {fmt_number(s.highest)} ({describe(s.highest_key)})"
        ),
        "mover": (
            f"The choice that moves the estimate most is the {mover_label}: the median estimate "
            f"of the combinations with data is SMD {fmt_number(s.mover_low[1])} with "
            f"\u201c{low_label}\u201d and SMD {fmt_number(s.mover_high[1])} with "
            f"\u201c{high_label}\u201d, a difference of "
            f"{fmt_number(s.mover_high[1] - s.mover_low[1])}"
        ),
        "alt": (
            f"Specification curve: {s.with_data} pooled standardised mean differences, one per "
            f"combination of analytic choices with data, sorted from SMD {fmt_number(s.lowest)} "
            f"to {fmt_number(s.highest)}, each with its 95% confidence interval; {s.favour} "
            f"intervals lie entirely below zero (favouring psychotherapy). Below, an indicator "
            f"panel marks the options of each choice that every combination uses. The numbers "
            f"are in the table that follows the figure."
        ),
    }


def specification_figure(trials: Any, analyses: Mapping[str, MetaAnalysis], alt: str
                         ) -> Any:  # fmt: skip
    """The specification curve of ``analyses`` (:func:`analysis.plots.specification_curve`),
    the protocol's primary analysis highlighted."""
    from analysis.plots.specification import specification_curve

    choices = {name: (label, [(o.key, o.short) for o in opts])
               for name, (label, opts) in CHOICES.items()}  # fmt: skip
    return specification_curve(specification_table(analyses), choices, measure="SMD",
                               highlight=default_key(trials), alt=alt)  # fmt: skip


def specification_display(table: pd.DataFrame) -> pd.DataFrame:
    """The specification table for readers (the figure's numbers, as a table)."""
    out = pd.DataFrame({"Rank": table["rank"]})
    for name, (label, _) in CHOICES.items():
        out[label] = [_option(name, k).short for k in table[name]]
    out["SMD"] = [fmt_number(x) for x in table["estimate"]]
    out["95% CI"] = [f"{fmt_number(a)} to {fmt_number(b)}"
                     for a, b in zip(table["ci_low"], table["ci_high"], strict=True)]
    out["k"] = table["k"].astype(int)
    out["Participants"] = table["participants"].astype(int)
    return out
