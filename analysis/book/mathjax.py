"""Sphinx extension: MathJax only on pages that have mathematics of their own.

``sphinx.ext.mathjax`` loads MathJax on a page when the page *or any page in its toctree* has
an equation, so the landing page (the root of the table of contents) loaded the whole of
MathJax for the formulas of the Methods chapter, although it shows none. This extension runs
after it and removes the MathJax script from pages whose own doctree has no mathematics.
"""

from __future__ import annotations

from typing import Any

__all__ = ["setup"]


def _own_math_only(app: Any, pagename: str, templatename: str, context: dict,
                   doctree: Any) -> None:  # fmt: skip
    path = getattr(app.config, "mathjax_path", "") or ""
    if not path or app.env.get_domain("math").data["has_equations"].get(pagename, False):
        return
    scripts = context.get("script_files")
    if isinstance(scripts, list):
        scripts[:] = [s for s in scripts if path not in str(getattr(s, "filename", s) or "")]


def setup(app: Any) -> dict[str, Any]:
    """Register the filter (after ``sphinx.ext.mathjax``, priority 500)."""
    app.connect("html-page-context", _own_math_only, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
