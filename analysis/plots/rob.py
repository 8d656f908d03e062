"""Risk-of-bias figures: traffic-light grid and weighted summary bars (RoB 2 style)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
import pandas as pd
from matplotlib import ticker
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from matplotlib.transforms import blended_transform_factory

from analysis.plots._common import (
    _MARGIN,
    _MINUS,
    PALETTE,
    _attach,
    _frame,
    _smaller,
    _text_w,
)

__all__ = ["rob_plot"]

_ROB_CATS = ("low", "some concerns", "high")
_ROB_COLOR = {
    "low": PALETTE["bluish_green"],
    "some concerns": PALETTE["yellow"],
    "high": PALETTE["vermillion"],
}
_ROB_SYMBOL = {"low": "+", "some concerns": "?", "high": _MINUS}
_ROB_TEXTCOLOR = {"low": "white", "some concerns": "black", "high": "white"}
_ROB_HATCH = {"low": "", "some concerns": "///", "high": "xxx"}
_ROB_NORMAL = {
    "low": "low",
    "low risk": "low",
    "+": "low",
    "some concerns": "some concerns",
    "some": "some concerns",
    "moderate": "some concerns",
    "unclear": "unclear",
    "unclear risk": "unclear",
    "no information": "unclear",
    "?": "unclear",
    "high": "high",
    "high risk": "high",
    "serious": "high",
    "critical": "high",
    "-": "high",
}


def _rob_long(
    rob_df: pd.DataFrame, study: str, domain: str, judgement: str
) -> tuple[pd.DataFrame, str]:
    df = rob_df[[study, domain, judgement]].copy()
    df.columns = ["study", "domain", "judgement"]
    raw = df["judgement"].astype(str).str.strip().str.lower()
    bad = sorted(set(raw) - set(_ROB_NORMAL))
    if bad:
        raise ValueError(f"unknown risk-of-bias judgements: {bad}")
    norm = raw.map(_ROB_NORMAL)
    kinds = set(norm)
    mid = (
        "Some concerns / unclear"
        if {"unclear", "some concerns"} <= kinds
        else "Unclear"
        if "unclear" in kinds
        else "Some concerns"
    )
    df["judgement"] = norm.replace({"unclear": "some concerns"})
    df["study"] = df["study"].astype(str)
    df["domain"] = df["domain"].astype(str)
    return df, mid


def rob_plot(
    rob_df: pd.DataFrame,
    *,
    kind: Literal["traffic_light", "summary", "both"] = "traffic_light",
    study: str = "study_id",
    domain: str = "domain",
    judgement: str = "judgement",
    weights: str | Mapping[str, float] | None = None,
    domains: Sequence[str] | None = None,
    title: str | None = None,
    fontsize: float = 9.0,
) -> Figure:
    """Risk-of-bias traffic-light plot and/or weighted summary bar plot.

    Nothing is computed beyond counting: the judgements are drawn as given. The traffic light
    is a grid with one row per study (labels on the left) and one column per domain (headed
    ``D1``, ``D2``, ... and ``Overall``), each judged cell a circle coloured by judgement
    (bluish green low, yellow middle, vermillion high) with a bold symbol (``+``, ``?``, ``−``)
    so the grid reads in grayscale; under it the key ``D1: <domain name>`` ... and a legend.
    The summary has one horizontal bar per domain, stacked left to right low, middle, high,
    each segment's length the percentage of studies (or of ``weights``) with that judgement,
    the middle and high segments hatched; a percentage axis and a legend under it. The middle
    category is labelled "Some concerns", "Unclear" or "Some concerns / unclear" after the
    judgements present.

    Parameters
    ----------
    rob_df : pandas.DataFrame
        Long format, one row per study and domain, with columns ``study``, ``domain`` and
        ``judgement``. Judgements (case-insensitive): ``low``, ``some concerns``,
        ``unclear``, ``high`` (also ``low risk``, ``high risk``, ``no information``...).
        ``unclear`` and ``some concerns`` share the middle category. A domain named
        ``Overall`` (any case) is put last.
    kind : {"traffic_light", "summary", "both"}
        Studies × domains grid of circles with symbols (``+`` low, ``?`` unclear/some
        concerns, ``−`` high), horizontal stacked bars of the percentage at each judgement
        per domain, or both stacked in one figure.
    study, domain, judgement : str
        Column names.
    weights : str or mapping, optional
        Study weights for the summary bars: a column of ``rob_df`` or ``{study: weight}``.
        Without weights each study counts equally.
    domains : sequence of str, optional
        Domain order (default: order of first appearance, ``Overall`` last).
    title : str, optional
        Figure title.
    fontsize : float
        Base font size in points.

    Returns
    -------
    matplotlib.figure.Figure
        With ``fig.alt_text`` and ``fig.plot_info`` (``kind``, ``k``, ``studies``,
        ``domains``).
    """
    if kind not in {"traffic_light", "summary", "both"}:
        raise ValueError("kind must be 'traffic_light', 'summary' or 'both'")
    df, mid_label = _rob_long(rob_df, study, domain, judgement)
    studies = list(dict.fromkeys(df["study"]))
    if domains is None:
        doms = list(dict.fromkeys(df["domain"]))
        overall = [d for d in doms if d.strip().lower() == "overall"]
        doms = [d for d in doms if d not in overall] + overall
    else:
        doms = list(domains)
    cat_label = {"low": "Low", "some concerns": mid_label, "high": "High"}
    fs = fontsize
    w_map: dict[str, float]
    if weights is None:
        w_map = {s: 1.0 for s in studies}
    elif isinstance(weights, str):
        w_map = rob_df.assign(_s=rob_df[study].astype(str)).groupby("_s")[weights].first().to_dict()
    else:
        w_map = {str(a): float(b) for a, b in weights.items()}
    codes = {
        d: ("Overall" if d.strip().lower() == "overall" else f"D{i + 1}")
        for i, d in enumerate(doms)
    }
    grid = {(r.study, r.domain): r.judgement for r in df.itertuples()}

    # ---- measurements (inches)
    label_w = max(_text_w(s, fs) for s in studies)
    cell_w = max(0.34, max(_text_w(c, fs, "bold") for c in codes.values()) + 0.12)
    cell_h = 0.27
    legend_items = [(c, f"{cat_label[c]}") for c in _ROB_CATS]
    legend_w = sum(0.22 + _text_w(lbl, fs - 0.5) + 0.25 for _, lbl in legend_items)
    key_lines = [f"{codes[d]}: {d}" for d in doms if codes[d] != "Overall"]
    key_w = max((_text_w(s, fs - 0.5) for s in key_lines), default=0.0)
    tl_w = _MARGIN + label_w + 0.2 + cell_w * len(doms) + _MARGIN
    tl_h = 0.35 + cell_h * len(studies) + 0.15 + (len(key_lines) + 1) * fs * 1.5 / 72 + 0.35
    sm_label_w = max(_text_w(d, fs) for d in doms)
    sm_bar_w = 3.6
    sm_row = 0.3
    sm_w = _MARGIN + sm_label_w + 0.15 + sm_bar_w + 0.35
    sm_h = 0.15 + sm_row * len(doms) + 0.55 + 0.35
    title_h = (fs + 2) * 2.0 / 72 if title else 0.0
    width = max(
        tl_w if kind != "summary" else 0,
        sm_w if kind != "traffic_light" else 0,
        legend_w + 2 * _MARGIN,
        key_w + 2 * _MARGIN if kind != "summary" else 0,
    )
    height = title_h + (tl_h if kind != "summary" else 0) + (sm_h if kind != "traffic_light" else 0)
    height += _MARGIN
    fig = Figure(figsize=(width, height))
    if title:
        fig.text(
            _MARGIN / width,
            1 - (_MARGIN / 2 + title_h / 2) / height,
            title,
            fontsize=fs + 2,
            fontweight="bold",
            ha="left",
            va="center",
        )
    top = _MARGIN / 2 + title_h  # inches from the top

    def legend_row(y_in: float) -> None:
        """Symbol legend centred at ``y_in`` inches from the top."""
        x = (width - legend_w) / 2
        yf = 1 - y_in / height
        for cat, lbl in legend_items:
            fig.add_artist(
                Line2D(
                    [(x + 0.09) / width],
                    [yf],
                    marker="o",
                    ms=11,
                    ls="none",
                    mfc=_ROB_COLOR[cat],
                    mec="black",
                    mew=0.5,
                    transform=fig.transFigure,
                )
            )
            fig.text(
                (x + 0.09) / width,
                yf,
                _ROB_SYMBOL[cat],
                ha="center",
                va="center",
                fontsize=_smaller(fs, 1),
                fontweight="bold",
                color=_ROB_TEXTCOLOR[cat],
            )
            fig.text((x + 0.22) / width, yf, lbl, ha="left", va="center", fontsize=fs - 0.5)
            x += 0.22 + _text_w(lbl, fs - 0.5) + 0.25

    if kind in {"traffic_light", "both"}:
        gx0 = _MARGIN + label_w + 0.2
        grid_h = cell_h * len(studies)
        ax = fig.add_axes(
            (
                gx0 / width,
                1 - (top + 0.35 + grid_h) / height,
                cell_w * len(doms) / width,
                grid_h / height,
            )
        )
        ax.set_xlim(-0.5, len(doms) - 0.5)
        ax.set_ylim(len(studies) - 0.5, -0.5)
        ax.set_axis_off()
        for j in range(len(doms)):
            ax.add_patch(
                Rectangle(
                    (j - 0.5, -0.5), 1, len(studies), facecolor="none", edgecolor="0.8", lw=0.5
                )
            )
        if len(studies) > 1:  # row separators, one NaN-separated line
            ax.plot(
                [x for _ in range(1, len(studies)) for x in (-0.5, len(doms) - 0.5, np.nan)][:-1],
                [y for i in range(1, len(studies)) for y in (i - 0.5, i - 0.5, np.nan)][:-1],
                color="0.8",
                lw=0.5,
            )
        ms = min(cell_h, cell_w) * 72 * 0.72
        cells = [
            (i, j, grid[(s, d)])
            for i, s in enumerate(studies)
            for j, d in enumerate(doms)
            if (s, d) in grid
        ]
        for cat in _ROB_CATS:  # one line of markers per judgement (circles never overlap)
            at = [(i, j) for i, j, c in cells if c == cat]
            if at:
                ax.plot(
                    [j for _, j in at],
                    [i for i, _ in at],
                    marker="o",
                    ms=ms,
                    mfc=_ROB_COLOR[cat],
                    mec="black",
                    mew=0.5,
                    ls="none",
                )
        for i, j, cat in cells:
            ax.text(
                j,
                i,
                _ROB_SYMBOL[cat],
                ha="center",
                va="center_baseline",
                fontsize=fs,
                fontweight="bold",
                color=_ROB_TEXTCOLOR[cat],
            )
        tr = blended_transform_factory(fig.dpi_scale_trans, ax.transData)
        for i, s in enumerate(studies):
            ax.text(_MARGIN, i, s, transform=tr, ha="left", va="center", fontsize=fs)
        for j, d in enumerate(doms):
            ax.text(
                j,
                -0.5 - 0.35 / cell_h / 2,
                codes[d],
                ha="center",
                va="center",
                fontsize=fs,
                fontweight="bold",
            )
        y_in = top + 0.35 + grid_h + 0.15
        lh = fs * 1.5 / 72
        for j, line in enumerate(key_lines):
            fig.text(
                _MARGIN / width,
                1 - (y_in + (j + 0.5) * lh) / height,
                line,
                ha="left",
                va="center",
                fontsize=fs - 0.5,
            )
        legend_row(y_in + (len(key_lines) + 0.5) * lh + 0.12)
        top += tl_h

    if kind in {"summary", "both"}:
        bx0 = _MARGIN + sm_label_w + 0.15
        bar_h = sm_row * len(doms)
        ax2 = fig.add_axes(
            (bx0 / width, 1 - (top + 0.15 + bar_h) / height, sm_bar_w / width, bar_h / height)
        )
        ax2.set_ylim(len(doms) - 0.5, -0.5)
        ax2.set_xlim(0, 100)
        bars: dict[str, list[tuple[int, float, float]]] = {c: [] for c in _ROB_CATS}
        for j, d in enumerate(doms):
            sub = df[df["domain"] == d]
            w = sub["study"].map(lambda s: float(w_map.get(s, 0.0))).to_numpy()
            tot = w.sum()
            left = 0.0
            for cat in _ROB_CATS:
                share = 100 * w[(sub["judgement"] == cat).to_numpy()].sum() / tot if tot else 0
                if share > 0:
                    bars[cat].append((j, share, left))
                left += share
        for cat, segs in bars.items():  # one barh per judgement (bars of a row never overlap)
            if segs:
                ax2.barh(
                    [j for j, _, _ in segs],
                    [share for _, share, _ in segs],
                    left=[left for _, _, left in segs],
                    height=0.7,
                    color=_ROB_COLOR[cat],
                    edgecolor="black",
                    lw=0.5,
                    hatch=_ROB_HATCH[cat],
                )
        ax2.set_yticks(range(len(doms)), doms, fontsize=fs)
        ax2.tick_params(axis="y", length=0, pad=6)
        ax2.tick_params(axis="x", labelsize=_smaller(fs, 1))
        ax2.xaxis.set_major_locator(ticker.FixedLocator([0, 25, 50, 75, 100]))
        ax2.xaxis.set_major_formatter(ticker.FuncFormatter(lambda t, _: f"{t:g}%"))
        for s in ("top", "right", "left"):
            ax2.spines[s].set_visible(False)
        ax2.set_xlabel(
            "Percentage of " + ("weight" if weights is not None else "studies"), fontsize=fs
        )
        for t in ax2.get_yticklabels():
            t.set_horizontalalignment("right")
        handles = [
            Patch(
                facecolor=_ROB_COLOR[c], edgecolor="black", hatch=_ROB_HATCH[c], label=cat_label[c]
            )
            for c in _ROB_CATS
        ]
        fig.legend(
            handles=handles,
            loc="center",
            bbox_to_anchor=(0.5, 1 - (top + 0.15 + bar_h + 0.55 + 0.17) / height),
            ncols=3,
            fontsize=fs - 0.5,
            frameon=False,
        )

    if kind == "summary":
        basis = "weight" if weights is not None else "studies"
        records = []
        for d in doms:
            sub = df[df["domain"] == d]
            w = sub["study"].map(lambda s: float(w_map.get(s, 0.0))).to_numpy()
            tot = w.sum()
            rec = {"Domain": d}
            for cat in _ROB_CATS:
                share = 100 * w[(sub["judgement"] == cat).to_numpy()].sum() / tot if tot else 0.0
                rec[f"{cat_label[cat]} (% of {basis})"] = f"{share:.0f}%"
            records.append(rec)
        table = _frame(records)
    else:
        heads = {d: d if codes[d] == "Overall" else f"{codes[d]}: {d}" for d in doms}
        table = _frame(
            [{"Study": s} | {heads[d]: cat_label[grid[(s, d)]] if (s, d) in grid else ""
                             for d in doms} for s in studies],
            ["Study", *heads.values()],
        )  # fmt: skip
    counts = df[df["domain"] == doms[-1]]["judgement"].value_counts()
    last = doms[-1]
    summary = ", ".join(f"{int(counts.get(c, 0))} {cat_label[c].lower()}" for c in _ROB_CATS)
    what = {
        "traffic_light": "traffic-light plot",
        "summary": "summary bar plot",
        "both": "traffic-light and summary bar plot",
    }[kind]
    txt = (
        f"Risk-of-bias {what} for {len(studies)} {'study' if len(studies) == 1 else 'studies'}"
        f" across {len(doms)} domains ({'; '.join(doms)}). Judgements are shown with colours "
        f"and symbols: plus = low, question mark = {mid_label.lower()}, minus = high. "
        f"{'Overall' if last.lower() == 'overall' else 'In domain ' + last}: {summary}."
    )
    return _attach(fig, txt, data=table, kind="rob", k=len(studies), studies=studies, domains=doms)
