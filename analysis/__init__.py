"""Meta-analysis tools for the living review of psychotherapy for treatment-resistant depression.

The public API is importable from the package root (``from analysis import pool``); each name
lives in one module, one concept per module, and is imported lazily so that
``import analysis`` stays cheap and a notebook only pays for what it uses.

Modules
-------
effects          effect sizes (MD, SMD, RR, OR, RD, precomputed, change scores)
pooling          inverse-variance pooling (FE, DL, REML, PM; Knapp-Hartung)
mantel_haenszel  Mantel-Haenszel fixed and random effects for dichotomous outcomes
subgroups        subgroup analyses and the test for subgroup differences
metaregression   meta-regression
sensitivity      leave-one-out, cumulative meta-analysis, influence/outliers
bias             Egger's test and trim-and-fill
nnt              numbers needed to treat
batch            vectorised pooling of many meta-analyses
plots            forest, funnel, risk-of-bias, cumulative and PRISMA plots
data             loading and validating ``data/``
selection        choosing one outcome per study, splitting shared control arms
report           glue helpers and the machine-readable results registry
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    "effect_size": "effects",
    "EffectSizes": "effects",
    "pool": "pooling",
    "PoolResult": "pooling",
    "mantel_haenszel": "mantel_haenszel",
    "subgroups": "subgroups",
    "meta_regression": "metaregression",
    "leave_one_out": "sensitivity",
    "cumulative": "sensitivity",
    "influence": "sensitivity",
    "egger_test": "bias",
    "trim_and_fill": "bias",
    "nnt": "nnt",
    "pool_many": "batch",
    "forest_plot": "plots",
    "funnel_plot": "plots",
    "rob_plot": "plots",
    "cumulative_plot": "plots",
    "prisma_flow": "plots",
    "alt_text": "plots",
    "load_trials": "data",
    "validate": "data",
    "DataValidationError": "data",
}

__all__ = sorted(_EXPORTS)


# Two functions share their module's name. Importing the submodule (``import analysis.nnt``)
# would bind the module to the package attribute, hiding the function; binding the functions
# here, after their modules are imported, keeps ``analysis.nnt`` the function.
from analysis.mantel_haenszel import mantel_haenszel  # noqa: E402, F401
from analysis.nnt import nnt  # noqa: E402, F401


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'analysis' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"analysis.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
