"""The hostile-input corpus through a whole build and a browser (issue #15, item 1).

One build (module scope, about a minute) of a throw-away copy of the repository whose data hold
the payloads of ``tests/hostile/cases.json``:

* every payload is a trial name (shown in the trial tables of the modality pages, the
  awaiting-data and explorer pages), and some are also appended to an outcome ``comparison``
  (analysis tables), a ``main_analysis_reason`` (glued text on the "other approaches" page and
  tables), prepended to ``notes`` and ``trd_definition`` (tables), put in a ``country``,
  ``version.yml``'s ``description`` and a ``references.bib`` title and note (bibliography);
* the 'reject' payloads are markup that the validator refuses, so in this copy (only) the
  markup rules of ``analysis/evidence/textrules.py`` are switched off: the test checks the
  escaping on its own, as if the validator had a gap. ``test_the_real_validator_rejects_the_copy``
  shows that the real rules refuse these data; the copy's build runs the copy's code (the build
  runs from the copy and its notebooks get the copy on ``PYTHONPATH``).

Checks: no page's HTML holds a payload's markup unescaped; table ids are not pandas' random
ones; and in Chromium (Playwright with Debian's /usr/bin/chromium) no injected marker ever runs
on any page (``window.__pwned``, ``data-pwned``, event handlers, script URLs, dialogs) while
every payload appears on some page as text, character for character.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from analysis.book.sandbox import copy_repository

try:  # tests/ is not a package: pytest puts it on sys.path ("prepend" import mode)
    import sitecheck
except ImportError:  # tests/ became a package
    from tests import sitecheck

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[1]
CORPUS = json.loads((Path(__file__).parent / "hostile" / "cases.json").read_text("utf-8"))
#: Control characters are refused by a rule that stays on (and would not show as text).
PAYLOADS = [p for p in CORPUS["payloads"] if p.get("rule") != "control characters"]
SMART_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})
MARKUP_OFF = '''

def _markup_problem(value: str) -> str | None:  # tests/test_hostile_site.py: markup rules off
    return None
'''


def _rows(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))


def _write(path: Path, rows: list[list[str]]) -> None:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")


def plant(data: Path) -> dict[str, list[str]]:
    """Put the payloads into the data of a copy; return {payload id: [where it went]}."""
    by_id = {p["id"]: p["value"] for p in PAYLOADS}
    where: dict[str, list[str]] = {p: [] for p in by_id}
    studies = _rows(data / "studies.csv")
    head = studies[0]
    col = {c: head.index(c) for c in head}
    row_of = {r[col["study_id"]]: r for r in studies[1:]}
    ids = list(by_id)
    for i, pid in enumerate(ids):  # every payload is a trial name (22 trials)
        if i < len(studies) - 1:
            studies[i + 1][col["trial_name"]] = by_id[pid]
            where[pid].append(f"trial_name of {studies[i + 1][col['study_id']]}")
        else:
            studies[1][col["country"]] = by_id[pid]
            where[pid].append(f"country of {studies[1][col['study_id']]}")
    extra = {  # study -> column -> payload appended (+) or prepended (-)
        ("Rohricht2013", "main_analysis_reason", "+"): "img_onerror",
        ("Minelli2019", "main_analysis_reason", "+"): "p_less_than",
        ("Moore1997", "notes", "-"): "svg_onload",
        ("Nakao2018", "notes", "-"): "quotes_ampersand",
        ("Kocsis2009", "trd_definition", "-"): "attr_breakout",
        ("Wiles2013", "comparator", "+"): "script_close",
    }
    for (sid, column, how), pid in extra.items():
        old = row_of[sid][col[column]]
        row_of[sid][col[column]] = f"{old} {by_id[pid]}" if how == "+" else f"{by_id[pid]} {old}"
        where[pid].append(f"{column} of {sid}")
    _write(data / "studies.csv", studies)

    outcomes = _rows(data / "outcomes.csv")
    oc = {c: outcomes[0].index(c) for c in outcomes[0]}
    for sid, pid in (("Harley2008", "markdown_js_link"), ("Nakagawa2017", "entity_text"),
                     ("Town2017", "myst_glue_role")):  # fmt: skip
        for r in outcomes[1:]:
            if r[oc["study_id"]] == sid:  # every row of the study: arms stay paired
                r[oc["comparison"]] = f"{r[oc['comparison']]} {by_id[pid]}"
        where[pid].append(f"comparison of {sid}")
    _write(data / "outcomes.csv", outcomes)

    version = data / "version.yml"
    text = version.read_text(encoding="utf-8")
    text = re.sub(r"(?m)^description: .*$",
                  "description: " + json.dumps(by_id["svg_onload"]), text)  # fmt: skip
    version.write_text(text, encoding="utf-8")
    where["svg_onload"].append("version.yml description")

    bib = data / "references.bib"
    text = bib.read_text(encoding="utf-8")
    text = text.replace("title   = {Cognitive behavioural therapy as an adjunct",
                        "title   = {" + by_id["img_onerror"] + " Cognitive behavioural therapy "
                        "as an adjunct", 1)  # fmt: skip
    text = text.replace("note    = {ISRCTN38231611.",
                        "note    = {" + by_id["p_less_than"] + " ISRCTN38231611.", 1)
    bib.write_text(text, encoding="utf-8")
    where["img_onerror"].append("references.bib title of wiles2013")
    where["p_less_than"].append("references.bib note of wiles2013")
    return where


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A built copy whose data hold the corpus (markup rules off in the copy only)."""
    root = copy_repository(REPO, tmp_path_factory.mktemp("hostile") / "repo")
    rules = root / "analysis" / "evidence" / "textrules.py"
    source = rules.read_text(encoding="utf-8")
    assert "def _markup_problem(value: str) -> str | None:" in source, "rule function renamed?"
    rules.write_text(source + MARKUP_OFF, encoding="utf-8")
    plant(root / "data")
    env = dict(os.environ, PYTHONPATH=str(root))
    proc = subprocess.run(
        [sys.executable, "-m", "analysis", "build", "--root", str(root), "--jobs", "2"],
        cwd=root, env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-5000:]
    return root


def _html_files(site: Path) -> list[Path]:
    return [site / rel for rel in sitecheck.html_pages(site)]


def test_the_real_validator_rejects_the_copy(hostile: Path) -> None:
    from analysis.evidence import validate

    rules = {p.rule.split(" (")[0] for p in validate(hostile / "data")}
    assert any(r.startswith("must not contain HTML markup") for r in rules), rules
    assert any(r.startswith("must not contain a script URL") for r in rules), rules


def test_payloads_reached_the_pages_escaped(hostile: Path) -> None:
    """The raw markup of no payload is in any page; its escaped form is, on the pages that
    show trial names."""
    site = hostile / "_build" / "html"
    pages = {p: p.read_text(encoding="utf-8") for p in _html_files(site)}
    raw = [p["value"] for p in PAYLOADS if p["expect"] == "reject" and "<" in p["value"]]
    leaks = [f"{path.relative_to(site)}: {value[:40]!r}" for value in raw
             for path, html in pages.items() if value in html]  # fmt: skip
    assert not leaks, "payload markup published unescaped:\n" + "\n".join(leaks)
    cbt = pages[site / "chapters" / "modalities" / "cbt.html"]
    assert "&lt;img src=x onerror=&quot;document.body.setAttribute(" in cbt
    refs = pages[site / "chapters" / "references.html"]
    assert "&lt;img src=x onerror=" in refs and "<img src=x" not in refs


def test_table_ids_are_not_random(hostile: Path) -> None:
    site = hostile / "_build" / "html"
    random_ids = [f"{p.relative_to(site)}: {m}" for p in _html_files(site)
                  for m in re.findall(r'id="T_[0-9a-f]{5}"', p.read_text(encoding="utf-8"))]
    assert not random_ids, "\n".join(random_ids)  # fmt: skip


@pytest.fixture(scope="module")
def hostile_crawl(hostile: Path) -> sitecheck.CrawlResult:
    if os.environ.get("TRD_SKIP_BROWSER") == "1":
        pytest.skip("TRD_SKIP_BROWSER=1")
    if not Path(sitecheck.CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {sitecheck.CHROMIUM}", pytrace=False)
    site = hostile / "_build" / "html"
    with sitecheck.serve(site) as base_url:
        return sitecheck.crawl(site, base_url, collect_text=True)


@pytest.mark.browser
def test_no_injected_marker_executes(hostile_crawl: sitecheck.CrawlResult) -> None:
    loaded = [p for p in hostile_crawl.pages.values() if p.redirect_to is None]
    assert len(loaded) > 20 and not [p.path for p in loaded if p.load_error]
    problems = {p.path: p.injection for p in loaded if p.injection}
    assert not problems, "injected script ran or is armed:\n" + "\n".join(
        f"{page}: {items}" for page, items in sorted(problems.items())
    )


@pytest.mark.browser
def test_every_payload_is_shown_as_text(hostile_crawl: sitecheck.CrawlResult) -> None:
    texts = {p.path: p.text for p in hostile_crawl.pages.values()}
    missing = [p["id"] for p in PAYLOADS if not any(p["value"] in t for t in texts.values())]
    assert not missing, f"payloads not shown verbatim on any page: {missing}"
    # Glued text ({glue:text}) carries main_analysis_reason of Rohricht2013 as text; Sphinx's
    # smart quotes turn its straight quotes into curly ones (typography, not markup).
    other = texts["chapters/modalities/other.html"].translate(SMART_QUOTES)
    img = next(p["value"] for p in PAYLOADS if p["id"] == "img_onerror")
    assert img in other


@pytest.mark.browser
def test_glued_text_is_a_text_node(hostile: Path, hostile_crawl: sitecheck.CrawlResult) -> None:
    """``{glue:text}`` pastes the glued string as text: in the HTML of the "other approaches"
    page the reason of Rohricht2013 sits escaped inside a ``pasted-text`` span."""
    html = (hostile / "_build/html/chapters/modalities/other.html").read_text("utf-8")
    spans = re.findall(r'<span class="pasted-text">(.*?)</span>', html, re.S)
    assert any("&lt;img src=x onerror=" in s for s in spans), spans[:5]
