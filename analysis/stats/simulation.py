"""Simulated meta-analyses: how often a confidence interval covers the true mean effect.

Each simulated trial has a true effect ``theta_i ~ N(mu, tau2)``, a total sample size drawn
uniformly from ``n_range`` (two equal arms, so the sampling variance of a standardised mean
difference is about ``4 / n``) and an observed effect ``y_i ~ N(theta_i, 4 / n)``. Each set of
``k`` trials is pooled with :func:`analysis.stats.batch.pool_many`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.stats.batch import pool_many

__all__ = ["ci_coverage", "coverage_by_k"]


def ci_coverage(
    k: int,
    *,
    n_sim: int,
    mu: float,
    tau2: float,
    n_range: tuple[int, int],
    rng: np.random.Generator,
    method: str = "DL",
    hksj: bool = False,
) -> float:
    """Share of ``n_sim`` simulated meta-analyses of ``k`` trials whose 95% CI contains ``mu``."""
    n = rng.integers(n_range[0], n_range[1] + 1, size=(n_sim, k))
    v = 4.0 / n
    theta = mu + rng.normal(0.0, np.sqrt(tau2), size=(n_sim, k))
    y = theta + rng.normal(0.0, np.sqrt(v))
    res = pool_many(y, v, method=method, hksj=hksj)
    return float(np.mean((res.ci_low <= mu) & (mu <= res.ci_high)))


def coverage_by_k(
    ks: range | list[int] | np.ndarray,
    *,
    n_sim: int,
    mu: float,
    tau2: float,
    n_range: tuple[int, int],
    seed: int,
    method: str = "DL",
) -> pd.DataFrame:
    """Coverage for each ``k`` without (column ``method``) and with Knapp–Hartung (column
    ``method + " + HKSJ"``), drawing every simulation from one generator seeded with ``seed``
    (all normal-CI runs first, then all Knapp–Hartung runs)."""
    rng = np.random.default_rng(seed)
    ks = np.asarray(ks)
    common = {"n_sim": n_sim, "mu": mu, "tau2": tau2, "n_range": n_range, "rng": rng,
              "method": method}  # fmt: skip
    plain = [ci_coverage(int(k), hksj=False, **common) for k in ks]
    adjusted = [ci_coverage(int(k), hksj=True, **common) for k in ks]
    return pd.DataFrame({"k": ks, method: plain, f"{method} + HKSJ": adjusted})
