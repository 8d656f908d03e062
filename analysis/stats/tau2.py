"""Between-study variance (tau^2): one engine for every model in the package.

All estimators work on a design matrix with an optional batch axis, in the manner of PyMARE's
estimators: effects ``y`` and sampling variances ``v`` of shape ``(k,)`` (one meta-analysis) or
``(m, k)`` (``m`` meta-analyses fitted at once), a design ``X`` of shape ``(k, p)`` or
``(m, k, p)`` or ``None`` for the intercept-only model, and an optional boolean ``mask`` of the
shape of ``y`` that marks the studies present in each row (rows of a batch may have different
numbers of studies; absent cells may hold NaN).

Notation, per row: ``k`` studies present, ``p`` columns of ``X`` (``p = 1`` without a design),
``V = diag(v)``, weights ``W = diag(1 / (v + tau2))``,
``P = W - W X (X'W X)^-1 X'W`` and the generalised Q statistic ``Q(tau2) = y'P y`` (the weighted
residual sum of squares; with ``tau2 = 0`` it is Cochran's Q, or ``Q_E`` with moderators).
A row with ``k - p < 1`` gets tau^2 = 0 from every estimator.

Estimators (``method``):

``"FE"``
    tau^2 = 0 (fixed/equal effects; ``"EE"`` is accepted as an alias).
``"DL"``
    DerSimonian-Laird method of moments on the residuals, with ``W = V^-1``:
    ``max(0, (Q_E - (k - p)) / tr(P))``, and 0 when ``tr(P) <= 0``. Without a design,
    ``tr(P) = sum(w) - sum(w^2) / sum(w)``.
``"HE"``
    Hedges' (unweighted) method of moments, metafor's starting value for REML:
    ``max(0, (y'H y - tr(H V)) / (k - p))`` with the ordinary least-squares residual maker
    ``H = I - X (X'X)^-1 X'``; without a design
    ``max(0, sum((y - mean(y))^2) / (k - 1) - mean(v))``.
``"REML"``
    Restricted maximum likelihood by metafor's Fisher scoring: start at the HE estimate and
    repeat ``tau2 <- tau2 + delta`` with ``delta = (y'P P y - tr(P)) / tr(P P)``. A step that
    would make tau^2 negative is set to 0 when tau^2 is already 0 and otherwise halved until
    ``tau2 + delta >= 0``. Iteration stops when ``|delta| <= tol`` (metafor's ``threshold``)
    or ``|delta| <= 1e-15 tau2``. With ``tol < 1e-5`` (tight convergence; the default is
    1e-12) the step is the Newton-Raphson step of the restricted log-likelihood,
    ``delta = (y'P P y - tr(P)) / (2 y'P P P y - tr(P P))``, wherever that denominator is
    positive (the likelihood is locally concave) and the Fisher scoring step elsewhere: the same
    root, reached quadratically. With ``tol >= 1e-5`` every step is Fisher scoring, so
    ``tol=1e-5`` follows metafor's default ``control`` step for step.
``"PM"``
    Paule-Mandel: 0 when ``Q(0) <= k - p``, otherwise the root of ``Q(tau2) = k - p``.
    Newton's method from 0 with ``Q'(tau2) = -y'P P y``, safeguarded by a bracket ``[lo, hi]``
    (``lo`` the last iterate with ``Q > k - p``, ``hi`` the last with ``Q <= k - p``, at first
    ``0`` and infinity): a step outside the bracket or not finite is replaced by the midpoint
    ``(lo + hi) / 2``, or by ``2 max(tau2, 1)`` while ``hi`` is infinite. Stops when the change
    is ``< 1e-12 max(1, tau2)`` (``tol`` does not apply).

The intercept-only model (``X=None``) is computed from closed-form weighted means and sums,
without any ``k x k`` or ``p x p`` matrix; with a design every quantity is computed from
``p x p`` systems (``tr(P) = sum(w) - tr(G X'W^2 X)`` and
``tr(P P) = sum(w^2) - 2 tr(G X'W^3 X) + tr((G X'W^2 X)^2)`` with ``G = (X'W X)^-1``).
Iterative estimators run on all rows at once and drop the rows that have converged; after
10,000 iterations they warn (``RuntimeWarning``) and return the last iterate. For one
intercept-only meta-analysis the per-row quantities are numpy scalars, and a batch row without
padding goes through the same floating-point operations, so it gets the same value to the bit.
"""

from __future__ import annotations

import warnings
from typing import Protocol

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["METHODS", "DEFAULT_TOL", "check_method", "estimate", "q_statistic", "dl_from_q"]

METHODS: tuple[str, ...] = ("FE", "DL", "HE", "REML", "PM")
DEFAULT_TOL = 1e-12
"""Default REML threshold on the absolute change of tau^2 (fully converged)."""
PM_TOL = 1e-12
"""Paule-Mandel stops when the change of tau^2 is below ``PM_TOL * max(1, tau2)``."""
NEWTON_BELOW = 1e-5
"""REML takes Newton steps (where the likelihood is concave) when ``tol`` is below this."""
MAXITER = 10_000

Array = NDArray[np.float64]
# Per-row quantities are numpy scalars for a single intercept-only meta-analysis (its studies
# are a 1-D array; scalar arithmetic keeps ``pool`` fast) and arrays of length m for a batch.
Rows = Array | np.float64


def _sum(a: Array) -> Rows:
    """Sum over the studies (last axis), NumPy's pairwise sum as ``a.sum(axis=-1)``."""
    return np.add.reduce(a, axis=-1)


# The helpers below treat a per-row quantity alike whether it is a numpy scalar (one
# meta-analysis) or an array (a batch), taking the cheap scalar route for scalars.


def _col(x: Rows) -> Rows:
    """Per-row values broadcast against the studies (``x[:, None]`` for arrays)."""
    return x[..., None] if isinstance(x, np.ndarray) else x


def _pow2(x: Rows) -> Rows:
    """``x ** 2`` computed by C ``pow`` (as Python's and NumPy's scalar ``**``).

    NumPy evaluates ``array ** 2`` as ``x * x``, which differs from ``pow(x, 2)`` in the last
    bit for about one value in a thousand; using ``pow`` for arrays as well makes a batch row
    bit-for-bit equal to the same meta-analysis fitted on its own.
    """
    return np.float_power(x, 2.0) if isinstance(x, np.ndarray) else x**2


def _where(cond: NDArray[np.bool_] | np.bool_, a: Rows, b: Rows) -> Rows:
    """``np.where`` per row."""
    if isinstance(cond, np.ndarray):
        return np.where(cond, a, b)
    return a if cond else b


def _any(cond: NDArray[np.bool_] | np.bool_) -> bool:
    return bool(cond.any()) if isinstance(cond, np.ndarray) else bool(cond)


def _all(cond: NDArray[np.bool_] | np.bool_) -> bool:
    return bool(cond.all()) if isinstance(cond, np.ndarray) else bool(cond)


def check_method(method: str, allowed: tuple[str, ...] = METHODS) -> str:
    """Return the canonical (upper-case) method name; ``"EE"`` is an alias of ``"FE"``.

    Parameters
    ----------
    method : str
        Method name, any case.
    allowed : tuple of str
        Canonical names accepted (default: every estimator of this module).

    Returns
    -------
    str
        The canonical name.

    Raises
    ------
    ValueError
        If the method is not in ``allowed``.
    """
    name = str(method).upper()
    if name == "EE":
        name = "FE"
    if name not in allowed:
        raise ValueError(f"method must be one of {allowed}, got {method!r}")
    return name


class _Model(Protocol):
    """What the estimators need from a model (one meta-analysis or a batch of them).

    ``k`` is the number of studies per row and ``p`` the number of coefficients. The methods
    take ``t`` (tau^2 per row) and return per-row quantities:

    * ``he()``: the unclipped Hedges estimate;
    * ``trace_p(t)``: ``tr(P)``;
    * ``gen_q(t)``: ``Q = y'P y`` and its derivative ``-y'P P y``;
    * ``reml_terms(t, newton)``: ``y'P P y - tr(P)`` (twice the REML score), ``tr(P P)`` and,
      when ``newton``, ``y'P P P y`` (else None);
    * ``take(keep)``: the rows selected by a boolean array (batches only).
    """

    k: NDArray[np.int64] | np.int64
    p: int

    def take(self, keep: NDArray[np.bool_]) -> _Model: ...

    def he(self) -> Rows: ...

    def trace_p(self, t: Rows) -> Rows: ...

    def gen_q(self, t: Rows) -> tuple[Rows, Rows]: ...

    def reml_terms(self, t: Rows, newton: bool) -> tuple[Rows, Rows, Rows | None]: ...


class _InterceptOnly:
    """The intercept-only model: closed-form weighted means and sums, no matrices.

    ``y`` and ``v`` are ``(k,)`` (one meta-analysis) or ``(m, k)``. Absent studies have
    ``y = 0`` and ``v = inf``, so their weights ``1 / (v + t)`` are 0 and no cell needs
    masking inside the iterations; ``present`` is only needed for the unweighted HE estimate.
    """

    p = 1

    def __init__(
        self,
        y: Array,
        v: Array,
        k: NDArray[np.int64] | np.int64,
        present: NDArray[np.bool_] | None,
    ) -> None:
        self.y, self.v, self.k, self.present = y, v, k, present

    def take(self, keep: NDArray[np.bool_]) -> _InterceptOnly:
        present = None if self.present is None else self.present[keep]
        return _InterceptOnly(self.y[keep], self.v[keep], self.k[keep], present)

    def _weights(self, t: Rows) -> Array:
        return 1.0 / (self.v + _col(t))

    def _residuals(self, w: Array) -> tuple[Rows, Array]:
        """Sum of the weights and the residuals from the weighted mean."""
        sw = _sum(w)
        return sw, self.y - _col(np.vecdot(w, self.y) / sw)

    def he(self) -> Rows:
        y, v = self.y, self.v
        r = y - _col(_sum(y) / self.k)
        if self.present is not None:
            r = np.where(self.present, r, 0.0)
            v = np.where(self.present, v, 0.0)
        return np.vecdot(r, r) / (self.k - 1) - _sum(v) / self.k

    def trace_p(self, t: Rows) -> Rows:
        w = self._weights(t)
        sw = _sum(w)
        return sw - np.vecdot(w, w) / sw

    def gen_q(self, t: Rows) -> tuple[Rows, Rows]:
        w = self._weights(t)
        r = self._residuals(w)[1]
        wr = w * r
        return np.vecdot(wr, r), -np.vecdot(wr, wr)

    def reml_terms(self, t: Rows, newton: bool) -> tuple[Rows, Rows, Rows | None]:
        w = self._weights(t)
        sw, r = self._residuals(w)
        wr = w * r  # P y
        w2 = w * w
        sw2 = _sum(w2)
        ratio = sw2 / sw
        tr_p = sw - ratio
        tr_pp = sw2 - 2.0 * np.vecdot(w2, w) / sw + _pow2(ratio)
        score2 = np.vecdot(wr, wr) - tr_p
        if not newton:
            return score2, tr_pp, None
        wwr = w * wr
        return score2, tr_pp, np.vecdot(wwr, wr) - _pow2(_sum(wwr)) / sw


def _trace(a: Array) -> Array:
    return np.trace(a, axis1=-2, axis2=-1)


class _Design:
    """A model with a design matrix: every quantity from ``p x p`` systems.

    ``y`` and ``v`` are ``(m, k)`` and ``x`` is ``(m, k, p)``. Absent studies have ``y = 0``,
    design rows of 0 and ``v = inf`` (weight 0).
    """

    def __init__(
        self,
        y: Array,
        v: Array,
        x: Array,
        k: NDArray[np.int64],
        present: NDArray[np.bool_] | None,
    ) -> None:
        self.y, self.v, self.x, self.k, self.present = y, v, x, k, present
        self.p = int(x.shape[2])

    def take(self, keep: NDArray[np.bool_]) -> _Design:
        present = None if self.present is None else self.present[keep]
        return _Design(self.y[keep], self.v[keep], self.x[keep], self.k[keep], present)

    def _wls(self, w: Array) -> tuple[Array, Array, Array]:
        """``W X``, ``G = (X'W X)^-1`` and the weighted least-squares residuals ``y - X beta``."""
        xw = self.x * w[:, :, None]
        g = np.linalg.inv(np.matmul(xw.mT, self.x))
        beta = g @ np.matmul(xw.mT, self.y[:, :, None])
        return xw, g, self.y - (self.x @ beta)[:, :, 0]

    def he(self) -> Array:
        v = self.v if self.present is None else np.where(self.present, self.v, 0.0)
        x = self.x
        g = np.linalg.inv(np.matmul(x.mT, x))
        r = self.y - (x @ (g @ np.matmul(x.mT, self.y[:, :, None])))[:, :, 0]
        tr_hv = _sum(v) - _trace(g @ np.matmul((x * v[:, :, None]).mT, x))
        return (np.vecdot(r, r) - tr_hv) / (self.k - self.p)

    def trace_p(self, t: Array) -> Array:
        w = 1.0 / (self.v + t[:, None])
        xw = self.x * w[:, :, None]
        g = np.linalg.inv(np.matmul(xw.mT, self.x))
        return _sum(w) - _trace(g @ np.matmul((xw * w[:, :, None]).mT, self.x))

    def gen_q(self, t: Array) -> tuple[Array, Array]:
        w = 1.0 / (self.v + t[:, None])
        r = self._wls(w)[2]
        py = w * r
        return np.vecdot(py, r), -np.vecdot(py, py)

    def reml_terms(self, t: Array, newton: bool) -> tuple[Array, Array, Array | None]:
        w = 1.0 / (self.v + t[:, None])
        xw, g, r = self._wls(w)
        py = w * r
        xw2 = xw * w[:, :, None]
        gc2 = g @ np.matmul(xw2.mT, self.x)  # G X'W^2 X
        gc3 = g @ np.matmul((xw2 * w[:, :, None]).mT, self.x)  # G X'W^3 X
        tr_p = _sum(w) - _trace(gc2)
        tr_pp = _sum(w * w) - 2.0 * _trace(gc3) + np.sum(gc2 * gc2.mT, axis=(1, 2))
        score2 = np.vecdot(py, py) - tr_p
        if not newton:
            return score2, tr_pp, None
        u = np.matmul(xw.mT, py[:, :, None])  # X'W P y
        return score2, tr_pp, np.vecdot(w * py, py) - (u.mT @ g @ u)[:, 0, 0]


def _model(
    y: ArrayLike, v: ArrayLike, X: ArrayLike | None, mask: ArrayLike | None
) -> tuple[_Model, bool]:
    """Build the model; the flag says whether one meta-analysis (1-D ``y``) was given."""
    ya = np.asarray(y, dtype=np.float64)
    va = np.asarray(v, dtype=np.float64)
    single = ya.ndim == 1
    if ya.ndim not in (1, 2) or ya.shape != va.shape:
        raise ValueError(
            f"y and v must have the same shape (k,) or (m, k); got {ya.shape} and {va.shape}"
        )
    present: NDArray[np.bool_] | None = None
    if mask is not None:
        present = np.asarray(mask, dtype=bool)
        if present.shape != ya.shape:
            raise ValueError(f"mask must have the shape of y {ya.shape}, got {present.shape}")
        if present.all():
            present = None
        else:
            ya = np.where(present, ya, 0.0)
            va = np.where(present, va, np.inf)
    if present is not None:
        k = np.add.reduce(present, axis=-1, dtype=np.int64)
    else:
        k = np.full(ya.shape[:-1], ya.shape[-1], dtype=np.int64)[()]
    if X is None:
        return _InterceptOnly(ya, va, k, present), single
    x = np.asarray(X, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if single:
        ya, va, k = ya[None], va[None], np.atleast_1d(k)
        present = None if present is None else present[None]
    if x.ndim == 2:
        x = np.broadcast_to(x, (ya.shape[0], *x.shape))
    if x.ndim != 3 or x.shape[:2] != ya.shape:
        raise ValueError(
            f"X must have shape (k, p) or (m, k, p) matching y {ya.shape}, got {np.shape(X)}"
        )
    if present is not None:
        x = np.where(present[:, :, None], x, 0.0)
    return _Design(ya, va, x, k, present), single


def _nonnegative(t: Rows) -> Rows:
    """``max(0, t)`` per row, 0 for NaN (as Python's ``max(0.0, t)``)."""
    return _where(t > 0.0, t, 0.0)


def _moment(q: Rows, df: NDArray[np.int64] | np.int64, trace_p: Rows) -> Rows:
    """``max(0, (q - df) / tr(P))``, 0 where ``tr(P) <= 0``."""
    return _nonnegative(_where(trace_p > 0.0, (q - df) / trace_p, 0.0))


def _fe(model: _Model, tol: float) -> Rows:
    return np.zeros(np.shape(model.k))


def _dl(model: _Model, tol: float) -> Rows:
    zero = np.zeros(np.shape(model.k))
    return _moment(model.gen_q(zero)[0], model.k - model.p, model.trace_p(zero))


def _he(model: _Model, tol: float) -> Rows:
    return _nonnegative(model.he())


class _Rows:
    """Collects per-row results while converged rows leave an iteration.

    For a single meta-analysis (numpy scalars) there is nothing to collect.
    """

    def __init__(self, t: Rows) -> None:
        self.out = None if np.ndim(t) == 0 else np.zeros(np.size(t))
        self.index = None if self.out is None else np.arange(self.out.size)

    def finish(self, t: Rows) -> Rows:
        if self.out is None or self.index is None:
            return t
        self.out[self.index] = t
        return self.out

    def retire(self, done: NDArray[np.bool_], t: Array) -> NDArray[np.bool_]:
        """Store the rows that are done and return the mask of those that are not."""
        assert self.out is not None and self.index is not None
        self.out[self.index[done]] = t[done]
        keep = ~done
        self.index = self.index[keep]
        return keep


def _reml(model: _Model, tol: float) -> Rows:
    t = _he(model, tol)
    rows = _Rows(t)
    newton = tol < NEWTON_BELOW
    for _ in range(MAXITER):
        score2, tr_pp, ypppy = model.reml_terms(t, newton)
        adj = score2 / tr_pp  # Fisher scoring step (metafor)
        if ypppy is not None:
            curv = 2.0 * ypppy - tr_pp  # minus twice the second derivative
            adj = _where(curv > 0.0, score2 / curv, adj)
        neg = t + adj < 0.0
        if _any(neg):
            adj = _where(neg & (t == 0.0), 0.0, adj)
            while _any(neg := t + adj < 0.0):
                adj = _where(neg, adj / 2.0, adj)
        t = t + adj
        done = (abs(adj) <= tol) | (abs(adj) <= 1e-15 * t)
        if _all(done):
            return rows.finish(t)
        if _any(done):
            keep = rows.retire(done, t)
            t, model = t[keep], model.take(keep)
    warnings.warn("REML did not converge; returning the last iterate", RuntimeWarning, stacklevel=4)
    return rows.finish(t)


def _pm(model: _Model, tol: float) -> Rows:
    target = model.k - model.p
    q0, d = model.gen_q(np.zeros(np.shape(target)))
    f = q0 - target
    start = f > 0.0  # Q(0) <= k - p gives tau^2 = 0
    if not _all(start):
        if not _any(start):
            return np.zeros(np.shape(target))
        out = np.zeros(np.size(target))
        out[start] = _pm(model.take(start), tol)
        return out
    t = np.zeros(np.shape(f))
    rows = _Rows(t)
    lo, hi = np.zeros(np.shape(f)), np.full(np.shape(f), np.inf)
    for _ in range(MAXITER):
        new = _where(d < 0.0, t - f / d, np.inf)
        bad = ~((lo <= new) & (new <= hi) & np.isfinite(new))
        if _any(bad):
            fallback = np.where(np.isfinite(hi), (lo + hi) / 2.0, 2.0 * np.maximum(t, 1.0))
            new = _where(bad, fallback, new)
        done = abs(new - t) < PM_TOL * np.maximum(1.0, new)
        t = new
        if _all(done):
            return rows.finish(t)
        if _any(done):
            keep = rows.retire(done, t)
            t, lo, hi, target, model = t[keep], lo[keep], hi[keep], target[keep], model.take(keep)
        q, d = model.gen_q(t)
        f = q - target
        above = f > 0.0
        lo = _where(above, t, lo)
        hi = _where(above, hi, t)
    warnings.warn("Paule-Mandel did not converge", RuntimeWarning, stacklevel=4)
    return rows.finish(t)


_ESTIMATORS = {"FE": _fe, "DL": _dl, "HE": _he, "REML": _reml, "PM": _pm}


def _fit(model: _Model, method: str, tol: float) -> Rows:
    """Run one estimator on every row with ``k - p >= 1`` (the others get 0)."""
    fitted = model.k - model.p >= 1
    if method == "FE" or not _any(fitted):
        return np.zeros(np.shape(fitted))
    with np.errstate(divide="ignore", invalid="ignore"):
        if _all(fitted):
            return _ESTIMATORS[method](model, tol)
        out = np.zeros(np.size(fitted))
        out[fitted] = _ESTIMATORS[method](model.take(fitted), tol)
    return out


def _as_result(t: Rows, single: bool) -> float | Array:
    if not single:
        return np.asarray(t, dtype=np.float64)
    return float(t[0]) if np.ndim(t) else float(t)


def estimate(
    y: ArrayLike,
    v: ArrayLike,
    X: ArrayLike | None = None,
    method: str = "REML",
    *,
    mask: ArrayLike | None = None,
    tol: float = DEFAULT_TOL,
) -> float | Array:
    """Estimate tau^2 for one meta-analysis or a batch of them.

    Parameters
    ----------
    y, v : array_like
        Effects and sampling variances, shape ``(k,)`` or ``(m, k)``. Present cells must be
        finite with ``v > 0`` (not checked here; the public functions validate their inputs).
    X : array_like, optional
        Design matrix including the intercept column, shape ``(k, p)`` (shared by all rows) or
        ``(m, k, p)``; a 1-D ``X`` is one column. ``None`` (default) is the intercept-only
        model, computed in closed form.
    method : {"REML", "DL", "HE", "PM", "FE"}
        Estimator, as described in the module docstring (``"EE"`` is an alias of ``"FE"``).
    mask : array_like of bool, optional
        Shape of ``y``; True where a study is present. Absent cells are ignored (they may hold
        NaN). Without a mask every cell is a study.
    tol : float
        REML threshold on the absolute change of tau^2 (default 1e-12; ``1e-5`` is metafor's
        default ``control``). Ignored by the other estimators.

    Returns
    -------
    float or numpy.ndarray
        tau^2: a float for 1-D ``y``, an array of length ``m`` otherwise; 0 for rows with
        ``k - p < 1``.

    Raises
    ------
    ValueError
        Unknown method or mismatched shapes.

    Warns
    -----
    RuntimeWarning
        If REML or Paule-Mandel has not converged after 10,000 iterations (the last iterate
        is returned).
    """
    name = check_method(method)
    model, single = _model(y, v, X, mask)
    return _as_result(_fit(model, name, float(tol)), single)


def q_statistic(
    y: ArrayLike,
    v: ArrayLike,
    X: ArrayLike | None = None,
    *,
    tau2: float | ArrayLike = 0.0,
    mask: ArrayLike | None = None,
) -> float | Array:
    """Generalised Q statistic ``y'P y`` with weights ``1 / (v + tau2)``.

    With ``tau2 = 0`` (the default) this is Cochran's Q (intercept only) or the test statistic
    for residual heterogeneity ``Q_E`` (with a design).

    Parameters
    ----------
    y, v, X, mask
        As for :func:`estimate`.
    tau2 : float or array_like
        Between-study variance: a scalar, or one value per row of a batch.

    Returns
    -------
    float or numpy.ndarray
        Q per row (a float for 1-D ``y``).
    """
    model, single = _model(y, v, X, mask)
    t = np.asarray(tau2, dtype=np.float64)
    if np.ndim(model.k):
        t = np.broadcast_to(t, np.shape(model.k))
    with np.errstate(divide="ignore", invalid="ignore"):
        q = model.gen_q(t)[0]
    return _as_result(q, single)


def dl_from_q(
    q: float | ArrayLike,
    v: ArrayLike,
    X: ArrayLike | None = None,
    *,
    mask: ArrayLike | None = None,
) -> float | Array:
    """DerSimonian-Laird moment estimate for a given heterogeneity statistic ``q``.

    ``max(0, (q - (k - p)) / tr(P))`` with ``P`` at the fixed-effect weights ``1 / v`` (0 when
    ``tr(P) <= 0`` or ``k - p < 1``). With ``q = q_statistic(y, v, X)`` this is the ``"DL"``
    estimate; RevMan's Mantel-Haenszel random-effects model passes a Q taken around the
    Mantel-Haenszel estimate instead.

    Parameters
    ----------
    q : float or array_like
        The heterogeneity statistic, one per row.
    v, X, mask
        Sampling variances (shape ``(k,)`` or ``(m, k)``), design and mask as for
        :func:`estimate`.

    Returns
    -------
    float or numpy.ndarray
        tau^2 (a float for 1-D ``v``).
    """
    va = np.asarray(v, dtype=np.float64)
    model, single = _model(np.zeros_like(va), va, X, mask)
    df = model.k - model.p
    qa = np.asarray(q, dtype=np.float64)[()]
    with np.errstate(divide="ignore", invalid="ignore"):
        t = _moment(qa, df, model.trace_p(np.zeros(np.shape(df))))
    return _as_result(_where(df >= 1, t, 0.0), single)
