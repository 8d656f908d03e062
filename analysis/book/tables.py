"""Sphinx extension: glued tables are numbered and referred to as tables, not figures.

A table computed by a notebook reaches the page through MyST-NB's ``{glue:figure}`` directive
(the only glue directive that takes a caption and a ``:name:``), so Sphinx numbered it as a
figure: the summary-of-findings table read "Fig. 44". This extension turns every figure whose
name starts with ``tbl-`` (the book's convention for tables, e.g. ``:name: tbl-symptoms-smd``)
into a :class:`table_figure` node, which Sphinx numbers in the *table* sequence: the caption
reads "Table 3" and ``{numref}`tbl-...``` says "Table 3". It is rendered exactly like a figure.
``tests/test_theme.py`` checks the transform; the built site's captions are checked by
``tests/test_build_site.py``.
"""

from __future__ import annotations

from typing import Any

from docutils import nodes

__all__ = ["TABLE_NAME_PREFIX", "number_tables_as_tables", "setup", "table_figure"]

#: Names (``:name:``) of glued figures that are tables.
TABLE_NAME_PREFIX = "tbl-"


class table_figure(nodes.figure):  # noqa: N801 - docutils node classes are lower case
    """A figure that holds a table: numbered as a table."""


def number_tables_as_tables(doctree: nodes.document) -> int:
    """Replace each figure named ``tbl-...`` by a :class:`table_figure`; return how many."""
    count = 0
    for fig in list(doctree.findall(nodes.figure)):
        if type(fig) is not nodes.figure:
            continue
        if not fig["names"] or not all(n.startswith(TABLE_NAME_PREFIX) for n in fig["names"]):
            continue
        new = table_figure(fig.rawsource, *fig.children, **fig.attributes)
        fig.replace_self(new)
        for node_id in new["ids"]:  # numref looks the target up here
            doctree.ids[node_id] = new
        count += 1
    return count


def _on_doctree_read(app: Any, doctree: nodes.document) -> None:
    number_tables_as_tables(doctree)


def _caption(node: nodes.Element) -> str:
    for child in node.children:
        if isinstance(child, nodes.caption):
            return child.astext()
    return ""


def _visit(self: Any, node: table_figure) -> None:
    self.visit_figure(node)


def _depart(self: Any, node: table_figure) -> None:
    self.depart_figure(node)


def setup(app: Any) -> dict[str, Any]:
    """Register the node as an enumerable of type ``table`` and the transform."""
    app.add_enumerable_node(table_figure, "table", _caption, html=(_visit, _depart),
                            latex=(_visit, _depart), text=(_visit, _depart))  # fmt: skip
    app.connect("doctree-read", _on_doctree_read)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
