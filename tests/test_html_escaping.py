"""Text from ``data/`` is escaped where it reaches HTML, in one place, and tables are
deterministic.

* :func:`analysis.book.report.glue_table` (and :func:`~analysis.book.report.table`, for tables a
  cell shows directly) render through :func:`analysis.book.html.table_html`: every cell and
  column label is escaped, the index is hidden, and the HTML is byte-identical between renders
  (no random pandas ``T_xxxxx`` ids).
* Chapters and the ``analysis`` package never build HTML from a DataFrame themselves
  (``.style``, ``Styler``, ``to_html``, ``IPython.display.HTML``); only ``analysis/book/html.py``
  does.

The hostile strings are the ones of ``tests/hostile/cases.json``; the expected HTML is written
out by hand (``html.escape`` rules), never produced by the code under test.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from analysis.book import html as book_html
from analysis.book import report

ROOT = Path(__file__).resolve().parents[1]
CORPUS = json.loads((Path(__file__).parent / "hostile" / "cases.json").read_text("utf-8"))
PAYLOADS = {p["id"]: p["value"] for p in CORPUS["payloads"]}

IMG = PAYLOADS["img_onerror"]
IMG_ESCAPED = (
    "&lt;img src=x onerror=&quot;document.body.setAttribute(&#x27;data-pwned&#x27;,"
    "&#x27;yes&#x27;)&quot;&gt;"
)


@pytest.fixture()
def glued(monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    """Capture what report glues (myst_nb.glue replaced by a dict)."""
    import myst_nb

    store: dict[str, object] = {}

    def fake_glue(key: str, obj: object, display: bool = True) -> None:
        store[key] = obj

    monkeypatch.setattr(myst_nb, "glue", fake_glue)
    return store


def _html_of(obj: object) -> str:
    html = obj._repr_html_()  # type: ignore[attr-defined]
    assert isinstance(html, str)
    return html


def _hostile_table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Trial": ["Wiles 2013 (" + IMG + ")", "Harley 2008"],
            "Country <em>": ["UK & Ireland", 'says "p<0.05"'],
            "n": [12, 7],
        }
    )


def test_glue_table_escapes_every_cell(glued: dict[str, object]) -> None:
    report.glue_table("tbl_hostile", _hostile_table())
    html = _html_of(glued["tbl_hostile"])
    assert "<img" not in html and "onerror=\"" not in html
    assert "Wiles 2013 (" + IMG_ESCAPED + ")" in html
    assert "UK &amp; Ireland" in html
    assert "says &quot;p&lt;0.05&quot;" in html
    # column labels are escaped too
    assert "Country &lt;em&gt;" in html and "<em>" not in html


def test_glue_table_hides_the_index(glued: dict[str, object]) -> None:
    report.glue_table("tbl_idx", _hostile_table())
    html = _html_of(glued["tbl_idx"])
    assert "row_heading" not in html and "index_name" not in html
    assert html.count("<th ") == 3  # the three column labels only


def test_two_renders_are_byte_identical(glued: dict[str, object]) -> None:
    report.glue_table("tbl_same", _hostile_table())
    first = _html_of(glued["tbl_same"])
    report.glue_table("tbl_same", _hostile_table())
    assert _html_of(glued["tbl_same"]) == first
    assert 'id="T_tbl_same"' in first
    assert not re.search(r'id="T_[0-9a-f]{5}', first), "pandas' random table id"


def test_renders_in_two_processes_are_byte_identical() -> None:
    code = (
        "import pandas as pd; from analysis.book.html import table_html;"
        "print(table_html(pd.DataFrame({'a': ['x<y', 'z'], 'b': [1.5, 2.0]}), None), end='')"
    )
    outs = [
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                       cwd=ROOT).stdout
        for _ in range(2)
    ]  # fmt: skip
    assert outs[0] == outs[1] and "x&lt;y" in outs[0]


def test_shown_table_is_escaped_and_deterministic() -> None:
    first = _html_of(report.table(_hostile_table(), key="overview"))
    assert IMG_ESCAPED in first and "<img" not in first
    assert first == _html_of(report.table(_hostile_table(), key="overview"))
    assert 'id="T_overview"' in first


def test_precision_and_missing_values() -> None:
    df = pd.DataFrame({"x": [1.25, float("nan")], "s": pd.array(["a", pd.NA], dtype="string")})
    html = book_html.table_html(df, "k", precision=1)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", html)
    assert cells == ["1.2", "a", "", ""]  # NaN and NA empty, never a raw "<NA>" element
    assert "<NA>" not in html


def test_non_string_objects_are_escaped() -> None:
    df = pd.DataFrame({"x": [["<b>", 1], ("<i>",)]})
    html = book_html.table_html(df, "k")
    assert "<b>" not in html and "<i>" not in html
    assert "[&#x27;&lt;b&gt;&#x27;, 1]" in html


def test_escape() -> None:
    assert book_html.escape("<a href=\"x\">&'") == "&lt;a href=&quot;x&quot;&gt;&amp;&#x27;"
    assert book_html.escape(2024) == "2024"


def test_table_id_is_stable_and_safe() -> None:
    df = pd.DataFrame({"a": [1]})
    assert book_html.table_id("tbl.x-y", df) == "tbl_x_y"
    assert book_html.table_id(None, df) == book_html.table_id("", df)
    assert re.fullmatch(r"t[0-9a-f]{12}", book_html.table_id(None, df))
    assert book_html.table_id(None, df) != book_html.table_id(None, pd.DataFrame({"a": [2]}))


def test_glue_text_glues_plain_text(glued: dict[str, object]) -> None:
    """Glued text stays a plain str (MyST-NB makes a docutils text node of it, which Sphinx
    escapes); it is not pre-escaped, or the reader would see ``&amp;lt;``."""
    report.glue_text("k", "p<0.05 & " + IMG)
    assert glued["k"] == "p<0.05 & " + IMG


# ------------------------------------------------------------------ one place builds table HTML
HTML_BUILDERS = re.compile(r"\.style\b|\bStyler\b|\.to_html\(|\bdisplay\.HTML\b|\bHTML\(")
CODE_CELL = re.compile(r"```\{code-cell\}[^\n]*\n(.*?)```", re.S)


def _chapter_code() -> list[tuple[str, int, str]]:
    found = []
    for path in sorted((ROOT / "chapters").rglob("*.md")):
        text = path.read_text(encoding="utf-8")
        for m in CODE_CELL.finditer(text):
            first = text[: m.start(1)].count("\n") + 1
            for i, line in enumerate(m.group(1).splitlines()):
                found.append((str(path.relative_to(ROOT)), first + i, line))
    return found


def test_chapters_build_no_table_html_themselves() -> None:
    bad = [f"{p}:{n}: {line.strip()}" for p, n, line in _chapter_code()
           if HTML_BUILDERS.search(line)]  # fmt: skip
    assert not bad, (
        "show tables with report.table(df, key=...) or report.glue_table(key, df), which "
        "escape every cell:\n" + "\n".join(bad)
    )


def _html_building_code(tree: ast.AST) -> list[int]:
    """Lines of code (not docstrings or comments) that build HTML: ``.style``, ``Styler``,
    ``.to_html(``, ``HTML(`` or ``display.HTML``."""
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in {"style", "to_html", "HTML"}:
            lines.append(node.lineno)
        elif isinstance(node, ast.Name) and node.id in {"Styler", "HTML"}:
            lines.append(node.lineno)
        elif isinstance(node, ast.alias) and node.name.split(".")[-1] in {"Styler", "HTML"}:
            lines.append(node.lineno)
    return sorted(set(lines))


def test_the_html_code_detector_sees_code_and_ignores_prose() -> None:
    code = 'import pandas\n"""A Styler in prose."""\nx = df.style.to_html()\n# HTML( in a comment\n'
    assert _html_building_code(ast.parse(code)) == [3]


def test_only_the_html_module_builds_table_html() -> None:
    allowed = {ROOT / "analysis" / "book" / "html.py", ROOT / "analysis" / "book" / "report.py"}
    bad = []
    for path in sorted((ROOT / "analysis").rglob("*.py")):
        if path in allowed:
            continue
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        for n in _html_building_code(ast.parse(text)):
            bad.append(f"{path.relative_to(ROOT)}:{n}: {lines[n - 1].strip()}")
    assert not bad, "HTML built outside analysis/book/html.py:\n" + "\n".join(bad)


# ------------------------------------------------------------------ figures
HOSTILE_LABEL = "<img src=x onerror=alert(1)>"
HOSTILE_ESCAPED = "&lt;img src=x onerror=alert(1)&gt;"


def _forest_with_hostile_label() -> tuple[object, object]:
    import matplotlib

    matplotlib.use("Agg")
    from analysis import plots
    from analysis.stats.pooling import pool

    data = pd.DataFrame({"label": ["Wiles 2013", HOSTILE_LABEL, "Town 2017"],
                         "yi": [-0.5, -0.2, -0.35], "vi": [0.04, 0.05, 0.03]})  # fmt: skip
    fitted = pool(data["yi"], data["vi"], method="REML")
    return plots.forest_plot(data, fitted, arms=None), fitted


def _figure_parts(html: str) -> tuple[str, str, list[str]]:
    """The <img> tag, its alt attribute and the <details> table cells of a glued figure."""
    imgs = re.findall(r"<img\b[^>]*>", html)
    assert len(imgs) == 1, "one <img>: the figure (a hostile label must not add another)"
    alt = re.search(r'\balt="([^"]*)"', imgs[0])
    assert alt is not None
    cells = re.findall(r"<td[^>]*>(.*?)</td>", html)
    return imgs[0], alt.group(1), cells


def test_glue_figure_is_an_svg_with_the_results_alt_and_its_numbers(glued):
    import base64

    fig, fitted = _forest_with_hostile_label()
    report.glue_figure("fig_hostile", fig)
    html = _html_of(glued["fig_hostile"])
    img, alt, cells = _figure_parts(html)
    # the alt text is the figure's, with the pooled estimate and its CI (2 decimals)
    est, lo, hi = (f"{v:.2f}" for v in (fitted.estimate, fitted.ci_low, fitted.ci_high))
    assert f"estimate {est} (95% CI {lo} to {hi})" in alt
    # natural size: the SVG's points at 4/3 px each, and the SVG is what the page shows
    src = re.search(r'src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"', img)
    assert src is not None
    svg = base64.b64decode(src.group(1))
    pt_w, pt_h = (float(v) for v in re.search(rb'width="([0-9.]+)pt" height="([0-9.]+)pt"',
                                               svg).groups())  # fmt: skip
    assert f'width="{round(pt_w * 4 / 3)}" height="{round(pt_h * 4 / 3)}"' in img
    assert b"<dc:date>" not in svg
    assert 'class="trd-figure-scroll" role="region" tabindex="0"' in html
    assert 'aria-label="Figure (scrolls sideways on small screens)"' in html
    # the numbers: one row per study, the pooled row and the prediction interval
    assert "<details class=\"trd-figure-data\"><summary>Numbers shown in this figure</summary>" \
        in html.replace("\n", "")
    assert 'id="T_fig_hostile_data"' in html
    assert f"{est}".replace("-", "\N{MINUS SIGN}") in cells


def test_glue_figure_escapes_a_hostile_label_in_alt_and_table(glued):
    fig, _ = _forest_with_hostile_label()
    report.glue_figure("fig_hostile", fig)
    html = _html_of(glued["fig_hostile"])
    _img, alt, cells = _figure_parts(html)
    assert HOSTILE_LABEL not in html and "onerror=alert" not in html.replace(HOSTILE_ESCAPED, "")
    assert HOSTILE_ESCAPED in cells
    report.glue_figure("fig_alt", fig, alt="Forest plot of " + HOSTILE_LABEL)
    _img, alt, _ = _figure_parts(_html_of(glued["fig_alt"]))
    assert alt == "Forest plot of " + HOSTILE_ESCAPED
    # the figure's own alt text escapes the label too (a forest plot's alt has no labels, so
    # check a figure whose alt text has one)
    fig.alt_text = "Study " + IMG  # type: ignore[attr-defined]
    report.glue_figure("fig_own_alt", fig)
    _img, alt, _ = _figure_parts(_html_of(glued["fig_own_alt"]))
    assert alt == "Study " + IMG_ESCAPED


def test_glue_figure_renders_the_same_bytes_twice(glued):
    fig, _ = _forest_with_hostile_label()
    report.glue_figure("fig_same", fig)
    first = _html_of(glued["fig_same"])
    fig2, _ = _forest_with_hostile_label()
    report.glue_figure("fig_same", fig2)
    assert _html_of(glued["fig_same"]) == first


def test_glue_figure_in_two_processes_is_byte_identical() -> None:
    code = (
        "import matplotlib; matplotlib.use('Agg'); import hashlib;"
        "from analysis.review.figures import coverage_figure; import pandas as pd;"
        "from analysis.book.report import _figure_html;"
        "f = coverage_figure(pd.DataFrame({'k': [3, 6], 'DL': [.8, .9], 'DL + HKSJ': [.95, .95]}));"
        "print(hashlib.sha256(_figure_html('fig_cov', f).encode()).hexdigest(), end='')"
    )
    outs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True, cwd=ROOT).stdout for _ in range(2)]  # fmt: skip
    assert outs[0] == outs[1] and len(outs[0]) == 64


def test_glue_figure_with_data_argument_and_note_figure(glued):
    from analysis.review.figures import note_figure

    note = note_figure("No trial data yet", "Placeholder: no data.")
    report.glue_figure("fig_note", note)
    html = _html_of(glued["fig_note"])
    assert "<details" not in html and 'alt="Placeholder: no data."' in html
    report.glue_figure("fig_note", note, data=pd.DataFrame({"x <b>": ["1 & 2"]}))
    html = _html_of(glued["fig_note"])
    assert "x &lt;b&gt;" in html and "1 &amp; 2" in html and 'id="T_fig_note_data"' in html


def test_glue_figure_or_note_glues_a_figure_or_text(glued):
    fig, _ = _forest_with_hostile_label()
    report.glue_figure_or_note("a", fig, "no data")
    report.glue_figure_or_note("b", None, "no data")
    assert 'class="trd-figure"' in _html_of(glued["a"]) and glued["b"] == "no data"
