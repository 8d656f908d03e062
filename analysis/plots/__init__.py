"""Publication plots for the living review: forest, funnel, risk-of-bias, cumulative and PRISMA.

Every public function builds and returns a :class:`matplotlib.figure.Figure` created directly
(not through :mod:`matplotlib.pyplot`), so the figure is not registered with pyplot's global
state: a notebook cell that returns it shows it exactly once, ``myst_nb.glue`` can store it
without a duplicate display, and nothing here calls ``plt.show`` or ``matplotlib.use``.

Accessibility
-------------
* Colours come from the Okabe–Ito colour-blind-safe palette (:data:`PALETTE`), and every
  colour-coded element also carries a redundant cue (marker shape, symbol or hatch), so the
  figures stay readable in grayscale.
* Every figure gets a descriptive alternative text stored in the documented attribute
  ``fig.alt_text``; :func:`alt_text` returns it, e.g. for a MyST figure's ``:alt:`` option.
* Layouts are computed in inches from the measured extents of the text they contain, so text
  never overlaps for 1 to 40 (or more) studies: the figure grows with the number of rows and
  the columns grow with their longest entry.

Each figure also gets a small ``fig.plot_info`` dictionary (kind, number of studies, row
labels, ...) that tests and notebooks can inspect.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

import numpy as np
import pandas as pd
from matplotlib import ticker
from matplotlib.backends.backend_agg import RendererAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Patch, Polygon, Rectangle
from matplotlib.transforms import blended_transform_factory
from numpy.typing import ArrayLike
from scipy import stats

__all__ = [
    "PALETTE",
    "alt_text",
    "cumulative_plot",
    "forest_plot",
    "funnel_plot",
    "prisma_flow",
    "rob_plot",
]

#: Okabe–Ito colour-blind-safe palette (Okabe & Ito 2008), in its conventional order.
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


def _attach(fig: Figure, text: str, **info: Any) -> Figure:
    fig.alt_text = " ".join(text.split())  # type: ignore[attr-defined]
    fig._alt_text = fig.alt_text  # type: ignore[attr-defined]
    fig.plot_info = info  # type: ignore[attr-defined]
    return fig


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


@dataclass(frozen=True)
class _Pooled:
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    stat: float
    p: float
    tau2: float
    i2: float
    q: float
    q_df: int
    q_p: float
    pi_low: float
    pi_high: float
    k: int
    weights: np.ndarray


def _pool(yi: np.ndarray, vi: np.ndarray, method: str, hksj: bool, level: float) -> _Pooled:
    """Pool with :func:`analysis.pooling.pool`; a single study is reported as is."""
    k = len(yi)
    if k == 1:
        z = stats.norm.ppf(1 - (1 - level) / 2)
        se = float(np.sqrt(vi[0]))
        est = float(yi[0])
        stat = est / se
        return _Pooled(
            est,
            se,
            est - z * se,
            est + z * se,
            stat,
            float(2 * stats.norm.sf(abs(stat))),
            0.0,
            0.0,
            0.0,
            0,
            float("nan"),
            float("nan"),
            float("nan"),
            1,
            np.array([100.0]),
        )
    from analysis.stats.pooling import pool

    r = pool(yi, vi, method=method, hksj=hksj, level=level)
    return _Pooled(
        float(r.estimate),
        float(r.se),
        float(r.ci_low),
        float(r.ci_high),
        float(r.stat),
        float(r.p),
        float(r.tau2),
        float(r.i2),
        float(r.q),
        int(r.q_df),
        float(r.q_p),
        float(r.pi_low),
        float(r.pi_high),
        int(r.k),
        np.asarray(r.weights, dtype=float),
    )


def _method_label(method: str, hksj: bool) -> str:
    m = method.upper()
    if m in {"FE", "EE", "FIXED", "IV"}:
        return "IV, Fixed"
    lab = f"IV, Random ({method})"
    return lab + ", HKSJ" if hksj else lab


def _het_text(p: _Pooled) -> str:
    if p.k < 2:
        return "Heterogeneity: not applicable"
    return (
        f"Heterogeneity: τ² = {_num(p.tau2)}; Q = {_num(p.q)}, df = {p.q_df} "
        f"({_pval(p.q_p)}); I² = {p.i2:.0f}%"
    )


def _test_text(p: _Pooled, hksj: bool) -> str:
    name = "t" if (hksj and p.k > 1) else "Z"
    return f"Test for overall effect: {name} = {_num(abs(p.stat))} ({_pval(p.p)})"


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
    ax.tick_params(axis="x", labelsize=fontsize - 1, length=3, pad=2)
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


def _ci_segment(
    ax: Any,
    y: float,
    lo: float,
    hi: float,
    lim: tuple[float, float],
    disp: Any,
    color: str = "black",
    lw: float = 1.0,
) -> None:
    """Draw a CI line on row ``y``; ends outside the axis limits become arrowheads."""
    a, b = max(lo, lim[0]), min(hi, lim[1])
    if a < b:
        ax.plot([disp(a), disp(b)], [y, y], color=color, lw=lw, solid_capstyle="butt", zorder=2)
    if lo < lim[0]:
        ax.plot([disp(lim[0])], [y], marker="<", ms=5, color=color, clip_on=False, zorder=3)
    if hi > lim[1]:
        ax.plot([disp(lim[1])], [y], marker=">", ms=5, color=color, clip_on=False, zorder=3)


def _diamond(
    ax: Any,
    y: float,
    est: float,
    lo: float,
    hi: float,
    disp: Any,
    face: str,
    lim: tuple[float, float],
    h: float = 0.34,
) -> None:
    lo_c, hi_c = max(lo, lim[0]), min(hi, lim[1])
    est_c = min(max(est, lim[0]), lim[1])
    xs = [disp(lo_c), disp(est_c), disp(hi_c), disp(est_c)]
    ax.add_patch(
        Polygon(
            list(zip(xs, [y, y - h, y, y + h], strict=True)),
            closed=True,
            facecolor=face,
            edgecolor="black",
            lw=0.9,
            zorder=4,
        )
    )
    if lo < lim[0]:
        ax.plot([disp(lim[0])], [y], marker="<", ms=5, color="black", clip_on=False, zorder=5)
    if hi > lim[1]:
        ax.plot([disp(lim[1])], [y], marker=">", ms=5, color="black", clip_on=False, zorder=5)


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
        panel_width = max(panel_width, 2 * max(_text_w(f, fs - 1) for f in favours) + 0.3)
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
            fontsize=fs - 1,
            annotation_clip=False,
        )


# --------------------------------------------------------------------------------------
# forest plot
# --------------------------------------------------------------------------------------
_CONT_AUTO = (
    ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i"),
    ("mean_t", "sd_t", "n_t", "mean_c", "sd_c", "n_c"),
)
_DICH_AUTO = (("ai", "n1i", "ci", "n2i"), ("events_t", "n_t", "events_c", "n_c"))


def _resolve(data: pd.DataFrame | None, spec: Any) -> np.ndarray | None:
    if spec is None:
        return None
    if isinstance(spec, str):
        if data is None:
            raise ValueError(f"column name {spec!r} given but no DataFrame")
        if spec not in data.columns:
            return None
        return data[spec].to_numpy()
    return np.asarray(spec)


def _auto_arms(
    data: pd.DataFrame | None, arm_labels: tuple[str, str]
) -> dict[str, dict[str, str]] | None:
    if data is None:
        return None
    for names in _CONT_AUTO:
        if set(names) <= set(data.columns):
            m1, s1, n1, m2, s2, n2 = names
            return {
                arm_labels[0]: {"Mean": m1, "SD": s1, "Total": n1},
                arm_labels[1]: {"Mean": m2, "SD": s2, "Total": n2},
            }
    for names in _DICH_AUTO:
        if set(names) <= set(data.columns):
            e1, n1, e2, n2 = names
            return {
                arm_labels[0]: {"Events": e1, "Total": n1},
                arm_labels[1]: {"Events": e2, "Total": n2},
            }
    return None


def forest_plot(
    data: pd.DataFrame | None = None,
    *,
    yi: str | ArrayLike = "yi",
    vi: str | ArrayLike | None = "vi",
    label: str | Sequence[str] = "label",
    ci_low: str | ArrayLike | None = None,
    ci_high: str | ArrayLike | None = None,
    group: str | ArrayLike | None = None,
    arms: Literal["auto"] | Mapping[str, Mapping[str, str]] | None = "auto",
    arm_labels: tuple[str, str] = ("Psychotherapy", "Control"),
    measure: str = "SMD",
    log_scale: bool | None = None,
    method: str = "REML",
    hksj: bool = False,
    level: float = 0.95,
    favours: tuple[str, str] | None = None,
    higher_favours_treatment: bool = False,
    xlim: tuple[float, float] | None = None,
    prediction_interval: bool = True,
    title: str | None = None,
    decimals: int = 2,
    fontsize: float = 9.0,
) -> Figure:
    """RevMan-style forest plot with optional subgroups, arm data and a prediction interval.

    Parameters
    ----------
    data : pandas.DataFrame, optional
        One row per study. When given, ``yi``, ``vi``, ``label``, ``ci_low``, ``ci_high`` and
        ``group`` are column names; otherwise they are arrays.
    yi, vi : str or array-like
        Effect sizes and sampling variances on the analysis scale (log scale for ratio
        measures). If ``vi`` is missing, it is derived from ``ci_low``/``ci_high``.
    label : str or sequence of str
        Study labels (long labels such as ``"Cladder-Micus 2018 (MBCT)"`` are fine).
    ci_low, ci_high : str or array-like, optional
        Study confidence limits on the analysis scale. Used for display (they may be
        asymmetric) and, when ``vi`` is absent, to derive ``vi`` assuming normality.
    group : str or array-like, optional
        Subgroup of each study; draws one block per subgroup (in order of first appearance)
        with header, subtotal diamond, heterogeneity and a test for subgroup differences.
    arms : "auto", mapping or None
        Arm-level columns shown as text: ``{arm label: {column header: data column}}``.
        ``"auto"`` detects metafor-style columns (``m1i, sd1i, n1i, m2i, sd2i, n2i`` for
        continuous or ``ai, n1i, ci, n2i`` for dichotomous outcomes; also ``mean_t, sd_t,
        n_t, mean_c, sd_c, n_c`` and ``events_t, n_t, events_c, n_c``).
    arm_labels : (str, str)
        Headers of the experimental and control arms for ``arms="auto"``.
    measure : str
        Effect measure name shown in headers (``"SMD"``, ``"MD"``, ``"g"``, ``"RR"``, ``"OR"``).
    log_scale : bool, optional
        Whether ``yi`` is on the log scale (exponentiated for display on a log axis).
        Defaults to True for ratio measures (RR, OR, HR, IRR, ROM).
    method : str
        Heterogeneity estimator passed to :func:`analysis.pooling.pool`.
    hksj : bool
        Knapp–Hartung (HKSJ) adjustment, passed to :func:`analysis.pooling.pool`.
    level : float
        Confidence level of all intervals.
    favours : (str, str), optional
        Labels under the left and right side of the null line. Default
        ``("Favours psychotherapy", "Favours control")``, swapped when
        ``higher_favours_treatment`` is True (e.g. response rates as RR).
    higher_favours_treatment : bool
        Whether effects above the null favour psychotherapy (default False: lower depression
        scores, i.e. negative SMD/MD, favour psychotherapy).
    xlim : (float, float), optional
        Axis limits on the display scale (e.g. ``(0.1, 10)`` for RR). By default symmetric
        around the null and covering estimates and most intervals; intervals beyond the
        limits end in arrowheads.
    prediction_interval : bool
        Draw the prediction interval row under the overall diamond (only when k >= 3).
    title : str, optional
        Figure title.
    decimals : int
        Decimals of effect sizes in the text columns.
    fontsize : float
        Base font size in points.

    Returns
    -------
    matplotlib.figure.Figure
        With ``fig.alt_text`` (see :func:`alt_text`) and ``fig.plot_info`` (keys ``kind``,
        ``k``, ``labels``, ``groups``, ``pooled``).
    """
    y = _resolve(data, yi)
    if y is None:
        raise ValueError("yi is required")
    y = y.astype(float)
    k = len(y)
    if k == 0:
        raise ValueError("forest_plot needs at least one study")
    v = _resolve(data, vi)
    lo = _resolve(data, ci_low)
    hi = _resolve(data, ci_high)
    z = stats.norm.ppf(1 - (1 - level) / 2)
    if v is None:
        if lo is None or hi is None:
            raise ValueError("give vi or both ci_low and ci_high")
        v = ((hi.astype(float) - lo.astype(float)) / (2 * z)) ** 2
    v = v.astype(float)
    if lo is None or hi is None:
        lo, hi = y - z * np.sqrt(v), y + z * np.sqrt(v)
    lo, hi = lo.astype(float), hi.astype(float)
    labs = _resolve(data, label)
    labels = [str(s) for s in labs] if labs is not None else [f"Study {i + 1}" for i in range(k)]
    grp = _resolve(data, group)
    log = _is_ratio(measure, log_scale)
    disp = math.exp if log else (lambda t: t)
    null = 0.0
    if favours is None:
        favours = ("Favours psychotherapy", "Favours control")
        if higher_favours_treatment:
            favours = favours[::-1]
    arm_map = _auto_arms(data, arm_labels) if arms == "auto" else arms
    if arm_map is not None and data is None:
        raise ValueError("arm columns need a DataFrame")

    overall = _pool(y, v, method, hksj, level)
    weights = overall.weights if overall.weights.size == k else np.full(k, 100.0 / k)
    pct = level * 100
    lvl = f"{pct:g}% CI"

    # ---- columns
    cols = [_Col("label", "Study", "left")]
    arm_cols: list[tuple[str, str]] = []
    if arm_map:
        for ai, (arm, sub) in enumerate(arm_map.items()):
            for j, (hdr, colname) in enumerate(sub.items()):
                key = f"arm{ai}_{j}"
                cols.append(_Col(key, hdr, "right", group=arm))
                arm_cols.append((key, colname))
    cols.append(_Col("weight", "Weight", "right"))
    cols.append(_Col("effect", f"{measure} [{lvl}]", "right"))

    arm_dec = {key: _decimals(data[colname]) for key, colname in arm_cols}  # type: ignore[index]

    def study_row(i: int) -> _Row:
        cells = {
            "label": labels[i],
            "weight": f"{weights[i]:.1f}%",
            "effect": f"{_num(disp(y[i]), decimals)} [{_num(disp(lo[i]), decimals)}, "
            f"{_num(disp(hi[i]), decimals)}]",
        }
        for key, colname in arm_cols:
            cells[key] = _cell(data[colname].iloc[i], arm_dec[key])  # type: ignore[index]
        return _Row("study", cells)

    def total_cells(name: str, p: _Pooled, idx: np.ndarray) -> dict[str, str]:
        cells = {
            "label": name,
            "weight": f"{weights[idx].sum():.1f}%",
            "effect": f"{_num(disp(p.estimate), decimals)} [{_num(disp(p.ci_low), decimals)}, "
            f"{_num(disp(p.ci_high), decimals)}]",
        }
        # totals of "Total"/"Events" columns (RevMan shows the summed n and events)
        if arm_map:
            for ai, (_arm, sub) in enumerate(arm_map.items()):
                for j, (hdr, colname) in enumerate(sub.items()):
                    if hdr.lower() in {"total", "n", "events"}:
                        vals = pd.to_numeric(data[colname].iloc[idx], errors="coerce")  # type: ignore[index]
                        if vals.notna().all():
                            cells[f"arm{ai}_{j}"] = _cell(float(vals.sum()))
        return cells

    rows: list[_Row] = []
    plot_items: list[tuple[str, int, Any]] = []  # (kind, row index, payload)
    group_results: dict[str, _Pooled] = {}
    if grp is not None:
        order = list(dict.fromkeys(str(g) for g in grp))
        gstr = np.array([str(g) for g in grp])
        for gi, g in enumerate(order):
            idx = np.flatnonzero(gstr == g)
            rows.append(_Row("group", {"label": g}, bold=True))
            for i in idx:
                plot_items.append(("study", len(rows), i))
                rows.append(study_row(i))
            pg = _pool(y[idx], v[idx], method, hksj, level)
            group_results[g] = pg
            plot_items.append(("subtotal", len(rows), pg))
            rows.append(_Row("subtotal", total_cells(f"Subtotal ({lvl})", pg, idx), bold=True))
            rows.append(_Row("text", span=_het_text(pg)))
            rows.append(_Row("text", span=_test_text(pg, hksj)))
            if gi < len(order) - 1:
                rows.append(_Row("blank"))
        rows.append(_Row("blank"))
    else:
        for i in range(k):
            plot_items.append(("study", len(rows), i))
            rows.append(study_row(i))
        rows.append(_Row("blank"))
    plot_items.append(("total", len(rows), overall))
    rows.append(_Row("total", total_cells(f"Total ({lvl})", overall, np.arange(k)), bold=True))
    show_pi = prediction_interval and k >= 3 and np.isfinite(overall.pi_low)
    if show_pi:
        plot_items.append(("pi", len(rows), overall))
        rows.append(
            _Row(
                "pi",
                {
                    "label": "Prediction interval",
                    "effect": f"[{_num(disp(overall.pi_low), decimals)}, "
                    f"{_num(disp(overall.pi_high), decimals)}]",
                },
                italic=True,
            )
        )

    footnotes = [_het_text(overall), _test_text(overall, hksj)]
    q_between = None
    if group_results and len(group_results) > 1:
        ests = np.array([p.estimate for p in group_results.values()])
        ses = np.array([p.se for p in group_results.values()])
        w = 1 / ses**2
        mean = np.sum(w * ests) / w.sum()
        q_between = float(np.sum(w * (ests - mean) ** 2))
        dfb = len(ests) - 1
        pb = float(stats.chi2.sf(q_between, dfb))
        footnotes.append(
            f"Test for subgroup differences: Q = {_num(q_between)}, df = {dfb} ({_pval(pb)})"
        )

    lay = _table_figure(
        cols,
        rows,
        fontsize=fontsize,
        panel_header=(measure, f"{_method_label(method, hksj)}, {lvl}"),
        footnotes=footnotes,
        title=title,
        favours=favours,
    )
    ax, h0 = lay.ax, lay.header_rows

    # ---- limits
    if xlim is not None:
        lim = (math.log(xlim[0]), math.log(xlim[1])) if log else (float(xlim[0]), float(xlim[1]))
    else:
        pts = np.concatenate(
            [y, [overall.ci_low, overall.ci_high]]
            + [[p.ci_low, p.ci_high] for p in group_results.values()]
        )
        lim = _default_limits(pts - null, np.concatenate([lo, hi]) - null, log)
    _set_effect_axis(ax, lim[0], lim[1], log, fontsize)

    # ---- drawing
    row_pt = fontsize * 1.8
    smax, smin = min(row_pt * 0.62, 10.0), 3.0
    wmax = max(weights.max(), 1e-12)
    for kind, r, payload in plot_items:
        yy = h0 + r
        if kind == "study":
            i = payload
            _ci_segment(ax, yy, lo[i], hi[i], lim, disp)
            if lim[0] <= y[i] <= lim[1]:
                side = smin + (smax - smin) * math.sqrt(weights[i] / wmax)
                ax.plot(
                    [disp(y[i])],
                    [yy],
                    marker="s",
                    ms=side,
                    color=PALETTE["blue"],
                    mec="black",
                    mew=0.5,
                    zorder=3,
                    linestyle="none",
                )
        elif kind == "subtotal":
            _diamond(
                ax,
                yy,
                payload.estimate,
                payload.ci_low,
                payload.ci_high,
                disp,
                PALETTE["sky_blue"],
                lim,
            )
        elif kind == "total":
            _diamond(ax, yy, payload.estimate, payload.ci_low, payload.ci_high, disp, "black", lim)
        elif kind == "pi":
            a, b = max(payload.pi_low, lim[0]), min(payload.pi_high, lim[1])
            ax.add_patch(
                Rectangle(
                    (disp(a), yy - 0.12),
                    disp(b) - disp(a),
                    0.24,
                    facecolor=PALETTE["vermillion"],
                    edgecolor="black",
                    lw=0.6,
                    zorder=3,
                    hatch=None,
                )
            )
            if payload.pi_low < lim[0]:
                ax.plot([disp(lim[0])], [yy], marker="<", ms=5, color="black", clip_on=False)
            if payload.pi_high > lim[1]:
                ax.plot([disp(lim[1])], [yy], marker=">", ms=5, color="black", clip_on=False)
    last = h0 + len(rows) - 1
    ax.plot([disp(null)] * 2, [h0 - 0.5, last + 0.5], color="black", lw=0.8, zorder=1)
    if lim[0] < overall.estimate < lim[1]:
        ax.plot(
            [disp(overall.estimate)] * 2,
            [h0 - 0.5, last + 0.5],
            color="0.45",
            lw=0.7,
            ls=(0, (2, 2)),
            zorder=1,
        )
    _favours_labels(lay, disp(null), favours)

    # ---- alt text
    ci_txt = (
        f"{_plain(disp(overall.estimate))} ({pct:g}% CI {_plain(disp(overall.ci_low))} "
        f"to {_plain(disp(overall.ci_high))})"
    )
    if overall.ci_low > null or overall.ci_high < null:
        side = favours[0] if overall.estimate < null else favours[1]
        direction = f"the interval excludes the null, i.e. {side.lower()}"
    else:
        direction = "the interval includes the null value (no clear difference)"
    model = (
        "fixed-effect"
        if _method_label(method, hksj) == "IV, Fixed"
        else f"random-effects ({method}{', HKSJ' if hksj else ''})"
    )
    txt = (
        f"Forest plot of {k} {'study' if k == 1 else 'studies'} ({measure}"
        f"{', log scale' if log else ''}). Study estimates range from "
        f"{_plain(disp(y.min()))} to {_plain(disp(y.max()))}. Pooled {model} estimate "
        f"{ci_txt}; {direction}."
    )
    if k > 1:
        txt += f" Heterogeneity: I² = {overall.i2:.0f}%, tau² = {_plain(overall.tau2, 3)}."
    if show_pi:
        txt += (
            f" {pct:g}% prediction interval {_plain(disp(overall.pi_low))} to "
            f"{_plain(disp(overall.pi_high))}."
        )
    if group_results:
        parts = [
            f"{g} ({p.k} {'study' if p.k == 1 else 'studies'}): "
            f"{_plain(disp(p.estimate))} ({_plain(disp(p.ci_low))} to "
            f"{_plain(disp(p.ci_high))})"
            for g, p in group_results.items()
        ]
        txt += " Subgroups: " + "; ".join(parts) + "."
    return _attach(
        lay.fig,
        txt,
        kind="forest",
        k=k,
        labels=labels,
        groups=list(group_results),
        pooled=overall,
        q_between=q_between,
    )


# --------------------------------------------------------------------------------------
# funnel plot
# --------------------------------------------------------------------------------------
def funnel_plot(
    yi: ArrayLike,
    vi: ArrayLike,
    *,
    trim_fill: Any = None,
    filled_yi: ArrayLike | None = None,
    filled_vi: ArrayLike | None = None,
    estimate: float | None = None,
    adjusted_estimate: float | None = None,
    method: str = "REML",
    measure: str = "SMD",
    log_scale: bool | None = None,
    contours: tuple[float, float, float] = (0.10, 0.05, 0.01),
    pseudo_ci: bool = True,
    title: str | None = None,
    figsize: tuple[float, float] = (6.0, 5.2),
) -> Figure:
    """Contour-enhanced funnel plot, optionally with trim-and-fill imputed studies.

    Parameters
    ----------
    yi, vi : array-like
        Effect sizes (analysis scale; log for ratio measures) and sampling variances.
    trim_fill : object, optional
        Result of :func:`analysis.bias.trim_and_fill` (``TrimFillResult``: the imputed
        studies are ``yi[imputed]``/``vi[imputed]`` and the adjusted estimate is
        ``estimate``), or any mapping/object with ``filled_yi``/``filled_vi`` (also
        ``yi_filled``, ``imputed_yi``, ...) and ``adjusted_estimate``/``estimate``.
    filled_yi, filled_vi : array-like, optional
        The imputed studies given directly (overrides ``trim_fill``).
    estimate : float, optional
        Pooled estimate for the vertical line; pooled with ``method`` when omitted.
    adjusted_estimate : float, optional
        Trim-and-fill adjusted estimate (dashed line); read from ``trim_fill`` if omitted.
    method : str
        Estimator passed to :func:`analysis.pooling.pool` when ``estimate`` is omitted.
    measure : str
        Name of the effect measure (axis label).
    log_scale : bool, optional
        Log-scale effects displayed exponentiated on a log axis (default for ratio measures).
    contours : (float, float, float)
        Significance levels of the shaded contours around the null (two-sided p).
    pseudo_ci : bool
        Draw the pseudo 95% confidence funnel around the pooled estimate.
    title : str, optional
        Axes title.
    figsize : (float, float)
        Figure size in inches.

    Returns
    -------
    matplotlib.figure.Figure
        With ``fig.alt_text`` and ``fig.plot_info`` (``kind``, ``k``, ``k_filled``).
    """
    y = np.asarray(yi, dtype=float)
    v = np.asarray(vi, dtype=float)
    k = len(y)
    se = np.sqrt(v)
    log = _is_ratio(measure, log_scale)
    disp = np.exp if log else (lambda t: np.asarray(t, dtype=float))
    fy = None if filled_yi is None else np.asarray(filled_yi, dtype=float)
    fv = None if filled_vi is None else np.asarray(filled_vi, dtype=float)
    if trim_fill is not None and fy is None:
        fy = _get(trim_fill, ["filled_yi", "yi_filled", "yi_fill", "imputed_yi", "yi_imputed"])
        fv = _get(trim_fill, ["filled_vi", "vi_filled", "vi_fill", "imputed_vi", "vi_imputed"])
        filled_df = _get(trim_fill, ["filled", "data"])
        mask = _get(trim_fill, ["imputed"])
        if fy is None and mask is not None:  # analysis.bias.TrimFillResult
            mask = np.asarray(mask, dtype=bool)
            fy = np.asarray(_get(trim_fill, ["yi"]), dtype=float)[mask]
            fv = np.asarray(_get(trim_fill, ["vi"]), dtype=float)[mask]
        if fy is None and isinstance(filled_df, pd.DataFrame):
            flag = next((c for c in ("imputed", "filled", "is_filled") if c in filled_df), None)
            sub = filled_df[filled_df[flag].astype(bool)] if flag else filled_df.iloc[k:]
            fy, fv = sub["yi"].to_numpy(), sub["vi"].to_numpy()
        if adjusted_estimate is None:
            adj = _get(trim_fill, ["adjusted_estimate", "estimate"])
            if adj is not None and not isinstance(adj, Mapping):
                adjusted_estimate = float(getattr(adj, "estimate", adj))
    fy = None if fy is None else np.asarray(fy, dtype=float)
    fv = None if fv is None else np.asarray(fv, dtype=float)
    if estimate is None:
        estimate = _pool(y, v, method, False, 0.95).estimate
    all_se = se if fv is None else np.concatenate([se, np.sqrt(fv)])
    all_y = y if fy is None else np.concatenate([y, fy])
    se_max = float(all_se.max()) * 1.08 if all_se.size else 1.0
    c1, c2, c3 = sorted(contours, reverse=True)
    z1, z2, z3 = (stats.norm.ppf(1 - c / 2) for c in (c1, c2, c3))
    half = max(np.abs(all_y).max(initial=0.0) * 1.08, z3 * se_max * 1.02)

    fig = Figure(figsize=figsize, layout="constrained")
    ax = fig.add_subplot()
    grid = np.linspace(0, se_max, 200)
    shades = ("0.62", "0.78", "0.92")
    labels = (f"{c2:g} < p < {c1:g}", f"{c3:g} < p < {c2:g}", f"p < {c3:g}")
    edges = (z1, z2, z3, None)
    for j in range(3):
        inner = edges[j] * grid
        outer = edges[j + 1] * grid if edges[j + 1] is not None else np.full_like(grid, half * 1.5)
        for s in (-1, 1):
            ax.fill_betweenx(
                grid, disp(s * inner), disp(s * outer), color=shades[j], lw=0, zorder=0
            )
    handles: list[Any] = [Patch(facecolor="white", edgecolor="0.5", label=f"p > {c1:g}")]
    handles += [Patch(facecolor=shades[j], label=labels[j]) for j in range(3)]
    ax.plot(disp(np.zeros(2)), [0, se_max], color="0.3", lw=0.8, zorder=1)
    if pseudo_ci:
        zc = stats.norm.ppf(0.975)
        for s in (-1, 1):
            ax.plot(disp(estimate + s * zc * grid), grid, color="black", lw=0.8, ls=":", zorder=2)
        handles.append(Line2D([], [], color="black", lw=0.8, ls=":", label="Pseudo 95% CI"))
    ax.plot(disp(np.full(2, estimate)), [0, se_max], color="black", lw=1.2, zorder=2)
    handles.append(Line2D([], [], color="black", lw=1.2, label="Pooled estimate"))
    ax.plot(
        disp(y),
        se,
        marker="o",
        ls="none",
        ms=6,
        mfc=PALETTE["blue"],
        mec="black",
        mew=0.6,
        zorder=4,
    )
    handles.append(
        Line2D(
            [],
            [],
            marker="o",
            ls="none",
            ms=6,
            mfc=PALETTE["blue"],
            mec="black",
            label=f"Studies (k = {k})",
        )
    )
    kf = 0 if fy is None else len(fy)
    if kf:
        ax.plot(
            disp(fy),
            np.sqrt(fv),
            marker="o",
            ls="none",
            ms=6,
            mfc="white",
            mec=PALETTE["vermillion"],
            mew=1.3,
            zorder=4,
        )
        handles.append(
            Line2D(
                [],
                [],
                marker="o",
                ls="none",
                ms=6,
                mfc="white",
                mec=PALETTE["vermillion"],
                mew=1.3,
                label=f"Imputed (trim-and-fill, k = {kf})",
            )
        )
    if adjusted_estimate is not None and np.isfinite(adjusted_estimate):
        ax.plot(
            disp(np.full(2, adjusted_estimate)),
            [0, se_max],
            color=PALETTE["vermillion"],
            lw=1.2,
            ls="--",
            zorder=2,
        )
        handles.append(
            Line2D([], [], color=PALETTE["vermillion"], lw=1.2, ls="--", label="Adjusted estimate")
        )
    if log:
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda t, _: f"{t:g}"))
        ax.xaxis.set_minor_formatter(ticker.NullFormatter())
    ax.set_xlim(disp(-half), disp(half))
    ax.set_ylim(se_max, 0)
    ax.set_xlabel(f"{measure}{' (log scale)' if log else ''}")
    ax.set_ylabel("Standard error")
    if title:
        ax.set_title(title, fontsize=11, fontweight="bold")
    fig.legend(handles=handles, loc="outside lower center", ncols=3, fontsize=8, frameon=False)

    txt = (
        f"Contour-enhanced funnel plot of {k} {'study' if k == 1 else 'studies'} "
        f"({measure}{', log scale' if log else ''}): effect size on the horizontal axis, "
        f"standard error on the vertical axis (inverted, most precise studies at the top). "
        f"Shaded contours mark p < {c1:g}, < {c2:g} and < {c3:g} around the null. "
        f"Pooled estimate {_plain(float(disp(estimate)))}."
    )
    n_left = int(np.sum(y < estimate))
    txt += f" {n_left} studies lie left and {k - n_left} right of the pooled estimate."
    if kf:
        txt += f" Trim-and-fill imputed {kf} studies (open circles)"
        if adjusted_estimate is not None:
            txt += f"; adjusted estimate {_plain(float(disp(adjusted_estimate)))}"
        txt += "."
    return _attach(fig, txt, kind="funnel", k=k, k_filled=kf)


# --------------------------------------------------------------------------------------
# risk of bias
# --------------------------------------------------------------------------------------
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
                fontsize=fs - 1,
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
        for i in range(1, len(studies)):
            ax.plot([-0.5, len(doms) - 0.5], [i - 0.5, i - 0.5], color="0.8", lw=0.5)
        ms = min(cell_h, cell_w) * 72 * 0.72
        for i, s in enumerate(studies):
            for j, d in enumerate(doms):
                cat = grid.get((s, d))
                if cat is None:
                    continue
                ax.plot(
                    [j],
                    [i],
                    marker="o",
                    ms=ms,
                    mfc=_ROB_COLOR[cat],
                    mec="black",
                    mew=0.5,
                    ls="none",
                )
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
        for j, d in enumerate(doms):
            sub = df[df["domain"] == d]
            w = sub["study"].map(lambda s: float(w_map.get(s, 0.0))).to_numpy()
            tot = w.sum()
            left = 0.0
            for cat in _ROB_CATS:
                share = 100 * w[(sub["judgement"] == cat).to_numpy()].sum() / tot if tot else 0
                if share > 0:
                    ax2.barh(
                        j,
                        share,
                        left=left,
                        height=0.7,
                        color=_ROB_COLOR[cat],
                        edgecolor="black",
                        lw=0.5,
                        hatch=_ROB_HATCH[cat],
                    )
                left += share
        ax2.set_yticks(range(len(doms)), doms, fontsize=fs)
        ax2.tick_params(axis="y", length=0, pad=6)
        ax2.tick_params(axis="x", labelsize=fs - 1)
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
    return _attach(fig, txt, kind="rob", k=len(studies), studies=studies, domains=doms)


# --------------------------------------------------------------------------------------
# cumulative meta-analysis
# --------------------------------------------------------------------------------------
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
    """Cumulative meta-analysis plot, one row per step.

    Parameters
    ----------
    df : pandas.DataFrame
        As returned by :func:`analysis.sensitivity.cumulative`: one row per step in order,
        columns ``estimate``, ``ci_low``, ``ci_high`` (analysis scale) and optionally
        ``tau2``, ``i2`` and ``k``; the index holds the label of the study added.
    measure, log_scale, level, favours, higher_favours_treatment, xlim, decimals, fontsize
        As in :func:`forest_plot`.
    labels : sequence of str, optional
        Row labels (default: the index).
    year : str, optional
        Column with the publication year, appended to the label when not already in it.
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
    for i in range(n):
        yy = h0 + i
        _ci_segment(ax, yy, lo[i], hi[i], lim, disp)
        if lim[0] <= est[i] <= lim[1]:
            last = i == n - 1
            ax.plot(
                [disp(est[i])],
                [yy],
                marker="D" if last else "o",
                ms=6 if last else 5,
                color="black" if last else PALETTE["blue"],
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
    return _attach(lay.fig, txt, kind="cumulative", k=n, labels=step_labels)


# --------------------------------------------------------------------------------------
# PRISMA 2020 flow diagram
# --------------------------------------------------------------------------------------
def _n(counts: Mapping[str, int | str], key: str) -> str:
    v = counts.get(key)
    if v is None or (isinstance(v, float) and not np.isfinite(v)) or v == "":
        return "not reported"
    return str(v)


def prisma_flow(
    counts: Mapping[str, int | str],
    *,
    exclusion_reasons: Mapping[str, int | str] | None = None,
    title: str | None = None,
    fontsize: float = 8.5,
) -> Figure:
    """PRISMA 2020 flow diagram (new review; databases and registers).

    Parameters
    ----------
    counts : mapping of str to int or str
        Box counts; any missing key is shown as "not reported". Keys:

        ``records_databases``, ``records_registers``
            Records identified from databases / registers.
        ``duplicates_removed``, ``automation_excluded``, ``other_removed``
            Records removed before screening.
        ``records_screened``, ``records_excluded``
            Title/abstract screening.
        ``reports_sought``, ``reports_not_retrieved``
            Reports sought for retrieval / not retrieved.
        ``reports_assessed``, ``reports_excluded``
            Reports assessed for eligibility / excluded (total).
        ``studies_included``, ``reports_included``
            New studies included in the review and reports of included studies.
    exclusion_reasons : mapping of str to int or str, optional
        Reasons for excluding reports with counts, listed in the exclusion box.
    title : str, optional
        Figure title.
    fontsize : float
        Font size in points.

    Returns
    -------
    matplotlib.figure.Figure
        With ``fig.alt_text`` and ``fig.plot_info`` (``kind``, ``k`` = studies included,
        ``boxes``).
    """
    n = lambda key: _n(counts, key)  # noqa: E731
    reasons = [f"  {r} (n = {v})" for r, v in (exclusion_reasons or {}).items()]
    nbsp = "\N{NO-BREAK SPACE}"
    boxes = {
        "identified": [
            "Records identified from:",
            f"  Databases (n = {n('records_databases')})",
            f"  Registers (n = {n('records_registers')})",
        ],
        "removed": [
            "Records removed before screening:",
            f"  Duplicate records removed (n = {n('duplicates_removed')})",
            f"  Records marked as ineligible by automation tools (n = {n('automation_excluded')})",
            f"  Records removed for other reasons (n = {n('other_removed')})",
        ],
        "screened": [f"Records screened (n = {n('records_screened')})"],
        "excluded": [f"Records excluded (n = {n('records_excluded')})"],
        "sought": [f"Reports sought for retrieval (n = {n('reports_sought')})"],
        "not_retrieved": [f"Reports not retrieved (n = {n('reports_not_retrieved')})"],
        "assessed": [f"Reports assessed for eligibility (n = {n('reports_assessed')})"],
        "rep_excluded": [f"Reports excluded (n = {n('reports_excluded')})", *reasons],
        "included": [
            f"Studies included in review (n = {n('studies_included')})",
            f"Reports of included studies (n = {n('reports_included')})",
        ],
    }
    fs = fontsize
    wrap_chars = 52
    texts: dict[str, str] = {}
    for key, lines in boxes.items():
        out: list[str] = []
        for line in lines:
            indent = "  " if line.startswith("  ") else ""
            # keep "(n = 12)" and "not reported" together when wrapping
            line = line.replace("(n = ", f"(n{nbsp}={nbsp}").replace(
                "not reported", f"not{nbsp}reported"
            )
            out += textwrap.wrap(
                line.strip(), wrap_chars, initial_indent=indent, subsequent_indent=indent + "  "
            ) or [""]
        texts[key] = "\n".join(out)
    pad = 0.12
    box_w = max(_text_w(t, fs) for t in texts.values()) + 2 * pad
    line_h = fs * 1.25 / 72

    def box_h(key: str) -> float:
        return texts[key].count("\n") * line_h + fs / 72 + 2 * pad

    layout = [
        ("identified", "removed"),
        ("screened", "excluded"),
        ("sought", "not_retrieved"),
        ("assessed", "rep_excluded"),
        ("included", None),
    ]
    title_h = (fs + 3) * 2.0 / 72 if title else 0.0
    phases = [("Identification", 0, 0), ("Screening", 1, 3), ("Included", 4, 4)]
    vgap, hgap, phase_w = 0.35, 0.5, 0.32
    row_h = [max(box_h(a), box_h(b) if b else 0.0) for a, b in layout]
    # each phase bar must be tall enough for its rotated label
    for name, r0, r1 in phases:
        need = _text_w(name, fs, "bold") + 0.25 - (sum(row_h[r0 : r1 + 1]) + vgap * (r1 - r0))
        if need > 0:
            for r in range(r0, r1 + 1):
                row_h[r] += need / (r1 - r0 + 1)
    x_phase = _MARGIN
    x_left = x_phase + phase_w + 0.2
    x_right = x_left + box_w + hgap
    width = x_right + box_w + _MARGIN
    height = _MARGIN + title_h + sum(row_h) + vgap * (len(layout) - 1) + _MARGIN
    fig = Figure(figsize=(width, height))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, width)
    ax.set_ylim(height, 0)  # inches from the top
    ax.set_axis_off()
    if title:
        ax.text(
            width / 2,
            _MARGIN + title_h / 2,
            title,
            ha="center",
            va="center",
            fontsize=fs + 3,
            fontweight="bold",
        )
    tops = []
    y = _MARGIN + title_h
    for h in row_h:
        tops.append(y)
        y += h + vgap
    centers: dict[str, tuple[float, float, float]] = {}  # key -> (x centre, y top, height)
    for (a, b), top, h in zip(layout, tops, row_h, strict=True):
        for key, x0 in ((a, x_left), (b, x_right)):
            if key is None:
                continue
            bh = box_h(key)
            y0 = top + (h - bh) / 2
            ax.add_patch(
                FancyBboxPatch(
                    (x0, y0),
                    box_w,
                    bh,
                    boxstyle="round,pad=0,rounding_size=0.04",
                    facecolor="white",
                    edgecolor="black",
                    lw=0.9,
                )
            )
            ax.text(
                x0 + pad, y0 + pad, texts[key], ha="left", va="top", fontsize=fs, linespacing=1.25
            )
            centers[key] = (x0 + box_w / 2, y0, bh)
    arrow = {"arrowstyle": "-|>", "mutation_scale": 10, "color": "black", "lw": 0.9}
    for (a, _b), (na, _nb) in zip(layout[:-1], layout[1:], strict=True):
        xa, ya, ha = centers[a]
        ax.add_patch(FancyArrowPatch((xa, ya + ha), (centers[na][0], centers[na][1]), **arrow))
    for a, b in layout:
        if b is None:
            continue
        xa, ya, ha = centers[a]
        ax.add_patch(
            FancyArrowPatch((x_left + box_w, ya + ha / 2), (x_right, ya + ha / 2), **arrow)
        )
    phase_color = PALETTE["sky_blue"]
    for name, r0, r1 in phases:
        y0 = tops[r0]
        y1 = tops[r1] + row_h[r1]
        ax.add_patch(
            FancyBboxPatch(
                (x_phase, y0),
                phase_w,
                y1 - y0,
                boxstyle="round,pad=0,rounding_size=0.06",
                facecolor=phase_color,
                edgecolor="black",
                lw=0.8,
            )
        )
        ax.text(
            x_phase + phase_w / 2,
            (y0 + y1) / 2,
            name,
            rotation=90,
            ha="center",
            va="center",
            fontsize=fs,
            fontweight="bold",
        )
    txt = (
        "PRISMA 2020 flow diagram. "
        f"Records identified from databases: {n('records_databases')}; registers: "
        f"{n('records_registers')}. Duplicates removed: {n('duplicates_removed')}. "
        f"Records screened: {n('records_screened')}; excluded: {n('records_excluded')}. "
        f"Reports sought: {n('reports_sought')}; not retrieved: {n('reports_not_retrieved')}. "
        f"Reports assessed for eligibility: {n('reports_assessed')}; excluded: "
        f"{n('reports_excluded')}. Studies included in the review: {n('studies_included')} "
        f"({n('reports_included')} reports)."
    )
    if reasons:
        txt += " Reasons for exclusion: " + "; ".join(r.strip() for r in reasons) + "."
    k = counts.get("studies_included")
    return _attach(fig, txt, kind="prisma", k=k, boxes=texts)
