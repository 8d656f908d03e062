"""Cumulative meta-analysis of the main analysis, trials added in order of publication year."""

from __future__ import annotations

import pandas as pd

from analysis.review.analyses import MetaAnalysis
from analysis.review.text import range_text
from analysis.stats.sensitivity import cumulative

__all__ = ["cumulative_analysis"]


def cumulative_analysis(ma: MetaAnalysis) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, str]]:
    """Re-pool ``ma``'s comparisons adding one at a time by year (same model).

    Returns the cumulative frame (:func:`analysis.stats.sensitivity.cumulative` plus ``year``),
    a display table, and texts ``first_year`` (from when the CI has excluded no effect for
    good) and ``years`` (range of publication years).
    """
    if ma.k < 1:
        texts = {"first_year": "not yet (no trial data)", "years": "no trial data yet"}
        return pd.DataFrame(), pd.DataFrame({"Step": []}), texts
    t = ma.table
    cum = cumulative(t["yi"], t["vi"], order=t["year"].to_numpy(), method=ma.method,
                     test=ma.model_test, labels=list(t["label"]))  # fmt: skip
    years = t.set_index("label")["year"]
    cum["year"] = [int(years[lab]) for lab in cum.index]
    table = pd.DataFrame({
        "Step": range(1, len(cum) + 1),
        "Comparison added": cum.index,
        "Year": cum["year"],
        "Comparisons": cum["k"],
        "Cumulative SMD (95% CI)": [range_text(e, lo, hi) for e, lo, hi in
                                    zip(cum["estimate"], cum["ci_low"], cum["ci_high"],
                                        strict=True)],
    })  # fmt: skip
    significant = (cum["ci_high"] < 0).to_numpy()
    first = next((i for i in range(len(significant)) if significant[i:].all()), None)
    texts = {
        "first_year": "not yet" if first is None else
        f"from {int(cum['year'].iloc[first])} onwards (after {int(cum['k'].iloc[first])} "
        "comparisons)",
        "years": f"{int(cum['year'].min())} to {int(cum['year'].max())}",
    }  # fmt: skip
    return cum, table, texts
