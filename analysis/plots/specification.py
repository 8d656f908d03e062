"""Specification curve (Simonsohn, Simmons and Nelson 2020; Voracek et al. 2019 for
meta-analysis): every specification's estimate, as fitted by the caller, sorted, with an
indicator panel of the choices each one makes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from analysis.plots._common import PALETTE, _attach, _ci_text, _frame, _num

__all__ = ["specification_curve"]

_MINUS = "\N{MINUS SIGN}"


def specification_curve(
    df: pd.DataFrame,
    choices: Mapping[str, tuple[str, Sequence[tuple[str, str]]]],
    *,
    measure: str = "SMD",
    null: float = 0.0,
    highlight: str | None = None,
    alt: str | None = None,
    fontsize: float = 10.0,
) -> Figure:
    """Draw a specification curve from estimates fitted by the caller (nothing is pooled here).

    Top panel: one point per specification (``estimate``) with its confidence interval
    (``ci_low`` to ``ci_high``), in the row order of ``df`` (sort it first); filled blue circles
    when the interval excludes ``null``, open grey circles when it includes it (shape and colour
    both code it); a dashed line at ``null``. Bottom panel: one row per option of each choice,
    grouped by choice, with a mark under each specification that uses that option.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per specification: ``estimate``, ``ci_low``, ``ci_high``, a ``key`` column and
        one column per choice of ``choices`` holding the option key.
    choices : mapping
        Choice column -> (choice label, [(option key, option label), ...]).
    measure : str
        Effect measure, for the axis label.
    null : float
        The value of no effect.
    highlight : str, optional
        ``key`` of a specification to mark (e.g. the primary analysis), drawn in vermillion with
        a diamond, and its column shaded in the indicator panel.
    alt : str, optional
        Alternative text (``fig.alt_text``); a generic one from the numbers otherwise.
    fontsize : float
        Font size of the labels.

    Returns
    -------
    matplotlib.figure.Figure
        With ``fig.alt_text`` and ``fig.plot_info`` (``kind``, ``n``, ``excluding_null``,
        ``highlight_rank``).
    """
    n = len(df)
    if n == 0:
        raise ValueError("no specification to draw")
    est = df["estimate"].to_numpy(dtype=float)
    lo = df["ci_low"].to_numpy(dtype=float)
    hi = df["ci_high"].to_numpy(dtype=float)
    x = np.arange(1, n + 1)
    rows = [(name, key, label) for name, (_, opts) in choices.items() for key, label in opts]
    n_rows = len(rows) + len(choices) - 1
    fig = Figure(figsize=(8.0, 3.4 + 0.24 * n_rows))
    gs = fig.add_gridspec(2, 1, height_ratios=[3.4, 0.24 * n_rows + 0.3], hspace=0.06)
    top = fig.add_subplot(gs[0])
    bottom = fig.add_subplot(gs[1], sharex=top)

    excl = (hi < null) | (lo > null)
    top.vlines(x, lo, hi, color=np.where(excl, PALETTE["blue"], "#888888"), linewidth=0.8)
    top.scatter(x[excl], est[excl], s=12, color=PALETTE["blue"], zorder=3,
                label="95% CI excludes no effect")  # fmt: skip
    top.scatter(x[~excl], est[~excl], s=12, facecolors="white", edgecolors="#555555",
                zorder=3, label="95% CI includes no effect")  # fmt: skip
    top.axhline(null, color="black", linestyle="--", linewidth=0.8)
    hl_rank = None
    if highlight is not None and highlight in set(df["key"]):
        hl_rank = int(np.flatnonzero(df["key"].to_numpy() == highlight)[0]) + 1
        top.scatter([hl_rank], [est[hl_rank - 1]], s=60, marker="D", color=PALETTE["vermillion"],
                    zorder=4, label="primary analysis")  # fmt: skip
    top.set_ylabel(f"{measure} (95% CI)", fontsize=fontsize)
    top.tick_params(labelsize=fontsize, labelbottom=False)
    top.yaxis.set_major_formatter(lambda v, _pos: f"{v:.1f}".replace("-", _MINUS) if v else "0")
    top.legend(fontsize=fontsize - 0.5, loc="lower right", frameon=False)
    top.set_xlim(0.3, n + 0.7)
    # A few single-trial or two-trial intervals are very wide: cut them at 1 unit beyond the
    # estimates (the caption says so; the table beside the figure has every number).
    top.set_ylim(max(lo.min(), min(est.min(), null) - 1.0) - 0.05,
                 min(hi.max(), max(est.max(), null) + 1.0) + 0.05)
    for side in ("top", "right"):
        top.spines[side].set_visible(False)

    # Indicator panel: y positions top to bottom, a gap between choices.
    y_of, labels, ticks, y = {}, [], [], 0.0
    group_y = []
    for gi, (name, (clabel, opts)) in enumerate(choices.items()):
        if gi:
            y += 1.0
        group_y.append((y, clabel))
        for key, label in opts:
            y_of[(name, key)] = y
            labels.append(label)
            ticks.append(y)
            y += 1.0
    for name in choices:
        ys = [y_of[(name, k)] for k in df[name]]
        bottom.scatter(x, ys, marker="s", s=7, color="#333333", linewidths=0)
    if hl_rank is not None:
        bottom.axvspan(hl_rank - 0.5, hl_rank + 0.5, color=PALETTE["orange"], alpha=0.3, lw=0)
    bottom.set_yticks(ticks, labels, fontsize=fontsize - 0.5)
    bottom.set_ylim(y - 0.4, -0.6)
    bottom.set_xlabel("Specifications, sorted by estimate (rank)", fontsize=fontsize)
    bottom.tick_params(labelsize=fontsize)
    for side in ("top", "right"):
        bottom.spines[side].set_visible(False)
    ends = [gy for gy, _ in group_y[1:]] + [y + 1.0]
    for (gy, clabel), end in zip(group_y, ends, strict=True):
        if gy:
            bottom.axhline(gy - 1.0, color="#cccccc", linewidth=0.6)
        bottom.text(1.01, (gy + end - 2.0) / 2, clabel, transform=bottom.get_yaxis_transform(),
                    fontsize=fontsize - 0.5, va="center", ha="left", style="italic")
    favour = int((hi < null).sum())
    text = alt or (
        f"Specification curve of {n} {measure} estimates sorted from "
        f"{est.min():.2f} to {est.max():.2f}; {favour} confidence intervals lie below "
        f"{null:g}; an indicator panel shows the choices of each specification."
    )
    option_label = {(name, key): label for name, key, label in rows}
    records = []
    for i in range(n):
        rec = {"Rank": str(i + 1)}
        for name, (clabel, _opts) in choices.items():
            rec[clabel] = option_label.get((name, df[name].iloc[i]), str(df[name].iloc[i]))
        rec[measure] = _num(est[i])
        rec["95% CI"] = _ci_text(lo[i], hi[i])
        if hl_rank is not None:
            rec["Primary analysis"] = "yes" if i + 1 == hl_rank else ""
        records.append(rec)
    return _attach(fig, text, data=_frame(records), kind="specification_curve", n=n,
                   excluding_null=int(excl.sum()), highlight_rank=hl_rank)  # fmt: skip
