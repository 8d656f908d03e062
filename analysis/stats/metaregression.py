"""Mixed-effects meta-regression (metafor ``rma(yi, vi, mods = ~ X, method=...)``).

The residual tau^2 comes from :mod:`analysis.stats.tau2` with the design ``[1, X]``:
``"DL"`` the method of moments ``max(0, (Q_E - (k - p)) / tr(P))``, ``"REML"`` metafor's Fisher
scoring (Newton steps when converging tightly), ``"PM"`` the root of the generalised residual
Q = k - p, ``"FE"`` tau^2 = 0; here ``P = W - W X (X'WX)^-1 X'W``. Coefficients are weighted
least squares with ``W = 1/(vi + tau^2)``; tests are z (``test="z"``) or t with ``k - p`` df with
the covariance scaled by ``s2w`` = weighted residual sum of squares over ``k - p``
(``test="knha"``, Knapp-Hartung) or by ``max(1, s2w)`` (``test="adhoc"``, modified
Knapp-Hartung, as metafor). ``QM`` is the omnibus Wald test of the moderators (chi-square with
``p - 1`` df, or ``F`` with ``(p - 1, k - p)`` df for the Knapp-Hartung tests). ``QE`` is the
test for residual heterogeneity (``y'P y`` at tau^2 = 0, chi-square with ``k - p`` df). ``r2`` is
metafor's pseudo-R^2, ``max(0, 100 (tau2_null - tau2) / tau2_null)``, with ``tau2_null`` from the
intercept-only model.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import special

from analysis.stats import tau2 as tau2_engine
from analysis.stats._checks import check_level, check_yi_vi
from analysis.stats.pooling import _TOL, _check_method, _crit, resolve_test

__all__ = ["MetaRegressionResult", "meta_regression"]


@dataclass(frozen=True)
class MetaRegressionResult:
    """Meta-regression result; coefficient arrays are intercept first.

    Attributes
    ----------
    coefficients, se, stat, p, ci_low, ci_high : tuple of float
        Estimates, standard errors, z (or t) statistics, p-values and CI bounds.
    names : tuple of str
        Coefficient names (``"intercept"``, then ``"x1"``, ``"x2"``, ... or given names).
    tau2 : float
        Residual between-study variance.
    r2 : float
        Pseudo-R^2 in percent (NaN when the intercept-only tau^2 is 0).
    qm, qm_p, qm_df : float, float, int
        Omnibus test of moderators (chi-square; F statistic when ``hksj``).
    qe, qe_p : float
        Test for residual heterogeneity (fixed-effect weights, ``k - p`` df).
    k : int
        Number of studies. ``method`` as given; ``test`` the test used (``hksj`` is true for
        ``"knha"`` and ``"adhoc"``).
    """

    coefficients: tuple[float, ...]
    se: tuple[float, ...]
    stat: tuple[float, ...]
    p: tuple[float, ...]
    ci_low: tuple[float, ...]
    ci_high: tuple[float, ...]
    names: tuple[str, ...]
    tau2: float
    r2: float
    qm: float
    qm_p: float
    qm_df: int
    qe: float
    qe_p: float
    k: int
    method: str
    hksj: bool
    test: str = "z"

    def to_dict(self) -> dict[str, object]:
        """Plain Python (lists for the coefficient tables)."""
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()}

    def summary_frame(self) -> pd.DataFrame:
        """Coefficient table indexed by coefficient name."""
        return pd.DataFrame(
            {
                "estimate": self.coefficients,
                "se": self.se,
                "stat": self.stat,
                "p": self.p,
                "ci_low": self.ci_low,
                "ci_high": self.ci_high,
            },
            index=pd.Index(self.names, name="term"),
        )


def _design(x: ArrayLike, k: int) -> NDArray[np.float64]:
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[0] != k:
        raise ValueError(f"X must have {k} rows (one per study), got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError("X contains non-finite values")
    design = np.column_stack([np.ones(k), arr])
    if np.linalg.matrix_rank(design) < design.shape[1]:
        raise ValueError("the design matrix (intercept + X) is rank deficient")
    if k <= design.shape[1]:
        raise ValueError(f"need more studies (k={k}) than coefficients ({design.shape[1]})")
    return design


def meta_regression(
    yi: ArrayLike,
    vi: ArrayLike,
    X: ArrayLike,
    method: str = "REML",
    hksj: bool = False,
    level: float = 0.95,
    names: list[str] | None = None,
    *,
    test: str | None = None,
    tol: float = _TOL,
) -> MetaRegressionResult:
    """Meta-regression of effect sizes on study-level moderators.

    Parameters
    ----------
    yi, vi : array_like
        Effects and sampling variances (``vi > 0``).
    X : array_like
        Moderators, shape (k,) or (k, m); an intercept is added.
    method : {"REML", "DL", "PM", "FE"}
        Residual tau^2 estimator.
    hksj : bool
        Alias of ``test="knha"``.
    level : float
        Confidence level.
    names : list of str, optional
        Moderator names (default ``x1``, ``x2``, ...).
    test : {"z", "knha", "adhoc"}, optional
        z tests; Knapp-Hartung (t and F tests with ``k - p`` df); or modified Knapp-Hartung
        (the same with the scaling factor truncated below at 1). Default ``"knha"`` if
        ``hksj`` else ``"z"``.
    tol : float
        REML convergence threshold (absolute change of tau^2). The default 1e-12 converges
        fully; ``tol=1e-5`` reproduces metafor's default ``control`` (threshold 1e-5).

    Returns
    -------
    MetaRegressionResult
    """
    test = resolve_test(test, hksj)
    y, v = check_yi_vi(yi, vi)
    method = _check_method(method)
    level = check_level(level)
    x = _design(X, y.size)
    k, p = x.shape
    tau2 = tau2_engine.estimate(y, v, x, method, tol=tol)
    w = 1.0 / (v + tau2)
    xw = x * w[:, None]
    vb = np.linalg.inv(x.T @ xw)
    beta = vb @ (xw.T @ y)
    df = math.inf
    if test != "z":
        resid = y - x @ beta
        s2w = float((w * resid) @ resid) / (k - p)
        vb = vb * (max(1.0, s2w) if test == "adhoc" else s2w)
        df = float(k - p)
    se = np.sqrt(np.diag(vb))
    stat = beta / se
    if math.isinf(df):
        pval = 2.0 * special.ndtr(-np.abs(stat))
    else:
        pval = 2.0 * special.stdtr(df, -np.abs(stat))
    crit = _crit(level, df)
    b1 = beta[1:]
    qm = float(b1 @ np.linalg.solve(vb[1:, 1:], b1))
    m = p - 1
    if test != "z":
        qm = qm / m
        qm_p = float(special.fdtrc(m, k - p, qm))
    else:
        qm_p = float(special.chdtrc(m, qm))
    qe = tau2_engine.q_statistic(y, v, x)
    qe_p = float(special.chdtrc(k - p, qe))
    tau2_null = tau2_engine.estimate(y, v, None, method, tol=tol)
    r2 = max(0.0, 100.0 * (tau2_null - tau2) / tau2_null) if tau2_null > 0 else math.nan
    labels = list(names) if names is not None else [f"x{i + 1}" for i in range(m)]
    if len(labels) != m:
        raise ValueError(f"names must have {m} entries")

    def tup(a: NDArray[np.float64]) -> tuple[float, ...]:
        return tuple(float(e) for e in a)

    return MetaRegressionResult(
        coefficients=tup(beta),
        se=tup(se),
        stat=tup(stat),
        p=tup(pval),
        ci_low=tup(beta - crit * se),
        ci_high=tup(beta + crit * se),
        names=("intercept", *labels),
        tau2=float(tau2),
        r2=r2,
        qm=qm,
        qm_p=qm_p,
        qm_df=m,
        qe=qe,
        qe_p=qe_p,
        k=k,
        method=method,
        hksj=test != "z",
        test=test,
    )
