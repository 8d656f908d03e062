"""Publish results from notebooks: glue them into the page and record them for ``results.json``.

Every pooled estimate the book shows goes through :func:`publish`, which

* formats it once, the same way everywhere (``SMD −0.40 (95% CI −0.65 to −0.14)``),
* glues the formatted text and its parts into the page (MyST-NB ``glue``), under keys derived
  from the result id (``symptoms.smd.overall`` -> ``symptoms_smd_overall``, plus ``_est``,
  ``_ci``, ``_pi``, ``_k``, ``_n``, ``_i2``, ``_tau2``, ``_p``), and
* appends a machine-readable record to the file named by ``TRD_RESULTS_FILE`` (set by the build
  pipeline); outside the pipeline the records are kept in :data:`RECORDS` only.

Ratio measures (RR, OR) are pooled on the log scale; :func:`publish` shows and records them
exponentiated, with ``scale = "ratio"``.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from analysis.review.records import result_record
from analysis.review.text import describe, fmt_number, fmt_p  # noqa: F401  (re-exported for pages)

#: Records published in this process (the pipeline also writes them to ``TRD_RESULTS_FILE``).
RECORDS: list[dict[str, Any]] = []


def glue_key(result_id: str) -> str:
    """The glue key of a result id: ``symptoms.smd.modality.IPT+OT`` -> ``symptoms_smd_...``."""
    return re.sub(r"[^0-9A-Za-z]+", "_", result_id).strip("_")












def glue_text(key: str, text: str) -> None:
    """Glue a string into the current page (no-op outside a notebook kernel)."""
    try:
        from myst_nb import glue
    except ImportError:  # pragma: no cover - myst_nb is installed with the book extras
        return
    glue(key, text, display=False)


def record(rec: dict[str, Any]) -> None:
    """Keep ``rec`` and append it to the pipeline's results file, if any."""
    RECORDS[:] = [r for r in RECORDS if r["id"] != rec["id"]] + [rec]
    path = os.environ.get("TRD_RESULTS_FILE")
    if path:
        Path(path).write_text(json.dumps(RECORDS, indent=1), encoding="utf-8")


def publish(
    result_id: str,
    result: Any,
    *,
    measure: str,
    label: str,
    outcome: str,
    participants: int | None = None,
    studies: Sequence[str] | None = None,
    digits: int = 2,
    glue: bool = True,
) -> dict[str, str]:
    """Record a pooled result under a stable id and glue its formatted text.

    Parameters
    ----------
    result_id
        Stable id, dotted, e.g. ``"symptoms.smd.overall"``.
    result
        An object with the attributes of :class:`analysis.pooling.PoolResult`.
    measure
        ``"SMD"``, ``"MD"``, ``"RR"``, ``"OR"``...; ratio measures are exponentiated.
    label, outcome
        Human-readable label and outcome name, stored in ``results.json``.
    participants, studies
        Number of participants and the study ids behind the estimate.
    digits
        Decimals shown.
    glue
        Whether to glue the texts into the page.

    Returns
    -------
    dict
        The formatted pieces, keyed by suffix (``""`` for the main text).
    """
    rec = result_record(
        result_id,
        result,
        measure=measure,
        label=label,
        outcome=outcome,
        participants=participants,
        studies=studies,
    )
    record(rec)
    pieces = describe(rec, digits)
    if glue:
        key = glue_key(result_id)
        for suffix, text in pieces.items():
            glue_text(f"{key}_{suffix}" if suffix else key, text)
    return pieces


def glue_figure(key: str, fig: Any, dpi: int = 110) -> None:
    """Glue a matplotlib figure as a PNG image (for ``{glue:figure}`` with a caption and name).

    The figure's alt text (:func:`analysis.plots.alt_text`) goes with it as image metadata; the
    page still states ``:alt:`` in the directive, which is what the HTML uses.
    """
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    try:
        from IPython.display import Image
        from myst_nb import glue
    except ImportError:  # pragma: no cover
        return
    glue(key, Image(data=buf.getvalue(), format="png"), display=False)
