"""Study-level effect sizes (metafor ``escalc()`` conventions).

Measures
--------
``"MD"``   mean difference, unpooled variance ``sd1^2/n1 + sd2^2/n2``.
``"SMD"``  Hedges' g with the exact small-sample correction
           ``J(m) = Gamma(m/2) / (sqrt(m/2) Gamma((m-1)/2))``, ``m = n1 + n2 - 2``, and
           ``vi = 1/n1 + 1/n2 + g^2 / (2 (n1 + n2))`` (metafor's default).
``"RR"``, ``"OR"`` log risk / odds ratio; ``"RD"`` risk difference. A study with a zero cell
           gets 0.5 added to all four cells (metafor ``add=1/2, to="only0"``). A study with no
           events in either arm is left out (all measures), as is, for RR and OR, a study in which
           every participant in both arms had the event; a warning names the study index.
``"precomputed"`` an effect and its confidence interval; ``se = (hi - lo) / (2 z)``. Pass
           ``log_scale=True`` for ratio measures (effect and CI given as ratios): they are
           logged first and ``yi`` is on the log scale.

Change scores (``change_score=True`` for MD/SMD) use the mean change and the SD of the change
with the same formulas; they are flagged in :meth:`EffectSizes.to_frame`.

:func:`standardised_md` turns a reported mean difference with its standard error (for example an
intention-to-treat or baseline-adjusted MD) into Hedges' g with the same formulas, standardised
by the pooled post-treatment SD of two arms: ``g = J(N - 2) MD / s_p`` and
``vi = (SE / s_p)^2 + g^2 / (2 N)``; with ``SE = s_p sqrt(1/n1 + 1/n2)`` and ``N = n1 + n2`` this
is exactly the ``"SMD"`` above.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import special

from analysis.stats._checks import (
    as_float_1d,
    check_level,
    require_at_least,
    require_integer,
    require_positive,
    same_length,
)

__all__ = ["EffectSizes", "effect_size", "MEASURES", "hedges_j", "pooled_sd", "standardised_md"]

MEASURES: tuple[str, ...] = ("MD", "SMD", "RR", "OR", "RD", "precomputed")
_Z95 = float(special.ndtri(0.975))


@dataclass(frozen=True)
class EffectSizes:
    """Study effect sizes.

    Attributes
    ----------
    measure : str
        Effect measure (``"RR"``/``"OR"`` are on the log scale).
    yi, vi : numpy.ndarray
        Effects and sampling variances of the studies kept (read-only).
    dropped : numpy.ndarray of bool
        One entry per *input* study; True when the study was left out.
    index : numpy.ndarray of int
        Input positions of the kept studies (aligned with ``yi``).
    change_score : numpy.ndarray of bool
        Per kept study, whether the effect is based on change scores.
    """

    measure: str
    yi: NDArray[np.float64]
    vi: NDArray[np.float64]
    dropped: NDArray[np.bool_]
    index: NDArray[np.intp]
    change_score: NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, dtype=bool))

    def __post_init__(self) -> None:
        for name in ("yi", "vi", "dropped", "index", "change_score"):
            getattr(self, name).setflags(write=False)

    @property
    def se(self) -> NDArray[np.float64]:
        """Standard errors ``sqrt(vi)``."""
        return np.sqrt(self.vi)

    @property
    def k(self) -> int:
        """Number of studies kept."""
        return int(self.yi.size)

    def to_frame(self, level: float = 0.95) -> pd.DataFrame:
        """DataFrame with yi, vi, se, ci_low, ci_high and change_score (index = input position)."""
        z = float(special.ndtri(1.0 - (1.0 - check_level(level)) / 2.0))
        se = self.se
        return pd.DataFrame(
            {
                "yi": self.yi,
                "vi": self.vi,
                "se": se,
                "ci_low": self.yi - z * se,
                "ci_high": self.yi + z * se,
                "change_score": self.change_score.astype(bool),
            },
            index=pd.Index(self.index, name="study"),
        )

    def to_dict(self) -> dict[str, object]:
        """Plain-Python representation."""
        return {
            "measure": self.measure,
            "yi": self.yi.tolist(),
            "vi": self.vi.tolist(),
            "dropped": self.dropped.tolist(),
            "index": self.index.tolist(),
            "change_score": self.change_score.tolist(),
        }

    def summary_frame(self) -> pd.DataFrame:
        """Alias of :meth:`to_frame`."""
        return self.to_frame()


def hedges_j(m: ArrayLike) -> NDArray[np.float64]:
    """Exact small-sample correction ``Gamma(m/2) / (sqrt(m/2) Gamma((m-1)/2))``."""
    m = np.asarray(m, dtype=np.float64)
    return np.exp(
        special.gammaln(m / 2.0) - 0.5 * np.log(m / 2.0) - special.gammaln((m - 1.0) / 2.0)
    )


def _arrays(names: tuple[str, ...], arms: dict[str, ArrayLike]) -> list[NDArray[np.float64]]:
    missing = [n for n in names if n not in arms]
    if missing:
        raise ValueError(f"missing argument(s): {', '.join(missing)}")
    extra = sorted(set(arms) - set(names))
    if extra:
        raise ValueError(f"unexpected argument(s) for this measure: {', '.join(extra)}")
    out = [as_float_1d(n, arms[n]) for n in names]
    same_length(**dict(zip(names, out, strict=True)))
    if out[0].size == 0:
        raise ValueError("at least one study is required")
    return out


def _flags(change_score: bool | ArrayLike, k: int) -> NDArray[np.bool_]:
    flags = np.asarray(change_score, dtype=bool)
    if flags.ndim == 0:
        return np.full(k, bool(flags))
    if flags.shape != (k,):
        raise ValueError(f"change_score must be a bool or have length {k}")
    return flags.copy()


def _continuous(
    measure: str, arms: dict[str, ArrayLike], change_score: bool | ArrayLike
) -> EffectSizes:
    m1, sd1, n1, m2, sd2, n2 = _arrays(("m1", "sd1", "n1", "m2", "sd2", "n2"), arms)
    for name, sd in (("sd1", sd1), ("sd2", sd2)):
        require_positive(name, sd)
    for name, n in (("n1", n1), ("n2", n2)):
        require_at_least(name, n, 1)
    if measure == "MD":
        yi = m1 - m2
        vi = sd1**2 / n1 + sd2**2 / n2
    else:
        require_at_least("n1 + n2", n1 + n2, 3)
        m = n1 + n2 - 2.0
        sp = np.sqrt(((n1 - 1.0) * sd1**2 + (n2 - 1.0) * sd2**2) / m)
        yi = hedges_j(m) * (m1 - m2) / sp
        vi = 1.0 / n1 + 1.0 / n2 + yi**2 / (2.0 * (n1 + n2))
    k = yi.size
    return EffectSizes(
        measure, yi, vi, np.zeros(k, dtype=bool), np.arange(k), _flags(change_score, k)
    )


def _binary(measure: str, arms: dict[str, ArrayLike]) -> EffectSizes:
    e1, n1, e2, n2 = _arrays(("e1", "n1", "e2", "n2"), arms)
    for name, n in (("n1", n1), ("n2", n2)):
        require_at_least(name, n, 1)
        require_integer(name, n)
    for name, e, n in (("e1", e1, n1), ("e2", e2, n2)):
        require_at_least(name, e, 0)
        require_integer(name, e)
        over = e > n
        if over.any():
            pos = int(np.flatnonzero(over)[0])
            raise ValueError(
                f"{name} exceeds its group size at position {pos} ({e[pos]} > {n[pos]})"
            )
    drop = (e1 == 0) & (e2 == 0)
    if measure in ("RR", "OR"):
        drop |= (e1 == n1) & (e2 == n2)
    if drop.any():
        idx = np.flatnonzero(drop).tolist()
        warnings.warn(
            f"{measure}: left out study index(es) {idx} (no events in either arm, or events in "
            "every participant in both arms); the effect is not estimable",
            UserWarning,
            stacklevel=3,
        )
    keep = ~drop
    a, c, m1, m2 = e1[keep], e2[keep], n1[keep], n2[keep]
    b, d = m1 - a, m2 - c
    zero = (a == 0) | (b == 0) | (c == 0) | (d == 0)
    add = np.where(zero, 0.5, 0.0)
    a, b, c, d = a + add, b + add, c + add, d + add
    m1, m2 = a + b, c + d
    if measure == "RR":
        yi = np.log(a / m1) - np.log(c / m2)
        vi = 1.0 / a - 1.0 / m1 + 1.0 / c - 1.0 / m2
    elif measure == "OR":
        yi = np.log(a * d / (b * c))
        vi = 1.0 / a + 1.0 / b + 1.0 / c + 1.0 / d
    else:
        p1, p2 = a / m1, c / m2
        yi = p1 - p2
        vi = p1 * (1.0 - p1) / m1 + p2 * (1.0 - p2) / m2
    return EffectSizes(measure, yi, vi, drop, np.flatnonzero(keep), np.zeros(yi.size, dtype=bool))


def _precomputed(arms: dict[str, ArrayLike], log_scale: bool, level: float) -> EffectSizes:
    eff, lo, hi = _arrays(("effect", "ci_low", "ci_high"), arms)
    if log_scale:
        for name, arr in (("effect", eff), ("ci_low", lo), ("ci_high", hi)):
            require_positive(name, arr)
        eff, lo, hi = np.log(eff), np.log(lo), np.log(hi)
    bad = ~((lo <= eff) & (eff <= hi) & (lo < hi))
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        raise ValueError(f"need ci_low <= effect <= ci_high and ci_low < ci_high (position {pos})")
    z = float(special.ndtri(1.0 - (1.0 - check_level(level)) / 2.0))
    se = (hi - lo) / (2.0 * z)
    k = eff.size
    measure = "precomputed (log)" if log_scale else "precomputed"
    zeros = np.zeros(k, dtype=bool)
    return EffectSizes(measure, eff, se**2, zeros, np.arange(k), zeros.copy())


def effect_size(
    measure: str,
    *,
    change_score: bool | ArrayLike = False,
    log_scale: bool = False,
    level: float = 0.95,
    **arms: ArrayLike,
) -> EffectSizes:
    """Compute study effect sizes.

    Parameters
    ----------
    measure : {"MD", "SMD", "RR", "OR", "RD", "precomputed"}
        Effect measure (see the module docstring).
    change_score : bool or array_like of bool
        MD/SMD only: the means and SDs are of change from baseline (flag, per study or all).
    log_scale : bool
        ``"precomputed"`` only: effect and CI are ratios (RR, OR, HR) and are logged first.
    level : float
        ``"precomputed"`` only: confidence level of the supplied intervals.
    **arms : array_like
        ``m1, sd1, n1, m2, sd2, n2`` (MD, SMD); ``e1, n1, e2, n2`` (RR, OR, RD; group 1 is the
        intervention); ``effect, ci_low, ci_high`` (precomputed).

    Returns
    -------
    EffectSizes

    Raises
    ------
    ValueError
        Unknown measure, missing/extra/mismatched arguments, NaN or inf, ``sd <= 0``, ``n < 1``,
        impossible counts (negative, non-integer, events > n), or an inverted CI; the message
        names the argument and the position.
    """
    m = str(measure)
    key = m if m == "precomputed" else m.upper()
    if key not in MEASURES:
        raise ValueError(f"measure must be one of {MEASURES}, got {measure!r}")
    is_change = np.any(np.asarray(change_score, dtype=bool))
    if key not in ("MD", "SMD") and is_change:
        raise ValueError("change_score applies to MD and SMD only")
    if key != "precomputed" and log_scale:
        raise ValueError("log_scale applies to measure='precomputed' only")
    if key in ("MD", "SMD"):
        return _continuous(key, arms, change_score)
    if key in ("RR", "OR", "RD"):
        return _binary(key, arms)
    return _precomputed(arms, log_scale, level)


def pooled_sd(sd1: ArrayLike, n1: ArrayLike, sd2: ArrayLike, n2: ArrayLike) -> NDArray[np.float64]:
    """``sqrt(((n1 - 1) sd1^2 + (n2 - 1) sd2^2) / (n1 + n2 - 2))``, the SD of Hedges' g."""
    sd1, n1, sd2, n2 = (as_float_1d(k, v) for k, v in
                        (("sd1", sd1), ("n1", n1), ("sd2", sd2), ("n2", n2)))  # fmt: skip
    same_length(sd1=sd1, n1=n1, sd2=sd2, n2=n2)
    require_positive("sd1", sd1)
    require_positive("sd2", sd2)
    require_at_least("n1 + n2", n1 + n2, 3)
    return np.sqrt(((n1 - 1.0) * sd1**2 + (n2 - 1.0) * sd2**2) / (n1 + n2 - 2.0))


def standardised_md(
    md: ArrayLike, se: ArrayLike, sd_pooled: ArrayLike, n_total: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Hedges' g and its variance from a mean difference, its SE and a pooled SD.

    Parameters
    ----------
    md, se : array_like
        Mean difference (psychotherapy minus control) and its standard error.
    sd_pooled : array_like
        The SD to standardise by (:func:`pooled_sd` of the trial's post-treatment arms).
    n_total : array_like
        Participants behind the MD (both arms; >= 3), for the small-sample correction
        ``J(n_total - 2)`` and the variance term ``g^2 / (2 n_total)``.

    Returns
    -------
    yi, vi : ndarray
        ``g = J md / sd_pooled`` and ``vi = (se / sd_pooled)^2 + g^2 / (2 n_total)``.
    """
    named = (("md", md), ("se", se), ("sd_pooled", sd_pooled), ("n_total", n_total))
    md, se, sp, n = (as_float_1d(k, v) for k, v in named)
    same_length(md=md, se=se, sd_pooled=sp, n_total=n)
    require_positive("se", se)
    require_positive("sd_pooled", sp)
    require_at_least("n_total", n, 3)
    g = hedges_j(n - 2.0) * md / sp
    return g, (se / sp) ** 2 + g**2 / (2.0 * n)
