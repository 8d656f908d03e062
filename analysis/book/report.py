"""Publish results from notebooks: glue them into the page and record them for ``results.json``.

Every pooled estimate the book shows is an :class:`analysis.review.records.Estimate` (made by
the review layer under an id of :mod:`analysis.review.catalogue`) and goes through
:func:`publish`, which

* formats it once, the same way everywhere (``SMD −0.40 (95% CI −0.65 to −0.14)``),
* glues the formatted text and its parts into the page (MyST-NB ``glue``), under keys derived
  from the result id (``symptoms.smd.overall`` -> ``symptoms_smd_overall``, plus ``_est``,
  ``_ci``, ``_pi``, ``_k``, ``_n``, ``_who``, ``_i2``, ``_tau2``, ``_p``, ``_full``), and
* appends a machine-readable record to the file named by ``TRD_RESULTS_FILE`` (set by the build
  pipeline); outside the pipeline the records are kept in :data:`RECORDS` only.

:func:`write_site_file` puts a data file computed by a page (e.g. the explorer's
``explorer/multiverse.json``) at the root of the site, the way ``results.json`` gets there.

:func:`glue_text`, :func:`glue_table` and :func:`glue_figure` glue everything else a page shows;
:func:`table` shows a table directly from a cell. Tables go through
:func:`analysis.book.html.table_html`, the one place that turns data text into HTML (every cell
escaped, deterministic ids); glued text stays plain text, which Sphinx escapes.

Ratio measures (RR, OR) are pooled on the log scale; :func:`publish` shows and records them
exponentiated, with ``scale = "ratio"``.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported lazily: a page records only the modules it really uses
    from analysis.review.analyses import MetaAnalysis
    from analysis.review.records import Estimate

#: Records published in this process (the pipeline also writes them to ``TRD_RESULTS_FILE``).
RECORDS: list[dict[str, Any]] = []
#: Site files written in this process, name -> text (the pipeline also writes them to
#: ``TRD_SITE_FILES``, a JSON object, and publishes them at the site root).
SITE_FILES: dict[str, str] = {}
#: A site file's name: lower-case folders and a file name ending in .json or .csv.
SITE_FILE_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*(/[a-z0-9][a-z0-9_-]*)*\.(json|csv)")
#: Names the build publishes itself (a page may not replace them).
RESERVED_SITE_NAMES = ("results.json", "results.csv", "data/", "package/", "_static/",
                       "_images/", "_sources/", "chapters/")  # fmt: skip


def glue_key(result_id: str) -> str:
    """The glue key of a result id: ``symptoms.smd.modality.IPT+OT`` -> ``symptoms_smd_...``."""
    return re.sub(r"[^0-9A-Za-z]+", "_", result_id).strip("_")


def glue_text(key: str, text: str) -> None:
    """Glue a string into the current page (no-op outside a notebook kernel).

    The string is glued as plain text (``text/plain``): ``{glue:text}`` makes a docutils text
    node of it, which Sphinx escapes, so text from ``data/`` is shown, never interpreted.
    """
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


def write_site_file(name: str, text: str) -> int:
    """Publish ``text`` as the file ``name`` at the root of the site; return its size in bytes.

    The build collects every page's site files (:func:`analysis.book.results.collect_site_files`)
    and the site serves them beside ``results.json``; two pages writing one name with different
    contents fail the build. Outside the pipeline the text is kept in :data:`SITE_FILES` only.

    Raises
    ------
    ValueError
        For a name that is not :data:`SITE_FILE_NAME` (lower-case ``folder/name.json`` or
        ``.csv``) or that starts with one of :data:`RESERVED_SITE_NAMES`.
    """
    if not SITE_FILE_NAME.fullmatch(name) or name.startswith(RESERVED_SITE_NAMES):
        raise ValueError(f"site file name {name!r}: expected lower-case folder/name.json or "
                         f".csv, not one of {', '.join(RESERVED_SITE_NAMES)}")  # fmt: skip
    SITE_FILES[name] = text
    path = os.environ.get("TRD_SITE_FILES")
    if path:
        Path(path).write_text(json.dumps(SITE_FILES, indent=1), encoding="utf-8")
    return len(text.encode("utf-8"))


def glue_figure_alt(key: str, fig: Any, alt: str, dpi: int = 110) -> None:
    """Glue a matplotlib figure as an HTML ``<img>`` whose alt text is ``alt`` (for
    ``{glue:figure}``), so that the alt text can be generated from the results: the directive's
    ``:alt:`` is static text. The PNG is inlined as a ``data:`` URL; ``alt`` is escaped."""
    import base64
    import io

    from analysis.book.html import escape

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    html_text = (f'<img src="data:image/png;base64,{data}" alt="{escape(alt)}" '
                 'style="max-width:100%;height:auto">')  # fmt: skip
    try:
        from IPython.display import HTML
        from myst_nb import glue
    except ImportError:  # pragma: no cover
        return
    glue(key, HTML(html_text), display=False)


def publish(estimate: Estimate, *, digits: int = 2, glue: bool = True) -> dict[str, str]:
    """Record an estimate under its stable id and glue its formatted text.

    Glues the main text under ``glue_key(estimate.result_id)`` and each part under
    ``<key>_<suffix>`` (see :meth:`analysis.review.records.Estimate.texts`). An estimate
    without data glues "no trial data yet" under the same keys and is not recorded.

    Returns
    -------
    dict
        The formatted pieces, keyed by suffix (``""`` for the main text).
    """
    rec = estimate.record()
    if rec is not None:
        record(rec)
    pieces = estimate.texts(digits)
    if glue:
        key = glue_key(estimate.result_id)
        for suffix, text in pieces.items():
            glue_text(f"{key}_{suffix}" if suffix else key, text)
    return pieces


def publish_all(estimates: Iterable[Estimate]) -> None:
    """:func:`publish` every estimate."""
    for est in estimates:
        publish(est)


def publish_analysis(trials: Any, result_id: str) -> MetaAnalysis:
    """Run the catalogued analysis ``result_id`` (:mod:`analysis.review.catalogue`), publish
    it and return it for the page's tables and figures."""
    from analysis.review import catalogue

    ma = catalogue.run(trials, result_id)
    publish(ma.estimate(result_id, catalogue.spec(result_id).label))
    return ma


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


def glue_texts(texts: Mapping[str, str], prefix: str = "") -> None:
    """Glue every ``key -> text`` of ``texts`` (keys prefixed with ``prefix``)."""
    for key, text in texts.items():
        glue_text(f"{prefix}{key}", text)


def table(df: Any, key: str | None = None, precision: int | None = None) -> Any:
    """A table (a pandas DataFrame) to show from a cell: ``report.table(df, key="...")`` as the
    cell's last expression, or ``display(report.table(df))``.

    Rendered by :func:`analysis.book.html.table_html` (every cell and column label escaped, no
    index, the id ``T_<key>``, byte-identical between builds); ``key`` must be unique on the
    page (without one the id is derived from the table's content).
    """
    from IPython.display import HTML

    from analysis.book.html import table_html

    return HTML(table_html(df, key, precision))


def glue_table(key: str, df: Any, precision: int | None = None) -> None:
    """Glue a table (a pandas DataFrame) for ``{glue:figure}``: see :func:`table` (its id is
    ``T_<key>``)."""
    from myst_nb import glue

    glue(key, table(df, key, precision), display=False)


def glue_figure_or_note(key: str, fig: Any | None, note: str) -> None:
    """Glue ``fig`` under ``key``, or the text ``note`` when there is no figure."""
    if fig is None:
        glue_text(key, note)
    else:
        glue_figure(key, fig)
