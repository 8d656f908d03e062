"""The one place where text from ``data/`` becomes HTML: escaping and tables.

Every string of the trial database that reaches a page goes through this module or through
docutils, which escapes text nodes and attribute values itself:

* **tables** (pandas DataFrames): :func:`table_html`. pandas' ``Styler`` does *not* escape
  cell text by default, so a trial name ``<img src=x onerror=...>`` used to run in the reader's
  browser. Here every cell and every column label goes through :func:`escape` (``&``, ``<``,
  ``>``, ``"``, ``'``; values that are not strings too, after formatting them as pandas does),
  missing values are shown empty, the index is hidden, and the table's id comes from
  its key (not pandas' random ``T_xxxxx``), so the same table renders to the same bytes in
  every build;
* **raw HTML that the build writes itself** (the footer): :func:`escape`;
* **glued text** (``{glue:text}``): MyST-NB turns the glued ``text/plain`` into a docutils text
  node, which Sphinx escapes; nothing is parsed as Markdown or HTML, so no escaping here (it
  would show ``&amp;lt;`` to the reader). :func:`analysis.book.report.glue_text` glues plain
  text only;
* **figures** (:func:`figure_html`, glued by :func:`analysis.book.report.glue_figure`): an
  SVG image at its natural size in a sideways-scrolling region, its alt text generated from
  the results (escaped here, like the region's label), and the numbers it shows as a
  :func:`table_html` table in a collapsed ``<details>``.

No page embeds JSON: ``results.json`` is a separate file written with :func:`json.dumps`.

:mod:`analysis.book.report` glues and shows tables through :func:`table_html`; chapters never
call ``DataFrame.style`` or ``Styler.to_html`` themselves (``tests/test_html_escaping.py``
checks the source).
"""

from __future__ import annotations

import hashlib
import html
import numbers
import re
from collections.abc import Callable
from typing import Any

import pandas as pd

__all__ = ["TABLE_SCROLL_CLASS", "escape", "figure_html", "table_html", "table_id"]

#: Class of the scroll container around every table (styled in ``_static/trd-site.css``).
TABLE_SCROLL_CLASS = "trd-table-scroll"


def escape(value: Any) -> str:
    """``str(value)`` with ``&``, ``<``, ``>``, ``"`` and ``'`` replaced by HTML entities.

    Safe in element content and in quoted attribute values.
    """
    return html.escape(str(value), quote=True)


def table_id(key: str | None, table: pd.DataFrame) -> str:
    """The table's HTML id suffix: ``key`` reduced to ``[A-Za-z0-9_]``, or, without a key, the
    first 12 hex digits of a SHA-256 of the table's CSV text (deterministic either way)."""
    if key:
        cleaned = re.sub(r"[^0-9A-Za-z_]+", "_", key).strip("_")
        if cleaned:
            return cleaned
    digest = hashlib.sha256(table.to_csv(index=False).encode("utf-8")).hexdigest()
    return f"t{digest[:12]}"


def _cell_formatter(precision: int) -> Callable[[Any], str]:
    """Format a cell as pandas' Styler does by default (floats with ``precision`` decimals,
    other values with ``str``), then escape it."""

    def fmt(value: Any) -> str:
        if isinstance(value, numbers.Real) and not isinstance(value, numbers.Integral):
            return escape(f"{value:.{precision}f}")
        return escape(value)

    return fmt


def table_html(table: pd.DataFrame, key: str | None = None, precision: int | None = None,
               label: str | None = None) -> str:
    """Render ``table`` as an HTML ``<table>`` with every cell and column label escaped, inside
    a horizontal scroll container.

    The container (``<div class="trd-table-scroll" role="region" tabindex="0">``, styled by
    ``_static/trd-site.css``) lets a wide table scroll sideways on its own, so the page never
    becomes wider than a phone's screen; it is focusable and named (``label``) so that keyboard
    and screen-reader users can reach and scroll it.

    Parameters
    ----------
    table
        The table; its index is not shown.
    key
        A name unique on the page (e.g. the glue key); the table's id is ``T_<key>``. Without
        one the id is derived from the table's content.
    precision
        Decimals for floats (pandas' default, 6, when ``None``).
    label
        The scroll container's accessible name; by default "Table: " and the first column
        labels. A table shown as a captioned figure is named by its caption instead
        (:mod:`analysis.book.theme` sets ``aria-labelledby`` in the built page).

    Returns
    -------
    str
        The HTML: byte-identical for the same table, key and precision.
    """
    from pandas.io.formats.style import Styler

    if precision is None:
        precision = int(pd.get_option("styler.format.precision"))
    styler = (
        Styler(table, uuid=table_id(key, table), cell_ids=False)
        .hide(axis="index")
        .format(_cell_formatter(precision), na_rep="")
        .format_index(escape, axis=1)
    )
    if label is None:
        columns = [str(c) for c in table.columns]
        label = "Table: " + ", ".join(columns[:4]) + (", ..." if len(columns) > 4 else "")
    return (f'<div class="{TABLE_SCROLL_CLASS}" role="region" tabindex="0" '
            f'aria-label="{escape(label)}">{styler.to_html()}</div>')


#: The accessible name of a figure's scroll region (keyboard users can focus it and scroll).
FIGURE_REGION_LABEL = "Figure (scrolls sideways on small screens)"
#: The summary of a figure's collapsed table of numbers.
FIGURE_DATA_SUMMARY = "Numbers shown in this figure"


def figure_html(svg: bytes, alt: str, width: int, height: int, table: str | None = None) -> str:
    """A figure for a page: the SVG ``svg`` as an ``<img>`` (a ``data:`` URL) at its natural
    size ``width`` x ``height`` CSS pixels, inside a region that scrolls sideways when the page
    is narrower (``_static/trd-figures.css``), with ``alt`` (escaped) as its alt text, and,
    when given, ``table`` (HTML from :func:`table_html`, already escaped) in a collapsed
    ``<details>`` under it.

    The same arguments give the same bytes.
    """
    import base64

    data = base64.b64encode(svg).decode("ascii")
    out = [
        '<div class="trd-figure">',
        f'<div class="trd-figure-scroll" role="region" tabindex="0" '
        f'aria-label="{escape(FIGURE_REGION_LABEL)}">',
        f'<img class="trd-figure-img" src="data:image/svg+xml;base64,{data}" '
        f'alt="{escape(alt)}" width="{int(width)}" height="{int(height)}" '
        f'style="--trd-natural-width: {int(width)}px">',
        "</div>",
    ]
    if table is not None:
        out += [
            '<details class="trd-figure-data">',
            f"<summary>{escape(FIGURE_DATA_SUMMARY)}</summary>",
            table,
            "</details>",
        ]
    out.append("</div>")
    return "\n".join(out)
