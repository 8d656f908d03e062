"""The Sphinx extensions that make pages light and accessible (analysis.book.theme) and number
glued tables as tables (analysis.book.tables), tested on snippets of the theme's HTML; the
built site is checked in the browser by tests/test_accessibility_browser.py."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from docutils import nodes
from docutils.frontend import get_default_settings
from docutils.parsers.rst import Parser
from docutils.utils import new_document

from analysis.book import tables, theme

ROOT = Path(__file__).resolve().parents[1]

# A made-up bundle in Font Awesome's format: two packs, quoted and unquoted names, an alias.
BUNDLE = (
    'var p={"magnifying-glass":[512,512,[128269,"search"],"f002","M1 1L2 2z"],'
    'bars:[448,512,["navicon"],"f0c9","M3 3L4 4z"]};'
    '(function(){d("fas",p),d("fa-solid",p)})();'
    'var q={github:[496,512,[],"f09b","M5 5L6 6z"]};(function(){d("fab",q),d("fa-brands",q)})();'
)


def test_icon_table_reads_packs_names_and_aliases():
    icons = theme.font_awesome_icons(BUNDLE)
    assert icons[("fas", "magnifying-glass")] == (512, 512, "M1 1L2 2z")
    assert icons[("fas", "search")] == icons[("fas", "magnifying-glass")]
    assert icons[("fas", "navicon")] == (448, 512, "M3 3L4 4z")
    assert icons[("fab", "github")] == (496, 512, "M5 5L6 6z")
    assert ("fas", "github") not in icons


def test_placeholders_become_hidden_svg_and_script_goes():
    icons = theme.font_awesome_icons(BUNDLE)
    page = (
        '<head>\n  <script defer src="../_static/scripts/fontawesome.js?digest=1"></script>\n'
        '</head><button aria-label="Color mode">'
        '<i class="theme-switch fa-solid fa-bars fa-lg" data-mode="light" title="Light"></i>'
        '</button><a><i class="fab fa-github"></i></a><i class="fa-solid fa-unknown"></i>'
    )
    new, missing = theme.inline_icons(page, icons)
    assert "fontawesome.js" not in new
    assert missing == ["fa-solid fa-unknown"]
    svgs = re.findall(r"<svg[^>]*>.*?</svg>", new)
    assert len(svgs) == 2
    assert 'class="svg-inline--fa theme-switch fa-solid fa-bars fa-lg"' in svgs[0]
    assert 'aria-hidden="true"' in svgs[0] and 'data-mode="light"' in svgs[0]
    assert 'viewBox="0 0 448 512"' in svgs[0] and 'd="M3 3L4 4z"' in svgs[0]
    assert "title=" not in svgs[0]  # a title would become part of the button's name
    assert 'viewBox="0 0 496 512"' in svgs[1]


def test_the_themes_own_icons_are_all_found():
    """Every icon the built site's theme uses exists in the theme's bundle (a theme update
    that renames one would leave an empty button)."""
    icons = theme.font_awesome_icons()
    for pack, name in [("fas", "magnifying-glass"), ("fas", "bars"), ("fas", "chevron-down"),
                       ("fas", "sun"), ("fas", "moon"), ("fas", "circle-half-stroke"),
                       ("fab", "github"), ("fas", "download"), ("fas", "expand"),
                       ("fas", "list"), ("fas", "outdent"), ("fas", "rocket")]:  # fmt: skip
        assert (pack, name) in icons, (pack, name)


def test_accessible_names():
    page = (
        '<button class="btn search-button-field search-button__button" title="Search" '
        'aria-label="Search" data-bs-toggle="tooltip"> <span>Search</span></button>'
        '<li class="toctree-l1 has-children"><a class="reference internal" href="a.html">'
        'Psychotherapies</a><details><summary><span class="toctree-toggle"></span></summary>'
        '<li class="toctree-l1 current active has-children"><a class="current reference '
        'internal" href="#">Results</a><details open="open"><summary>x</summary>'
        '<details class="admonition hide"><summary aria-label="Toggle hidden content">'
        '<div class="citation" id="c1" role="doc-biblioentry">'
    )
    new = theme.fix_accessible_names(page)
    assert 'aria-label="Search"' not in new and 'title="Search"' in new
    assert '<summary aria-label="Pages of Psychotherapies">' in new
    assert '<details open="open"><summary aria-label="Pages of Results">' in new
    assert 'aria-label="Toggle hidden content"' not in new
    assert 'role="listitem"' in new and "doc-biblioentry" not in new


def test_captioned_table_scroll_region_is_named_by_its_caption():
    page = (
        '<figure class="align-default" id="tbl-x"><div class="trd-table-scroll" role="region" '
        'tabindex="0" aria-label="Table: A, B"><table></table></div>'
        '<figcaption>\n<p><span class="caption-number">Table 3 </span>Caption</p></figcaption>'
        '</figure><div class="trd-table-scroll" role="region" tabindex="0" aria-label="Table: C">'
    )
    new = theme.fix_accessible_names(page)
    assert '<figcaption id="tbl-x-caption">' in new
    assert 'aria-labelledby="tbl-x-caption"' in new
    assert 'aria-label="Table: A, B"' not in new
    assert 'aria-label="Table: C"' in new  # a table outside a figure keeps its own name


def test_figure_and_its_numbers_are_named_by_the_caption():
    page = (
        '<figure class="align-default" id="fig-x"><div class="trd-figure">'
        '<div class="trd-figure-scroll" role="region" tabindex="0" aria-label="Figure">'
        '<img class="trd-figure-img" alt="a"></div>\n<details class="trd-figure-data">\n'
        '<summary>Numbers shown in this figure</summary>\n<div class="trd-table-scroll" '
        'role="region" tabindex="0" aria-label="Table: Study"><table></table></div>'
        '</details></div><figcaption>\n<p>Fig. 1 Caption</p></figcaption></figure>'
    )
    new = theme.fix_accessible_names(page)
    assert '<div class="trd-figure-scroll" role="region" tabindex="0" ' \
           'aria-labelledby="fig-x-caption">' in new
    assert '<summary id="fig-x-data">' in new
    assert 'aria-labelledby="fig-x-data fig-x-caption"' in new
    assert "aria-label=" not in new


@pytest.mark.parametrize(
    ("body", "dropped"),
    [
        ("<p>no maths, no code</p>",
         {"mathjax/tex-chtml-full.mjs", "copybutton.js", "clipboard.min.js", "togglebutton.js",
          "design-tabs.js", "sphinx-design.min.css", "copybutton.css", "togglebutton.css"}),
        ('<span class="math notranslate">x</span><pre>code</pre>',
         {"togglebutton.js", "design-tabs.js", "sphinx-design.min.css", "togglebutton.css"}),
        ('<div class="admonition dropdown"></div><div class="sd-tab-set"></div>',
         {"mathjax/tex-chtml-full.mjs", "copybutton.js", "clipboard.min.js", "copybutton.css"}),
    ],
)  # fmt: skip
def test_unused_assets(body, dropped):
    names = ["mathjax/tex-chtml-full.mjs", "copybutton.js", "clipboard.min.js", "togglebutton.js",
             "design-tabs.js", "sphinx-design.min.css", "copybutton.css", "togglebutton.css",
             "doctools.js", "scripts/sphinx-book-theme.js", "styles/theme.css"]  # fmt: skip
    assert theme.unused_assets(body, names) == dropped


def test_page_context_filter_drops_mathjax_and_its_configuration():
    class Js(str):
        def __new__(cls, filename, **attributes):
            obj = super().__new__(cls, filename)
            obj.filename, obj.attributes = filename, attributes
            return obj

    def scripts():
        return [Js("doctools.js"), Js("", body="window.MathJax = {}"),
                Js("mathjax/tex-chtml-full.mjs")]  # fmt: skip

    context = {"body": "<p>text</p>", "script_files": scripts(), "css_files": []}
    theme.drop_unused_assets(None, "page", "page.html", context, None)
    assert [s.filename for s in context["script_files"]] == ["doctools.js"]
    context = {"body": '<div class="math">x</div>', "script_files": scripts()}
    theme.drop_unused_assets(None, "page", "page.html", context, None)
    assert len(context["script_files"]) == 3


def _doctree(*names: str) -> nodes.document:
    """A document with one captioned figure per name, registered as MyST-NB's glue:figure
    directive does (the name on the figure, its id in ``document.ids``)."""
    doc = new_document("test", get_default_settings(Parser))
    for name in names:
        fig = nodes.figure("", nodes.container(), nodes.caption("", f"Caption of {name}"))
        fig["names"].append(name)
        doc.append(fig)
        doc.note_explicit_target(fig)
    return doc


def test_figures_named_tbl_become_table_figures():
    doc = _doctree("tbl-one", "fig-two")
    assert tables.number_tables_as_tables(doc) == 1
    kinds = [(type(n).__name__, n["names"]) for n in doc.findall(nodes.figure)]
    assert kinds == [("table_figure", ["tbl-one"]), ("figure", ["fig-two"])]
    # numref finds the target through document.ids: it must be the new node
    assert isinstance(doc.ids["tbl-one"], tables.table_figure)


def test_every_glued_table_is_named_tbl():
    """Glued tables (glue keys tbl_*) are shown with names tbl-*, so they are numbered as
    tables; a glued table without a name would be an unnumbered figure."""
    bad = []
    for md in sorted((ROOT / "chapters").rglob("*.md")):
        text = md.read_text(encoding="utf-8")
        for m in re.finditer(r"```\{glue:figure\} (tbl_\w+)\n((?::[^\n]*\n)*)", text):
            if not re.search(r"^:name: tbl-", m.group(2), re.M):
                bad.append(f"{md.relative_to(ROOT)}: {m.group(1)}")
    assert not bad, "glued tables without a :name: tbl-...:\n" + "\n".join(bad)
