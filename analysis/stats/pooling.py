"""Inverse-variance pooling: fixed effect and random effects (DL, REML, PM), Knapp-Hartung.

The model follows metafor's ``rma()`` (validated against metafor 3.8.1, see
``tests/reference``); tau^2 comes from :mod:`analysis.stats.tau2`, which states each estimator:

* ``"FE"``  inverse-variance fixed (common/equal) effect; metafor ``method="EE"``.
* ``"DL"``  DerSimonian-Laird moment estimator of tau^2.
* ``"REML"`` restricted maximum likelihood (metafor's Fisher scoring from the HE estimate;
  Newton steps when converging tightly), to an absolute change of tau^2 <= ``tol`` (1e-12).
* ``"PM"``  Paule-Mandel: the tau^2 at which the generalised Q equals k - 1 (safeguarded Newton).

Given tau^2, the estimate is the weighted mean with weights ``1 / (vi + tau^2)``. Its standard
error and test depend on ``test`` (metafor's argument of the same name):

* ``"z"``     the standard error ``1 / sqrt(sum of the weights)`` and a normal (z) test;
* ``"knha"``  Knapp-Hartung: the standard SE multiplied by ``sqrt(s2w)``, where ``s2w`` is the
  weighted residual sum of squares over ``k - 1``, with a t(k - 1) test. When ``s2w < 1``
  (Q below its degrees of freedom) this SE is *smaller* than the standard one;
* ``"adhoc"`` the modified Knapp-Hartung method (Knapp & Hartung 2003; metafor
  ``test="adhoc"``): the larger of the Knapp-Hartung and the standard SE (``s2w`` truncated
  below at 1), with a t(k - 1) test, so the adjustment never narrows the interval.

``hksj=True`` is an alias of ``test="knha"``. With one study every test is a z test.

Heterogeneity is reported as RevMan and the Cochrane Handbook do:
``i2 = 100 * max(0, (Q - df) / Q)`` from Cochran's Q (fixed-effect weights). ``h2`` is
metafor's H^2 for the chosen method (``Q / df`` for FE, ``(tau2 + s2) / s2`` with the
"typical" within-study variance ``s2`` otherwise), so metafor's tau^2-based I^2 equals
``100 * (1 - 1 / h2)``. The prediction interval is the Cochrane Handbook form
``estimate +/- t(1 - alpha/2, k - 2) * sqrt(se^2 + tau2)`` with the same ``se`` as the
reported confidence interval (NaN for k < 3).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import special

from analysis.stats import tau2 as tau2_engine
from analysis.stats._checks import check_level, check_yi_vi

__all__ = ["METHODS", "TESTS", "PoolResult", "pool", "estimate_tau2", "resolve_test"]

METHODS: tuple[str, ...] = ("FE", "DL", "REML", "PM")
#: Tests for the pooled effect (metafor's ``test``): z, Knapp-Hartung, modified Knapp-Hartung.
TESTS: tuple[str, ...] = ("z", "knha", "adhoc")
_TOL = tau2_engine.DEFAULT_TOL
ONE_STUDY_MESSAGE = "heterogeneity cannot be estimated with one study"


@dataclass(frozen=True)
class PoolResult:
    """Result of a (fixed- or random-effects) meta-analysis.

    Attributes
    ----------
    estimate, se : float
        Pooled effect (on the analysis scale, e.g. log RR) and the standard error used by the
        confidence interval and the test (see ``test``).
    ci_low, ci_high : float
        Confidence interval at ``level``.
    stat, p : float
        Test statistic (z, or t with ``df`` degrees of freedom for ``"knha"``/``"adhoc"``) and
        two-sided p.
    tau2, tau : float
        Between-study variance and its square root (0 for FE).
    i2 : float
        Q-based I^2 in percent, ``100 * max(0, (Q - q_df) / Q)`` (RevMan / Cochrane Handbook).
    h2 : float
        metafor's H^2 for the method used.
    q, q_df, q_p : float, int, float
        Cochran's Q (fixed-effect weights), its degrees of freedom and chi-square p-value.
    pi_low, pi_high : float
        Prediction interval ``estimate +/- t(k-2) * sqrt(se^2 + tau2)`` with the ``se`` above;
        NaN for k < 3.
    k : int
        Number of studies.
    method : str
        ``"FE"``, ``"DL"``, ``"REML"``, ``"PM"`` (or ``"MH"`` / ``"MH-DL"`` from
        :func:`analysis.stats.mantel_haenszel`).
    hksj : bool
        Whether a Knapp-Hartung(-Sidik-Jonkman) adjustment was used (``test`` is ``"knha"`` or
        ``"adhoc"``).
    weights : tuple of float
        Percent weight of each study, in input order.
    level : float
        Confidence level.
    df : float
        Degrees of freedom of the t test (``k - 1``) for ``"knha"``/``"adhoc"``; ``inf`` for
        z tests (and for a single study).
    test : str
        ``"z"``, ``"knha"`` or ``"adhoc"`` (see the module docstring).
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
    test: str = "z"

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
    return tau2_engine.check_method(method, allowed)


def resolve_test(test: str | bool | None = None, hksj: bool = False) -> str:
    """The test to use from ``test`` and its legacy alias ``hksj``.

    Parameters
    ----------
    test : {"z", "knha", "adhoc"} or None
        The test; ``None`` means ``"knha"`` when ``hksj`` is true and ``"z"`` otherwise. A bool
        is read as ``hksj`` (internal callers that still pass one).
    hksj : bool
        Alias of ``test="knha"``.

    Returns
    -------
    str

    Raises
    ------
    ValueError
        For an unknown test, or ``hksj=True`` together with a test other than ``"knha"``.
    """
    if isinstance(test, bool | np.bool_):
        hksj, test = bool(test) or hksj, None
    if test is None:
        return "knha" if hksj else "z"
    key = str(test).strip().lower()
    if key not in TESTS:
        raise ValueError(f"test must be one of {', '.join(TESTS)}; got {test!r}")
    if hksj and key != "knha":
        raise ValueError(f"hksj=True is an alias of test='knha' and conflicts with test={test!r}")
    return key


def knha_se(se_z: float, s2w: float, test: str) -> float:
    """The standard error a test uses, from the standard SE and the Knapp-Hartung factor.

    ``s2w`` is the weighted residual sum of squares over its degrees of freedom; ``"knha"``
    multiplies ``se_z`` by ``sqrt(s2w)``, ``"adhoc"`` by ``sqrt(max(1, s2w))``.
    """
    if test == "knha":
        return se_z * math.sqrt(s2w)
    if test == "adhoc":
        return se_z * math.sqrt(max(1.0, s2w))
    return se_z


def estimate_tau2(
    yi: ArrayLike, vi: ArrayLike, method: str = "REML", *, tol: float = _TOL
) -> float:
    """Estimate the between-study variance tau^2 of an intercept-only model.

    Parameters
    ----------
    yi, vi : array_like
        Effects and sampling variances (validated as for :func:`pool`).
    method : {"REML", "DL", "PM", "FE"}
        Estimator (see :mod:`analysis.stats.tau2`); ``"EE"`` is an alias of ``"FE"``.
    tol : float
        REML convergence threshold on the absolute change of tau^2.

    Returns
    -------
    float
        tau^2; 0 for ``"FE"`` and for a single study.
    """
    y, v = check_yi_vi(yi, vi)
    return tau2_engine.estimate(y, v, method=_check_method(method), tol=tol)


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
    q = tau2_engine.q_statistic(y, v)
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
    test: str | bool,
    level: float,
    *,
    q_stats: tuple[float, int, float, float] | None = None,
) -> PoolResult:
    """Build a :class:`PoolResult` for validated arrays and a given tau^2 (internal helper).

    ``test`` is ``"z"``, ``"knha"`` or ``"adhoc"`` (a bool is read as ``hksj``).
    """
    test = resolve_test(test)
    k = y.size
    w = 1.0 / (v + tau2)
    sw = w.sum()
    est = float((w @ y) / sw)
    se = math.sqrt(1.0 / sw)
    df = math.inf
    if test != "z" and k > 1:
        r = y - est
        se = knha_se(se, float((w * r) @ r) / (k - 1), test)
        df = float(k - 1)
    q, q_df, q_p, i2 = heterogeneity(y, v) if q_stats is None else q_stats
    return summarise(
        est,
        se,
        df,
        tau2,
        level,
        k,
        i2=i2,
        h2=float(_h2(v, tau2, method, q, q_df)),
        q=q,
        q_df=q_df,
        q_p=q_p,
        method=method,
        hksj=test != "z",
        weights=tuple((100.0 * w / sw).tolist()),
        test=test,
    )


def summarise(
    est: float, se: float, df: float, tau2: float, level: float, k: int, **fields: Any
) -> PoolResult:
    """Build a :class:`PoolResult` from a pooled estimate and its standard error.

    Parameters
    ----------
    est, se : float
        Pooled estimate and its standard error.
    df : float
        Degrees of freedom of the t test and CI; ``math.inf`` for z.
    tau2 : float
        Between-study variance (enters the prediction interval).
    level : float
        Confidence level.
    k : int
        Number of studies (the prediction interval needs k >= 3).
    **fields
        The remaining :class:`PoolResult` attributes: ``i2``, ``h2``, ``q``, ``q_df``, ``q_p``,
        ``method``, ``hksj``, ``weights`` and optionally ``test`` (default ``"z"``).

    Returns
    -------
    PoolResult
        With the confidence interval ``est +/- q(df) se`` (q the normal quantile for
        ``df = inf``, else Student's t), the statistic ``est / se`` and its two-sided p-value,
        and the prediction interval ``est +/- t(k - 2) sqrt(se^2 + tau2)`` (NaN for k < 3).
    """
    crit = _crit(level, df)
    stat = est / se if se > 0 else math.copysign(math.inf, est) if est else math.nan
    if k >= 3:
        half = _crit(level, float(k - 2)) * math.sqrt(se * se + tau2)
        pi_low, pi_high = est - half, est + half
    else:
        pi_low = pi_high = math.nan
    return PoolResult(
        estimate=est,
        se=se,
        ci_low=est - crit * se,
        ci_high=est + crit * se,
        stat=float(stat),
        p=_two_sided_p(float(stat), df),
        tau2=float(tau2),
        tau=math.sqrt(tau2),
        pi_low=pi_low,
        pi_high=pi_high,
        k=k,
        level=level,
        df=df,
        **fields,
    )


def pool(
    yi: ArrayLike,
    vi: ArrayLike,
    method: str = "REML",
    hksj: bool = False,
    level: float = 0.95,
    *,
    test: str | None = None,
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
        Alias of ``test="knha"`` (kept for existing callers).
    level : float
        Confidence level for the CI (the prediction interval uses the same level).
    test : {"z", "knha", "adhoc"}, optional
        Standard error and test of the pooled effect (metafor's ``test``): ``"z"`` standard SE
        and z test; ``"knha"`` Knapp-Hartung SE and t(k - 1) test (narrower than the standard
        interval when Q < k - 1); ``"adhoc"`` the larger of the two SEs with a t(k - 1) test
        (modified Knapp-Hartung, never narrower). Default: ``"knha"`` if ``hksj`` else ``"z"``.
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
        studies, an unknown method or test, or ``hksj=True`` with a test other than "knha".

    Warns
    -----
    UserWarning
        With one study: "heterogeneity cannot be estimated with one study"; the result is
        the study itself (tau2 = 0, heterogeneity statistics NaN).
    """
    test = resolve_test(test, hksj)
    y, v = check_yi_vi(yi, vi)
    method = _check_method(method)
    level = check_level(level)
    if y.size == 1:
        warnings.warn(ONE_STUDY_MESSAGE, UserWarning, stacklevel=2)
    return fit(y, v, method, test, level, tol)


def fit(
    y: NDArray[np.float64],
    v: NDArray[np.float64],
    method: str,
    test: str | bool,
    level: float,
    tol: float = _TOL,
) -> PoolResult:
    """Pool already-validated float arrays (no checks, no warnings; internal fast path).

    ``test`` is ``"z"``, ``"knha"`` or ``"adhoc"`` (a bool is read as ``hksj``).
    """
    return assemble(y, v, tau2_engine.estimate(y, v, method=method, tol=tol), method, test, level)
