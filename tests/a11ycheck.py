"""Accessibility and phone-width audit of the built site (tests/test_accessibility_browser.py).

Every HTML page is loaded in headless Chromium (Debian's, through Playwright) at a desktop
viewport (1280 x 900) and a phone viewport (390 x 844). On each load:

* axe-core (the npm package pinned in ``package.json``, installed by ``make test`` with
  ``npm ci`` into ``node_modules/``; never copied into the repository) runs its WCAG 2.x A/AA
  and best-practice rules; violations are recorded with their impact, rule id, a sample of the
  offending elements and axe's help text;
* the document's width (``scrollWidth`` of the root element) is compared with the viewport: a
  page wider than the viewport scrolls sideways as a whole, which is what tables without a
  scroll container used to do on a phone;
* the page weight (HTML plus every same-host resource it loaded, bytes on disk) and the scripts
  it loaded are recorded.

Run it by hand for a report::

    .venv/bin/python tests/a11ycheck.py --site _build/html --json /tmp/audit.json
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
import urllib.parse
from dataclasses import asdict, dataclass, field
from pathlib import Path

try:  # tests/ is not a package: pytest puts it on sys.path ("prepend" import mode)
    import sitecheck
except ImportError:  # tests/ became a package
    from tests import sitecheck

REPO_ROOT = Path(__file__).resolve().parents[1]
AXE_JS = Path(os.environ.get("TRD_AXE_JS") or REPO_ROOT / "node_modules/axe-core/axe.min.js")
VIEWPORTS = {"desktop": (1280, 900), "phone": (390, 844)}
#: Impacts that fail the test (axe's scale: minor, moderate, serious, critical).
FAILING_IMPACTS = ("serious", "critical")

_AXE_RUN_JS = """
async () => {
  const r = await axe.run(document, {
    runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa',
                                    'best-practice']},
    resultTypes: ['violations'],
  });
  return r.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help, count: v.nodes.length,
    targets: v.nodes.slice(0, 5).map(n => n.target.join(' ')),
    summary: (v.nodes[0] && v.nodes[0].failureSummary || '').slice(0, 300),
  }));
}
"""

_MEASURE_JS = """
() => {
  const doc = document.documentElement;
  const wide = [];
  const vw = window.innerWidth;
  if (doc.scrollWidth > vw) {
    // The widest elements that stick out of the viewport (not inside a scroll container).
    for (const el of document.body.querySelectorAll('*')) {
      const r = el.getBoundingClientRect();
      if (r.right > vw + 1 && r.width > 0) {
        let clipped = false;
        for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
          const s = getComputedStyle(p);
          if (['auto', 'scroll', 'hidden', 'clip'].includes(s.overflowX)) { clipped = true; break; }
        }
        const cls = (el.className && typeof el.className === 'string')
          ? '.' + el.className.trim().split(/\\s+/).join('.') : '';
        const name = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + cls;
        if (!clipped) wide.push(name.slice(0, 90) + ' right=' + Math.round(r.right));
      }
      if (wide.length > 8) break;
    }
  }
  const scripts = Array.from(document.scripts, s => s.src).filter(Boolean);
  const hasMath = document.querySelector('.math, mjx-container, div.math, span.math') !== null;
  // Figures: natural (intrinsic) and rendered width of each figure image.
  const figures = Array.from(document.querySelectorAll('img.trd-figure-img'), img => ({
    src: (img.getAttribute('src') || '').slice(0, 40), natural: img.naturalWidth,
    rendered: Math.round(img.getBoundingClientRect().width),
    attr: parseInt(img.getAttribute('width') || '0', 10)}));
  return {width: doc.scrollWidth, viewport: vw, wide: wide, scripts: scripts, has_math: hasMath,
          figures: figures};
}
"""


@dataclass
class ViewResult:
    width: int = 0
    viewport: int = 0
    wide: list[str] = field(default_factory=list)
    violations: list[dict] = field(default_factory=list)
    weight_bytes: int = 0
    scripts: list[str] = field(default_factory=list)
    has_math: bool = False
    figures: list[dict] = field(default_factory=list)
    error: str | None = None

    def failing(self) -> list[dict]:
        return [v for v in self.violations if v["impact"] in FAILING_IMPACTS]


@dataclass
class AuditResult:
    pages: dict[str, dict[str, ViewResult]]
    seconds: float

    def to_json(self) -> str:
        return json.dumps(
            {"seconds": round(self.seconds, 1),
             "pages": {p: {v: asdict(r) for v, r in views.items()}
                       for p, views in self.pages.items()}},
            indent=2,
        )

    def summary(self) -> str:
        """Counts by impact and rule, the widest pages at 390 px, and page weights."""
        by_rule: dict[tuple[str, str], set[str]] = {}
        for page, views in self.pages.items():
            for view in views.values():
                for v in view.violations:
                    by_rule.setdefault((v["impact"], v["id"]), set()).add(page)
        order = {"critical": 0, "serious": 1, "moderate": 2, "minor": 3}
        lines = [f"{len(self.pages)} pages audited in {self.seconds:.0f} s"]
        ranked = sorted(by_rule.items(), key=lambda x: (order.get(x[0][0], 9), x[0][1]))
        for (impact, rule), pages in ranked:
            lines.append(f"  {impact:9s} {rule:32s} on {len(pages)} pages")
        phone = [(p, v["phone"]) for p, v in self.pages.items() if "phone" in v]
        wide = sorted((r.width, p) for p, r in phone if r.width > r.viewport)
        lines.append(f"  pages wider than 390 px: {len(wide)}"
                     + "".join(f"\n    {p}: {w} px" for w, p in reversed(wide)))
        desk = [(v["desktop"].weight_bytes, p) for p, v in self.pages.items() if "desktop" in v]
        if desk:
            heaviest = max(desk)
            landing = next((w for w, p in desk if p == "chapters/index.html"), None)
            median = sorted(w for w, _ in desk)[len(desk) // 2]
            lines.append(f"  landing weight: {landing} bytes; heaviest: {heaviest[1]} "
                         f"{heaviest[0]} bytes; median {median} bytes")
        return "\n".join(lines)


def audit(site_dir: Path, base_url: str, pages: list[str] | None = None,
          viewports: dict[str, tuple[int, int]] | None = None) -> AuditResult:
    """Load each page at each viewport, run axe-core, measure width and weight."""
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    if not AXE_JS.is_file():
        raise FileNotFoundError(
            f"axe-core not found at {AXE_JS}: run `npm ci` in the repository (make test does)")
    axe_source = AXE_JS.read_text(encoding="utf-8")
    viewports = viewports or VIEWPORTS
    started = time.monotonic()
    results: dict[str, dict[str, ViewResult]] = {}
    todo = [p for p in (pages or sitecheck.html_pages(site_dir))
            if not sitecheck.meta_refresh_target(site_dir / p)]
    profile = Path(tempfile.mkdtemp(prefix="trd-axe-"))
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=sitecheck.CHROMIUM, headless=True,
                                         args=sitecheck.CHROMIUM_ARGS)
            for name, (w, h) in viewports.items():
                context = browser.new_context(viewport={"width": w, "height": h},
                                              service_workers="block")
                context.set_default_timeout(sitecheck.GOTO_TIMEOUT_MS)
                page = context.new_page()
                for rel in todo:
                    rec = ViewResult()
                    results.setdefault(rel, {})[name] = rec
                    url = urllib.parse.urljoin(base_url, urllib.parse.quote(rel))
                    try:
                        page.goto(url, wait_until="load")
                        try:
                            page.wait_for_function(sitecheck._WAIT_MATHJAX_JS,
                                                   timeout=sitecheck.MATHJAX_TIMEOUT_MS)
                        except PlaywrightError:
                            pass
                        m = page.evaluate(_MEASURE_JS)
                        rec.width, rec.viewport, rec.wide = m["width"], m["viewport"], m["wide"]
                        rec.scripts = m["scripts"]
                        rec.has_math, rec.figures = m["has_math"], m["figures"]
                        resources = page.evaluate(
                            "() => performance.getEntriesByType('resource').map(e => e.name)")
                        pr = sitecheck.PageResult(path=rel, url=url, final_url=page.url,
                                                  resources=resources)
                        rec.weight_bytes = sitecheck._page_weight(pr, base_url, site_dir)
                        page.add_script_tag(content=axe_source)
                        rec.violations = page.evaluate(_AXE_RUN_JS)
                    except PlaywrightError as exc:
                        rec.error = str(exc).splitlines()[0]
                context.close()
            browser.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    return AuditResult(pages=results, seconds=time.monotonic() - started)


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", type=Path, default=sitecheck.DEFAULT_SITE_DIR)
    parser.add_argument("--json", type=Path, help="write the full report here")
    parser.add_argument("pages", nargs="*", help="pages relative to the site (default: all)")
    args = parser.parse_args(argv)
    site = args.site.resolve()
    with sitecheck.serve(site) as base:
        result = audit(site, base, args.pages or None)
    if args.json:
        args.json.write_text(result.to_json(), encoding="utf-8")
    print(result.summary())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
