"""Sphinx extension: light, accessible pages from sphinx-book-theme.

What the theme does on its own, measured on this book (issue #13):

* every page loads Font Awesome's JavaScript (``_static/scripts/fontawesome.js``, 1.49 MB),
  which turns about fifteen ``<i class="fa-...">`` placeholders into SVG icons at run time;
* MathJax (1.3 MB) loads on pages with no mathematics when MyST-NB marks a notebook page as
  having equations;
* axe-core reports serious violations on every page: the search button's accessible name
  ("Search") does not contain its visible text ("Search Ctrl+K"), the colour-mode button's icons
  carry titles that become its content, the sidebar's ``<summary>`` toggles have no name; and a
  critical one on the bibliography (``role="list"`` whose children are not list items).

This extension fixes each at build time, so the site stays static and offline:

* **icons** (:func:`inline_icons`, on ``build-finished``): each ``<i class="fa-...">`` becomes
  an inline ``<svg aria-hidden="true">`` with the same classes and the path of that icon, read
  from the theme's own copy of Font Awesome Free (icons CC BY 4.0; the licence text is in the
  theme's ``fontawesome.js.LICENSE.txt``); the ``<script>`` that loads ``fontawesome.js`` is
  removed and the file is not published. ``_static/trd-site.css`` holds the few rules Font
  Awesome's script used to inject (``.svg-inline--fa``);
* **no script a page does not use** (:func:`drop_unused_assets`, on ``html-page-context``):
  MathJax only on pages with mathematics, the copy button only with code blocks, the toggle
  button only with toggles, sphinx-design only with its components (:data:`PAGE_ASSETS`);
* **accessible names** (:func:`fix_accessible_names`): the search button is named by its
  visible text; each sidebar toggle is named after its chapter ("Show the pages of ..."); the
  bibliography's list roles are list items.

``tests/test_accessibility_browser.py`` runs axe-core on every page; ``tests/test_theme.py``
tests these functions on snippets of the theme's HTML.
"""

from __future__ import annotations

import html
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

__all__ = [
    "PAGE_ASSETS",
    "drop_unused_assets",
    "fix_accessible_names",
    "font_awesome_icons",
    "inline_icons",
    "setup",
    "unused_assets",
]

#: Class names of Font Awesome that say which style (icon pack) to use.
_PACKS = {"fa-solid": "fas", "fas": "fas", "fa-regular": "far", "far": "far",
          "fa-brands": "fab", "fab": "fab"}  # fmt: skip
#: Font Awesome classes that are not icon names (sizes, styles, animation).
_MODIFIERS = {"fa-lg", "fa-xs", "fa-sm", "fa-xl", "fa-2xl", "fa-fw", "fa-spin", "fa-pulse",
              "fa-1x", "fa-2x", "fa-3x", "fa-solid", "fa-regular", "fa-brands"}  # fmt: skip
_ICON_DEF = re.compile(r'[{,]"?([a-z0-9-]+)"?:\[(\d+),(\d+),\[([^\]]*)\],"[0-9a-f]*","([^"]+)"\]')
_PACK_MARK = re.compile(r'\(function\(\)\{\w+\("(fa[bsr])",\w+\)')
_I_TAG = re.compile(r'<i\s+class="([^"]*\bfa-[^"]*)"([^>]*)>\s*</i>')
_FA_SCRIPT = re.compile(r'[ \t]*<script[^>]*src="[^"]*_static/scripts/fontawesome\.js[^"]*"[^>]*>'
                        r'</script>\n?')  # fmt: skip
_MATHJAX_NAME = re.compile(r"mathjax", re.IGNORECASE)


def _theme_fontawesome() -> Path:
    import pydata_sphinx_theme

    return (Path(pydata_sphinx_theme.__file__).parent / "theme" / "pydata_sphinx_theme"
            / "static" / "scripts" / "fontawesome.js")  # fmt: skip


@lru_cache(maxsize=2)
def font_awesome_icons(source: str | None = None) -> dict[tuple[str, str], tuple[int, int, str]]:
    """Every icon of a Font Awesome ``fontawesome.js`` bundle: ``(pack, name) -> (width,
    height, path)``, aliases included; ``pack`` is ``fas``, ``far`` or ``fab``.

    Parameters
    ----------
    source
        The bundle's text; the theme's own copy by default.
    """
    text = source if source is not None else _theme_fontawesome().read_text(encoding="utf-8")
    marks = [(m.start(), m.group(1)) for m in _PACK_MARK.finditer(text)]
    icons: dict[tuple[str, str], tuple[int, int, str]] = {}
    for m in _ICON_DEF.finditer(text):
        pack = next((p for pos, p in marks if pos > m.start()), None)
        if pack is None:
            continue
        value = (int(m.group(2)), int(m.group(3)), m.group(5))
        names = [m.group(1)] + [a.strip('"') for a in m.group(4).split(",") if a.startswith('"')]
        for name in names:
            icons.setdefault((pack, name), value)
    return icons


def _svg_for(classes: str, attrs: str, icons: dict) -> str | None:
    names = classes.split()
    pack = next((_PACKS[c] for c in names if c in _PACKS), "fas")
    icon = next((c[3:] for c in names if c.startswith("fa-") and c not in _MODIFIERS), None)
    found = icons.get((pack, icon)) if icon else None
    if found is None:
        return None
    width, height, path = found
    # Keep data-* attributes (the colour-mode switch shows one icon per data-mode); drop
    # title, which would become part of the button's accessible name.
    kept = "".join(f' {m.group(0).strip()}' for m in re.finditer(r'\s(data-[\w-]+="[^"]*")', attrs))
    return (f'<svg class="svg-inline--fa {html.escape(" ".join(names))}" aria-hidden="true" '
            f'focusable="false" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}"'
            f'{kept}><path fill="currentColor" d="{path}"/></svg>')  # fmt: skip


def inline_icons(page: str, icons: dict | None = None) -> tuple[str, list[str]]:
    """Replace Font Awesome ``<i>`` placeholders by inline SVG and drop the script tag.

    Returns
    -------
    tuple
        The new HTML, and the class lists of placeholders for which no icon was found (left
        as they are, so a new icon in a theme update shows up in the build's warnings).
    """
    icons = icons if icons is not None else font_awesome_icons()
    missing: list[str] = []

    def swap(m: re.Match) -> str:
        svg = _svg_for(m.group(1), m.group(2), icons)
        if svg is None:
            missing.append(m.group(1))
            return m.group(0)
        return svg

    return _FA_SCRIPT.sub("", _I_TAG.sub(swap, page)), missing


_SEARCH_FIELD = re.compile(r'(<button class="[^"]*search-button-field[^"]*"[^>]*?)'
                           r' aria-label="Search"')  # fmt: skip
_TOGGLE = re.compile(r'(<a class="(?:current )?reference internal" href="[^"]*">)([^<]*)'
                     r'(</a><details(?: open="open")?>)<summary>')  # fmt: skip


_TOGGLE_LABEL = '<summary aria-label="Toggle hidden content">'
#: The primary sidebar (book title, search, table of contents): a landmark, so that all of the
#: page's content is in one (axe: region).
_SIDEBAR = '<div id="pst-primary-sidebar" class="bd-sidebar-primary bd-sidebar">'
_FIGURE = re.compile(r'<figure\b[^>]*\bid="([^"]+)"[^>]*>.*?</figure>', re.DOTALL)
_REGION = re.compile(r'(<div class="(?:trd-table-scroll|trd-figure-scroll)" role="region" '
                     r'tabindex="0") aria-label="[^"]*"')  # fmt: skip
_DATA_SUMMARY = re.compile(r'(<details class="trd-figure-data">\s*<summary)>')
_DATA_TABLE = re.compile(r'(<details class="trd-figure-data">.*?<div class="trd-table-scroll" '
                         r'role="region" tabindex="0") aria-label="[^"]*"', re.DOTALL)  # fmt: skip


def _label_regions_by_caption(page: str) -> str:
    """A scroll region inside a numbered figure or table (``{glue:figure}``) is named by the
    caption (``aria-labelledby``), and a figure's table of numbers by its summary and the
    caption, so that every region of a page has its own name ("Fig. 3 Standardised mean
    differences ...", "Numbers shown in this figure Fig. 3 ...")."""

    def one(m: re.Match) -> str:
        block = m.group(0)
        if "<figcaption" not in block or 'role="region"' not in block:
            return block
        cap = f"{m.group(1)}-caption"
        block = block.replace("<figcaption>", f'<figcaption id="{cap}">', 1)
        if 'class="trd-figure-data"' in block:
            data = f"{m.group(1)}-data"
            block = _DATA_SUMMARY.sub(rf'\1 id="{data}">', block, count=1)
            block = _DATA_TABLE.sub(rf'\1 aria-labelledby="{data} {cap}"', block, count=1)
        return _REGION.sub(rf'\1 aria-labelledby="{cap}"', block, count=1)

    return _FIGURE.sub(one, page)


def fix_accessible_names(page: str) -> str:
    """Name the search field button by its visible text, name each sidebar ``<summary>`` after
    its chapter, let the "Show code cell source" toggles be named by their visible text, name
    each captioned figure's or table's scroll region by its caption, and give the
    bibliography's entries list-item roles."""
    page = _SEARCH_FIELD.sub(r"\1", page)
    page = page.replace(_SIDEBAR, _SIDEBAR[:-1] + ' role="complementary" aria-label="Book">')
    page = page.replace(_TOGGLE_LABEL, "<summary>")
    page = _label_regions_by_caption(page)
    page = _TOGGLE.sub(lambda m: (f'{m.group(1)}{m.group(2)}{m.group(3)}<summary aria-label="'
                                  f'Pages of {m.group(2)}">'), page)  # fmt: skip
    return page.replace('role="doc-biblioentry"', 'role="listitem"')


#: Scripts and style sheets that only some pages use: (file-name pattern, pattern that the
#: page body matches when the page uses it). Each is dropped from a page whose body does not
#: match. MathJax typesets ``class="math"`` elements; the copy button decorates code blocks
#: (``<pre>``); the toggle button serves ``.toggle`` and ``.admonition.dropdown`` elements;
#: sphinx-design's script and styles serve its ``sd-`` components (tabs, cards, grids).
PAGE_ASSETS: tuple[tuple[re.Pattern[str], re.Pattern[str]], ...] = (
    (re.compile(r"mathjax", re.IGNORECASE), re.compile(r'class="math\b')),
    (re.compile(r"(^|/)(clipboard\.min|copybutton(_funcs)?)\.(js|css)$"), re.compile(r"<pre\b")),
    (re.compile(r"(^|/)togglebutton\.(js|css)$"),
     re.compile(r'class="[^"]*\b(toggle|dropdown)\b')),
    (re.compile(r"(^|/)(design-tabs\.js|sphinx-design\.min\.css)$"),
     re.compile(r'class="[^"]*\bsd-')),
)


def unused_assets(body: str, names: list[str]) -> set[str]:
    """The asset file names among ``names`` that a page with this ``body`` does not use
    (:data:`PAGE_ASSETS`)."""
    unused = set()
    for name in names:
        for asset, marker in PAGE_ASSETS:
            if asset.search(name) and not marker.search(body):
                unused.add(name)
    return unused


def _asset_name(asset: Any) -> str:
    return str(getattr(asset, "filename", asset) or "").split("?", 1)[0]


def drop_unused_assets(app: Any, pagename: str, templatename: str, context: dict,
                       doctree: Any) -> None:
    """``html-page-context``: drop the scripts and style sheets of :data:`PAGE_ASSETS` that the
    page does not use, and MathJax's inline configuration with MathJax."""
    body = context.get("body") or ""
    for key in ("script_files", "css_files"):
        assets = context.get(key)
        if not isinstance(assets, list):
            continue
        unused = unused_assets(body, [_asset_name(a) for a in assets])
        mathjax_dropped = any(re.search("mathjax", n, re.IGNORECASE) for n in unused)
        assets[:] = [a for a in assets if _asset_name(a) not in unused
                     and not (mathjax_dropped and "MathJax" in str(
                         (getattr(a, "attributes", {}) or {}).get("body", "")))]


def _postprocess(app: Any, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    from sphinx.util import logging

    logger = logging.getLogger(__name__)
    out = Path(app.outdir)
    icons = font_awesome_icons()
    missing: set[str] = set()
    for page in sorted(out.rglob("*.html")):
        text = page.read_text(encoding="utf-8")
        new, lost = inline_icons(text, icons)
        new = fix_accessible_names(new)
        missing.update(lost)
        if new != text:
            page.write_text(new, encoding="utf-8")
    for name in ("fontawesome.js", "fontawesome.js.map", "fontawesome.js.LICENSE.txt"):
        (out / "_static" / "scripts" / name).unlink(missing_ok=True)
    for classes in sorted(missing):
        logger.warning("no Font Awesome icon for <i class=%r>: add it or update the theme", classes)


def setup(app: Any) -> dict[str, Any]:
    """Connect the MathJax filter (after Sphinx adds MathJax) and the HTML post-processing."""
    app.connect("html-page-context", drop_unused_assets, priority=999)
    app.connect("build-finished", _postprocess)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
