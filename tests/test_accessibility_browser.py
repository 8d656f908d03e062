"""Accessibility, phone width and page weight of the built site, in Chromium (issue #13).

Every page is loaded at 1280 x 900 and at 390 x 844 (tests/a11ycheck.py):

* axe-core (pinned in package.json; ``make test`` installs it with ``npm ci``) finds no
  serious or critical violation;
* no page is wider than the 390 px viewport (wide tables scroll inside their own container);
* figures are shown at their natural size on a phone (never shrunk, so their text stays at
  least 11 px; they scroll sideways instead);
* the landing page weighs at most 1 MB (HTML and every same-host resource it loads, bytes on
  disk, uncompressed); no page loads Font Awesome's script; MathJax loads exactly on the pages
  that show mathematics.

A JSON report goes to ``TRD_SCREENSHOT_DIR`` (default ``_build/screenshots``) as
``accessibility-report.json``; its summary is printed.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

try:  # tests/ is not a package: pytest puts it on sys.path ("prepend" import mode)
    import a11ycheck
    import sitecheck
except ImportError:  # tests/ became a package
    from tests import a11ycheck, sitecheck

pytestmark = pytest.mark.browser

LANDING = "chapters/index.html"
LANDING_BUDGET_BYTES = 1_000_000
PHONE = "phone"


@pytest.fixture(scope="module")
def audit() -> a11ycheck.AuditResult:
    if os.environ.get("TRD_SKIP_BROWSER") == "1":
        pytest.skip("TRD_SKIP_BROWSER=1")
    site = sitecheck.site_dir_from_env()
    if not (site / "index.html").is_file():
        pytest.fail(f"No built site at {site}: run make book first.", pytrace=False)
    if not Path(sitecheck.CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {sitecheck.CHROMIUM} (see .ci/run).", pytrace=False)
    if not a11ycheck.AXE_JS.is_file():
        pytest.fail(f"axe-core not found at {a11ycheck.AXE_JS}: run `npm ci` (make test does).",
                    pytrace=False)  # fmt: skip
    with sitecheck.serve(site) as base:
        result = a11ycheck.audit(site, base)
    out = Path(os.environ.get("TRD_SCREENSHOT_DIR") or site.parent / "screenshots").resolve()
    out.mkdir(parents=True, exist_ok=True)
    (out / "accessibility-report.json").write_text(result.to_json(), encoding="utf-8")
    print("\n[accessibility] " + result.summary())
    return result


def _views(audit: a11ycheck.AuditResult):
    for page, views in sorted(audit.pages.items()):
        for name, view in views.items():
            yield page, name, view


def test_every_page_audited(audit):
    errors = [f"{p} ({v}): {r.error}" for p, v, r in _views(audit) if r.error]
    assert audit.pages, "no pages audited"
    assert LANDING in audit.pages, f"the landing page {LANDING} was not audited"
    assert not errors, "pages that failed to load or to run axe:\n" + "\n".join(errors)


def test_no_serious_or_critical_axe_violations(audit):
    problems = [
        f"{page} ({view}): {v['impact']} {v['id']} x{v['count']}: {v['help']} "
        f"e.g. {'; '.join(v['targets'][:2])}"
        for page, view, rec in _views(audit)
        for v in rec.failing()
    ]
    assert not problems, "axe-core violations:\n" + "\n".join(problems)


def test_no_page_wider_than_a_phone(audit):
    problems = [
        f"{page}: {rec.width} px wide at a {rec.viewport} px viewport; sticking out: "
        f"{', '.join(rec.wide[:3])}"
        for page, view, rec in _views(audit)
        if view == PHONE and rec.width > rec.viewport
    ]
    assert not problems, "pages that scroll sideways on a phone:\n" + "\n".join(problems)


def test_figures_are_not_shrunk_on_a_phone(audit):
    figures = [(page, f) for page, view, rec in _views(audit) if view == PHONE
               for f in rec.figures]  # fmt: skip
    assert figures, "no figure (img.trd-figure-img) found on any page"
    shrunk = [f"{page}: {f['src']}... shown {f['rendered']} px wide, natural {f['attr']} px"
              for page, f in figures if f["rendered"] < f["attr"] - 1]  # fmt: skip
    assert not shrunk, "figures shrunk below their natural size on a phone:\n" + "\n".join(shrunk)


def test_landing_page_weight(audit):
    weight = audit.pages[LANDING]["desktop"].weight_bytes
    assert 0 < weight <= LANDING_BUDGET_BYTES, (
        f"the landing page loads {weight} bytes (budget {LANDING_BUDGET_BYTES})"
    )


def test_no_page_loads_font_awesome_script(audit):
    problems = [f"{page}: {s}" for page, view, rec in _views(audit) for s in rec.scripts
                if "fontawesome" in s.lower()]  # fmt: skip
    assert not problems, "Font Awesome's script is loaded:\n" + "\n".join(problems)


def test_mathjax_exactly_where_there_is_math(audit):
    with_math = {p for p, v, r in _views(audit) if r.has_math}
    loads = {p for p, v, r in _views(audit) if any("mathjax" in s.lower() for s in r.scripts)}
    assert with_math, "no page with mathematics found (the methods page has some)"
    assert loads == with_math, (
        f"MathJax loaded without math: {sorted(loads - with_math)}; "
        f"math without MathJax: {sorted(with_math - loads)}"
    )


EXPLORER = "chapters/trd/explorer-multiverse.html"
EXPLORER_BUDGET_BYTES = 1_500_000  # issue #14: the explorer page stays under 1.5 MB


def test_explorer_page_weight(audit):
    """The multiverse explorer, with the JSON it loads, stays under its budget."""
    assert EXPLORER in audit.pages, f"{EXPLORER} was not audited"
    view = audit.pages[EXPLORER]["desktop"]
    assert 0 < view.weight_bytes < EXPLORER_BUDGET_BYTES, (
        f"{EXPLORER} loads {view.weight_bytes} bytes (budget {EXPLORER_BUDGET_BYTES})"
    )
