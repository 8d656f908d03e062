"""Small helpers for the landing page, the results pages and the limitations chapter.

Everything here is pure (no glue, no file access) so that it can be tested directly; the
notebooks call these functions and glue the returned text.
"""

from __future__ import annotations

import math
import re
from typing import Any

import pandas as pd

from analysis.review.analyses import study_label
from analysis.review.text import fmt_number
from analysis.stats.nnt import nnt

#: Assumed proportion of control participants who respond, used to turn the pooled SMD into a
#: number needed to treat (Furukawa & Leucht 2011). It is an ASSUMPTION, not an estimate from
#: our data: no pooled control response rate is available (no trial gives response counts with
#: denominators). It is a round value close to the usual-care response rate printed for the
#: largest trial, CoBalT (``outcomes.csv``, Wiles2013, response, control arm: "46 (22%)" at six
#: months), and above the rate reported for the (active) control arm of Eisendrath2016
#: (15.3%). A lower control rate gives a larger NNT and vice versa.
ASSUMED_CONTROL_RESPONSE_RATE = 0.20

#: Therapy families used in the book (chapters/modalities/index.md) and their data codes.
FAMILIES: dict[str, tuple[str, ...]] = {
    "CBT and related": ("CBT", "CT", "BA"),
    "CBASP": ("CBASP",),
    "third-wave therapies": ("MBCT", "DBT", "CFT"),
    "IPT": ("IPT", "IPT+OT"),
    "psychodynamic therapies": ("ISTDP", "LTPP"),
    "other therapies": ("BODY", "TF-CBT", "other"),
}
_CODE_FAMILY = {code: fam for fam, codes in FAMILIES.items() for code in codes}


def family_of(modality: str, comparison: str = "") -> str:
    """The therapy family of one comparison.

    The therapy named in the comparison label (the part before ``" vs "``) wins over the trial's
    ``modality`` code, so that a multi-arm trial's second therapy (e.g. the group CBASP arm of
    Michalak2015, whose trial is coded MBCT) is counted in its own family. Falls back to the
    trial's code, then to ``"other therapies"``.
    """
    therapy = str(comparison or "").split(" vs ")[0]
    for code in sorted(_CODE_FAMILY, key=len, reverse=True):
        if code == "other":
            continue
        if re.search(rf"(?<![A-Za-z\-]){re.escape(code)}(?![A-Za-z])", therapy):
            return _CODE_FAMILY[code]
    return _CODE_FAMILY.get(str(modality), "other therapies")


def single_trial_families(table: pd.DataFrame) -> list[str]:
    """Families represented by exactly one trial in an analysis table (``MetaAnalysis.table``)."""
    if not len(table):
        return []
    fam = [family_of(m, c) for m, c in zip(table["modality"], table["comparison"], strict=True)]
    counts = pd.Series(list(table["study_id"]), index=fam).groupby(level=0).nunique()
    return [f for f in FAMILIES if counts.get(f, 0) == 1]


def largest_trial_share(table: pd.DataFrame) -> dict[str, Any]:
    """The trial with most participants in an analysis and its share of participants and weight.

    Shares are percentages of the analysis totals (all comparisons of a multi-arm trial summed).
    Comparisons entered as published effect sizes carry no participant count, so the
    participant share is of the participants *counted* in the analysis.
    """
    if not len(table) or table["participants"].sum() <= 0:
        return {"study_id": None, "label": "none", "participants_pct": math.nan,
                "weight_pct": math.nan}  # fmt: skip
    by = table.groupby("study_id")[["participants", "weight"]].sum()
    top = by["participants"].idxmax()
    return {
        "study_id": top,
        "label": study_label(top),
        "participants_pct": 100 * by.loc[top, "participants"] / by["participants"].sum(),
        "weight_pct": 100 * by.loc[top, "weight"] / by["weight"].sum(),
    }


def nnt_text(
    smd: float | None,
    ci_low: float | None = None,
    ci_high: float | None = None,
    cer: float = ASSUMED_CONTROL_RESPONSE_RATE,
) -> str:
    """Reader-facing NNT from a pooled SMD (negative favours psychotherapy), rounded up.

    With a confidence interval the NNTs at its limits are given; when the interval includes no
    effect, the text says that the NNT's interval is unbounded.
    """
    if smd is None or not math.isfinite(smd):
        return "not estimable (no pooled SMD)"
    point = nnt(smd=smd, cer=cer)
    if not math.isfinite(point):
        return "not estimable (no difference)"
    if point < 0:
        main = f"{math.ceil(abs(point))} (number needed to harm)"
    else:
        main = str(math.ceil(point))
    if ci_low is None or ci_high is None or not (math.isfinite(ci_low) and math.isfinite(ci_high)):
        return main
    if ci_low < 0 < ci_high or ci_high == 0 or ci_low == 0:
        return f"{main} (its 95% CI is unbounded because the CI of the SMD includes no effect)"
    a, b = (math.ceil(abs(nnt(smd=x, cer=cer))) for x in (ci_low, ci_high))
    lo, hi = sorted((a, b))
    return f"{main} (95% CI {lo} to {hi})"


def percent(x: float, digits: int = 0) -> str:
    """``0.2`` -> ``"20%"`` (``NaN`` -> ``"NA"``)."""
    if x is None or not math.isfinite(x):
        return "NA"
    return f"{100 * x:.{digits}f}%"


def short_reason(text: Any, limit: int = 180) -> str:
    """The first sentence(s) of a free-text note, cut at ``limit`` characters."""
    if text is None or (isinstance(text, float) and math.isnan(text)) or pd.isna(text):
        return ""
    text = " ".join(str(text).split())
    if len(text) <= limit:
        return text
    cut = text[:limit]
    stop = max(cut.rfind(". "), cut.rfind("; "))
    return (cut[: stop + 1] if stop > 40 else cut.rstrip() + "…").rstrip(";")


def not_complete_table(studies: pd.DataFrame) -> pd.DataFrame:
    """Every trial whose ``data_status`` is not ``complete``, with why it is not (fully) pooled."""
    s = studies.loc[studies["data_status"].fillna("") != "complete"]
    why = []
    for main, reason, note in zip(s["main_analysis"], s["main_analysis_reason"], s["notes"],
                                  strict=True):  # fmt: skip
        parts = []
        if str(main) != "yes":
            parts.append(f"Not in the main analysis: {reason}.")
        parts.append(short_reason(note))
        why.append(" ".join(p for p in parts if p))
    return pd.DataFrame({
        "Trial": [study_label(x) + (f" ({n})" if isinstance(n, str) and n else "")
                  for x, n in zip(s["study_id"], s["trial_name"].fillna(""), strict=True)],
        "Therapy": s["modality"].to_numpy(),
        "Data status": s["data_status"].to_numpy(),
        "Main analysis": s["main_analysis"].to_numpy(),
        "Why (from the extraction notes)": why,
    }).reset_index(drop=True)  # fmt: skip


def awaiting_display(awaiting: pd.DataFrame) -> pd.DataFrame:
    """A reader-facing version of ``MetaAnalysis.awaiting``."""
    if not len(awaiting):
        return pd.DataFrame(columns=["Trial", "Data status", "Reason"])
    names = awaiting["trial_name"].fillna("") if "trial_name" in awaiting else [""] * len(awaiting)
    return pd.DataFrame({
        "Trial": [study_label(x) + (f" ({n})" if isinstance(n, str) and n else "")
                  for x, n in zip(awaiting["study_id"], names, strict=True)],
        "Data status": awaiting.get("data_status", pd.Series([""] * len(awaiting))).to_numpy(),
        "Reason": awaiting["reason"].to_numpy(),
    }).reset_index(drop=True)  # fmt: skip


def trial_list(ids: Any) -> str:
    """``["Wiles2013", "Town2017"]`` -> ``"Wiles 2013 and Town 2017"`` (``"none"`` if empty)."""
    labels = [study_label(x) for x in dict.fromkeys(ids)]
    if not labels:
        return "none"
    if len(labels) == 1:
        return labels[0]
    return ", ".join(labels[:-1]) + " and " + labels[-1]


def count_text(n: int, singular: str, plural: str | None = None) -> str:
    """``(1, "trial")`` -> ``"1 trial"``; ``(3, "trial")`` -> ``"3 trials"``."""
    return f"{n} {singular if n == 1 else (plural or singular + 's')}"


__all__ = [
    "ASSUMED_CONTROL_RESPONSE_RATE", "FAMILIES", "awaiting_display", "count_text", "family_of",
    "fmt_number", "largest_trial_share", "not_complete_table", "nnt_text", "percent",
    "short_reason", "single_trial_families", "trial_list",
]  # fmt: skip


def smd_direction(ci_low: float | None, ci_high: float | None) -> str:
    """Plain-language direction of a pooled SMD (negative favours psychotherapy) from its CI."""
    if ci_low is None or ci_high is None or not (math.isfinite(ci_low) and math.isfinite(ci_high)):
        return "no pooled estimate is available yet"
    if ci_high < 0:
        return "psychotherapy was followed by fewer depressive symptoms than the control conditions"
    if ci_low > 0:
        return "psychotherapy was followed by more depressive symptoms than the control conditions"
    return (
        "the trials do not show a clear difference in depressive symptoms between "
        "psychotherapy and the control conditions"
    )
