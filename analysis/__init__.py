"""The living review of psychotherapy for treatment-resistant depression, as a Python package.

Layers (each may import only the layers below it; ``tests/test_architecture.py`` checks this):

``analysis.stats``     statistics core (numpy, scipy, pandas only; knows nothing of the review)
``analysis.plots``     figures that draw fitted results (never re-pool)
``analysis.evidence``  the trial database: schema, validation, loading, selection
``analysis.review``    the analyses this review runs, families, GRADE, reproduction, history, text
``analysis.book``      the book build: execution, staging, glue and results publishing, CLI

The names notebooks use are importable from the package root (``from analysis import pool``)
and are imported lazily, so ``import analysis`` stays cheap and the build records exactly which
modules a notebook used.
"""

from __future__ import annotations

from analysis._lazy import lazy_exports

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    # statistics core
    "effect_size": "analysis.stats.effects",
    "EffectSizes": "analysis.stats.effects",
    "pool": "analysis.stats.pooling",
    "PoolResult": "analysis.stats.pooling",
    "mantel_haenszel": "analysis.stats.mantel_haenszel",
    "subgroups": "analysis.stats.subgroups",
    "meta_regression": "analysis.stats.metaregression",
    "leave_one_out": "analysis.stats.sensitivity",
    "cumulative": "analysis.stats.sensitivity",
    "influence": "analysis.stats.sensitivity",
    "egger_test": "analysis.stats.bias",
    "trim_and_fill": "analysis.stats.bias",
    "nnt": "analysis.stats.nnt",
    "pool_many": "analysis.stats.batch",
    # plots
    "forest_plot": "analysis.plots",
    "funnel_plot": "analysis.plots",
    "rob_plot": "analysis.plots",
    "cumulative_plot": "analysis.plots",
    "prisma_flow": "analysis.plots",
    "alt_text": "analysis.plots",
    # evidence
    "load_trials": "analysis.evidence.loading",
    "validate": "analysis.evidence.validation",
    "DataValidationError": "analysis.evidence.validation",
    # layers and the module notebooks glue with
    "stats": "module:analysis.stats",
    "plots": "module:analysis.plots",
    "evidence": "module:analysis.evidence",
    "review": "module:analysis.review",
    "book": "module:analysis.book",
    "report": "module:analysis.book.report",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
