"""Vectorised pooling of many meta-analyses at once (simulations, bootstrap, sensitivity grids).

``pool_many`` pools each row of ``Y``/``V`` (shape ``(m, k)``) exactly as
:func:`analysis.pool` would, for methods ``"FE"``, ``"DL"``, ``"PM"`` and ``"REML"``. Rows may
have different numbers of studies: pad with NaN (a cell is used when both ``Y`` and ``V`` are
finite). A row with one study gives its own estimate with tau2 = 0 and NaN heterogeneity; a
row with no study gives NaN throughout. No warnings are issued per row.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import special

from analysis.stats import tau2 as tau2_engine
from analysis.stats._checks import check_level
from analysis.stats.pooling import _TOL, _check_method, resolve_test

__all__ = ["BatchResult", "pool_many"]


@dataclass(frozen=True)
class BatchResult:
    """Per-row pooled results (arrays of length m, read-only).

    Attributes: estimate, se, ci_low, ci_high, stat, p, tau2, i2 (Q-based, percent), q,
    pi_low, pi_high (t(k-2) with the same SE as the CI, NaN for k < 3), k (int). ``method`` and
    ``test`` as given; ``hksj`` is true for ``"knha"`` and ``"adhoc"``.
    """

    estimate: NDArray[np.float64]
    se: NDArray[np.float64]
    ci_low: NDArray[np.float64]
    ci_high: NDArray[np.float64]
    stat: NDArray[np.float64]
    p: NDArray[np.float64]
    tau2: NDArray[np.float64]
    i2: NDArray[np.float64]
    q: NDArray[np.float64]
    pi_low: NDArray[np.float64]
    pi_high: NDArray[np.float64]
    k: NDArray[np.int64]
    method: str
    hksj: bool
    test: str = "z"

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, np.ndarray):
                value.setflags(write=False)

    def __len__(self) -> int:
        return int(self.estimate.size)

    def to_frame(self) -> pd.DataFrame:
        """One row per meta-analysis."""
        return pd.DataFrame(
            {
                f.name: getattr(self, f.name)
                for f in fields(self)
                if f.name not in ("method", "hksj", "test")
            }
        )

    def summary_frame(self) -> pd.DataFrame:
        """Alias of :meth:`to_frame`."""
        return self.to_frame()

    def to_dict(self) -> dict[str, object]:
        """Plain-Python lists."""
        out: dict[str, object] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = value.tolist() if isinstance(value, np.ndarray) else value
        return out


def _present(y: NDArray[np.float64], v: NDArray[np.float64]) -> NDArray[np.bool_] | None:
    """Cells that hold a study (both values finite); None when every cell does.

    Raises
    ------
    ValueError
        For infinite values, or a present study with ``V <= 0`` (naming its position).
    """
    mask = None
    if not (np.isfinite(y).all() and np.isfinite(v).all()):
        if np.isinf(y).any() or np.isinf(v).any():
            raise ValueError("Y and V must not contain infinite values (use NaN for padding)")
        mask = ~(np.isnan(y) | np.isnan(v))
    positive = v > 0
    bad = ~positive if mask is None else mask & ~positive
    if bad.any():
        row, col = (int(a[0]) for a in np.nonzero(bad))
        raise ValueError(f"V must be > 0; got {v[row, col]} at position ({row}, {col})")
    return mask


def _t_quantiles(df: NDArray[np.int64], upper: float) -> NDArray[np.float64]:
    """``t(upper)`` quantiles per row, each distinct df computed once (df < 1 gives NaN)."""
    table = np.full(int(df.max(initial=0)) + 1, np.nan)
    table[1:] = special.stdtrit(np.arange(1, table.size), upper)
    return table[np.maximum(df, 0)]


def pool_many(
    Y: ArrayLike,
    V: ArrayLike,
    method: str = "DL",
    hksj: bool = False,
    level: float = 0.95,
    *,
    test: str | None = None,
    tol: float = _TOL,
) -> BatchResult:
    """Pool every row of ``Y`` (effects) and ``V`` (variances), shape ``(m, k)``.

    tau^2 comes from :func:`analysis.stats.tau2.estimate` over all rows at once.

    Parameters
    ----------
    Y, V : array_like
        2-D arrays (a 1-D pair is treated as one row). NaN marks an absent study.
    method : {"DL", "FE", "REML", "PM"}
        tau^2 estimator, as :func:`analysis.pool`.
    hksj : bool
        Alias of ``test="knha"``.
    level : float
        Confidence level.
    test : {"z", "knha", "adhoc"}, optional
        As for :func:`analysis.pool`: z test, Knapp-Hartung, or modified Knapp-Hartung (the
        larger of the Knapp-Hartung and the standard SE, t(k - 1)). Rows with one study use z.
    tol : float
        REML convergence threshold (absolute change of tau^2).

    Returns
    -------
    BatchResult
        Arrays equal, row by row, to :func:`analysis.pool` on the non-NaN cells (bit for bit
        for rows without NaN).

    Raises
    ------
    ValueError
        Shape mismatch, infinite values, or a present study with ``V <= 0`` (position given).
    """
    test = resolve_test(test, hksj)
    method = _check_method(method)
    level = check_level(level)
    y = np.atleast_2d(np.asarray(Y, dtype=np.float64))
    v = np.atleast_2d(np.asarray(V, dtype=np.float64))
    if y.shape != v.shape or y.ndim != 2:
        raise ValueError(f"Y and V must be 2-D with the same shape, got {y.shape} and {v.shape}")
    mask = _present(y, v)
    q = tau2_engine.q_statistic(y, v, mask=mask)
    if method == "DL":  # the same estimate as tau2_engine.estimate, from the Q in hand
        tau2 = tau2_engine.dl_from_q(q, v, mask=mask)
    else:
        tau2 = tau2_engine.estimate(y, v, method=method, mask=mask, tol=tol)
    if mask is None:
        k = np.full(y.shape[0], y.shape[1])
    else:
        k = mask.sum(axis=1)
        y = np.where(mask, y, 0.0)
        v = np.where(mask, v, np.inf)  # weight 0
    upper = 1.0 - (1.0 - level) / 2.0
    with np.errstate(invalid="ignore", divide="ignore"):
        w = 1.0 / (v + tau2[:, None])
        sw = np.add.reduce(w, axis=1)
        est = np.vecdot(w, y) / sw
        se = np.sqrt(1.0 / sw)
        z = float(special.ndtri(upper))
        if test != "z":
            r = y - est[:, None]
            s2w = np.vecdot(w * r, r) / (k - 1)
            se_h = se * np.sqrt(np.maximum(s2w, 1.0) if test == "adhoc" else s2w)
            use_t = k >= 2
            se = np.where(use_t, se_h, se)
            crit = np.where(use_t, _t_quantiles(k - 1, upper), z)
            stat = est / se
            p = np.empty_like(stat)
            p[use_t] = 2.0 * special.stdtr(k[use_t] - 1, -np.abs(stat[use_t]))
            p[~use_t] = 2.0 * special.ndtr(-np.abs(stat[~use_t]))
        else:
            crit = z
            stat = est / se
            p = 2.0 * special.ndtr(-np.abs(stat))
        q = np.where(k >= 2, q, np.nan)
        i2 = np.where(q > 0, 100.0 * np.maximum(0.0, (q - (k - 1)) / q), 0.0)
        i2 = np.where(k >= 2, i2, np.nan)
        half = _t_quantiles(k - 2, upper) * np.sqrt(se * se + tau2)
        pi_low = np.where(k >= 3, est - half, np.nan)
        pi_high = np.where(k >= 3, est + half, np.nan)
    return BatchResult(
        estimate=est,
        se=se,
        ci_low=est - crit * se,
        ci_high=est + crit * se,
        stat=stat,
        p=p,
        tau2=tau2,
        i2=i2,
        q=q,
        pi_low=pi_low,
        pi_high=pi_high,
        k=k.astype(np.int64),
        method=method,
        hksj=test != "z",
        test=test,
    )
