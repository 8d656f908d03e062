"""Cumulative meta-analysis plot: one row per step, as fitted by the caller."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from analysis.plots._common import (
    PALETTE,
    _attach,
    _ci_segments,
    _ci_text,
    _Col,
    _default_limits,
    _favours_labels,
    _frame,
    _is_ratio,
    _num,
    _plain,
    _Row,
    _set_effect_axis,
    _table_figure,
)

__all__ = ["cumulative_plot"]


def cumulative_plot(
    df: pd.DataFrame,
    *,
    measure: str = "SMD",
    log_scale: bool | None = None,
    labels: Sequence[str] | None = None,
    year: str | None = "year",
    level: float = 0.95,
    favours: tuple[str, str] | None = None,
    higher_favours_treatment: bool = False,
    xlim: tuple[float, float] | None = None,
    title: str | None = None,
    decimals: int = 2,
    fontsize: float = 9.0,
) -> Figure:
    """Cumulative meta-analysis plot of results fitted by the caller, one row per step.

    Nothing is pooled here: each row draws the estimate and CI of ``df`` as given. What is
    drawn: a table with the label of the study added at each step (``+ `` before every label
    but the first), the number of studies ``k``, τ² and I² when ``df`` has them, and the
    estimate with its CI as text; on the right, per step, a CI line (arrowheads where it
    leaves the axis) and a blue circle at the estimate, the last step (all studies) in bold
    with a black diamond marker; a solid line at the null and "favours" labels under the axis.

    Parameters
    ----------
    df : pandas.DataFrame
        As returned by :func:`analysis.stats.sensitivity.cumulative`: one row per step in order,
        columns ``estimate``, ``ci_low``, ``ci_high`` (analysis scale) and optionally
        ``tau2``, ``i2`` and ``k``; the index holds the label of the study added.
    measure : str
        Effect measure name shown in the headers.
    log_scale : bool, optional
        Whether the estimates are on the log scale (drawn exponentiated on a log axis).
        Defaults to True for ratio measures (RR, OR, HR, IRR, ROM).
    labels : sequence of str, optional
        Row labels (default: the index).
    year : str, optional
        Column with the publication year, appended to the label when not already in it.
    level : float
        Confidence level at which ``df`` was fitted; used only for the "95% CI" labels.
    favours, higher_favours_treatment, xlim, decimals, fontsize
        As in :func:`analysis.plots.forest_plot`.
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
        With ``fig.alt_text`` and ``fig.plot_info`` (``kind``, ``k``, ``labels``).
    """
    n = len(df)
    if n == 0:
        raise ValueError("empty cumulative table")
    est = df["estimate"].to_numpy(float)
    lo = df["ci_low"].to_numpy(float)
    hi = df["ci_high"].to_numpy(float)
    labs = [str(s) for s in (labels if labels is not None else df.index)]
    if year and year in df.columns:
        labs = [s if str(yv) in s else f"{s} ({yv})" for s, yv in zip(labs, df[year], strict=True)]
    step_labels = [s if i == 0 else f"+ {s}" for i, s in enumerate(labs)]
    log = _is_ratio(measure, log_scale)
    disp = math.exp if log else (lambda t: t)
    if favours is None:
        favours = ("Favours psychotherapy", "Favours control")
        if higher_favours_treatment:
            favours = favours[::-1]
    lvl = f"{level * 100:g}% CI"
    cols = [_Col("label", "Study added", "left"), _Col("k", "k", "right")]
    has_i2 = "i2" in df.columns
    has_tau = "tau2" in df.columns
    if has_tau:
        cols.append(_Col("tau2", "τ²", "right"))
    if has_i2:
        cols.append(_Col("i2", "I²", "right"))
    cols.append(_Col("effect", f"{measure} [{lvl}]", "right"))
    kcol = df["k"].to_numpy() if "k" in df.columns else np.arange(1, n + 1)
    rows = []
    records: list[dict[str, str]] = []
    for i in range(n):
        cells = {
            "label": step_labels[i],
            "k": str(int(kcol[i])),
            "effect": f"{_num(disp(est[i]), decimals)} [{_num(disp(lo[i]), decimals)}, "
            f"{_num(disp(hi[i]), decimals)}]",
        }
        if has_tau:
            cells["tau2"] = _num(float(df["tau2"].iloc[i]), 3)
        if has_i2:
            i2 = float(df["i2"].iloc[i])
            cells["i2"] = f"{i2:.0f}%" if np.isfinite(i2) else "\N{EN DASH}"
        rows.append(_Row("step", cells, bold=(i == n - 1)))
        rec = {"Study added": step_labels[i], "k": cells["k"]}
        if has_tau:
            rec["τ²"] = cells["tau2"]
        if has_i2:
            rec["I²"] = cells["i2"]
        rec[f"Cumulative {measure}"] = _num(disp(est[i]), decimals)
        rec[lvl] = _ci_text(disp(lo[i]), disp(hi[i]), decimals)
        records.append(rec)
    lay = _table_figure(
        cols,
        rows,
        fontsize=fontsize,
        panel_header=(f"Cumulative {measure}", lvl),
        footnotes=[],
        title=title,
        favours=favours,
    )
    ax, h0 = lay.ax, lay.header_rows
    if xlim is not None:
        lim = (math.log(xlim[0]), math.log(xlim[1])) if log else (float(xlim[0]), float(xlim[1]))
    else:
        lim = _default_limits(est, np.concatenate([lo, hi]), log)
    _set_effect_axis(ax, lim[0], lim[1], log, fontsize)
    _ci_segments(ax, [h0 + i for i in range(n)], lo, hi, lim, disp)
    inside = [i for i in range(n) if lim[0] <= est[i] <= lim[1]]
    steps = [i for i in inside if i < n - 1]  # blue circles; the final step is a black diamond
    if steps:
        ax.plot(
            [disp(est[i]) for i in steps],
            [h0 + i for i in steps],
            marker="o",
            ms=5,
            color=PALETTE["blue"],
            mec="black",
            mew=0.5,
            ls="none",
            zorder=3,
        )
    if n - 1 in inside:
        ax.plot(
            [disp(est[n - 1])],
            [h0 + n - 1],
            marker="D",
            ms=6,
            color="black",
            mec="black",
            mew=0.5,
            ls="none",
            zorder=3,
        )
    ax.plot([disp(0.0)] * 2, [h0 - 0.5, h0 + n - 0.5], color="black", lw=0.8, zorder=1)
    _favours_labels(lay, disp(0.0), favours)
    f = n - 1
    txt = (
        f"Cumulative meta-analysis plot of {n} {'study' if n == 1 else 'studies'} "
        f"({measure}), adding one study per row from {labs[0]} to {labs[-1]}. "
        f"The first estimate is {_plain(disp(est[0]))} ({_plain(disp(lo[0]))} to "
        f"{_plain(disp(hi[0]))}); the final pooled estimate after all {n} studies is "
        f"{_plain(disp(est[f]))} ({level * 100:g}% CI {_plain(disp(lo[f]))} to "
        f"{_plain(disp(hi[f]))})."
    )
    if lo[f] > 0 or hi[f] < 0:
        side = favours[0] if est[f] < 0 else favours[1]
        txt += f" The final interval excludes the null ({side.lower()})."
    else:
        txt += " The final interval includes the null value."
    return _attach(lay.fig, txt, data=_frame(records), kind="cumulative", k=n, labels=step_labels)
