"""The multiverse explorer in Chromium (issue #14): each control changes the displayed numbers
to the JSON entry of the chosen combination, and no request leaves the site."""

from __future__ import annotations

import json
import urllib.parse

import pytest

try:  # tests/ is not a package: pytest puts it on sys.path ("prepend" import mode)
    import sitecheck
except ImportError:  # tests/ became a package
    from tests import sitecheck

pytestmark = pytest.mark.browser
PAGE = "chapters/trd/explorer-multiverse.html"
MINUS = "\N{MINUS SIGN}"


def _fmt(x: float) -> str:
    text = f"{abs(x):.2f}"
    return (MINUS + text) if x < 0 and float(text) != 0 else text


def test_controls_show_the_json_numbers_and_nothing_leaves_the_site() -> None:
    from playwright.sync_api import sync_playwright

    site_dir = sitecheck.site_dir_from_env()
    if not (site_dir / PAGE).is_file():
        pytest.skip(f"no built site with {PAGE} (run the build first)")
    data = json.loads((site_dir / "explorer" / "multiverse.json").read_text(encoding="utf-8"))
    external: list[str] = []
    errors: list[str] = []
    with sitecheck.serve(site_dir) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=sitecheck.CHROMIUM, headless=True,
                                     args=sitecheck.CHROMIUM_ARGS)  # fmt: skip
        page = browser.new_page(viewport={"width": 390, "height": 800})
        page.on("request", lambda r: None if sitecheck.is_local(r.url)
                else external.append(r.url))  # fmt: skip
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(urllib.parse.urljoin(base, PAGE))
        page.wait_for_selector("#mv-estimate")

        def check() -> str:
            key = page.get_attribute("#mv-result", "data-key")
            entry = data["results"][key]
            shown = page.inner_text("#mv-estimate")
            if entry.get("empty"):
                assert "No trial has usable data" in shown, key
            else:
                assert shown == f"SMD {_fmt(entry['estimate'])}", key
                assert float(page.get_attribute("#mv-estimate", "data-value")) == entry["estimate"]
                ci = page.inner_text("#mv-ci")
                assert f"{_fmt(entry['ci'][0])} to {_fmt(entry['ci'][1])}" in ci, key
                assert page.get_attribute("#mv-k", "data-k") == str(entry["k"]), key
                rows = page.locator("#mv-trial-table tbody tr").count()
                assert rows == entry["k"], key
            return key

        assert check() == data["default"]
        seen = {data["default"]}
        for choice in data["choices"]:
            select = f"#mv-choice-{choice['key']}"
            for option in choice["options"]:
                page.select_option(select, option["key"])
                key = check()
                assert key.split(data["separator"])[data["choices"].index(choice)] == option["key"]
                seen.add(key)
        assert len(seen) > len(data["choices"])
        # Keyboard: the controls are reachable and operable without a mouse.
        page.focus("#mv-choice-model")
        page.keyboard.press("ArrowDown")
        check()
        width = page.evaluate("document.documentElement.scrollWidth")
        browser.close()
    assert width <= 390, f"horizontal page scroll at 390 px ({width} px)"
    assert not external, f"requests leaving the site: {external}"
    assert not errors, errors
