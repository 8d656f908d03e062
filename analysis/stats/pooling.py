"""Inverse-variance pooling: fixed effect and random effects (DL, REML, PM), Knapp-Hartung.

The estimators follow metafor's ``rma()`` (validated against metafor 3.8.1, see
``tests/reference``):

* ``"FE"``  inverse-variance fixed (common/equal) effect; metafor ``method="EE"``.
* ``"DL"``  DerSimonian-Laird moment estimator of tau^2.
* ``"REML"`` restricted maximum likelihood (metafor's Fisher scoring from the HE estimate;
  Newton steps when converging tightly), to an absolute change of tau^2 <= ``tol`` (1e-12).
* ``"PM"``  Paule-Mandel: the tau^2 at which the generalised Q equals k - 1 (safeguarded Newton).

Heterogeneity is reported as RevMan and the Cochrane Handbook do:
``i2 = 100 * max(0, (Q - df) / Q)`` from Cochran's Q (fixed-effect weights). ``h2`` is
metafor's H^2 for the chosen method (``Q / df`` for FE, ``(tau2 + s2) / s2`` with the
"typical" within-study variance ``s2`` otherwise), so metafor's tau^2-based I^2 equals
``100 * (1 - 1 / h2)``. The prediction interval is the Cochrane Handbook form
``estimate +/- t(1 - alpha/2, k - 2) * sqrt(se^2 + tau2)`` (NaN for k < 3).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import special

from analysis.stats._checks import check_level, check_yi_vi

__all__ = ["METHODS", "PoolResult", "pool", "estimate_tau2"]

METHODS: tuple[str, ...] = ("FE", "DL", "REML", "PM")
_TOL = 1e-12
_MAXITER = 10_000
ONE_STUDY_MESSAGE = "heterogeneity cannot be estimated with one study"


@dataclass(frozen=True)
class PoolResult:
    """Result of a (fixed- or random-effects) meta-analysis.

    Attributes
    ----------
    estimate, se : float
        Pooled effect (on the analysis scale, e.g. log RR) and its standard error
        (the Knapp-Hartung SE when ``hksj`` is true).
    ci_low, ci_high : float
        Confidence interval at ``level``.
    stat, p : float
        Test statistic (z, or t with ``df`` degrees of freedom when ``hksj``) and two-sided p.
    tau2, tau : float
        Between-study variance and its square root (0 for FE).
    i2 : float
        Q-based I^2 in percent, ``100 * max(0, (Q - q_df) / Q)`` (RevMan / Cochrane Handbook).
    h2 : float
        metafor's H^2 for the method used.
    q, q_df, q_p : float, int, float
        Cochran's Q (fixed-effect weights), its degrees of freedom and chi-square p-value.
    pi_low, pi_high : float
        Prediction interval ``estimate +/- t(k-2) * sqrt(se^2 + tau2)``; NaN for k < 3.
    k : int
        Number of studies.
    method : str
        ``"FE"``, ``"DL"``, ``"REML"``, ``"PM"`` (or ``"MH"`` / ``"MH-DL"`` from
        :func:`analysis.stats.mantel_haenszel`).
    hksj : bool
        Whether the Knapp-Hartung(-Sidik-Jonkman) adjustment was used.
    weights : tuple of float
        Percent weight of each study, in input order.
    level : float
        Confidence level.
    df : float
        Degrees of freedom of the t test (``k - 1``) when ``hksj``; ``inf`` for z tests.
    """

    estimate: float
    se: float
    ci_low: float
    ci_high: float
    stat: float
    p: float
    tau2: float
    tau: float
    i2: float
    h2: float
    q: float
    q_df: int
    q_p: float
    pi_low: float
    pi_high: float
    k: int
    method: str
    hksj: bool
    weights: tuple[float, ...]
    level: float = 0.95
    df: float = math.inf

    def to_dict(self) -> dict[str, float | int | str | bool | list[float]]:
        """Return plain Python scalars (JSON-serialisable; NaN possible), weights as a list."""
        out = asdict(self)
        out["weights"] = [float(w) for w in self.weights]
        return out

    def summary_frame(self) -> pd.DataFrame:
        """One-row DataFrame with the scalar results (weights omitted), indexed by method."""
        row = {k: v for k, v in self.to_dict().items() if k != "weights"}
        return pd.DataFrame([row], index=pd.Index([self.method], name="method"))


def _check_method(method: str, allowed: tuple[str, ...] = METHODS) -> str:
    m = str(method).upper()
    if m == "EE":
        m = "FE"
    if m not in allowed:
        raise ValueError(f"method must be one of {allowed}, got {method!r}")
    return m


def _tau2_dl(y: NDArray[np.float64], v: NDArray[np.float64]) -> float:
    w = 1.0 / v
    sw = w.sum()
    mu = (w @ y) / sw
    r = y - mu
    q = (w * r) @ r
    c = sw - (w @ w) / sw
    if c <= 0:
        return 0.0
    return max(0.0, (q - (y.size - 1)) / c)


def _tau2_he(y: NDArray[np.float64], v: NDArray[np.float64]) -> float:
    """Hedges (HE) estimator, metafor's starting value for REML."""
    k = y.size
    r = y - y.mean()
    return max(0.0, float(r @ r) / (k - 1) - float(v.mean()))


def _tau2_reml(y: NDArray[np.float64], v: NDArray[np.float64], tol: float = _TOL) -> float:
    """REML by Fisher scoring exactly as metafor's ``rma.uni``.

    Starts at the HE estimate, halves a step that would make tau^2 negative, and stops once
    the absolute change of tau^2 is ``<= tol`` (metafor's ``threshold``; its default is 1e-5).
    With a tight ``tol`` (< 1e-5) the steps are Newton-Raphson (observed information) wherever
    the restricted log-likelihood is locally concave, Fisher scoring elsewhere: the same root,
    reached quadratically. With ``tol >= 1e-5`` the path is exactly metafor's Fisher scoring,
    so ``tol=1e-5`` reproduces metafor's default ``control``.
    """
    t = _tau2_he(y, v)
    newton = tol < 1e-5
    for _ in range(_MAXITER):
        w = 1.0 / (v + t)
        sw = w.sum()
        wr = w * (y - (w @ y) / sw)  # P y
        w2 = w * w
        sw2 = w2.sum()
        tr_p = sw - sw2 / sw
        tr_pp = sw2 - 2.0 * (w2 @ w) / sw + (sw2 / sw) ** 2
        score2 = float(wr @ wr - tr_p)  # twice the REML score
        adj = score2 / tr_pp  # Fisher scoring step (metafor)
        if newton:
            wwr = w * wr
            ypppy = float(wwr @ wr) - float(wwr.sum()) ** 2 / sw
            curv = 2.0 * ypppy - tr_pp  # minus twice the observed information
            if curv > 0:
                adj = score2 / curv
        if t + adj < 0.0:
            if t == 0.0:
                adj = 0.0
            while t + adj < 0.0:
                adj /= 2.0
        t += adj
        if abs(adj) <= tol or abs(adj) <= 1e-15 * t:
            return t
    warnings.warn("REML did not converge; returning the last iterate", RuntimeWarning, stacklevel=3)
    return t


def _gen_q(y: NDArray[np.float64], v: NDArray[np.float64], t: float) -> tuple[float, float]:
    """Generalised Q at tau^2 = t and its derivative with respect to t."""
    w = 1.0 / (v + t)
    r = y - (w @ y) / w.sum()
    wr = w * r
    return float(wr @ r), -float(wr @ wr)


def _tau2_pm(y: NDArray[np.float64], v: NDArray[np.float64]) -> float:
    """Paule-Mandel: root of Q(tau^2) = k - 1 by bracketed Newton."""
    target = y.size - 1
    f0, d0 = _gen_q(y, v, 0.0)
    if f0 <= target:
        return 0.0
    lo, hi = 0.0, math.inf
    t, f, d = 0.0, f0 - target, d0
    for _ in range(_MAXITER):
        new = t - f / d if d < 0 else math.inf
        if not lo <= new <= hi or not math.isfinite(new):
            new = (lo + hi) / 2.0 if math.isfinite(hi) else 2.0 * max(t, 1.0)
        if abs(new - t) < _TOL * max(1.0, new):
            return new
        t = new
        fq, d = _gen_q(y, v, t)
        f = fq - target
        if f > 0:
            lo = t
        else:
            hi = t
    warnings.warn("Paule-Mandel did not converge", RuntimeWarning, stacklevel=3)
    return t


def estimate_tau2(
    yi: ArrayLike, vi: ArrayLike, method: str = "REML", *, tol: float = _TOL
) -> float:
    """Estimate the between-study variance tau^2 (0 for ``"FE"`` and for k = 1)."""
    y, v = check_yi_vi(yi, vi)
    return _estimate_tau2(y, v, _check_method(method), tol)


def _estimate_tau2(
    y: NDArray[np.float64], v: NDArray[np.float64], method: str, tol: float = _TOL
) -> float:
    if method == "FE" or y.size < 2:
        return 0.0
    if method == "DL":
        return _tau2_dl(y, v)
    if method == "REML":
        return _tau2_reml(y, v, tol)
    return _tau2_pm(y, v)


def _crit(level: float, df: float) -> float:
    upper = 1.0 - (1.0 - level) / 2.0
    return float(special.ndtri(upper)) if math.isinf(df) else float(special.stdtrit(df, upper))


def _two_sided_p(stat: float, df: float) -> float:
    if math.isinf(df):
        return float(2.0 * special.ndtr(-abs(stat)))
    return float(2.0 * special.stdtr(df, -abs(stat)))


def heterogeneity(
    y: NDArray[np.float64], v: NDArray[np.float64]
) -> tuple[float, int, float, float]:
    """Cochran's Q with fixed-effect weights: (q, df, p, Q-based I^2 in percent)."""
    k = y.size
    if k < 2:
        return math.nan, 0, math.nan, math.nan
    w = 1.0 / v
    r = y - (w @ y) / w.sum()
    q = float((w * r) @ r)
    df = k - 1
    q_p = float(special.chdtrc(df, q))
    i2 = 100.0 * max(0.0, (q - df) / q) if q > 0 else 0.0
    return q, df, q_p, i2


def _h2(v: NDArray[np.float64], tau2: float, method: str, q: float, q_df: int) -> float:
    if v.size < 2:
        return math.nan
    if method == "FE":
        return q / q_df
    w = 1.0 / v
    sw = w.sum()
    s2 = q_df * sw / (sw * sw - (w @ w))
    return (tau2 + s2) / s2


def assemble(
    y: NDArray[np.float64],
    v: NDArray[np.float64],
    tau2: float,
    method: str,
    hksj: bool,
    level: float,
    *,
    q_stats: tuple[float, int, float, float] | None = None,
) -> PoolResult:
    """Build a :class:`PoolResult` for validated arrays and a given tau^2 (internal helper)."""
    k = y.size
    w = 1.0 / (v + tau2)
    sw = w.sum()
    est = float((w @ y) / sw)
    se = math.sqrt(1.0 / sw)
    df = math.inf
    if hksj and k > 1:
        r = y - est
        se = math.sqrt(float((w * r) @ r) / (k - 1) / sw)
        df = float(k - 1)
    crit = _crit(level, df)
    stat = est / se if se > 0 else math.copysign(math.inf, est) if est else math.nan
    q, q_df, q_p, i2 = heterogeneity(y, v) if q_stats is None else q_stats
    h2 = _h2(v, tau2, method, q, q_df)
    if k >= 3:
        half = _crit(level, float(k - 2)) * math.sqrt(se * se + tau2)
        pi_low, pi_high = est - half, est + half
    else:
        pi_low = pi_high = math.nan
    weights = tuple((100.0 * w / sw).tolist())
    return PoolResult(
        estimate=est,
        se=se,
        ci_low=est - crit * se,
        ci_high=est + crit * se,
        stat=float(stat),
        p=_two_sided_p(float(stat), df),
        tau2=float(tau2),
        tau=math.sqrt(tau2),
        i2=i2,
        h2=float(h2),
        q=q,
        q_df=q_df,
        q_p=q_p,
        pi_low=pi_low,
        pi_high=pi_high,
        k=k,
        method=method,
        hksj=bool(hksj),
        weights=weights,
        level=level,
        df=df,
    )


def pool(
    yi: ArrayLike,
    vi: ArrayLike,
    method: str = "REML",
    hksj: bool = False,
    level: float = 0.95,
    *,
    tol: float = _TOL,
) -> PoolResult:
    """Pool effect sizes by inverse-variance weighting.

    Parameters
    ----------
    yi : array_like
        Study effect sizes (on an additive scale, e.g. log RR, SMD).
    vi : array_like
        Sampling variances, all finite and > 0.
    method : {"REML", "DL", "PM", "FE"}
        tau^2 estimator; ``"FE"`` (alias ``"EE"``) is the fixed-effect model.
    hksj : bool
        Knapp-Hartung(-Sidik-Jonkman) standard error and t(k - 1) test (metafor
        ``test="knha"``, without the ad hoc truncation).
    level : float
        Confidence level for the CI (the prediction interval uses the same level).
    tol : float
        REML convergence threshold on the absolute change of tau^2 (default 1e-12, as the
        reference values; ``tol=1e-5`` reproduces metafor's default ``control``).

    Returns
    -------
    PoolResult

    Raises
    ------
    ValueError
        For non-finite inputs, ``vi <= 0`` (naming the position), mismatched lengths, no
        studies or an unknown method.

    Warns
    -----
    UserWarning
        With one study: "heterogeneity cannot be estimated with one study"; the result is
        the study itself (tau2 = 0, heterogeneity statistics NaN).
    """
    y, v = check_yi_vi(yi, vi)
    method = _check_method(method)
    level = check_level(level)
    if y.size == 1:
        warnings.warn(ONE_STUDY_MESSAGE, UserWarning, stacklevel=2)
    return fit(y, v, method, hksj, level, tol)


def fit(
    y: NDArray[np.float64],
    v: NDArray[np.float64],
    method: str,
    hksj: bool,
    level: float,
    tol: float = _TOL,
) -> PoolResult:
    """Pool already-validated float arrays (no checks, no warnings; internal fast path)."""
    return assemble(y, v, _estimate_tau2(y, v, method, tol), method, hksj, level)
