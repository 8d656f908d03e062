"""Sensitivity analyses: leave-one-out, cumulative meta-analysis, influence and outliers.

``influence`` reports, per study, the studentized deleted residual (metafor ``rstudent()``:
``(y_i - mu_(-i)) / sqrt(v_i + tau2_(-i) + se_(-i)^2)`` from the model fitted without study i)
and flags outliers by the rule of metapsyTools / dmetar ``find.outliers``: a study is an
outlier when its own 95% CI (``y_i +/- z sqrt(v_i)``) lies entirely above or entirely below
the pooled effect's CI (i.e. the two intervals do not overlap).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import special

from analysis.stats._checks import check_level, check_yi_vi
from analysis.stats.pooling import _TOL, PoolResult, _check_method, fit, resolve_test

__all__ = ["leave_one_out", "cumulative", "influence"]

_COLUMNS = ["estimate", "se", "ci_low", "ci_high", "tau2", "i2", "q", "k"]


def _labels(labels: Sequence[object] | None, k: int) -> pd.Index:
    if labels is None:
        return pd.RangeIndex(k, name="study")
    if len(labels) != k:
        raise ValueError(f"labels has {len(labels)} entries, expected {k}")
    return pd.Index(list(labels), name="study")


def _row(res: PoolResult) -> list[float]:
    return [res.estimate, res.se, res.ci_low, res.ci_high, res.tau2, res.i2, res.q, res.k]


def _frame(rows: list[list[float]], index: pd.Index) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=_COLUMNS, index=index)
    frame["k"] = frame["k"].astype(int)
    return frame


def leave_one_out(
    yi: ArrayLike,
    vi: ArrayLike,
    method: str = "DL",
    hksj: bool = False,
    labels: Sequence[object] | None = None,
    level: float = 0.95,
    *,
    test: str | None = None,
    tol: float = _TOL,
) -> pd.DataFrame:
    """Re-pool the studies leaving each one out in turn (metafor ``leave1out``).

    ``method``, ``hksj``, ``level``, ``test`` and ``tol`` are as for :func:`analysis.pool`.

    Returns
    -------
    pandas.DataFrame
        Columns estimate, se, ci_low, ci_high, tau2, i2 (Q-based), q, k; one row per omitted
        study, indexed by ``labels`` (default 0..k-1).
    """
    y, v = check_yi_vi(yi, vi)
    method = _check_method(method)
    level = check_level(level)
    k = y.size
    if k < 2:
        raise ValueError("leave-one-out needs at least two studies")
    index = _labels(labels, k)
    keep = ~np.eye(k, dtype=bool)
    test = resolve_test(test, hksj)
    rows = [_row(fit(y[m], v[m], method, test, level, tol)) for m in keep]
    return _frame(rows, index)


def cumulative(
    yi: ArrayLike,
    vi: ArrayLike,
    order: ArrayLike | None = None,
    method: str = "DL",
    labels: Sequence[object] | None = None,
    hksj: bool = False,
    level: float = 0.95,
    *,
    test: str | None = None,
    tol: float = _TOL,
) -> pd.DataFrame:
    """Cumulative meta-analysis, adding studies in ascending ``order`` (e.g. publication year).

    Model options as for :func:`analysis.pool`. Ties keep input order. Row j pools the first j
    studies (the first row is the single study: tau2 = 0, heterogeneity NaN). Index = labels of
    the study added at that step.
    """
    y, v = check_yi_vi(yi, vi)
    method = _check_method(method)
    level = check_level(level)
    k = y.size
    index = _labels(labels, k)
    if order is None:
        perm = np.arange(k)
    else:
        key = np.asarray(order)
        if key.shape != (k,):
            raise ValueError(f"order must have {k} entries")
        perm = np.argsort(key, kind="stable")
    ys, vs = y[perm], v[perm]
    test = resolve_test(test, hksj)
    rows = [_row(fit(ys[: j + 1], vs[: j + 1], method, test, level, tol)) for j in range(k)]
    return _frame(rows, index[perm])


def _deleted(
    y: NDArray[np.float64], v: NDArray[np.float64], method: str, tol: float
) -> NDArray[np.float64]:
    k = y.size
    out = np.empty(k)
    for i in range(k):
        m = np.arange(k) != i
        res = fit(y[m], v[m], method, "z", 0.95, tol)
        out[i] = (y[i] - res.estimate) / np.sqrt(v[i] + res.tau2 + res.se**2)
    return out


def influence(
    yi: ArrayLike,
    vi: ArrayLike,
    method: str = "REML",
    labels: Sequence[object] | None = None,
    level: float = 0.95,
    *,
    tol: float = _TOL,
) -> pd.DataFrame:
    """Studentized deleted residuals and the metapsyTools outlier flag.

    Returns
    -------
    pandas.DataFrame
        Columns ``yi``, ``ci_low``, ``ci_high`` (study CI), ``rstudent`` (studentized deleted
        residual), ``weight`` (percent), ``outlier`` (bool: study CI does not overlap the
        pooled CI), indexed by ``labels``.
    """
    y, v = check_yi_vi(yi, vi)
    method = _check_method(method)
    level = check_level(level)
    k = y.size
    if k < 3:
        raise ValueError("influence diagnostics need at least three studies")
    index = _labels(labels, k)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = fit(y, v, method, "z", level, tol)
    z = float(special.ndtri(1.0 - (1.0 - level) / 2.0))
    lo, hi = y - z * np.sqrt(v), y + z * np.sqrt(v)
    outlier = (hi < res.ci_low) | (lo > res.ci_high)
    return pd.DataFrame(
        {
            "yi": y,
            "ci_low": lo,
            "ci_high": hi,
            "rstudent": _deleted(y, v, method, tol),
            "weight": np.asarray(res.weights),
            "outlier": outlier,
        },
        index=index,
    )
