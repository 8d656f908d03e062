"""PRISMA 2020 flow diagram for a new review (databases and registers; optionally named sources,
e.g. other methods, and further study categories such as ongoing studies)."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Mapping

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from analysis.plots._common import (
    _MARGIN,
    PALETTE,
    _attach,
    _frame,
    _text_w,
)

__all__ = ["prisma_flow"]


def _n(counts: Mapping[str, int | str], key: str) -> str:
    v = counts.get(key)
    if v is None or (isinstance(v, float) and not np.isfinite(v)) or v == "":
        return "not reported"
    return str(v)


def prisma_flow(
    counts: Mapping[str, int | str],
    *,
    exclusion_reasons: Mapping[str, int | str] | None = None,
    title: str | None = None,
    fontsize: float = 8.5,
    sources: Mapping[str, int | str] | None = None,
    other_studies: Mapping[str, int | str] | None = None,
) -> Figure:
    """PRISMA 2020 flow diagram (new review; databases and registers).

    The counts are printed as given. Drawn: the left column of boxes (records identified,
    records screened, reports sought for retrieval, reports assessed for eligibility, studies
    and reports included) joined top to bottom by arrows, all but the last with an arrow to a
    box on the right (records removed before screening, records excluded, reports not
    retrieved, reports excluded with their reasons); sky-blue rounded bars on the left name the
    phases (Identification, Screening, Included). Lines wrap at 52 characters and every box is
    as wide as the longest line, so no text crosses a box edge.

    Parameters
    ----------
    counts : mapping of str to int or str
        Box counts; any missing key is shown as "not reported". Keys:

        ``records_databases``, ``records_registers``
            Records identified from databases / registers.
        ``duplicates_removed``, ``automation_excluded``, ``other_removed``
            Records removed before screening.
        ``records_screened``, ``records_excluded``
            Title/abstract screening.
        ``reports_sought``, ``reports_not_retrieved``
            Reports sought for retrieval / not retrieved.
        ``reports_assessed``, ``reports_excluded``
            Reports assessed for eligibility / excluded (total).
        ``studies_included``, ``reports_included``
            New studies included in the review and reports of included studies.
    exclusion_reasons : mapping of str to int or str, optional
        Reasons for excluding reports with counts, listed in the exclusion box.
    title : str, optional
        Figure title.
    fontsize : float
        Font size in points.
    sources : mapping of str to int or str, optional
        When given, the identification box lists these sources with their counts (e.g.
        ``{"Databases: Metapsy": 19, "Other methods: reviews' study lists": 23}``) instead of
        the ``records_databases`` and ``records_registers`` lines.
    other_studies : mapping of str to int or str, optional
        Further categories listed under the included studies in the last box (e.g.
        ``{"Ongoing or terminated studies": 1, "Studies awaiting classification": 2}``).

    Returns
    -------
    matplotlib.figure.Figure
        With ``fig.alt_text`` and ``fig.plot_info`` (``kind``, ``k`` = studies included,
        ``boxes``).
    """
    n = lambda key: _n(counts, key)  # noqa: E731
    reasons = [f"  {r} (n = {v})" for r, v in (exclusion_reasons or {}).items()]
    nbsp = "\N{NO-BREAK SPACE}"
    if sources is not None:
        identified = [f"  {label} (n = {_n(sources, label)})" for label in sources]
    else:
        identified = [
            f"  Databases (n = {n('records_databases')})",
            f"  Registers (n = {n('records_registers')})",
        ]
    others = [f"{label} (n = {_n(other_studies, label)})" for label in (other_studies or {})]
    boxes = {
        "identified": ["Records identified from:", *identified],
        "removed": [
            "Records removed before screening:",
            f"  Duplicate records removed (n = {n('duplicates_removed')})",
            f"  Records marked as ineligible by automation tools (n = {n('automation_excluded')})",
            f"  Records removed for other reasons (n = {n('other_removed')})",
        ],
        "screened": [f"Records screened (n = {n('records_screened')})"],
        "excluded": [f"Records excluded (n = {n('records_excluded')})"],
        "sought": [f"Reports sought for retrieval (n = {n('reports_sought')})"],
        "not_retrieved": [f"Reports not retrieved (n = {n('reports_not_retrieved')})"],
        "assessed": [f"Reports assessed for eligibility (n = {n('reports_assessed')})"],
        "rep_excluded": [f"Reports excluded (n = {n('reports_excluded')})", *reasons],
        "included": [
            f"Studies included in review (n = {n('studies_included')})",
            f"Reports of included studies (n = {n('reports_included')})",
            *others,
        ],
    }
    fs = fontsize
    wrap_chars = 52
    texts: dict[str, str] = {}
    for key, lines in boxes.items():
        out: list[str] = []
        for line in lines:
            indent = "  " if line.startswith("  ") else ""
            # keep "(n = 12)" and "not reported" together when wrapping
            line = line.replace("(n = ", f"(n{nbsp}={nbsp}").replace(
                "not reported", f"not{nbsp}reported"
            )
            out += textwrap.wrap(
                line.strip(), wrap_chars, initial_indent=indent, subsequent_indent=indent + "  "
            ) or [""]
        texts[key] = "\n".join(out)
    pad = 0.12
    box_w = max(_text_w(t, fs) for t in texts.values()) + 2 * pad
    line_h = fs * 1.25 / 72

    def box_h(key: str) -> float:
        return texts[key].count("\n") * line_h + fs / 72 + 2 * pad

    layout = [
        ("identified", "removed"),
        ("screened", "excluded"),
        ("sought", "not_retrieved"),
        ("assessed", "rep_excluded"),
        ("included", None),
    ]
    title_h = (fs + 3) * 2.0 / 72 if title else 0.0
    phases = [("Identification", 0, 0), ("Screening", 1, 3), ("Included", 4, 4)]
    vgap, hgap, phase_w = 0.35, 0.5, 0.32
    row_h = [max(box_h(a), box_h(b) if b else 0.0) for a, b in layout]
    # each phase bar must be tall enough for its rotated label
    for name, r0, r1 in phases:
        need = _text_w(name, fs, "bold") + 0.25 - (sum(row_h[r0 : r1 + 1]) + vgap * (r1 - r0))
        if need > 0:
            for r in range(r0, r1 + 1):
                row_h[r] += need / (r1 - r0 + 1)
    x_phase = _MARGIN
    x_left = x_phase + phase_w + 0.2
    x_right = x_left + box_w + hgap
    width = x_right + box_w + _MARGIN
    height = _MARGIN + title_h + sum(row_h) + vgap * (len(layout) - 1) + _MARGIN
    fig = Figure(figsize=(width, height))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, width)
    ax.set_ylim(height, 0)  # inches from the top
    ax.set_axis_off()
    if title:
        ax.text(
            width / 2,
            _MARGIN + title_h / 2,
            title,
            ha="center",
            va="center",
            fontsize=fs + 3,
            fontweight="bold",
        )
    tops = []
    y = _MARGIN + title_h
    for h in row_h:
        tops.append(y)
        y += h + vgap
    centers: dict[str, tuple[float, float, float]] = {}  # key -> (x centre, y top, height)
    for (a, b), top, h in zip(layout, tops, row_h, strict=True):
        for key, x0 in ((a, x_left), (b, x_right)):
            if key is None:
                continue
            bh = box_h(key)
            y0 = top + (h - bh) / 2
            ax.add_patch(
                FancyBboxPatch(
                    (x0, y0),
                    box_w,
                    bh,
                    boxstyle="round,pad=0,rounding_size=0.04",
                    facecolor="white",
                    edgecolor="black",
                    lw=0.9,
                )
            )
            ax.text(
                x0 + pad, y0 + pad, texts[key], ha="left", va="top", fontsize=fs, linespacing=1.25
            )
            centers[key] = (x0 + box_w / 2, y0, bh)
    arrow = {"arrowstyle": "-|>", "mutation_scale": 10, "color": "black", "lw": 0.9}
    for (a, _b), (na, _nb) in zip(layout[:-1], layout[1:], strict=True):
        xa, ya, ha = centers[a]
        ax.add_patch(FancyArrowPatch((xa, ya + ha), (centers[na][0], centers[na][1]), **arrow))
    for a, b in layout:
        if b is None:
            continue
        xa, ya, ha = centers[a]
        ax.add_patch(
            FancyArrowPatch((x_left + box_w, ya + ha / 2), (x_right, ya + ha / 2), **arrow)
        )
    phase_color = PALETTE["sky_blue"]
    for name, r0, r1 in phases:
        y0 = tops[r0]
        y1 = tops[r1] + row_h[r1]
        ax.add_patch(
            FancyBboxPatch(
                (x_phase, y0),
                phase_w,
                y1 - y0,
                boxstyle="round,pad=0,rounding_size=0.06",
                facecolor=phase_color,
                edgecolor="black",
                lw=0.8,
            )
        )
        ax.text(
            x_phase + phase_w / 2,
            (y0 + y1) / 2,
            name,
            rotation=90,
            ha="center",
            va="center",
            fontsize=fs,
            fontweight="bold",
        )
    if sources is not None:
        found = "; ".join(f"{label}: {_n(sources, label)}" for label in sources)
    else:
        found = f"databases: {n('records_databases')}; registers: {n('records_registers')}"
    txt = (
        "PRISMA 2020 flow diagram. "
        f"Records identified from {found}. Duplicates removed: {n('duplicates_removed')}. "
        f"Records screened: {n('records_screened')}; excluded: {n('records_excluded')}. "
        f"Reports sought: {n('reports_sought')}; not retrieved: {n('reports_not_retrieved')}. "
        f"Reports assessed for eligibility: {n('reports_assessed')}; excluded: "
        f"{n('reports_excluded')}. Studies included in the review: {n('studies_included')} "
        f"({n('reports_included')} reports)."
    )
    if reasons:
        txt += " Reasons for exclusion: " + "; ".join(r.strip() for r in reasons) + "."
    if others:
        txt += " Also: " + "; ".join(others) + "."
    records = []
    for lines in boxes.values():
        head = ""
        for line in lines:
            m = re.fullmatch(r"(.*) \(n = (.*)\)", line.strip())
            if m is None:
                head = line.strip().rstrip(":")
                continue
            item = m.group(1).strip()
            if line.startswith("  ") and head:
                item = f"{head}: {item}"
            elif not line.startswith("  "):
                head = item
            records.append({"Box": item, "Number": m.group(2)})
    k = counts.get("studies_included")
    return _attach(fig, txt, data=_frame(records), kind="prisma", k=k, boxes=texts)
