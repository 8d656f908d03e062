"""RevMan-style forest plot: study rows, arm data, weights, subtotals and the overall diamond."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Polygon, Rectangle
from numpy.typing import ArrayLike
from scipy import special

from analysis.plots._common import (
    PALETTE,
    FittedPool,
    FittedSubgroups,
    _attach,
    _cell,
    _check_weights,
    _ci_segments,
    _ci_text,
    _Col,
    _decimals,
    _default_limits,
    _favours_labels,
    _frame,
    _is_ratio,
    _method_label,
    _model_text,
    _num,
    _plain,
    _pval,
    _Row,
    _set_effect_axis,
    _table_figure,
)

__all__ = ["forest_plot"]


def _het_text(p: FittedPool) -> str:
    """RevMan's heterogeneity line: tau², Q with df and p, and I² (none for one study)."""
    if p.k < 2 or not np.isfinite(p.q):
        return "Heterogeneity: not applicable"
    return (
        f"Heterogeneity: τ² = {_num(p.tau2)}; Q = {_num(p.q)}, df = {p.q_df} "
        f"({_pval(p.q_p)}); I² = {p.i2:.0f}%"
    )


def _test_text(p: FittedPool) -> str:
    """The test for overall effect: t with its df when ``p.df`` is finite, else Z."""
    df = float(p.df)
    if math.isfinite(df):
        return f"Test for overall effect: t = {_num(abs(p.stat))}, df = {df:g} ({_pval(p.p)})"
    return f"Test for overall effect: Z = {_num(abs(p.stat))} ({_pval(p.p)})"


def _subgroup_test_text(sg: FittedSubgroups) -> str:
    """The test for subgroup differences as fitted: ``q_between``, ``df_between``, ``p_between``."""
    return (
        f"Test for subgroup differences: Q = {_num(sg.q_between)}, df = {sg.df_between} "
        f"({_pval(sg.p_between)})"
    )


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
    data: pd.DataFrame | None,
    pooled: FittedPool,
    *,
    subgroups: FittedSubgroups | None = None,
    group: str | ArrayLike | None = None,
    yi: str | ArrayLike = "yi",
    vi: str | ArrayLike | None = "vi",
    label: str | Sequence[str] = "label",
    ci_low: str | ArrayLike | None = None,
    ci_high: str | ArrayLike | None = None,
    arms: Literal["auto"] | Mapping[str, Mapping[str, str]] | None = "auto",
    arm_labels: tuple[str, str] = ("Psychotherapy", "Control"),
    measure: str = "SMD",
    log_scale: bool | None = None,
    favours: tuple[str, str] | None = None,
    higher_favours_treatment: bool = False,
    xlim: tuple[float, float] | None = None,
    prediction_interval: bool = True,
    title: str | None = None,
    decimals: int = 2,
    fontsize: float = 9.0,
) -> Figure:
    """RevMan-style forest plot of a fitted meta-analysis, optionally in subgroup blocks.

    The plot draws the results it is given and never pools: the overall diamond, weights,
    heterogeneity and test lines come from ``pooled``, the subtotal diamonds and lines from
    ``subgroups``. Any pooling method can therefore be drawn (inverse variance, Mantel–Haenszel,
    Knapp–Hartung, ...), and the plot always shows the numbers reported elsewhere.

    What is drawn, top to bottom: a two-row header (spanning arm headers over their columns,
    the measure and ``"<method>, <level>% CI"`` over the effect panel, where the method is
    RevMan's label: ``"IV, Fixed"``, ``"IV, Random (REML)"``, ``"IV, Random (REML), HKSJ"``,
    ``"M-H, Fixed"`` for ``method="MH"``, ``"M-H, Random"`` for ``"MH-DL"``); one row per
    study with its label, arm data, weight (``pooled.weights``, in percent), effect and CI as
    text, and a CI line with a square of area proportional to the weight (arrowheads where the
    CI leaves the axis); with subgroups, per block (in order of first appearance in ``group``)
    a bold header, the block's study rows, a "Subtotal" row with the sum of its studies' overall
    weights and the subgroup's fitted estimate and CI (sky-blue diamond), and its heterogeneity
    and overall-effect lines; a "Total" row with the summed weights and ``pooled``'s estimate
    and CI (black diamond); a "Prediction interval" row (vermillion bar, when asked and
    ``pooled.pi_low`` is finite with at least three studies). A solid line marks the null, a
    dashed line the pooled estimate; "favours" labels sit under the axis; footnotes give the
    overall heterogeneity (τ², Q, df, p, I²), the test for overall effect (``t`` with its df
    when ``pooled.df`` is finite, else ``Z``) and, with two or more subgroups, the test for
    subgroup differences exactly as in ``subgroups`` (``q_between``, ``df_between``,
    ``p_between``). Arm ``Total``/``Events`` columns are summed in the subtotal and total rows.

    Parameters
    ----------
    data : pandas.DataFrame or None
        One row per study. When given, ``yi``, ``vi``, ``label``, ``ci_low``, ``ci_high`` and
        ``group`` may be column names; with ``None`` they must be arrays.
    pooled : PoolResult
        The fitted overall result of exactly these studies in this order, e.g. from
        :func:`analysis.stats.pooling.pool` or
        :func:`analysis.stats.mantel_haenszel.mantel_haenszel` (any object with the attributes of
        :class:`analysis.stats.pooling.PoolResult`; see :class:`FittedPool`). A single study
        needs one too (what ``pool`` returns for one study).
    subgroups : SubgroupResult, optional
        For a grouped plot, the fitted subgroup analysis (e.g. from
        :func:`analysis.stats.subgroups.subgroups`): a mapping group -> fitted result of that
        group's studies (in their order of appearance), with ``q_between``, ``df_between`` and
        ``p_between``. Requires ``group``.
    group : str or array-like, optional
        Subgroup label of each study (compared with the keys of ``subgroups`` as strings).
        Requires ``subgroups``.
    yi : str or array-like
        Study effect sizes on the analysis scale (log scale for ratio measures).
    vi : str or array-like, optional
        Sampling variances, used only to draw the study CIs (``yi ± z·sqrt(vi)`` at
        ``pooled.level``) when ``ci_low``/``ci_high`` are not given.
    label : str or sequence of str
        Study labels (long labels such as ``"Cladder-Micus 2018 (MBCT)"`` are fine).
    ci_low, ci_high : str or array-like, optional
        Study confidence limits on the analysis scale, drawn as given (they may be asymmetric).
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
        ``k``, ``labels``, ``weights`` (the percentages shown), ``groups``, ``pooled``,
        ``subgroups`` and ``q_between``, the objects passed in).

    Raises
    ------
    ValueError
        With no study, when ``len(pooled.weights)`` is not the number of studies, when only
        one of ``group`` and ``subgroups`` is given, when a group has no entry in
        ``subgroups`` (or ``subgroups`` has a group no study belongs to), when a subgroup's
        number of weights is not its number of studies, when a subgroup's level differs from
        ``pooled.level``, or when neither ``vi`` nor both CI limits are available.
    """
    y = _resolve(data, yi)
    if y is None:
        raise ValueError("yi is required")
    y = y.astype(float)
    k = len(y)
    if k == 0:
        raise ValueError("forest_plot needs at least one study")
    weights = _check_weights(pooled, k, "pooled")
    level = float(pooled.level)
    z = special.ndtri(1 - (1 - level) / 2)
    lo = _resolve(data, ci_low)
    hi = _resolve(data, ci_high)
    if lo is None or hi is None:
        v = _resolve(data, vi)
        if v is None:
            raise ValueError("give vi or both ci_low and ci_high")
        v = v.astype(float)
        lo, hi = y - z * np.sqrt(v), y + z * np.sqrt(v)
    lo, hi = lo.astype(float), hi.astype(float)
    labs = _resolve(data, label)
    labels = [str(s) for s in labs] if labs is not None else [f"Study {i + 1}" for i in range(k)]
    blocks = _subgroup_blocks(_resolve(data, group), subgroups, k, level)
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

    overall = pooled
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

    def total_cells(name: str, p: FittedPool, idx: np.ndarray) -> dict[str, str]:
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
    if blocks:
        for gi, (g, idx, pg) in enumerate(blocks):
            rows.append(_Row("group", {"label": g}, bold=True))
            for i in idx:
                plot_items.append(("study", len(rows), i))
                rows.append(study_row(i))
            plot_items.append(("subtotal", len(rows), pg))
            rows.append(_Row("subtotal", total_cells(f"Subtotal ({lvl})", pg, idx), bold=True))
            rows.append(_Row("text", span=_het_text(pg)))
            rows.append(_Row("text", span=_test_text(pg)))
            if gi < len(blocks) - 1:
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

    footnotes = [_het_text(overall), _test_text(overall)]
    if subgroups is not None and len(blocks) > 1:
        footnotes.append(_subgroup_test_text(subgroups))

    lay = _table_figure(
        cols,
        rows,
        fontsize=fontsize,
        panel_header=(measure, f"{_method_label(overall)}, {lvl}"),
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
            [y, [overall.ci_low, overall.ci_high]] + [[p.ci_low, p.ci_high] for _, _, p in blocks]
        )
        lim = _default_limits(pts - null, np.concatenate([lo, hi]) - null, log)
    _set_effect_axis(ax, lim[0], lim[1], log, fontsize)

    # ---- drawing
    row_pt = fontsize * 1.8
    smax, smin = min(row_pt * 0.62, 10.0), 3.0
    wmax = max(weights.max(), 1e-12)
    rows_y = [h0 + r for kind, r, _ in plot_items if kind == "study"]
    rows_i = [i for kind, _, i in plot_items if kind == "study"]
    _ci_segments(ax, rows_y, lo[rows_i], hi[rows_i], lim, disp)
    for kind, r, payload in plot_items:
        yy = h0 + r
        if kind == "study":
            i = payload
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

    # ---- the numbers shown, as a table (one row per study, subtotal, total, prediction interval)
    effect_col = measure
    records: list[dict[str, str]] = []
    current = ""
    for r_idx, r in enumerate(rows):
        if r.kind == "group":
            current = r.cells["label"]
            continue
        payload = next((p for _, ri, p in plot_items if ri == r_idx), None)
        if r.kind == "study":
            est, a, b = y[payload], lo[payload], hi[payload]
        elif r.kind in {"subtotal", "total"}:
            est, a, b = payload.estimate, payload.ci_low, payload.ci_high
        elif r.kind == "pi":
            est, a, b = math.nan, payload.pi_low, payload.pi_high
        else:
            continue
        rec: dict[str, str] = {}
        if blocks:
            rec["Subgroup"] = current if r.kind in {"study", "subtotal"} else ""
        rec["Study"] = r.cells["label"]
        for ai, (arm, sub) in enumerate((arm_map or {}).items()):
            for j, hdr in enumerate(sub):
                rec[f"{arm}: {hdr}"] = r.cells.get(f"arm{ai}_{j}", "")
        rec["Weight"] = r.cells.get("weight", "")
        rec[effect_col] = "" if r.kind == "pi" else _num(disp(est), decimals)
        rec[lvl] = _ci_text(disp(a), disp(b), decimals)
        records.append(rec)
    table = _frame(records)

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
    scale = f"{measure}{', log scale' if log else ''}"
    if k == 1:
        txt = (f"Forest plot of a single comparison ({scale}), {labels[0]}: estimate {ci_txt}; "
               f"{direction}.")  # fmt: skip
    else:
        txt = (
            f"Forest plot of {k} comparisons ({scale}). Their estimates range from "
            f"{_plain(disp(y.min()))} to {_plain(disp(y.max()))}. Pooled "
            f"{_model_text(overall)} estimate {ci_txt}; {direction}."
        )
    if k > 1 and np.isfinite(overall.i2):
        txt += f" Heterogeneity: I² = {overall.i2:.0f}%, tau² = {_plain(overall.tau2, 3)}."
    if show_pi:
        txt += (
            f" {pct:g}% prediction interval {_plain(disp(overall.pi_low))} to "
            f"{_plain(disp(overall.pi_high))}."
        )
    if k > 2:
        apart = [labels[i] for i in range(k)
                 if lo[i] > overall.estimate or hi[i] < overall.estimate]  # fmt: skip
        if apart:
            verb = ("has an interval that excludes" if len(apart) == 1
                    else "have intervals that exclude")  # fmt: skip
            txt += f" {len(apart)} of the {k} comparisons {verb} the pooled estimate: "
            txt += ", ".join(apart) + "."
        else:
            txt += " Every comparison's interval includes the pooled estimate."
    if blocks:
        parts = [
            f"{g} ({idx.size} {'comparison' if idx.size == 1 else 'comparisons'}): "
            f"{_plain(disp(p.estimate))} ({_plain(disp(p.ci_low))} to "
            f"{_plain(disp(p.ci_high))})"
            for g, idx, p in blocks
        ]
        txt += " Subgroups: " + "; ".join(parts) + "."
        if subgroups is not None and len(blocks) > 1:
            txt += (
                f" Test for subgroup differences: Q = {_plain(subgroups.q_between)}, "
                f"df = {subgroups.df_between}, {_pval(subgroups.p_between)}."
            )
    return _attach(
        lay.fig,
        txt,
        data=table,
        kind="forest",
        k=k,
        labels=labels,
        weights=weights.tolist(),
        groups=[g for g, _, _ in blocks],
        pooled=pooled,
        subgroups=subgroups,
        q_between=None if subgroups is None else float(subgroups.q_between),
    )


def _subgroup_blocks(
    grp: np.ndarray | None, subgroups: FittedSubgroups | None, k: int, level: float
) -> list[tuple[str, np.ndarray, FittedPool]]:
    """``(group label, row indices, fitted subgroup result)`` per block, checked against rows."""
    if grp is None and subgroups is None:
        return []
    if grp is None or subgroups is None:
        raise ValueError(
            "a grouped forest plot needs both group (the subgroup of each study) and subgroups "
            "(the fitted subgroup analysis, e.g. analysis.stats.subgroups.subgroups(...))"
        )
    if len(grp) != k:
        raise ValueError(f"group has {len(grp)} entries but the plot has {k} studies")
    fitted = {str(g): res for g, res in subgroups.items()}
    gstr = np.array([str(g) for g in grp])
    order = list(dict.fromkeys(gstr.tolist()))
    missing = [g for g in order if g not in fitted]
    if missing:
        raise ValueError(f"subgroups has no fitted result for group(s) {missing}")
    unused = [g for g in fitted if g not in order]
    if unused:
        raise ValueError(f"subgroups has results for group(s) {unused} that no study belongs to")
    blocks = []
    for g in order:
        idx = np.flatnonzero(gstr == g)
        res = fitted[g]
        _check_weights(res, idx.size, f"subgroups[{g!r}]")
        if float(res.level) != level:
            raise ValueError(
                f"subgroups[{g!r}] was fitted at level {res.level}, pooled at level {level}"
            )
        blocks.append((g, idx, res))
    return blocks
