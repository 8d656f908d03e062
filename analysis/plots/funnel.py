"""Contour-enhanced funnel plot, optionally with the studies imputed by trim-and-fill."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib import ticker
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from numpy.typing import ArrayLike
from scipy import special

from analysis.plots._common import (
    PALETTE,
    FittedPool,
    _attach,
    _check_weights,
    _ci_text,
    _frame,
    _get,
    _is_ratio,
    _model_text,
    _num,
    _plain,
)

__all__ = ["funnel_plot"]


def funnel_plot(
    yi: ArrayLike,
    vi: ArrayLike,
    pooled: FittedPool,
    *,
    trim_fill: Any = None,
    filled_yi: ArrayLike | None = None,
    filled_vi: ArrayLike | None = None,
    adjusted_estimate: float | None = None,
    measure: str = "SMD",
    log_scale: bool | None = None,
    contours: tuple[float, float, float] = (0.10, 0.05, 0.01),
    pseudo_ci: bool = True,
    title: str | None = None,
    figsize: tuple[float, float] = (6.0, 5.2),
    labels: Sequence[str] | None = None,
) -> Figure:
    """Contour-enhanced funnel plot of a fitted meta-analysis, optionally with trim-and-fill.

    What is drawn: each study as a blue circle at (effect, standard error), the standard-error
    axis inverted so the most precise studies are at the top; grey contours around the null
    (``0 ± z·SE``) shading the regions of two-sided p between the three ``contours`` levels
    (darkest for the largest p) and below the smallest; a thin grey line at the null; a black
    vertical line at ``pooled.estimate`` (drawn as given, never re-pooled) and, with
    ``pseudo_ci``, dotted lines at ``estimate ± 1.96·SE`` (the pseudo 95% confidence funnel);
    imputed studies, when given, as open vermillion circles, and the adjusted estimate as a
    dashed vermillion line. A legend under the axes names every element.

    Parameters
    ----------
    yi, vi : array-like
        Effect sizes (analysis scale; log for ratio measures) and sampling variances.
    pooled : PoolResult
        The fitted result of these studies in this order (e.g. from
        :func:`analysis.stats.pooling.pool`; any object with the attributes of
        :class:`analysis.stats.pooling.PoolResult`, see :class:`FittedPool`). Its ``estimate``
        is the centre line; its estimate, CI and method are in the alt text.
    trim_fill : object, optional
        Result of :func:`analysis.stats.bias.trim_and_fill` (``TrimFillResult``: the imputed
        studies are ``yi[imputed]``/``vi[imputed]`` and the adjusted estimate is
        ``estimate``), or any mapping/object with ``filled_yi``/``filled_vi`` (also
        ``yi_filled``, ``imputed_yi``, ...) and ``adjusted_estimate``/``estimate``.
    filled_yi, filled_vi : array-like, optional
        The imputed studies given directly (overrides ``trim_fill``).
    adjusted_estimate : float, optional
        Trim-and-fill adjusted estimate (dashed line); read from ``trim_fill`` if omitted.
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
    labels : sequence of str, optional
        Study labels, for ``fig.plot_data`` only (default ``"Study 1"``, ``"Study 2"``, ...).

    Returns
    -------
    matplotlib.figure.Figure
        With ``fig.alt_text``, ``fig.plot_data`` (each study's effect and standard error, the
        imputed studies, the pooled estimate with its CI and the adjusted estimate) and
        ``fig.plot_info`` (``kind``, ``k``, ``k_filled``, ``pooled``).

    Raises
    ------
    ValueError
        When ``len(pooled.weights)`` is not the number of studies.
    """
    y = np.asarray(yi, dtype=float)
    v = np.asarray(vi, dtype=float)
    k = len(y)
    _check_weights(pooled, k, "pooled")
    estimate = float(pooled.estimate)
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
        if fy is None and mask is not None:  # analysis.stats.bias.TrimFillResult
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
    all_se = se if fv is None else np.concatenate([se, np.sqrt(fv)])
    all_y = y if fy is None else np.concatenate([y, fy])
    se_max = float(all_se.max()) * 1.08 if all_se.size else 1.0
    c1, c2, c3 = sorted(contours, reverse=True)
    z1, z2, z3 = (special.ndtri(1 - c / 2) for c in (c1, c2, c3))
    half = max(np.abs(all_y).max(initial=0.0) * 1.08, z3 * se_max * 1.02)

    fig = Figure(figsize=figsize, layout="constrained")
    ax = fig.add_subplot()
    grid = np.linspace(0, se_max, 200)
    shades = ("0.62", "0.78", "0.92")
    contour_labels = (f"{c2:g} < p < {c1:g}", f"{c3:g} < p < {c2:g}", f"p < {c3:g}")
    edges = (z1, z2, z3, None)
    for j in range(3):
        inner = edges[j] * grid
        outer = edges[j + 1] * grid if edges[j + 1] is not None else np.full_like(grid, half * 1.5)
        for s in (-1, 1):
            ax.fill_betweenx(
                grid, disp(s * inner), disp(s * outer), color=shades[j], lw=0, zorder=0
            )
    handles: list[Any] = [Patch(facecolor="white", edgecolor="0.5", label=f"p > {c1:g}")]
    handles += [Patch(facecolor=shades[j], label=contour_labels[j]) for j in range(3)]
    ax.plot(disp(np.zeros(2)), [0, se_max], color="0.3", lw=0.8, zorder=1)
    if pseudo_ci:
        zc = special.ndtri(0.975)
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
    fig.legend(handles=handles, loc="outside lower center", ncols=3, fontsize=9, frameon=False)

    txt = (
        f"Contour-enhanced funnel plot of {k} {'study' if k == 1 else 'studies'} "
        f"({measure}{', log scale' if log else ''}): effect size on the horizontal axis, "
        f"standard error on the vertical axis (inverted, most precise studies at the top). "
        f"Shaded contours mark p < {c1:g}, < {c2:g} and < {c3:g} around the null. "
        f"Pooled {_model_text(pooled)} estimate {_plain(float(disp(estimate)))} "
        f"({float(pooled.level) * 100:g}% CI {_plain(float(disp(pooled.ci_low)))} to "
        f"{_plain(float(disp(pooled.ci_high)))})."
    )
    n_left = int(np.sum(y < estimate))
    txt += f" {n_left} studies lie left and {k - n_left} right of the pooled estimate."
    if kf:
        txt += f" Trim-and-fill imputed {kf} studies (open circles)"
        if adjusted_estimate is not None:
            txt += f"; adjusted estimate {_plain(float(disp(adjusted_estimate)))}"
        txt += "."
    names = [str(s) for s in labels] if labels is not None else [f"Study {i + 1}" for i in range(k)]
    if len(names) != k:
        raise ValueError(f"{len(names)} labels for {k} studies")
    lvl = f"{float(pooled.level) * 100:g}% CI"
    effect = f"{measure}{' (log scale)' if log else ''}"
    records = [
        {"Point": names[i], effect: _num(float(disp(y[i]))), "Standard error": _num(se[i], 3)}
        for i in range(k)
    ]
    for j in range(kf):
        fyj, fsj = float(fy[j]), float(np.sqrt(fv[j]))  # type: ignore[index]
        records.append(
            {
                "Point": f"Imputed study {j + 1} (trim-and-fill)",
                effect: _num(float(disp(fyj))),
                "Standard error": _num(fsj, 3),
            }
        )
    ci = _ci_text(float(disp(pooled.ci_low)), float(disp(pooled.ci_high)))
    records.append({"Point": "Pooled estimate", effect: _num(float(disp(estimate))), lvl: ci})
    if adjusted_estimate is not None and np.isfinite(adjusted_estimate):
        adj = _num(float(disp(adjusted_estimate)))
        records.append({"Point": "Adjusted estimate (trim-and-fill)", effect: adj})
    table = _frame(records, ["Point", effect, "Standard error", lvl])
    return _attach(fig, txt, data=table, kind="funnel", k=k, k_filled=kf, pooled=pooled)
