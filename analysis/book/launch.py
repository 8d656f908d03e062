"""Sphinx extension: Binder and Colab launch buttons only on pages that have a notebook to open.

sphinx-book-theme adds launch buttons to every page built from a notebook and points them at
``<page>.ipynb`` in the repository. In this book most notebook pages are MyST Markdown sources
(``.md``) executed by the build, and some are rendered from templates, so that file does not
exist for them. Only the teaching notebooks are paired with a committed, output-free
``.ipynb`` (jupytext). This extension keeps the launch buttons on the pages matching the
``launch_pages`` patterns of ``_config.yml`` (``sphinx.config.launch_pages``, fnmatch patterns
of page names, e.g. ``chapters/teaching/*``) and removes them elsewhere.
``tests/test_teaching_site.py`` checks that every launch link of the built site opens a file
of the repository.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any

__all__ = ["keep_launch_buttons", "setup"]


def keep_launch_buttons(pagename: str, patterns: list[str]) -> bool:
    """Whether page ``pagename`` keeps its launch buttons (it matches one of ``patterns``)."""
    return any(fnmatchcase(pagename, pattern) for pattern in patterns)


def _filter(app: Any, pagename: str, templatename: str, context: dict, doctree: Any) -> None:
    if keep_launch_buttons(pagename, list(app.config.launch_pages)):
        return
    buttons = context.get("header_buttons")
    if isinstance(buttons, list):
        buttons[:] = [b for b in buttons if b.get("label") != "launch-buttons"]


def setup(app: Any) -> dict[str, Any]:
    """Register ``launch_pages`` and the filter (after sphinx-book-theme adds the buttons)."""
    app.add_config_value("launch_pages", [], "html")
    app.connect("html-page-context", _filter, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
