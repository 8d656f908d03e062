"""Statistics core: effect sizes, pooling, heterogeneity, subgroups, meta-regression, bias.

Depends only on numpy, scipy and pandas and knows nothing of this review; every estimator is
validated against R's metafor (``tests/reference``). Modules:

effects          study effect sizes (MD, SMD, RR, OR, RD, precomputed, change scores)
tau2             between-study variance: FE, DL, HE, REML, PM over a design and a batch axis
pooling          inverse-variance pooling (FE, DL, REML, PM; z, Knapp–Hartung or modified
                 Knapp–Hartung test), ``PoolResult``
batch            the same pooling over many meta-analyses at once
metaregression   mixed-effects meta-regression
subgroups        subgroup analyses and the test for subgroup differences
sensitivity      leave-one-out, cumulative meta-analysis, influence and outliers
bias             Egger's test and trim-and-fill
mantel_haenszel  Mantel–Haenszel pooling of 2x2 tables
nnt              numbers needed to treat

The functions named like their modules (``subgroups``, ``mantel_haenszel``, ``nnt``) are
imported from those modules (``from analysis.stats.nnt import nnt``) or from ``analysis``.
"""

from __future__ import annotations

from analysis._lazy import lazy_exports

_EXPORTS = {
    "effect_size": "analysis.stats.effects",
    "EffectSizes": "analysis.stats.effects",
    "pool": "analysis.stats.pooling",
    "PoolResult": "analysis.stats.pooling",
    "estimate_tau2": "analysis.stats.pooling",
    "pool_many": "analysis.stats.batch",
    "BatchResult": "analysis.stats.batch",
    "meta_regression": "analysis.stats.metaregression",
    "MetaRegressionResult": "analysis.stats.metaregression",
    "SubgroupResult": "analysis.stats.subgroups",
    "leave_one_out": "analysis.stats.sensitivity",
    "cumulative": "analysis.stats.sensitivity",
    "influence": "analysis.stats.sensitivity",
    "egger_test": "analysis.stats.bias",
    "trim_and_fill": "analysis.stats.bias",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
