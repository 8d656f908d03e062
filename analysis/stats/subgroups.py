"""Subgroup analyses and the test for subgroup differences (RevMan's approach).

Each subgroup is pooled separately (its own tau^2, as metafor's ``rma(..., subset=...)``), and
reported with the requested ``test`` (z, Knapp-Hartung or modified Knapp-Hartung).

The test for subgroup differences is RevMan's: ``Q_between = sum_g w_g (theta_g - theta_bar)^2``
with ``w_g = 1 / se_g^2``, ``theta_bar = sum(w_g theta_g) / sum(w_g)``, chi-square with ``G - 1``
df (G = number of subgroups), where ``theta_g`` is each subgroup's random-effects estimate and
``se_g`` its **standard** (z) random-effects SE, ``1 / sqrt(sum 1 / (v_i + tau_g^2))``, whatever
test the subgroups are reported with (metafor: ``rma(theta_g, sei=se_g, method="EE")`` on the
subgroups' ``test="z"`` fits). A Knapp-Hartung SE would mix a t-based scaling into a chi-square
test.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import special

from analysis.stats._checks import check_level, check_yi_vi
from analysis.stats.pooling import (
    _TOL,
    ONE_STUDY_MESSAGE,
    PoolResult,
    _check_method,
    fit,
    resolve_test,
)

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
    between_se : dict
        Subgroup label -> the standard (z) random-effects SE that entered the test (equal to
        ``results[g].se`` when the subgroups are reported with a z test).
    """

    results: dict[object, PoolResult]
    q_between: float
    df_between: int
    p_between: float
    i2_between: float
    between_se: dict[object, float] = field(default_factory=dict)

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
            "between_se": {str(g): se for g, se in self.between_se.items()},
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
    test: str | None = None,
    tol: float = _TOL,
) -> SubgroupResult:
    """Pool within subgroups and test for subgroup differences.

    Parameters
    ----------
    yi, vi : array_like
        Effects and sampling variances.
    groups : array_like
        Subgroup label per study (any hashable values).
    method, hksj, level, test, tol
        As for :func:`analysis.pool`, applied within each subgroup.

    Returns
    -------
    SubgroupResult
        A mapping group -> PoolResult with ``q_between``, ``df_between``, ``p_between``
        computed from the subgroups' standard random-effects SEs (see the module docstring).
        A one-study subgroup is allowed (its heterogeneity is NaN; one warning is issued).
    """
    test = resolve_test(test, hksj)
    y, v = check_yi_vi(yi, vi)
    method = _check_method(method)
    level = check_level(level)
    labels = list(np.asarray(groups, dtype=object).ravel())
    if len(labels) != y.size:
        raise ValueError(f"groups has {len(labels)} entries, expected {y.size}")
    order = list(dict.fromkeys(labels))
    lab = np.array(labels, dtype=object)
    results: dict[object, PoolResult] = {}
    se_z: dict[object, float] = {}
    singles = []
    for g in order:
        mask = lab == g
        if mask.sum() == 1:
            singles.append(g)
        results[g] = res = fit(y[mask], v[mask], method, test, level, tol)
        se_z[g] = math.sqrt(1.0 / float(np.sum(1.0 / (v[mask] + res.tau2))))
    if singles:
        warnings.warn(f"subgroup(s) {singles}: {ONE_STUDY_MESSAGE}", UserWarning, stacklevel=2)
    n_groups = len(results)
    if n_groups < 2:
        q_b, df_b, p_b, i2_b = math.nan, 0, math.nan, math.nan
    else:
        est = np.array([r.estimate for r in results.values()])
        w = 1.0 / np.array([se_z[g] for g in results]) ** 2
        q_b = float(w @ (est - (w @ est) / w.sum()) ** 2)
        df_b = n_groups - 1
        p_b = float(special.chdtrc(df_b, q_b))
        i2_b = 100.0 * max(0.0, (q_b - df_b) / q_b) if q_b > 0 else 0.0
    return SubgroupResult(results, q_b, df_b, p_b, i2_b, se_z)
