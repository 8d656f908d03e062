"""Subgroup analyses and the test for subgroup differences (RevMan's approach).

Each subgroup is pooled separately (its own tau^2, as metafor's ``rma(..., subset=...)``).
The test for subgroup differences is RevMan's: ``Q_between = sum_g w_g (theta_g - theta_bar)^2``
with ``w_g = 1 / se_g^2`` of the subgroup estimates, ``theta_bar = sum(w_g theta_g) / sum(w_g)``,
chi-square with ``G - 1`` df (G = number of subgroups).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import special

from analysis.stats._checks import check_level, check_yi_vi
from analysis.stats.pooling import _TOL, ONE_STUDY_MESSAGE, PoolResult, _check_method, fit

__all__ = ["SubgroupResult", "subgroups"]


@dataclass(frozen=True)
class SubgroupResult(Mapping[object, PoolResult]):
    """Mapping of subgroup -> :class:`~analysis.pooling.PoolResult` plus the between-group test.

    Attributes
    ----------
    results : dict
        Subgroup label -> PoolResult, in order of first appearance.
    q_between, df_between, p_between : float, int, float
        Test for subgroup differences (NaN with fewer than two subgroups).
    i2_between : float
        ``100 * max(0, (Q_between - df) / Q_between)``, as RevMan reports it.
    """

    results: dict[object, PoolResult]
    q_between: float
    df_between: int
    p_between: float
    i2_between: float

    def __getitem__(self, key: object) -> PoolResult:
        return self.results[key]

    def __iter__(self) -> Iterator[object]:
        return iter(self.results)

    def __len__(self) -> int:
        return len(self.results)

    def to_dict(self) -> dict[str, object]:
        """Plain-Python representation (group labels converted to str)."""
        return {
            "subgroups": {str(g): r.to_dict() for g, r in self.results.items()},
            "q_between": self.q_between,
            "df_between": self.df_between,
            "p_between": self.p_between,
            "i2_between": self.i2_between,
        }

    def summary_frame(self) -> pd.DataFrame:
        """One row per subgroup; the between-group test is in ``frame.attrs``."""
        frame = pd.concat([r.summary_frame() for r in self.results.values()])
        frame.index = pd.Index(list(self.results), name="subgroup")
        frame.attrs.update(
            q_between=self.q_between, df_between=self.df_between, p_between=self.p_between
        )
        return frame


def subgroups(
    yi: ArrayLike,
    vi: ArrayLike,
    groups: ArrayLike,
    method: str = "REML",
    hksj: bool = False,
    level: float = 0.95,
    *,
    tol: float = _TOL,
) -> SubgroupResult:
    """Pool within subgroups and test for subgroup differences.

    Parameters
    ----------
    yi, vi : array_like
        Effects and sampling variances.
    groups : array_like
        Subgroup label per study (any hashable values).
    method, hksj, level, tol
        As for :func:`analysis.pool`, applied within each subgroup.

    Returns
    -------
    SubgroupResult
        A mapping group -> PoolResult with ``q_between``, ``df_between``, ``p_between``.
        A one-study subgroup is allowed (its heterogeneity is NaN; one warning is issued).
    """
    y, v = check_yi_vi(yi, vi)
    method = _check_method(method)
    level = check_level(level)
    labels = list(np.asarray(groups, dtype=object).ravel())
    if len(labels) != y.size:
        raise ValueError(f"groups has {len(labels)} entries, expected {y.size}")
    order = list(dict.fromkeys(labels))
    lab = np.array(labels, dtype=object)
    results: dict[object, PoolResult] = {}
    singles = []
    for g in order:
        mask = lab == g
        if mask.sum() == 1:
            singles.append(g)
        results[g] = fit(y[mask], v[mask], method, hksj, level, tol)
    if singles:
        warnings.warn(f"subgroup(s) {singles}: {ONE_STUDY_MESSAGE}", UserWarning, stacklevel=2)
    n_groups = len(results)
    if n_groups < 2:
        q_b, df_b, p_b, i2_b = math.nan, 0, math.nan, math.nan
    else:
        est = np.array([r.estimate for r in results.values()])
        w = 1.0 / np.array([r.se for r in results.values()]) ** 2
        q_b = float(w @ (est - (w @ est) / w.sum()) ** 2)
        df_b = n_groups - 1
        p_b = float(special.chdtrc(df_b, q_b))
        i2_b = 100.0 * max(0.0, (q_b - df_b) / q_b) if q_b > 0 else 0.0
    return SubgroupResult(results, q_b, df_b, p_b, i2_b)
