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

:func:`glue_text`, :func:`glue_table` and :func:`glue_figure` glue everything else a page shows
(a figure as an SVG at its natural size with its alt text and the table of its numbers);
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


#: How the SVG figures keep their text: ``"path"`` draws every glyph as a path (exact look,
#: whatever fonts the reader has) and ``"none"`` keeps ``<text>`` elements, drawn in the
#: reader's fonts. "none": chapters/results/symptoms.html (five forest plots) weighs 206 kB with
#: it and 747 kB with "path" (408 kB with the PNGs it replaces).
SVG_FONTTYPE = "none"
#: The fonts an SVG's text asks for: DejaVu Sans (what the layout code measures, and what
#: matplotlib draws the notebooks' figures with), else only fonts that are narrower than it
#: (so text may end short of where it was laid out but never runs into the next column).
SVG_FONTS = ["DejaVu Sans", "Helvetica", "Arial", "Liberation Sans", "Roboto"]
_SVG_SIZE = re.compile(rb'<svg[^>]*?\swidth="([0-9.]+)pt"[^>]*?\sheight="([0-9.]+)pt"', re.S)


def figure_svg(key: str, fig: Any) -> tuple[bytes, int, int]:
    """``fig`` as SVG bytes and its natural size in CSS pixels (1 pt = 4/3 px).

    The bytes are the same in every build: no date in the metadata, and the ids matplotlib
    generates are salted with ``key`` (``svg.hashsalt``), not with a random number.
    """
    import io

    import matplotlib

    buf = io.BytesIO()
    rc = {"svg.hashsalt": key, "svg.fonttype": SVG_FONTTYPE, "font.sans-serif": SVG_FONTS}
    with matplotlib.rc_context(rc):
        fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    svg = buf.getvalue()
    m = _SVG_SIZE.search(svg)
    if m is None:  # pragma: no cover - matplotlib always writes the size in points
        raise ValueError(f"figure {key!r}: no size in the SVG")
    return svg, round(float(m.group(1)) * 4 / 3), round(float(m.group(2)) * 4 / 3)


def _figure_html(key: str, fig: Any, *, alt: str | None = None, data: Any | None = None) -> str:
    """The HTML :func:`glue_figure` glues: see there."""
    from analysis.book import html
    from analysis.plots import alt_text

    svg, width, height = figure_svg(key, fig)
    text = alt if alt is not None else alt_text(fig)
    if data is None:
        data = getattr(fig, "plot_data", None)
    table = html.table_html(data, key=f"{key}_data") if data is not None and len(data) else None
    return html.figure_html(svg, text, width, height, table)


def glue_figure(key: str, fig: Any, *, alt: str | None = None, data: Any | None = None) -> None:
    """Glue a matplotlib figure as HTML for ``{glue:figure}`` (with a caption and name).

    The figure is an SVG ``<img>`` at its natural size (text at least 11 CSS px; never shrunk
    to the column) in a region that scrolls sideways on a narrow screen, with

    * the alt text ``alt``, else the figure's own (``fig.alt_text``, generated from the
      results: :func:`analysis.plots.alt_text`), escaped; and
    * the numbers it shows, ``data``, else ``fig.plot_data``, as a table
      (:func:`analysis.book.html.table_html`, id ``T_<key>_data``) in a collapsed
      ``<details>`` under it; a figure without data (a note) has none.

    Built by :func:`analysis.book.html.figure_html`; the same figure and key give the same
    bytes in every build.
    """
    html_text = _figure_html(key, fig, alt=alt, data=data)
    try:
        from IPython.display import HTML
        from myst_nb import glue
    except ImportError:  # pragma: no cover
        return
    glue(key, HTML(html_text), display=False)


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
