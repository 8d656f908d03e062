"""Shared pieces of the figures: palette, text measurement, table-figure layout, axes, alt text.

Private to :mod:`analysis.plots`; the public names (:data:`PALETTE`, :func:`alt_text`) are
re-exported there. Nothing here draws a complete figure:

* :data:`PALETTE`, the Okabe–Ito colour-blind-safe palette;
* :func:`alt_text` and :func:`attach` (the documented ``fig.alt_text``, ``fig.plot_info`` and
  ``fig.plot_data``, the numbers a figure shows as a table for readers who cannot see it);
* :data:`MIN_TEXT_PT`, the smallest text size of any figure (11 CSS px at natural size);
* :class:`FittedPool` and :class:`FittedSubgroups`, what the figures read from fitted results
  (the figures draw results fitted by the caller and never pool), RevMan's method labels;
* ``_text_w``, the width of a string in inches, measured once per (text, size, weight);
* number formatting with a typographic minus (``_num``, ``_plain``, ``_pval``, ``_cell``);
* the RevMan-style table figure (``_Col``, ``_Row``, ``_table_figure``): text columns on the
  left, an effect-size panel on the right, sized in inches from the measured text;
* effect-axis helpers shared by the forest and cumulative plots (limits, ticks, CI segments
  with arrowheads, "favours" labels).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal, Protocol

import numpy as np
import pandas as pd
from matplotlib import ticker
from matplotlib.backends.backend_agg import RendererAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.transforms import blended_transform_factory

__all__ = ["MIN_TEXT_PT", "PALETTE", "FittedPool", "FittedSubgroups", "alt_text", "attach"]

PALETTE: dict[str, str] = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}

_RATIO_MEASURES = {"RR", "OR", "HR", "IRR", "ROM", "PETO OR", "RISK RATIO", "ODDS RATIO"}
_MINUS = "\N{MINUS SIGN}"
#: The smallest text size (points) in any figure: 8.25 pt is 11 CSS pixels when the figure is
#: shown at its natural size (1 pt = 4/3 px), as the book shows it.
MIN_TEXT_PT = 8.25
_GAP = 0.16  # inches between table columns
_MARGIN = 0.15  # outer margin, inches


# --------------------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------------------
def alt_text(fig: Figure) -> str:
    """Return the descriptive alternative text attached to a figure from this module.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        A figure returned by one of the plotting functions of this module (which set the
        ``fig.alt_text`` attribute), or any figure on which ``fig.alt_text`` was set.

    Returns
    -------
    str
        The alt text. For a figure without one, a generic description built from its
        title(s) is returned so the caller always gets a non-empty string.
    """
    text = getattr(fig, "alt_text", None)
    if isinstance(text, str) and text.strip():
        return text
    titles = [ax.get_title() for ax in fig.get_axes() if ax.get_title()]
    suptitle = fig.get_suptitle() if hasattr(fig, "get_suptitle") else ""
    parts = [p for p in [suptitle, *titles] if p]
    return "Figure: " + "; ".join(parts) if parts else "Figure without a description."


def attach(fig: Figure, text: str, *, data: pd.DataFrame | None = None, **info: Any) -> Figure:
    """Attach the alt text ``text`` (``fig.alt_text``), the numbers the figure shows
    (``fig.plot_data``) and ``info`` (``fig.plot_info``) to ``fig``, and return it.

    ``data`` is a table for readers who cannot see the figure (the book shows it under the
    figure): reader-facing column names, numbers formatted as the figure shows them (with a
    typographic minus), no index. ``None`` for a figure that shows no data.
    """
    fig.alt_text = " ".join(text.split())  # type: ignore[attr-defined]
    fig._alt_text = fig.alt_text  # type: ignore[attr-defined]
    fig.plot_info = info  # type: ignore[attr-defined]
    fig.plot_data = None if data is None else data.reset_index(drop=True)  # type: ignore[attr-defined]
    return fig


_attach = attach


def _frame(
    records: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None
) -> pd.DataFrame:
    """A ``plot_data`` table from row dicts: columns in first-seen order (or ``columns``), every
    cell a string, missing cells empty."""
    if columns is None:
        columns = list(dict.fromkeys(c for r in records for c in r))
    return pd.DataFrame(
        [[str(r.get(c, "")) for c in columns] for r in records], columns=list(columns)
    )


def _smaller(fs: float, by: float) -> float:
    """``fs - by`` points, but never below :data:`MIN_TEXT_PT`."""
    return max(fs - by, MIN_TEXT_PT)


def _ci_text(lo: float, hi: float, d: int = 2) -> str:
    """A confidence interval for a ``plot_data`` cell: ``"−0.56 to −0.21"``."""
    return f"{_num(lo, d)} to {_num(hi, d)}"


@lru_cache(maxsize=1)
def _renderer() -> RendererAgg:
    # dpi = 72 -> one pixel is one point; text extents scale linearly with dpi.
    return RendererAgg(10, 10, 72)


@lru_cache(maxsize=4096)
def _text_w(s: str, size: float, weight: str = "normal") -> float:
    """Width in inches of a (possibly multi-line) string in DejaVu Sans."""
    if not s:
        return 0.0
    fp = FontProperties(size=size, weight=weight)
    r = _renderer()
    return (
        max(r.get_text_width_height_descent(line, fp, ismath=False)[0] for line in s.split("\n"))
        / 72
    )


def _num(x: float, d: int = 2) -> str:
    """Format a number with ``d`` decimals and a typographic minus (no negative zero)."""
    if x is None or not np.isfinite(x):
        return "NA"
    v = round(float(x), d)
    if v == 0:
        v = 0.0
    return f"{v:.{d}f}".replace("-", _MINUS)


def _plain(x: float, d: int = 2) -> str:
    """Number for alt text (ASCII hyphen-minus, screen-reader friendly)."""
    return _num(x, d).replace(_MINUS, "-")


def _pval(p: float) -> str:
    if p is None or not np.isfinite(p):
        return "p = NA"
    if p < 0.001:
        return "p < 0.001"
    if p < 0.01:
        return f"p = {p:.3f}"
    return f"p = {p:.2f}"


def _decimals(col: pd.Series) -> int:
    """Decimals (0 to 2) needed to show every value of a numeric column."""
    vals = pd.to_numeric(col, errors="coerce").dropna().to_numpy(dtype=float)
    for d in (0, 1):
        if np.allclose(vals, np.round(vals, d), rtol=0, atol=1e-9):
            return d
    return 2


def _cell(v: Any, d: int | None = None) -> str:
    """Format an arm-data cell with ``d`` decimals (default: integers plainly, else up to 2)."""
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return ""
    if isinstance(v, str):
        return v
    try:
        f = float(v)
    except (TypeError, ValueError):
        return str(v)
    if not np.isfinite(f):
        return ""
    if d is not None:
        return f"{f:.{d}f}".replace("-", _MINUS)
    if f.is_integer():
        return str(int(f)).replace("-", _MINUS)
    return f"{f:.2f}".rstrip("0").rstrip(".").replace("-", _MINUS)


def _is_ratio(measure: str, log_scale: bool | None) -> bool:
    if log_scale is not None:
        return bool(log_scale)
    return measure.strip().upper() in _RATIO_MEASURES


def _get(obj: Any, names: Sequence[str]) -> Any:
    for n in names:
        if isinstance(obj, Mapping) and n in obj:
            return obj[n]
        if hasattr(obj, n):
            return getattr(obj, n)
    return None


class FittedPool(Protocol):
    """What the figures read from a fitted meta-analysis (:class:`analysis.stats.PoolResult`).

    Any object with these attributes will do; the figures draw them as given and never pool.
    ``estimate``, ``ci_low``, ``ci_high``, ``pi_low`` and ``pi_high`` are on the analysis scale
    (log scale for ratio measures); ``weights`` are percentages, one per study in input order;
    ``df`` is finite for a t test (Knapp–Hartung) and infinite for a z test; ``method`` is
    ``"FE"``, ``"DL"``, ``"REML"``, ``"PM"``, ``"MH"`` or ``"MH-DL"``.
    """

    estimate: float
    se: float
    ci_low: float
    ci_high: float
    stat: float
    p: float
    df: float
    tau2: float
    i2: float
    q: float
    q_df: int
    q_p: float
    pi_low: float
    pi_high: float
    k: int
    method: str
    hksj: bool
    weights: Sequence[float]
    level: float


class FittedSubgroups(Protocol):
    """What the forest plot reads from a subgroup analysis (:class:`analysis.stats.SubgroupResult`).

    A mapping ``group -> FittedPool`` (one fitted result per subgroup) with the test for
    subgroup differences in ``q_between``, ``df_between`` and ``p_between``.
    """

    q_between: float
    df_between: int
    p_between: float

    def __getitem__(self, key: Any, /) -> FittedPool: ...

    def __iter__(self) -> Iterator[Any]: ...

    def __len__(self) -> int: ...

    def items(self) -> Any: ...


def _kh_suffix(p: FittedPool) -> str:
    """``", HKSJ"`` (Knapp-Hartung), ``", modified HKSJ"`` (``test="adhoc"``: the Knapp-Hartung
    SE never below the standard one) or ``""`` (z test), from the result's ``test``/``hksj``."""
    test = getattr(p, "test", None) or ("knha" if p.hksj else "z")
    return {"knha": ", HKSJ", "adhoc": ", modified HKSJ"}.get(str(test), "")


def _method_label(p: FittedPool) -> str:
    """RevMan's name of the analysis method: ``"IV, Random (REML), HKSJ"``, ``"M-H, Fixed"``,
    ``"IV, Random (REML), modified HKSJ"`` (the Knapp-Hartung SE never below the standard)..."""
    m = str(p.method).upper()
    if m == "MH":
        return "M-H, Fixed"
    if m == "MH-DL":
        return "M-H, Random"
    if m in {"FE", "EE", "FIXED", "IV"}:
        return "IV, Fixed"
    return f"IV, Random ({p.method}){_kh_suffix(p)}"


def _model_text(p: FittedPool) -> str:
    """The model in words, for alt texts (``"random-effects (REML, HKSJ)"``)."""
    m = str(p.method).upper()
    if m == "MH":
        return "Mantel-Haenszel fixed-effect"
    if m == "MH-DL":
        return "Mantel-Haenszel random-effects (DerSimonian-Laird)"
    if m in {"FE", "EE", "FIXED", "IV"}:
        return "fixed-effect"
    return f"random-effects ({p.method}{_kh_suffix(p)})"


def _check_weights(p: FittedPool, k: int, what: str) -> np.ndarray:
    """``p.weights`` as floats, or a ``ValueError`` unless there is one weight per study row."""
    weights = np.asarray(p.weights, dtype=float).ravel()
    if weights.size != k:
        raise ValueError(
            f"{what} has {weights.size} weights but the plot has {k} studies: pass the result "
            "fitted to exactly these studies, in the same order"
        )
    return weights


# --------------------------------------------------------------------------------------
# axis helpers shared by the forest and cumulative plots
# --------------------------------------------------------------------------------------
def _nice_up(x: float) -> float:
    if not np.isfinite(x) or x <= 0:
        return 1.0
    e = math.floor(math.log10(x))
    for m in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        if m * 10**e >= x * (1 - 1e-9):
            return m * 10**e
    return 10 ** (e + 1)


def _default_limits(points: np.ndarray, bounds: np.ndarray, log: bool) -> tuple[float, float]:
    """Symmetric limits around the null (analysis scale) covering estimates and most CIs."""
    points = np.abs(points[np.isfinite(points)])
    bounds = np.abs(bounds[np.isfinite(bounds)])
    half = max(points.max(initial=0.0), np.quantile(bounds, 0.8) if bounds.size else 0.0) * 1.08
    half = max(half, 0.1 if not log else math.log(1.5))
    if log:
        for b in (2, 5, 10, 100, 1000, 1e4, 1e5, 1e6):
            if math.log(b) >= half:
                return -math.log(b), math.log(b)
        return -half, half
    h = _nice_up(half)
    return -h, h


def _set_effect_axis(ax: Any, lo: float, hi: float, log: bool, fontsize: float) -> None:
    """Apply analysis-scale limits ``lo``/``hi`` (log units if ``log``) with tidy ticks."""
    ax.tick_params(axis="x", labelsize=_smaller(fontsize, 1), length=3, pad=2)
    if log:
        ax.set_xscale("log")
        ax.set_xlim(math.exp(lo), math.exp(hi))
        ticks: list[float] = []
        for series in ((1, 2, 5), (1,)):
            cand = [m * 10.0**e for e in range(-6, 7) for m in series]
            ticks = [t for t in cand if math.exp(lo) * 0.999 <= t <= math.exp(hi) * 1.001]
            if len(ticks) <= 7:
                break
        if len(ticks) > 7:
            ticks = ticks[:: math.ceil(len(ticks) / 7)]
        ax.xaxis.set_major_locator(ticker.FixedLocator(ticks))
        ax.xaxis.set_minor_locator(ticker.NullLocator())
        ax.xaxis.set_major_formatter(
            ticker.FuncFormatter(lambda v, _: f"{v:g}".replace("-", _MINUS))
        )
    else:
        ax.set_xlim(lo, hi)
        ax.xaxis.set_major_locator(ticker.MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]))


def _ci_segments(
    ax: Any,
    ys: Sequence[float],
    lows: Sequence[float],
    highs: Sequence[float],
    lim: tuple[float, float],
    disp: Any,
) -> None:
    """Draw the CI lines of rows ``ys`` (black, 1 pt); ends beyond the limits become arrowheads.

    All lines are one :class:`~matplotlib.lines.Line2D` (NaN-separated) and the arrowheads one
    per side, instead of one artist per row: the pixels are the same (the lines of different
    rows never touch), the cost of building and drawing a figure is not.
    """
    xs: list[float] = []
    yv: list[float] = []
    left: list[float] = []
    right: list[float] = []
    for y, lo, hi in zip(ys, lows, highs, strict=True):
        a, b = max(lo, lim[0]), min(hi, lim[1])
        if a < b:
            xs += [disp(a), disp(b), math.nan]
            yv += [y, y, math.nan]
        if lo < lim[0]:
            left.append(y)
        if hi > lim[1]:
            right.append(y)
    if xs:
        ax.plot(xs[:-1], yv[:-1], color="black", lw=1.0, solid_capstyle="butt", zorder=2)
    for rows, edge, marker in ((left, lim[0], "<"), (right, lim[1], ">")):
        if rows:
            ax.plot(
                [disp(edge)] * len(rows),
                rows,
                marker=marker,
                ms=5,
                ls="none",
                color="black",
                clip_on=False,
                zorder=3,
            )


# --------------------------------------------------------------------------------------
# table + panel layout engine (forest and cumulative plots)
# --------------------------------------------------------------------------------------
@dataclass
class _Col:
    key: str
    header: str  # second header row
    align: Literal["left", "right", "center"] = "right"
    group: str | None = None  # spanning header in the first header row
    top: str = ""  # first header row text for an ungrouped column
    width: float = 0.0
    x: float = 0.0  # anchor: left edge for left-aligned, right edge otherwise


@dataclass
class _Row:
    kind: str
    cells: dict[str, str] = field(default_factory=dict)
    bold: bool = False
    italic: bool = False
    span: str | None = None  # free text from the first column (heterogeneity lines)


@dataclass
class _Layout:
    fig: Figure
    ax: Any
    trans: Any
    n_rows: int
    header_rows: int
    fontsize: float
    labels: list[Any] = field(default_factory=list)


def _table_figure(
    cols: list[_Col],
    rows: list[_Row],
    *,
    fontsize: float,
    panel_header: tuple[str, str],
    footnotes: Sequence[str],
    title: str | None,
    panel_width: float = 2.8,
    favours: tuple[str, str] | None = None,
) -> _Layout:
    fs = fontsize
    row_h = fs * 1.8 / 72
    header_rows = 2
    # column widths from measured text
    for c in cols:
        w = _text_w(c.header, fs, "bold")
        w = max(w, _text_w(c.top, fs, "bold"))
        for r in rows:
            w = max(w, _text_w(r.cells.get(c.key, ""), fs, "bold" if r.bold else "normal"))
        c.width = w
    # spanning headers must fit over their columns
    groups: dict[str, list[_Col]] = {}
    for c in cols:
        if c.group:
            groups.setdefault(c.group, []).append(c)
    for g, members in groups.items():
        need = _text_w(g, fs, "bold")
        have = sum(m.width for m in members) + _GAP * (len(members) - 1)
        if need > have:
            extra = (need - have) / len(members)
            for m in members:
                m.width += extra
    # spanning free-text rows must fit in the text area (widen the first column)
    span_need = max((_text_w(r.span or "", fs - 0.5) for r in rows), default=0.0)
    text_area = sum(c.width for c in cols) + _GAP * (len(cols) - 1)
    if span_need > text_area:
        cols[0].width += span_need - text_area
    x = _MARGIN
    for i, c in enumerate(cols):
        left = x
        c.x = left if c.align == "left" else left + c.width
        if c.align == "center":
            c.x = left + c.width / 2
        x = left + c.width + (_GAP if i < len(cols) - 1 else 0.0)
    text_end = x
    panel_width = max(
        panel_width,
        _text_w(panel_header[0], fs, "bold") + 0.1,
        _text_w(panel_header[1], fs, "bold") + 0.1,
    )
    if favours:
        panel_width = max(panel_width, 2 * max(_text_w(f, _smaller(fs, 1)) for f in favours) + 0.3)
    px0 = text_end + 0.3
    px1 = px0 + panel_width
    foot_fs = fs - 0.5
    width = max(
        px1 + 0.25, _MARGIN * 2 + max((_text_w(f, foot_fs) for f in footnotes), default=0.0)
    )
    title_h = (fs + 2) * 1.9 / 72 if title else 0.0
    top = _MARGIN + title_h
    n_rows = header_rows + len(rows)
    table_h = n_rows * row_h
    below = (fs * 1.25 + 7) / 72  # tick labels
    if favours:
        below += fs * 1.5 / 72
    below += (len(footnotes) * foot_fs * 1.6 + 4) / 72 if footnotes else 0.0
    height = top + table_h + below + _MARGIN
    fig = Figure(figsize=(width, height))
    ax = fig.add_axes(
        (px0 / width, (height - top - table_h) / height, panel_width / width, table_h / height)
    )
    ax.set_ylim(n_rows - 0.5, -0.5)
    for s in ("top", "left", "right"):
        ax.spines[s].set_visible(False)
    ax.yaxis.set_visible(False)
    ax.patch.set_visible(False)
    trans = blended_transform_factory(fig.dpi_scale_trans, ax.transData)
    lay = _Layout(fig, ax, trans, n_rows, header_rows, fs)
    # heights in inches from the bottom, for text positioned with fig.dpi_scale_trans
    if title:
        fig.text(
            _MARGIN / width,
            1 - (_MARGIN + title_h * 0.45) / height,
            title,
            ha="left",
            va="center",
            fontsize=fs + 2,
            fontweight="bold",
        )
    # headers
    for c in cols:
        ha = c.align
        if c.top:
            ax.text(
                c.x,
                0,
                c.top,
                transform=trans,
                ha=ha,
                va="center",
                fontsize=fs,
                fontweight="bold",
            )
        ax.text(
            c.x, 1, c.header, transform=trans, ha=ha, va="center", fontsize=fs, fontweight="bold"
        )
    for g, members in groups.items():
        x0 = members[0].x - (members[0].width if members[0].align == "right" else 0)
        x1 = members[-1].x + (members[-1].width if members[-1].align == "left" else 0)
        ax.text(
            (x0 + x1) / 2,
            0,
            g,
            transform=trans,
            ha="center",
            va="center",
            fontsize=fs,
            fontweight="bold",
        )
        ax.add_line(
            Line2D([x0, x1], [0.45, 0.45], transform=trans, color="0.3", lw=0.6, clip_on=False)
        )
    pmid = (px0 + px1) / 2
    ax.text(
        pmid,
        0,
        panel_header[0],
        transform=trans,
        ha="center",
        va="center",
        fontsize=fs,
        fontweight="bold",
    )
    ax.text(
        pmid,
        1,
        panel_header[1],
        transform=trans,
        ha="center",
        va="center",
        fontsize=fs,
        fontweight="bold",
    )
    ax.add_line(
        Line2D([_MARGIN, px1], [1.5, 1.5], transform=trans, color="black", lw=0.8, clip_on=False)
    )
    # body
    for i, r in enumerate(rows):
        y = header_rows + i
        if r.span:
            ax.text(
                cols[0].x,
                y,
                r.span,
                transform=trans,
                ha="left",
                va="center",
                fontsize=fs - 0.5,
                color="0.15",
            )
        for c in cols:
            s = r.cells.get(c.key, "")
            if not s:
                continue
            t = ax.text(
                c.x,
                y,
                s,
                transform=trans,
                ha=c.align,
                va="center",
                fontsize=fs,
                fontweight="bold" if r.bold else "normal",
                fontstyle="italic" if r.italic else "normal",
            )
            if c is cols[0] and r.kind in {"study", "step"}:
                lay.labels.append(t)
    # footnotes (figure inches from the top)
    y_in = top + table_h + below - (len(footnotes) * foot_fs * 1.6 + 4) / 72
    for j, f in enumerate(footnotes):
        yy = y_in + (j + 0.5) * foot_fs * 1.6 / 72
        fig.text(_MARGIN / width, 1 - yy / height, f, ha="left", va="center", fontsize=foot_fs)
    return lay


def _favours_labels(lay: _Layout, null_disp: float, favours: tuple[str, str]) -> None:
    ax, fs = lay.ax, lay.fontsize
    tr = blended_transform_factory(ax.transData, ax.transAxes)
    off = -(fs * 1.25 + 9)
    for text, sign, ha in ((favours[0], -1, "right"), (favours[1], 1, "left")):
        ax.annotate(
            text,
            xy=(null_disp, 0),
            xycoords=tr,
            xytext=(sign * 4, off),
            textcoords="offset points",
            ha=ha,
            va="center",
            fontsize=_smaller(fs, 1),
            annotation_clip=False,
        )
