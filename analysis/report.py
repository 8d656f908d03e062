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
import math
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

RATIO_MEASURES = {"RR", "OR"}
MINUS = "\u2212"

#: Records published in this process (the pipeline also writes them to ``TRD_RESULTS_FILE``).
RECORDS: list[dict[str, Any]] = []


def glue_key(result_id: str) -> str:
    """The glue key of a result id: ``symptoms.smd.modality.IPT+OT`` -> ``symptoms_smd_...``."""
    return re.sub(r"[^0-9A-Za-z]+", "_", result_id).strip("_")


def fmt_number(value: float, digits: int = 2) -> str:
    """Format a number with a typographic minus; ``NaN`` becomes ``"NA"``."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "NA"
    text = f"{value:.{digits}f}"
    if text.startswith("-"):
        text = MINUS + text[1:]
    if text in (f"{MINUS}0.{'0' * digits}",):
        text = text[1:]
    return text


def fmt_p(p: float) -> str:
    """Format a p value as journals do (``p < 0.001``, ``p = 0.03``)."""
    if p is None or not math.isfinite(p):
        return "p = NA"
    if p < 0.001:
        return "p < 0.001"
    return f"p = {p:.3f}" if p < 0.01 else f"p = {p:.2f}"


def _display(value: float, ratio: bool) -> float:
    if value is None or not math.isfinite(value):
        return float("nan")
    return math.exp(value) if ratio else float(value)


def result_record(
    result_id: str,
    result: Any,
    *,
    measure: str,
    label: str,
    outcome: str,
    participants: int | None = None,
    studies: Sequence[str] | None = None,
) -> dict[str, Any]:
    """A JSON-serialisable record of a pooled result (ratio measures exponentiated)."""
    ratio = measure.upper() in RATIO_MEASURES
    get = lambda name: float(getattr(result, name, float("nan")))  # noqa: E731
    rec = {
        "id": result_id,
        "label": label,
        "outcome": outcome,
        "measure": measure,
        "scale": "ratio" if ratio else "difference",
        "estimate": _display(get("estimate"), ratio),
        "ci_low": _display(get("ci_low"), ratio),
        "ci_high": _display(get("ci_high"), ratio),
        "pi_low": _display(get("pi_low"), ratio),
        "pi_high": _display(get("pi_high"), ratio),
        "se": get("se"),
        "p": get("p"),
        "tau2": get("tau2"),
        "i2": get("i2"),
        "k": int(getattr(result, "k", 0)),
        "participants": None if participants is None else int(participants),
        "method": str(getattr(result, "method", "")),
        "hksj": bool(getattr(result, "hksj", False)),
        "studies": list(studies) if studies is not None else None,
    }
    return {
        k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in rec.items()
    }


def describe(rec: dict[str, Any], digits: int = 2) -> dict[str, str]:
    """Formatted text pieces of a record (what gets glued)."""
    f = lambda v: fmt_number(float("nan") if v is None else v, digits)  # noqa: E731
    est, lo, hi = f(rec["estimate"]), f(rec["ci_low"]), f(rec["ci_high"])
    ci = f"95% CI {lo} to {hi}"
    pi = (
        f"95% prediction interval {f(rec['pi_low'])} to {f(rec['pi_high'])}"
        if rec.get("pi_low") is not None
        else "prediction interval not estimable (fewer than 3 trials)"
    )
    k = rec["k"]
    n = rec.get("participants")
    n_trials = len(set(rec.get("studies") or [])) or k
    trials = f"{k} trial" + ("" if k == 1 else "s")
    if n_trials != k:
        trials = f"{k} comparisons from {n_trials} trials"
    who = f"{trials}, {n} participants" if n else trials
    i2 = "NA" if rec.get("i2") is None else f"{rec['i2']:.0f}%"
    tau2 = "NA" if rec.get("tau2") is None else fmt_number(rec["tau2"], 3)
    return {
        "": f"{rec['measure']} {est} ({ci})",
        "est": est,
        "ci": ci,
        "pi": pi,
        "k": str(k),
        "n": str(n) if n is not None else "NA",
        "who": who,
        "i2": i2,
        "tau2": tau2,
        "p": fmt_p(float("nan") if rec.get("p") is None else rec["p"]),
        "full": f"{rec['measure']} {est} ({ci}; {who}; I² = {i2})",
    }


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


_TRACKING = False


def track_data_reads() -> None:
    """Record every file under ``TRD_DATA_DIR`` that this process opens.

    The build pipeline runs this first in every notebook it executes (a hidden cell) and keeps
    the list, with the files' hashes, as the notebook's exact data dependencies: the notebook is
    re-executed when, and only when, one of those files (or the notebook, its parameters or the
    ``analysis`` package) changes. Outside the pipeline (no ``TRD_READS_FILE``) it does nothing.
    """
    global _TRACKING
    out = os.environ.get("TRD_READS_FILE")
    data_dir = os.environ.get("TRD_DATA_DIR")
    if _TRACKING or not out or not data_dir:
        return
    prefix = os.path.realpath(data_dir) + os.sep
    seen: set[str] = set()

    def hook(event: str, args: tuple) -> None:
        if event != "open" or not args or not isinstance(args[0], str | bytes | os.PathLike):
            return
        path = os.path.realpath(os.fsdecode(args[0]))
        if path.startswith(prefix) and path not in seen:
            seen.add(path)
            with open(out, "a", encoding="utf-8") as fh:  # noqa: PTH123 - re-entrancy safe
                fh.write(path + "\n")

    import sys

    sys.addaudithook(hook)
    _TRACKING = True


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
