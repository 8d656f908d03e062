"""Figures of the review's analyses: the fitted results of the review layer, drawn by
:mod:`analysis.plots`.

Every figure carries an alt text (``fig.alt_text``) and the numbers it shows as a table
(``fig.plot_data``; :func:`analysis.plots.attach`), which the book puts under the figure.

Everything that is pooled here is pooled once, with the same model as the analysis it shows,
and handed to the plotting functions, which only draw.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from analysis.plots import attach
from analysis.review.analyses import MetaAnalysis
from analysis.stats.pooling import pool, resolve_test
from analysis.stats.subgroups import subgroups

_MINUS = "\N{MINUS SIGN}"


def _num(x: Any, d: int = 2) -> str:
    """``x`` with ``d`` decimals and a typographic minus, as the figures show it."""
    v = round(float(x), d)
    return f"{v + 0.0:.{d}f}".replace("-", _MINUS)


def _plain(x: Any, d: int = 2) -> str:
    """``x`` with ``d`` decimals and an ASCII minus (alt text, for screen readers)."""
    return _num(x, d).replace(_MINUS, "-")


__all__ = [
    "coverage_figure",
    "definition_comparison_figure",
    "forest",
    "forest_frame",
    "forest_or_note",
    "funnel",
    "grouped_forest",
    "estimate_name",
    "history_figure",
    "note_figure",
]


def forest_frame(ma: MetaAnalysis) -> pd.DataFrame:
    """The study table of ``ma`` in the column names :func:`analysis.plots.forest_plot` reads
    (``label``, ``yi``, ``vi`` and, when every comparison has arm data, the arm columns)."""
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


def _quiet_subgroups(
    yi: Any, vi: Any, groups: Sequence[str], method: str, test: str
) -> Any:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*one study.*")
        return subgroups(yi, vi, list(groups), method=method, test=test)


def forest(ma: MetaAnalysis, group: Sequence[str] | np.ndarray | None = None) -> Figure:
    """Forest plot of ``ma`` (its fitted result and weights), optionally in blocks by ``group``
    (one label per comparison; each block's subtotal pooled with the analysis's model)."""
    from analysis.plots import forest_plot

    data = forest_frame(ma)
    fitted = None
    if group is not None:
        fitted = _quiet_subgroups(ma.table["yi"], ma.table["vi"], group, ma.method,
                                  ma.model_test)  # fmt: skip
    return forest_plot(
        data, ma.result, subgroups=fitted, group=None if group is None else list(group),
        measure=ma.measure, log_scale=ma.is_ratio,
        higher_favours_treatment=ma.higher_favours_psychotherapy,
    )  # fmt: skip


def note_figure(text: str, alt: str) -> Figure:
    """A small figure holding only ``text`` (so a page's glued figure always exists)."""
    fig = Figure(figsize=(6, 1.2))
    ax = fig.add_subplot()
    ax.axis("off")
    ax.text(0.5, 0.5, text, ha="center", va="center")
    return attach(fig, alt)


def forest_or_note(ma: MetaAnalysis, group: Sequence[str] | np.ndarray | None = None) -> Figure:
    """:func:`forest` of ``ma``, or (no usable data) a small figure saying so."""
    if ma.k >= 1:
        return forest(ma, group=group)
    return note_figure(
        "No trial with usable data yet",
        "Placeholder: no trial has usable data for this forest plot yet.",
    )


def grouped_forest(
    table: pd.DataFrame,
    groups: Sequence[str] | np.ndarray,
    *,
    method: str,
    hksj: bool | None = None,
    measure: str = "SMD",
    arms: bool = True,
    test: str | None = None,
) -> Figure:
    """Forest plot of analysis-table rows in blocks by ``groups``: the overall diamond pools all
    rows, each block's subtotal pools its rows (same model), and the test for subgroup
    differences compares the blocks. ``test`` (or its alias ``hksj=True``) is the test of the
    pooled effects (:func:`analysis.pool`)."""
    from analysis.plots import forest_plot

    test = resolve_test(test, bool(hksj))
    ma_like = MetaAnalysis(
        outcome="depressive_symptoms", measure=measure, method=method, hksj=test != "z",
        table=table, result=None, awaiting=pd.DataFrame(),
    )  # fmt: skip
    data = forest_frame(ma_like) if arms else table[["label", "yi", "vi"]].reset_index(drop=True)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*one study.*")
        overall = pool(table["yi"], table["vi"], method=method, test=test)
    fitted = _quiet_subgroups(table["yi"], table["vi"], groups, method, test)
    return forest_plot(
        data, overall, subgroups=fitted, group=list(groups), measure=measure,
        arms="auto" if arms else None,
    )  # fmt: skip


def definition_comparison_figure(comparison: pd.DataFrame) -> Figure:
    """Pooled SMD with 95% CI under each TRD definition (rows of
    :func:`analysis.review.definitions.definition_comparison` with an estimate)."""
    ok = comparison.dropna(subset=["est"]).iloc[::-1]
    fig = Figure(figsize=(7, 0.6 * max(len(comparison), 2) + 1))
    ax = fig.add_subplot()
    y = np.arange(len(ok))
    ax.errorbar(ok["est"], y, xerr=[ok["est"] - ok["lo"], ok["hi"] - ok["est"]], fmt="s",
                color="black", capsize=3)  # fmt: skip
    ax.set_yticks(y, [f"{d} (k = {k})" for d, k in zip(ok["Definition"], ok["k"], strict=True)])
    ax.axvline(0, color="grey", lw=0.8)
    ax.set_xlabel("SMD with 95% CI (negative favours psychotherapy)")
    ax.set_ylim(-0.7, len(ok) - 0.3)
    fig.tight_layout()
    parts = [f"{d} (k = {k}): {_plain(e)} ({_plain(lo)} to {_plain(hi)})"
             for d, k, e, lo, hi in ok.iloc[::-1][["Definition", "k", "est", "lo", "hi"]]
             .itertuples(index=False)]  # fmt: skip
    alt = (f"Dot-and-whisker plot of the pooled standardised mean difference (SMD) with its 95% "
           f"confidence interval under each of {len(ok)} definitions of treatment-resistant "
           f"depression, with a vertical line at no effect (negative values favour "
           f"psychotherapy): " + "; ".join(parts) + ".")  # fmt: skip
    empty = [str(d) for d in comparison.loc[comparison["est"].isna(), "Definition"]]
    if empty:
        alt += " Not shown, no usable data yet: " + "; ".join(empty) + "."
    data = pd.DataFrame({
        "Definition": [str(d) for d in ok["Definition"].iloc[::-1]],
        "k": [str(int(k)) for k in ok["k"].iloc[::-1]],
        "SMD": [_num(e) for e in ok["est"].iloc[::-1]],
        "95% CI": [f"{_num(a)} to {_num(b)}" for a, b in zip(ok["lo"].iloc[::-1],
                                                         ok["hi"].iloc[::-1], strict=True)],
    })  # fmt: skip
    return attach(fig, alt, data=data)


def estimate_name(series: list[tuple[str, dict[str, Any]]], key: str) -> str:
    """A reader's name for the recorded estimate ``key``: its label in the newest snapshot that
    has one, without the comparison before ": " (``"dropout (RR)"``), else ``key`` itself."""
    for _name, snap in reversed(series):
        label = (snap["estimates"].get(key) or {}).get("label")
        if label:
            return label.split(": ", 1)[-1]
    return key


def history_figure(series: list[tuple[str, dict[str, Any]]], keys: Sequence[str]) -> Figure:
    """One panel per key estimate: point estimate and 95% CI in each snapshot of ``series``
    (``(name, snapshot)`` pairs, oldest first), dashed line at the null (log axis for ratios)."""
    import textwrap

    fig = Figure(figsize=(3.2 * len(keys), 3.4))
    axes = fig.subplots(1, len(keys), squeeze=False)[0]
    records: list[dict[str, str]] = []
    parts: list[str] = []
    for ax, key in zip(axes, keys, strict=True):
        name = estimate_name(series, key)
        xs, est, lo, hi, measure = [], [], [], [], ""
        for i, (_name, snap) in enumerate(series):
            e = snap["estimates"].get(key)
            if e and e.get("estimate") is not None:
                xs.append(i)
                est.append(e["estimate"])
                lo.append(e["ci_low"])
                hi.append(e["ci_high"])
                measure = e["measure"]
                ci = f"{_num(e['ci_low'])} to {_num(e['ci_high'])}"
                records.append({"Estimate": name, "Version": _name, "Measure": e["measure"],
                                "Estimate value": _num(e["estimate"]), "95% CI": ci})  # fmt: skip
        ratio = measure in ("RR", "OR")
        if xs:
            e_, l_, h_ = map(np.asarray, (est, lo, hi))
            ax.errorbar(xs, e_, yerr=[e_ - l_, h_ - e_], fmt="o", color="#1f4e79", capsize=4)
        else:
            ax.text(0.5, 0.5, "no trial data yet", ha="center", va="center",
                    transform=ax.transAxes)  # fmt: skip
        ax.axhline(1.0 if ratio else 0.0, color="grey", lw=0.8, ls="--")
        if ratio:
            from matplotlib.ticker import FuncFormatter

            ax.set_yscale("log")
            plain = FuncFormatter(lambda v, _pos: f"{v:g}")
            ax.yaxis.set_major_formatter(plain)
            if xs and max(max(hi), 1.0) / min(min(lo), 1.0) < 10:  # within a decade: label minors
                ax.yaxis.set_minor_formatter(plain)
        ax.set_xticks(range(len(series)), [name for name, _ in series], rotation=30)
        ax.set_xlim(-0.6, len(series) - 0.4)
        ax.set_title("\n".join(textwrap.wrap(name, 30)), fontsize=9)
        ax.set_ylabel(measure or "estimate")
        if xs:
            first, last = series[xs[0]][0], series[xs[-1]][0]
            parts.append(f"{name}: {_plain(est[0])} ({_plain(lo[0])} to "
                         f"{_plain(hi[0])}) in {first}, {_plain(est[-1])} "
                         f"({_plain(lo[-1])} to {_plain(hi[-1])}) in {last}")  # fmt: skip
        else:
            parts.append(f"{name}: no trial data yet")
    fig.tight_layout()
    alt = (f"{len(keys)} panels, one per key estimate, each showing the point estimate and 95% "
           f"confidence interval in each of {len(series)} versions "
           f"({', '.join(name for name, _ in series)}), with a dashed line at the null value. "
           + "; ".join(parts) + ".")  # fmt: skip
    return attach(fig, alt, data=pd.DataFrame.from_records(
        records, columns=["Estimate", "Version", "Measure", "Estimate value", "95% CI"]))


def coverage_figure(coverage: pd.DataFrame) -> Figure:
    """Coverage (%) of the 95% CI by number of trials, DL with and without Knapp–Hartung
    (columns ``k``, ``DL``, ``DL + HKSJ`` as proportions)."""
    fig = Figure(figsize=(6.5, 3.8))
    ax = fig.add_subplot()
    ax.plot(coverage["k"], 100 * coverage["DL"], "o-", label="DerSimonian–Laird (normal CI)")
    ax.plot(coverage["k"], 100 * coverage["DL + HKSJ"], "s-", label="DerSimonian–Laird + HKSJ")
    ax.axhline(95, color="grey", ls="--", lw=0.8)
    ax.axvspan(6, 12, color="#dde8f3", zorder=0, label="typical TRD review (6–12 trials)")
    ax.set_xlabel("Number of trials (k)")
    ax.set_ylabel("Coverage of the 95% CI (%)")
    ax.legend(fontsize=9, loc="lower right")
    fig.tight_layout()
    ks = coverage["k"].to_numpy()
    dl, hk = 100 * coverage["DL"].to_numpy(), 100 * coverage["DL + HKSJ"].to_numpy()
    alt = (f"Line chart of the simulated coverage of nominal 95% confidence intervals against "
           f"the number of trials from {ks.min()} to {ks.max()}: DerSimonian–Laird from "
           f"{dl.min():.0f}% to {dl.max():.0f}%, with the HKSJ adjustment from {hk.min():.0f}% "
           f"to {hk.max():.0f}%; a dashed reference line at 95% and a shaded band from 6 to 12 "
           "trials.")  # fmt: skip
    data = pd.DataFrame({
        "Number of trials (k)": [str(int(k)) for k in ks],
        "Coverage, DerSimonian–Laird (%)": [f"{v:.1f}" for v in dl],
        "Coverage, DerSimonian–Laird + HKSJ (%)": [f"{v:.1f}" for v in hk],
    })  # fmt: skip
    return attach(fig, alt, data=data)


def funnel(ma: MetaAnalysis, trimfill: Any | None) -> Figure | None:
    """Contour-enhanced funnel plot of ``ma`` around its pooled estimate, with the trim-and-fill
    result overlaid (``None`` when trim-and-fill was not estimable)."""
    if trimfill is None or ma.result is None:
        return None
    from analysis.plots import funnel_plot

    return funnel_plot(ma.table["yi"], ma.table["vi"], pooled=ma.result, trim_fill=trimfill,
                       measure=ma.measure, labels=list(ma.table["label"]))  # fmt: skip
