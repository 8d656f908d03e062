"""Browser test of the built site: offline, no third-party requests, no broken links, alt text,
no injected script.

It runs against the site that is already built (``make book``), by default in
``<repo>/_build/html``; set ``TRD_SITE_DIR`` to test another build. ``TRD_SKIP_BROWSER=1``
skips these tests. It needs Debian's Chromium at /usr/bin/chromium (or ``TRD_CHROMIUM``) and
the ``playwright`` Python package (the dev extra). Do not run ``playwright install``.

Screenshots of the landing page and the first results page, and a JSON report with page
weights, go to ``TRD_SCREENSHOT_DIR`` (default: ``_build/screenshots`` next to the site).
"""

from __future__ import annotations

import os
import re
import urllib.parse
from pathlib import Path

import pytest

try:  # tests/ is not a package: pytest puts it on sys.path ("prepend" import mode)
    import sitecheck
except ImportError:  # tests/ became a package
    from tests import sitecheck

pytestmark = pytest.mark.browser

SMD_NUMBER = re.compile(r"-?\d+\.\d+")


def _fmt(problems: dict[str, list[str]]) -> str:
    lines = []
    for page, items in sorted(problems.items()):
        lines.append(f"{page}:")
        lines.extend(f"    {item}" for item in items[:20])
        if len(items) > 20:
            lines.append(f"    ... and {len(items) - 20} more")
    return "\n".join(lines)


@pytest.fixture(scope="module")
def site_dir() -> Path:
    if os.environ.get("TRD_SKIP_BROWSER") == "1":
        pytest.skip("TRD_SKIP_BROWSER=1")
    path = sitecheck.site_dir_from_env()
    if not (path / "index.html").is_file():
        pytest.fail(
            f"No built site at {path} (index.html missing): run make book first "
            "(or set TRD_SITE_DIR to a built site).",
            pytrace=False,
        )
    return path


@pytest.fixture(scope="module")
def crawl(site_dir: Path) -> sitecheck.CrawlResult:
    if not Path(sitecheck.CHROMIUM).exists():
        pytest.fail(
            f"Chromium not found at {sitecheck.CHROMIUM}: "
            "apt-get install -y chromium (see .ci/run), or set TRD_CHROMIUM.",
            pytrace=False,
        )
    try:
        import playwright  # noqa: F401
    except ImportError:
        pytest.fail("playwright is not installed: pip install -e '.[dev]'", pytrace=False)
    screenshots = Path(
        os.environ.get("TRD_SCREENSHOT_DIR") or site_dir.parent / "screenshots"
    ).resolve()
    with sitecheck.serve(site_dir) as base_url:
        result = sitecheck.crawl(site_dir, base_url, screenshot_dir=screenshots)
        # Check link targets while the server is still up.
        result.broken = _broken_links(result)  # type: ignore[attr-defined]
    screenshots.mkdir(parents=True, exist_ok=True)
    (screenshots / "site-report.json").write_text(result.to_json(), encoding="utf-8")
    loaded = [p for p in result.pages.values() if p.redirect_to is None]
    heaviest = max(loaded, key=lambda p: p.weight_bytes, default=None)
    landing = result.pages.get(result.landing or "")
    print(
        f"\n[site] {len(result.pages)} pages crawled in {result.seconds:.1f} s; "
        f"landing {result.landing}: {landing.weight_bytes if landing else 0} bytes; "
        f"heaviest {heaviest.path if heaviest else None}: "
        f"{heaviest.weight_bytes if heaviest else 0} bytes; report in {screenshots}"
    )
    return result


def _broken_links(result: sitecheck.CrawlResult) -> dict[str, list[str]]:
    """Same-host <a href>/<img src> targets that do not answer 200, and missing #anchors."""
    ids_by_file = {
        (result.site_dir / p.path).resolve(): set(p.ids)
        for p in result.pages.values()
        if p.redirect_to is None and p.load_error is None
    }
    problems: dict[str, list[str]] = {}

    def report(page: str, problem: str) -> None:
        problems.setdefault(page, []).append(problem)

    for page in result.pages.values():
        for kind, urls in (("link", page.links), ("image", page.images)):
            for url in urls:
                if not sitecheck.same_origin(url, result.base_url):
                    continue
                status = sitecheck.http_status(url)
                if status != 200:
                    report(page.path, f"{kind} {url} -> {status or 'no answer'}")
                    continue
                fragment = urllib.parse.unquote(urllib.parse.urlsplit(url).fragment)
                if kind == "link" and fragment:
                    target = sitecheck.url_to_file(url, result.base_url, result.site_dir)
                    ids = ids_by_file.get(target) if target else None
                    if ids is not None and fragment not in ids:
                        report(page.path, f"anchor {url} -> no id #{fragment}")
    return problems


def test_every_page_loads(crawl):
    problems = {p.path: [p.load_error] for p in crawl.pages.values() if p.load_error}
    assert crawl.pages, "no HTML pages found"
    assert not problems, "pages that did not load:\n" + _fmt(problems)


def test_no_third_party_requests(crawl):
    problems = {p.path: p.external_requests for p in crawl.pages.values() if p.external_requests}
    assert not problems, (
        "pages requested resources from hosts other than 127.0.0.1 (the site must work "
        "offline):\n" + _fmt(problems)
    )


def test_no_console_errors(crawl):
    problems = {p.path: p.console_errors for p in crawl.pages.values() if p.console_errors}
    assert not problems, "console errors / uncaught exceptions:\n" + _fmt(problems)


def test_no_failed_local_resources(crawl):
    problems = {p.path: p.failed_requests for p in crawl.pages.values() if p.failed_requests}
    assert not problems, "same-host resources that failed to load:\n" + _fmt(problems)


def test_no_broken_internal_links_or_images(crawl):
    problems = crawl.broken
    assert not problems, "broken internal links, images or anchors:\n" + _fmt(problems)


def test_images_have_alt_text(crawl):
    problems = {p.path: p.missing_alt for p in crawl.pages.values() if p.missing_alt}
    assert not problems, "images without alt text:\n" + _fmt(problems)


def test_screenshots_written(crawl):
    shots = Path(
        os.environ.get("TRD_SCREENSHOT_DIR") or crawl.site_dir.parent / "screenshots"
    ).resolve()
    assert (shots / "landing.png").is_file(), "no landing-page screenshot"
    if any("results/" in p for p in crawl.pages):
        assert (shots / "results.png").is_file(), "no results-page screenshot"


def test_landing_page_has_bottom_line(crawl):
    """Contract with the landing page: an element with class ``bottom-line`` gives the pooled
    SMD, i.e. its text contains "SMD" and a decimal number."""
    texts = sitecheck.landing_bottom_line(crawl.site_dir, crawl.landing)
    assert texts, f"landing page {crawl.landing} has no element with class 'bottom-line'"
    assert any("SMD" in t and SMD_NUMBER.search(t) for t in texts), (
        f"the bottom line on {crawl.landing} must mention 'SMD' and a number; got {texts!r}"
    )


def test_no_injected_script(crawl):
    """No page shows a sign of script injected from data (hostile-input markers, event
    handlers or script URLs in attributes, JavaScript dialogs); tests/test_hostile_site.py
    runs the same check on a build whose data are hostile."""
    problems = {p.path: p.injection for p in crawl.pages.values() if p.injection}
    assert not problems, "signs of injected script:\n" + _fmt(problems)
