"""Helpers for tests/test_site_browser.py: serve the built site locally and crawl it in Chromium.

The crawl loads every HTML page of the built book in headless Chromium (through Playwright,
using Debian's /usr/bin/chromium) and records, per page:

* every network request (to prove that the page loads nothing from another host),
* console errors, uncaught exceptions and failed or >= 400 same-host requests,
* every ``<a href>`` and ``<img src>`` (to check internal links and images),
* images and ``<svg role="img">`` elements without alternative text,
* element ids (to check ``#fragment`` links), and the page weight,
* signs of injected script (:data:`_INJECTION_JS`): the hostile-input markers ``window.__pwned``
  and ``data-pwned``, event-handler attributes and ``<script>`` elements that mention them,
  ``javascript:`` URLs in attributes, and JavaScript dialogs (``alert``), and, on request, the
  page's text (to check that hostile text is shown as text).

Chromium is started with DNS resolution switched off for every host except 127.0.0.1 and
localhost. A page that tries to fetch a CDN therefore fails fast, as it would offline. The
request is still recorded, and the test reports it.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import re
import shutil
import socketserver
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SITE_DIR = REPO_ROOT / "_build" / "html"
CHROMIUM = os.environ.get("TRD_CHROMIUM", "/usr/bin/chromium")
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
GOTO_TIMEOUT_MS = 15_000
MATHJAX_TIMEOUT_MS = 10_000

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    # Offline: no host except the local test server can be resolved.
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1, EXCLUDE localhost",
]

_META_REFRESH = re.compile(
    r"""<meta[^>]+http-equiv=["']?refresh["']?[^>]*content=["']\s*\d+\s*;\s*url=([^"'>]+)""",
    re.IGNORECASE,
)

# Runs inside each page once it has loaded (and MathJax, if present, has typeset).
_COLLECT_JS = r"""
() => {
  const out = {links: [], images: [], missing_alt: [], ids: [], resources: []};
  for (const a of document.querySelectorAll('a[href]')) {
    out.links.push(a.href);
  }
  for (const img of document.querySelectorAll('img')) {
    out.images.push(img.currentSrc || img.src);
    const alt = (img.getAttribute('alt') || '').trim();
    if (!alt) out.missing_alt.push('img ' + (img.getAttribute('src') || '(no src)'));
  }
  for (const svg of document.querySelectorAll('svg[role="img"]')) {
    // An svg hidden from assistive technology needs no name: MathJax marks its SVG
    // aria-hidden and puts the accessible MathML next to it.
    if (svg.closest('[aria-hidden="true"]')) continue;
    let name = (svg.getAttribute('aria-label') || '').trim();
    const labelledby = svg.getAttribute('aria-labelledby');
    if (!name && labelledby) {
      name = labelledby.split(/\s+/).map(id => {
        const el = document.getElementById(id);
        return el ? el.textContent.trim() : '';
      }).join(' ').trim();
    }
    if (!name) {
      const title = svg.querySelector(':scope > title');
      name = title ? title.textContent.trim() : '';
    }
    if (!name) out.missing_alt.push('svg[role=img] ' + svg.outerHTML.slice(0, 120));
  }
  for (const el of document.querySelectorAll('[id]')) out.ids.push(el.id);
  for (const a of document.querySelectorAll('a[name]')) out.ids.push(a.name);
  for (const e of performance.getEntriesByType('resource')) out.resources.push(e.name);
  // TeX that MathJax could not typeset (shown in red on the page, never logged).
  out.math_errors = Array.from(document.querySelectorAll('mjx-merror'),
                               e => (e.getAttribute('data-mjx-error') || e.textContent).trim());
  // Math that MathJax left as raw TeX (e.g. unbalanced braces), when MathJax ran at all.
  if (window.MathJax && MathJax.startup && MathJax.startup.document) {
    for (const m of document.querySelectorAll('span.math, div.math')) {
      if (!m.querySelector('mjx-container')) {
        out.math_errors.push('not typeset: ' + m.textContent.trim().slice(0, 80));
      }
    }
  }
  return out;
}
"""

# Runs after _COLLECT_JS: everything that shows that text from data/ ran as markup or script.
# The hostile-input corpus (tests/hostile/cases.json) sets window.__pwned or data-pwned.
_INJECTION_JS = r"""
() => {
  const found = [];
  if (typeof window.__pwned !== 'undefined') found.push('window.__pwned = ' + window.__pwned);
  for (const el of document.querySelectorAll('[data-pwned]')) {
    found.push('data-pwned on <' + el.tagName.toLowerCase() + '>');
  }
  for (const el of document.querySelectorAll('*')) {
    for (const attr of el.attributes) {
      const name = attr.name.toLowerCase();
      const value = attr.value.trim().toLowerCase();
      if (name.startsWith('on') && /pwned/.test(value)) {
        found.push('event handler ' + name + ' on <' + el.tagName.toLowerCase() + '>');
      }
      if (/^(java|vb)script:/.test(value.replace(/[\t\n\r]/g, ''))) {
        const tag = el.tagName.toLowerCase();
        found.push(name + '="' + attr.value.slice(0, 60) + '" on <' + tag + '>');
      }
      if (name === 'srcdoc') found.push('srcdoc on <' + el.tagName.toLowerCase() + '>');
    }
  }
  for (const sc of document.querySelectorAll('script')) {
    if (/pwned/.test(sc.textContent)) found.push('<script> mentioning pwned');
  }
  return found;
}
"""

_WAIT_MATHJAX_JS = """
() => (window.MathJax && MathJax.startup && MathJax.startup.promise)
      ? MathJax.startup.promise.then(() => true) : true
"""


@dataclass
class PageResult:
    path: str  # relative to the site root, posix
    url: str
    final_url: str = ""
    redirect_to: str | None = None  # meta-refresh target (page not loaded in the browser)
    load_error: str | None = None
    console_errors: list[str] = field(default_factory=list)
    external_requests: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    missing_alt: list[str] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    resources: list[str] = field(default_factory=list)
    weight_bytes: int = 0
    injection: list[str] = field(default_factory=list)  # signs of injected script
    text: str = ""  # document.body.textContent, when crawl(collect_text=True)


@dataclass
class CrawlResult:
    site_dir: Path
    base_url: str
    pages: dict[str, PageResult]
    seconds: float
    landing: str | None = None  # path of the landing page (after the index.html redirect)

    def to_json(self) -> str:
        data = {
            "site_dir": str(self.site_dir),
            "seconds": round(self.seconds, 2),
            "landing": self.landing,
            "pages": {
                p: {
                    k: v
                    for k, v in asdict(r).items()
                    if k not in ("ids", "links", "images", "resources", "text")
                }
                for p, r in self.pages.items()
            },
        }
        return json.dumps(data, indent=2)


def site_dir_from_env() -> Path:
    return Path(os.environ.get("TRD_SITE_DIR") or DEFAULT_SITE_DIR).resolve()


def html_pages(site_dir: Path) -> list[str]:
    """All .html files of the site, as posix paths relative to it (skips _static internals)."""
    pages = []
    for p in sorted(site_dir.rglob("*.html")):
        rel = p.relative_to(site_dir).as_posix()
        if rel.startswith(("_static/", "_sources/")):
            continue
        pages.append(rel)
    return pages


def meta_refresh_target(path: Path) -> str | None:
    """The URL of a ``<meta http-equiv="refresh">`` redirect page, or None."""
    try:
        head = path.read_text(encoding="utf-8", errors="replace")[:4000]
    except OSError:
        return None
    m = _META_REFRESH.search(head)
    return m.group(1).strip() if m else None


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - signature fixed by the base class
        pass


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


@contextmanager
def serve(site_dir: Path) -> Iterator[str]:
    """Serve ``site_dir`` on 127.0.0.1 on a free port, in a thread; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(site_dir))
    httpd = _Server(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, name="site-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def is_local(url: str) -> bool:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme in ("data", "blob", "about", "javascript", "mailto", "chrome-error"):
        return True
    return (parts.hostname or "") in LOCAL_HOSTS


def same_origin(url: str, base_url: str) -> bool:
    a, b = urllib.parse.urlsplit(url), urllib.parse.urlsplit(base_url)
    return a.scheme in ("http", "https") and (a.hostname, a.port) == (b.hostname, b.port)


def url_to_file(url: str, base_url: str, site_dir: Path) -> Path | None:
    """Map a same-origin URL to the file the server sends for it (None if outside the site)."""
    path = urllib.parse.unquote(urllib.parse.urlsplit(url).path)
    base_path = urllib.parse.urlsplit(base_url).path
    rel = path[len(base_path) :] if path.startswith(base_path) else path.lstrip("/")
    target = (site_dir / rel).resolve()
    if target != site_dir and site_dir not in target.parents:
        return None
    if target.is_dir():
        target = target / "index.html"
    return target


@functools.lru_cache(maxsize=4096)
def http_status(url: str) -> int:
    """Status code the local server returns for ``url`` (fragment and query dropped)."""
    parts = urllib.parse.urlsplit(url)
    clean = urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    try:
        with urllib.request.urlopen(clean, timeout=10) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (urllib.error.URLError, OSError):
        return 0


def _page_weight(page: PageResult, base_url: str, site_dir: Path) -> int:
    """Bytes of the HTML document plus every same-host resource it loaded (files on disk)."""
    seen: set[Path] = set()
    total = 0
    for url in [page.final_url or page.url, *page.resources]:
        if not same_origin(url, base_url):
            continue
        f = url_to_file(url, base_url, site_dir)
        if f is None or f in seen or not f.is_file():
            continue
        seen.add(f)
        total += f.stat().st_size
    return total


def crawl(
    site_dir: Path,
    base_url: str,
    screenshot_dir: Path | None = None,
    collect_text: bool = False,
) -> CrawlResult:
    """Load every page of the site in one headless Chromium, one browser context.

    With ``collect_text`` each page's ``document.body.textContent`` is kept in
    :attr:`PageResult.text`.
    """
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    started = time.monotonic()
    pages: dict[str, PageResult] = {}
    landing: str | None = None

    # Landing page: index.html, or the page it redirects to.
    if (site_dir / "index.html").is_file():
        landing = "index.html"
        target = meta_refresh_target(site_dir / "index.html")
        if target:
            resolved = url_to_file(urllib.parse.urljoin(base_url, target), base_url, site_dir)
            landing = resolved.relative_to(site_dir).as_posix() if resolved else None

    results_page = next((p for p in html_pages(site_dir) if "results/" in p), None)

    profile = Path(tempfile.mkdtemp(prefix="trd-chromium-"))
    try:
        with sync_playwright() as pw:
            context = pw.chromium.launch_persistent_context(
                str(profile),
                executable_path=CHROMIUM,
                headless=True,
                args=CHROMIUM_ARGS,
                viewport={"width": 1280, "height": 900},
                service_workers="block",
            )
            context.set_default_timeout(GOTO_TIMEOUT_MS)
            current: dict[str, PageResult | None] = {"page": None}

            def on_request(request):
                rec = current["page"]
                if rec is not None and not is_local(request.url):
                    rec.external_requests.append(f"{request.resource_type} {request.url}")

            def on_request_failed(request):
                rec = current["page"]
                if rec is not None and is_local(request.url):
                    rec.failed_requests.append(f"{request.url} ({request.failure})")

            def on_response(response):
                rec = current["page"]
                if rec is not None and is_local(response.url) and response.status >= 400:
                    rec.failed_requests.append(f"{response.url} (HTTP {response.status})")

            context.on("request", on_request)
            context.on("requestfailed", on_request_failed)
            context.on("response", on_response)

            page = context.pages[0] if context.pages else context.new_page()

            def on_console(msg):
                rec = current["page"]
                if rec is not None and msg.type == "error":
                    loc = msg.location or {}
                    rec.console_errors.append(f"console.error: {msg.text} @ {loc.get('url', '')}")

            def on_pageerror(exc):
                rec = current["page"]
                if rec is not None:
                    rec.console_errors.append(f"uncaught: {exc}")

            def on_dialog(dialog):
                rec = current["page"]
                if rec is not None:
                    rec.injection.append(f"JavaScript {dialog.type}: {dialog.message[:80]}")
                dialog.dismiss()

            page.on("console", on_console)
            page.on("pageerror", on_pageerror)
            page.on("dialog", on_dialog)

            for rel in html_pages(site_dir):
                url = urllib.parse.urljoin(base_url, urllib.parse.quote(rel))
                rec = PageResult(path=rel, url=url)
                pages[rel] = rec
                target = meta_refresh_target(site_dir / rel)
                if target:
                    # Headless Chromium can hang on meta-refresh pages; check the target instead.
                    rec.redirect_to = urllib.parse.urljoin(url, target)
                    rec.links.append(rec.redirect_to)
                    continue
                current["page"] = rec
                try:
                    page.goto(url, wait_until="load", timeout=GOTO_TIMEOUT_MS)
                    rec.final_url = page.url
                    try:
                        page.wait_for_function(_WAIT_MATHJAX_JS, timeout=MATHJAX_TIMEOUT_MS)
                    except PlaywrightError as exc:
                        rec.console_errors.append(f"MathJax did not finish: {exc}")
                    data = page.evaluate(_COLLECT_JS)
                    rec.links = data["links"]
                    rec.images = data["images"]
                    rec.missing_alt = data["missing_alt"]
                    rec.ids = data["ids"]
                    rec.resources = data["resources"]
                    rec.console_errors += [f"MathJax error: {m}" for m in data["math_errors"]]
                    rec.injection += page.evaluate(_INJECTION_JS)
                    if collect_text:
                        rec.text = page.evaluate("() => document.body.textContent")
                    if screenshot_dir is not None and rel in (landing, results_page):
                        screenshot_dir.mkdir(parents=True, exist_ok=True)
                        name = "landing.png" if rel == landing else "results.png"
                        page.screenshot(path=str(screenshot_dir / name), full_page=True)
                except PlaywrightError as exc:
                    rec.load_error = str(exc).splitlines()[0]
                finally:
                    current["page"] = None
                rec.weight_bytes = _page_weight(rec, base_url, site_dir)
            context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)

    return CrawlResult(
        site_dir=site_dir,
        base_url=base_url,
        pages=pages,
        seconds=time.monotonic() - started,
        landing=landing,
    )


def landing_bottom_line(site_dir: Path, landing: str | None) -> list[str]:
    """Texts of the elements with class ``bottom-line`` on the landing page (static HTML)."""
    if landing is None or not (site_dir / landing).is_file():
        return []
    from bs4 import BeautifulSoup

    soup = BeautifulSoup((site_dir / landing).read_text(encoding="utf-8"), "html.parser")
    return [" ".join(el.get_text(" ").split()) for el in soup.select(".bottom-line")]


# --------------------------------------------------------------------------------------------
# External link report (used by .github/workflows/linkcheck.yml; never part of `make test`).
# --------------------------------------------------------------------------------------------

_DOI_FIELD = re.compile(r"""\bdoi\s*=\s*[{"]\s*([^}"]+?)\s*[}"]""", re.IGNORECASE)
_USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) trd-living-review-linkcheck/1.0 "
    "(+https://github.com/trd-living-review/trd-psychotherapy-review)"
)


def external_links(site_dir: Path) -> dict[str, set[str]]:
    """External http(s) <a href> targets of the built site -> pages linking to them."""
    from bs4 import BeautifulSoup

    found: dict[str, set[str]] = {}
    for rel in html_pages(site_dir):
        soup = BeautifulSoup((site_dir / rel).read_text(encoding="utf-8"), "html.parser")
        for a in soup.select("a[href]"):
            href = a["href"].strip()
            if href.startswith(("http://", "https://")) and not is_local(href):
                found.setdefault(href.split("#", 1)[0], set()).add(rel)
    return found


def bib_dois(bib: Path) -> dict[str, set[str]]:
    """DOIs in a BibTeX file, as https://doi.org/ URLs -> {bib file name}."""
    out: dict[str, set[str]] = {}
    if bib.is_file():
        for doi in _DOI_FIELD.findall(bib.read_text(encoding="utf-8")):
            doi = re.sub(r"^(https?://(dx\.)?doi\.org/|doi:)", "", doi.strip(), flags=re.I)
            out.setdefault("https://doi.org/" + urllib.parse.quote(doi, safe="/:;()"), set()).add(
                bib.name
            )
    return out


def check_external(url: str, timeout: float = 20.0, retries: int = 2) -> tuple[str, str]:
    """('ok' | 'blocked' | 'broken', detail) for an external URL; HEAD first, then GET."""
    last = ""
    for attempt in range(retries + 1):
        for method in ("HEAD", "GET"):
            req = urllib.request.Request(url, method=method, headers={"User-Agent": _USER_AGENT})
            try:
                with urllib.request.urlopen(req, timeout=timeout) as resp:
                    return "ok", f"{resp.status} {resp.url if resp.url != url else ''}".strip()
            except urllib.error.HTTPError as exc:
                last = f"HTTP {exc.code}"
                if exc.code in (405, 501) and method == "HEAD":
                    continue  # HEAD not allowed: try GET
                if exc.code in (401, 403, 429):
                    # Publisher bot protection or rate limits: not proof that the link is dead.
                    if method == "GET":
                        return "blocked", last
                    continue
                if exc.code < 500 and method == "GET":
                    return "broken", last
            except (urllib.error.URLError, OSError, ValueError) as exc:
                last = f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}"
        time.sleep(2 * (attempt + 1))
    return "broken", last


def linkcheck_report(site_dir: Path, bib: Path | None, workers: int = 8) -> tuple[str, int]:
    """Markdown report of external links and DOIs; returns (report, number of broken)."""
    from concurrent.futures import ThreadPoolExecutor

    targets = external_links(site_dir) if site_dir.is_dir() else {}
    if bib is not None:
        for url, where in bib_dois(bib).items():
            targets.setdefault(url, set()).update(where)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = dict(zip(targets, pool.map(check_external, targets), strict=True))
    rows = {"broken": [], "blocked": [], "ok": []}
    for url in sorted(results):
        status, detail = results[url]
        rows[status].append(f"| {url} | {detail} | {', '.join(sorted(targets[url]))} |")
    lines = [
        "# External link check",
        "",
        f"{len(results)} external links and DOIs checked: {len(rows['ok'])} ok, "
        f"{len(rows['blocked'])} blocked by the server (401/403/429, often bot protection), "
        f"{len(rows['broken'])} broken or unreachable.",
        "",
    ]
    sections = (("broken", "Broken or unreachable"), ("blocked", "Blocked (check by hand)"))
    for status, title in sections:
        if rows[status]:
            header = ["| URL | Result | Linked from |", "|---|---|---|"]
            lines += [f"## {title}", "", *header, *rows[status], ""]
    return "\n".join(lines), len(rows["broken"])


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description="Report broken external links and DOIs.")
    parser.add_argument("command", choices=["linkcheck"])
    parser.add_argument("--site", type=Path, default=DEFAULT_SITE_DIR, help="built HTML site")
    parser.add_argument("--bib", type=Path, default=REPO_ROOT / "data" / "references.bib")
    parser.add_argument("--report", type=Path, help="write the Markdown report here as well")
    parser.add_argument("--strict", action="store_true", help="exit 1 if any link is broken")
    args = parser.parse_args(argv)
    report, broken = linkcheck_report(args.site.resolve(), args.bib)
    print(report)
    if args.report:
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(report + "\n", encoding="utf-8")
    return 1 if (args.strict and broken) else 0


if __name__ == "__main__":
    raise SystemExit(main())
