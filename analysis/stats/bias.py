"""Small-study effects: Egger's regression test and Duval & Tweedie's trim-and-fill.

``egger_test`` is the classic Egger test in metafor's ``regtest(model="lm", predictor="sei")``
form: weighted least squares of ``yi`` on ``sei`` with weights ``1 / vi`` and a multiplicative
dispersion. The slope on ``sei`` equals the intercept of Egger's original regression of
``yi / sei`` on ``1 / sei`` (the "bias"); the intercept is the limit estimate as ``sei -> 0``.
The test is a t with ``k - 2`` df.

``trim_and_fill`` follows metafor's ``trimfill()`` with the L0 estimator. The side on which
studies are missing is chosen by the data as metafor does: fit ``rma(yi, vi, mods = ~ sqrt(vi))``
with the same tau^2 method; if the slope on the standard error is negative the missing studies
are imputed on the ``"right"``, otherwise on the ``"left"``. The studies are then trimmed
iteratively (ranks of ``|y_i - mu|``, ties by order), and the ``k0`` most extreme studies are
mirrored about the trimmed estimate (``2 mu - y_i``, same variance) and the filled data pooled.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import special

from analysis.stats import tau2 as tau2_engine
from analysis.stats._checks import check_level, check_yi_vi
from analysis.stats.pooling import _TOL, PoolResult, _check_method, fit, resolve_test

__all__ = ["EggerResult", "TrimFillResult", "egger_test", "trim_and_fill"]


@dataclass(frozen=True)
class EggerResult:
    """Egger's regression test.

    Attributes
    ----------
    bias : float
        Slope on the standard error (= Egger's intercept).
    limit_estimate : float
        Intercept: the predicted effect of an infinitely precise study.
    se : float
        Standard error of ``bias``.
    limit_se : float
        Standard error of ``limit_estimate``.
    stat, df, p : float, int, float
        t statistic for ``bias``, its degrees of freedom (k - 2) and two-sided p-value.
    k : int
        Number of studies.
    """

    bias: float
    limit_estimate: float
    se: float
    limit_se: float
    stat: float
    df: int
    p: float
    k: int

    def to_dict(self) -> dict[str, float | int]:
        """Plain Python scalars."""
        return dict(self.__dict__)

    def summary_frame(self) -> pd.DataFrame:
        """One-row DataFrame."""
        return pd.DataFrame([self.to_dict()], index=pd.Index(["egger"], name="test"))


@dataclass(frozen=True)
class TrimFillResult:
    """Trim-and-fill result.

    Attributes
    ----------
    k0 : int
        Estimated number of missing studies.
    side : str
        ``"left"`` or ``"right"``: where the missing studies were imputed.
    filled : PoolResult
        Pooled result of the observed plus imputed studies (``estimate``, ``se``, ``ci_low``,
        ``ci_high``, ``tau2``, ...).
    yi, vi : numpy.ndarray
        Observed then imputed effects and variances (read-only).
    imputed : numpy.ndarray of bool
        True for the imputed studies.
    """

    k0: int
    side: str
    filled: PoolResult
    yi: NDArray[np.float64]
    vi: NDArray[np.float64]
    imputed: NDArray[np.bool_]

    def __post_init__(self) -> None:
        for name in ("yi", "vi", "imputed"):
            getattr(self, name).setflags(write=False)

    @property
    def estimate(self) -> float:
        """Pooled estimate of the filled data."""
        return self.filled.estimate

    def to_dict(self) -> dict[str, object]:
        """Plain Python representation."""
        return {
            "k0": self.k0,
            "side": self.side,
            "filled": self.filled.to_dict(),
            "yi": self.yi.tolist(),
            "vi": self.vi.tolist(),
            "imputed": self.imputed.tolist(),
        }

    def summary_frame(self) -> pd.DataFrame:
        """The filled result's summary with k0 and side."""
        frame = self.filled.summary_frame()
        frame.insert(0, "side", self.side)
        frame.insert(0, "k0", self.k0)
        return frame


def egger_test(yi: ArrayLike, vi: ArrayLike) -> EggerResult:
    """Egger's regression test for funnel-plot asymmetry (needs k >= 3).

    Parameters
    ----------
    yi, vi : array_like
        Effects and sampling variances.

    Returns
    -------
    EggerResult
    """
    y, v = check_yi_vi(yi, vi)
    k = y.size
    if k < 3:
        raise ValueError("Egger's test needs at least three studies")
    sei = np.sqrt(v)
    x = np.column_stack([np.ones(k), sei])
    w = 1.0 / v
    xw = x * w[:, None]
    xtwx_inv = np.linalg.inv(x.T @ xw)
    beta = xtwx_inv @ (xw.T @ y)
    resid = y - x @ beta
    df = k - 2
    sigma2 = float((w * resid) @ resid) / df
    cov = sigma2 * xtwx_inv
    se = math.sqrt(cov[1, 1])
    stat = float(beta[1] / se)
    return EggerResult(
        bias=float(beta[1]),
        limit_estimate=float(beta[0]),
        se=se,
        limit_se=math.sqrt(cov[0, 0]),
        stat=stat,
        df=df,
        p=float(2.0 * special.stdtr(df, -abs(stat))),
        k=k,
    )


def _choose_side(y: NDArray[np.float64], v: NDArray[np.float64], method: str, tol: float) -> str:
    x = np.column_stack([np.ones(y.size), np.sqrt(v)])
    tau2 = tau2_engine.estimate(y, v, x, method, tol=tol)
    w = 1.0 / (v + tau2)
    xw = x * w[:, None]
    slope = np.linalg.solve(x.T @ xw, xw.T @ y)[1]
    return "right" if slope < 0 else "left"


def trim_and_fill(
    yi: ArrayLike,
    vi: ArrayLike,
    method: str = "REML",
    side: str | None = None,
    hksj: bool = False,
    level: float = 0.95,
    *,
    maxiter: int = 100,
    test: str | None = None,
    tol: float = _TOL,
) -> TrimFillResult:
    """Duval & Tweedie trim-and-fill with the L0 estimator (metafor ``trimfill``).

    Parameters
    ----------
    yi, vi : array_like
        Effects and sampling variances (k >= 3).
    method : {"REML", "DL", "PM", "FE"}
        tau^2 estimator for the trimmed and filled models and for choosing the side.
    side : {"left", "right"}, optional
        Side of the funnel on which studies are missing; chosen from the data if None.
    hksj, level, test, tol
        As for :func:`analysis.pool` (``tol=1e-5`` reproduces metafor's default control); the
        test applies to the filled model.
    maxiter : int
        Maximum trimming iterations.

    Returns
    -------
    TrimFillResult
    """
    y0, v0 = check_yi_vi(yi, vi)
    method = _check_method(method)
    level = check_level(level)
    k = y0.size
    if k < 3:
        raise ValueError("trim-and-fill needs at least three studies")
    if side is None:
        side = _choose_side(y0, v0, method, tol)
    elif side not in ("left", "right"):
        raise ValueError("side must be 'left', 'right' or None")
    sign = -1.0 if side == "right" else 1.0
    order = np.argsort(sign * y0, kind="stable")
    y = sign * y0[order]
    v = v0[order]
    k0, prev, beta = 0, -1, 0.0
    for _ in range(maxiter):
        if k0 == prev:
            break
        prev = k0
        yt, vt = y[: k - k0], v[: k - k0]
        tau2 = tau2_engine.estimate(yt, vt, method=method, tol=tol)
        w = 1.0 / (vt + tau2)
        beta = float((w @ yt) / w.sum())
        centred = y - beta
        ranks = np.empty(k)
        ranks[np.argsort(np.abs(centred), kind="stable")] = np.arange(1, k + 1)
        s_r = float(ranks[centred > 0].sum())
        k0 = int(np.round(max(0.0, (4.0 * s_r - k * (k + 1)) / (2 * k - 1))))
        k0 = min(k0, k - 1)
    else:
        warnings.warn("trim-and-fill did not converge", RuntimeWarning, stacklevel=2)
    if k0 > 0:
        fill = sign * (2.0 * beta - y[k - k0 :])
        yf = np.concatenate([y0, fill])
        vf = np.concatenate([v0, v[k - k0 :]])
    else:
        yf, vf = y0.copy(), v0.copy()
    imputed = np.arange(yf.size) >= k
    filled = fit(yf, vf, method, resolve_test(test, hksj), level, tol)
    return TrimFillResult(int(k0), side, filled, yf, vf, imputed)
