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

from analysis.stats._checks import check_level
from analysis.stats.pooling import _TOL, _check_method

__all__ = ["BatchResult", "pool_many"]

_MAXITER = 10_000


@dataclass(frozen=True)
class BatchResult:
    """Per-row pooled results (arrays of length m, read-only).

    Attributes: estimate, se, ci_low, ci_high, stat, p, tau2, i2 (Q-based, percent), q,
    pi_low, pi_high (t(k-2), NaN for k < 3), k (int). ``method`` and ``hksj`` as given.
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
                if f.name not in ("method", "hksj")
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


def _weighted_mean(y: NDArray[np.float64], w: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.einsum("ij,ij->i", w, y) / w.sum(axis=1)


def _tau2_dl(y, v_inv, k):  # noqa: ANN001, ANN202 - internal
    w = v_inv
    sw = w.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mu = np.einsum("ij,ij->i", w, y) / sw
        r = y - mu[:, None]
        q = np.einsum("ij,ij->i", w * r, r)
        c = sw - np.einsum("ij,ij->i", w, w) / sw
        t = np.where(c > 0, (q - (k - 1)) / c, 0.0)
    return np.maximum(t, 0.0), q


def _tau2_reml(y, v, mask, k, tol):  # noqa: ANN001, ANN202 - internal
    kk = np.maximum(k, 2)
    ybar = np.where(mask, y, 0.0).sum(axis=1) / np.maximum(k, 1)
    r = np.where(mask, y - ybar[:, None], 0.0)
    vbar = np.where(mask, v, 0.0).sum(axis=1) / np.maximum(k, 1)
    t = np.maximum(0.0, np.einsum("ij,ij->i", r, r) / (kk - 1) - vbar)
    t[k < 2] = 0.0
    active = k >= 2
    for _ in range(_MAXITER):
        if not active.any():
            break
        idx = np.flatnonzero(active)
        ta = t[idx]
        w = np.where(mask[idx], 1.0 / (v[idx] + ta[:, None]), 0.0)
        sw = w.sum(axis=1)
        mu = np.einsum("ij,ij->i", w, y[idx]) / sw
        wr = w * (y[idx] - mu[:, None])
        w2 = w * w
        sw2 = w2.sum(axis=1)
        tr_p = sw - sw2 / sw
        tr_pp = sw2 - 2.0 * np.einsum("ij,ij->i", w2, w) / sw + (sw2 / sw) ** 2
        adj = (np.einsum("ij,ij->i", wr, wr) - tr_p) / tr_pp
        neg = ta + adj < 0
        adj[neg & (ta == 0)] = 0.0
        while True:
            neg = ta + adj < 0
            if not neg.any():
                break
            adj[neg] /= 2.0
        ta = ta + adj
        t[idx] = ta
        done = (np.abs(adj) <= tol) | (np.abs(adj) <= 1e-15 * ta)
        active[idx[done]] = False
    return t


def _tau2_pm(y, v, mask, k, tol):  # noqa: ANN001, ANN202 - internal
    target = (k - 1).astype(float)
    t = np.zeros(y.shape[0])
    lo = np.zeros_like(t)
    hi = np.full_like(t, np.inf)

    def gq(tt, idx):  # noqa: ANN001, ANN202
        w = np.where(mask[idx], 1.0 / (v[idx] + tt[:, None]), 0.0)
        mu = np.einsum("ij,ij->i", w, y[idx]) / w.sum(axis=1)
        wr = w * np.where(mask[idx], y[idx] - mu[:, None], 0.0)
        r = np.where(mask[idx], y[idx] - mu[:, None], 0.0)
        return np.einsum("ij,ij->i", wr, r) - target[idx], -np.einsum("ij,ij->i", wr, wr)

    idx_all = np.flatnonzero(k >= 2)
    f, d = gq(t[idx_all], idx_all)
    active = np.zeros(t.size, dtype=bool)
    active[idx_all[f > 0]] = True
    fv = np.zeros_like(t)
    dv = np.zeros_like(t)
    fv[idx_all], dv[idx_all] = f, d
    for _ in range(_MAXITER):
        if not active.any():
            break
        idx = np.flatnonzero(active)
        ta = t[idx]
        with np.errstate(divide="ignore", invalid="ignore"):
            new = np.where(dv[idx] < 0, ta - fv[idx] / dv[idx], np.inf)
        bad = ~((lo[idx] <= new) & (new <= hi[idx]) & np.isfinite(new))
        mid = np.where(np.isfinite(hi[idx]), (lo[idx] + hi[idx]) / 2.0, 2.0 * np.maximum(ta, 1.0))
        new = np.where(bad, mid, new)
        done = np.abs(new - ta) < tol * np.maximum(1.0, new)
        t[idx] = new
        active[idx[done]] = False
        idx = idx[~done]
        if idx.size == 0:
            break
        f, d = gq(t[idx], idx)
        fv[idx], dv[idx] = f, d
        pos = f > 0
        lo[idx[pos]] = t[idx[pos]]
        hi[idx[~pos]] = t[idx[~pos]]
    return t


def pool_many(
    Y: ArrayLike,
    V: ArrayLike,
    method: str = "DL",
    hksj: bool = False,
    level: float = 0.95,
    *,
    tol: float = _TOL,
) -> BatchResult:
    """Pool every row of ``Y`` (effects) and ``V`` (variances), shape ``(m, k)``.

    Parameters
    ----------
    Y, V : array_like
        2-D arrays (a 1-D pair is treated as one row). NaN marks an absent study.
    method : {"DL", "FE", "REML", "PM"}
        tau^2 estimator, as :func:`analysis.pool`.
    hksj : bool
        Knapp-Hartung SE and t(k - 1) test.
    level : float
        Confidence level.
    tol : float
        REML convergence threshold (absolute change of tau^2).

    Returns
    -------
    BatchResult
        Arrays equal, row by row, to :func:`analysis.pool` on the non-NaN cells.

    Raises
    ------
    ValueError
        Shape mismatch, infinite values, or a present study with ``V <= 0`` (position given).
    """
    method = _check_method(method)
    level = check_level(level)
    y = np.atleast_2d(np.asarray(Y, dtype=np.float64))
    v = np.atleast_2d(np.asarray(V, dtype=np.float64))
    if y.shape != v.shape or y.ndim != 2:
        raise ValueError(f"Y and V must be 2-D with the same shape, got {y.shape} and {v.shape}")
    if np.isinf(y).any() or np.isinf(v).any():
        raise ValueError("Y and V must not contain infinite values (use NaN for padding)")
    mask = ~(np.isnan(y) | np.isnan(v))
    bad = mask & ~(v > 0)
    if bad.any():
        row, col = (int(a[0]) for a in np.nonzero(bad))
        raise ValueError(f"V must be > 0; got {v[row, col]} at position ({row}, {col})")
    y = np.where(mask, y, 0.0)
    v = np.where(mask, v, 1.0)
    k = mask.sum(axis=1)
    w_fe = np.where(mask, 1.0 / v, 0.0)
    tau2_dl, q = _tau2_dl(y, w_fe, k)
    if method == "FE":
        tau2 = np.zeros(k.size)
    elif method == "DL":
        tau2 = tau2_dl
    elif method == "REML":
        tau2 = _tau2_reml(y, v, mask, k, tol)
    else:
        tau2 = _tau2_pm(y, v, mask, k, tol)
    tau2 = np.where(k >= 2, tau2, 0.0)
    w = np.where(mask, 1.0 / (v + tau2[:, None]), 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        sw = w.sum(axis=1)
        est = np.einsum("ij,ij->i", w, y) / sw
        se = np.sqrt(1.0 / sw)
        upper = 1.0 - (1.0 - level) / 2.0
        if hksj:
            r = np.where(mask, y - est[:, None], 0.0)
            s2 = np.einsum("ij,ij->i", w * r, r) / (k - 1)
            se_h = np.sqrt(s2 / sw)
            use_t = k >= 2
            se = np.where(use_t, se_h, se)
            crit = np.where(
                use_t, special.stdtrit(np.maximum(k - 1, 1), upper), special.ndtri(upper)
            )
            stat = est / se
            p = np.where(
                use_t,
                2.0 * special.stdtr(np.maximum(k - 1, 1), -np.abs(stat)),
                2.0 * special.ndtr(-np.abs(stat)),
            )
        else:
            crit = special.ndtri(upper)
            stat = est / se
            p = 2.0 * special.ndtr(-np.abs(stat))
        q = np.where(k >= 2, q, np.nan)
        i2 = np.where(q > 0, 100.0 * np.maximum(0.0, (q - (k - 1)) / q), 0.0)
        i2 = np.where(k >= 2, i2, np.nan)
        half = special.stdtrit(np.maximum(k - 2, 1), upper) * np.sqrt(se * se + tau2)
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
        hksj=bool(hksj),
    )
