"""Small-study effects of the main analysis: funnel plot inputs, Egger's test, trim-and-fill.

With fewer than 10 comparisons the methods have little power (the page says so); with fewer
than three they are not computed.
"""

from __future__ import annotations

from dataclasses import dataclass

from analysis.review.analyses import MetaAnalysis
from analysis.review.catalogue import label as catalogue_label
from analysis.review.records import Estimate
from analysis.review.text import fmt_number, fmt_p
from analysis.stats.bias import TrimFillResult, egger_test, trim_and_fill

__all__ = ["TRIMFILL_ID", "SmallStudyEffects", "small_study_effects"]

TRIMFILL_ID = "symptoms.smd.trimfill"
NOT_ESTIMABLE = "not estimable (fewer than three trials)"


@dataclass(frozen=True)
class SmallStudyEffects:
    """Texts for the page (``caution``, ``k``, ``egger``, ``k0``, ``side``, ``tf_sentence``),
    the trim-and-fill result (``None`` for k < 3) and the adjusted estimate."""

    texts: dict[str, str]
    trimfill: TrimFillResult | None
    estimate: Estimate


def caution_text(k: int) -> str:
    """What the number of comparisons means for these methods."""
    if k < 10:
        return (f"Only {k} comparisons are available. With fewer than 10 trials, funnel plots, "
                "Egger's test and trim-and-fill have little power to detect small-study effects "
                "and can be misleading either way; the results below are descriptive.")  # fmt: skip
    return (f"{k} comparisons are available, just above the usual minimum of 10 for these "
            "methods; their power is still limited and a funnel asymmetry may have causes "
            "other than publication bias (for example, smaller trials with more selected "
            "patients or wait-list controls).")  # fmt: skip


def small_study_effects(ma: MetaAnalysis) -> SmallStudyEffects:
    """Egger's test and trim-and-fill (REML, L0 estimator) on the comparisons of ``ma``."""
    k = ma.k
    texts = {"caution": caution_text(k), "k": str(k)}
    label = catalogue_label(TRIMFILL_ID)
    if k < 3:
        texts.update({key: NOT_ESTIMABLE for key in ("egger", "k0", "side", "tf_sentence")})
        est = Estimate(TRIMFILL_ID, label, ma.outcome, ma.measure, None,
                       no_data_text=NOT_ESTIMABLE)  # fmt: skip
        return SmallStudyEffects(texts, None, est)
    t = ma.table
    eg = egger_test(t["yi"], t["vi"])
    texts["egger"] = (f"bias = {fmt_number(eg.bias)}, t = {fmt_number(eg.stat)}, df = {eg.df}, "
                      f"{fmt_p(eg.p)}")  # fmt: skip
    tf = trim_and_fill(t["yi"], t["vi"], method="REML")
    side = "left (favouring psychotherapy)" if tf.side == "left" else "right (favouring control)"
    texts["k0"] = str(tf.k0)
    texts["side"] = side
    texts["tf_sentence"] = (
        "It imputed no missing trials, so the funnel gives no sign of asymmetry by this method."
        if tf.k0 == 0 else
        f"It imputed {tf.k0} missing trial{'s' if tf.k0 > 1 else ''} on the {side} side of the "
        "funnel."
    )  # fmt: skip
    est = Estimate(TRIMFILL_ID, label, ma.outcome, ma.measure, tf.filled,
                   participants=ma.participants, studies=tuple(ma.studies))  # fmt: skip
    return SmallStudyEffects(texts, tf, est)
