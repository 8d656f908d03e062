"""Review layer: the analyses this review runs, on top of the evidence and statistics layers.

analyses     one call from the database to a pooled analysis (``meta_analysis``)
families     the psychotherapy families (one mapping, per comparison)
grade        rule-based GRADE certainty
reproduce    reproducing the seed reviews' pooled results
history      released estimates and what changed between releases (in words, too)
screening    the search and screening record: PRISMA counts, excluded/ongoing tables, searched-to
characteristics  characteristics of included studies (Cochrane style)
within_trial subgroups of one trial from its participant-level data (not randomised comparisons)
records      machine-readable records of pooled results
text         reader-facing formatting (numbers, p values, plurals, lists)

May import the statistics, plots and evidence layers, never the book layer.
"""

from __future__ import annotations

from analysis._lazy import lazy_exports

_EXPORTS = {
    "meta_analysis": "analysis.review.analyses",
    "MetaAnalysis": "analysis.review.analyses",
    "select_studies": "analysis.review.analyses",
    "study_label": "analysis.review.analyses",
    "trial_table": "analysis.review.analyses",
    "forest_frame": "analysis.review.analyses",
    "forest_arguments": "analysis.review.analyses",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
