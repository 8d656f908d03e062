"""The hostile-input corpus against the validator (issue #15, items 1 and 2).

``tests/hostile/cases.json`` lists payloads (script and event-handler injection, script URLs,
MyST roles and directives, control characters, and harmless text with ``<``, ``&``, quotes,
``$$`` and backticks) and the text fields they go into: every text column of the four CSV
files, ``description`` in ``version.yml`` and ``title``/``note`` in ``references.bib``.

* A ``reject`` payload in any of these fields is refused with file, row (line), column, value
  and the payload's rule.
* An ``accept`` payload in all of them at once validates: the rules do not refuse ordinary
  text such as ``p<0.05`` (the browser test shows it escaped on the pages).
* Any payload in a URL column (``source_urls``, published ``source``) is refused.

The rules themselves (:mod:`analysis.evidence.textrules`) are tested on examples at the end.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from pathlib import Path

import pytest

from analysis.evidence import Problem, validate
from analysis.evidence.textrules import text_problem

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
CORPUS = json.loads((Path(__file__).parent / "hostile" / "cases.json").read_text("utf-8"))
PAYLOADS = CORPUS["payloads"]
FIELDS = CORPUS["fields"]
CSV_FIELDS = {f: spec for f, spec in FIELDS.items() if f.endswith(".csv")}
KEYS = {
    "studies.csv": ("study_id",),
    "outcomes.csv": ("outcome_id",),
    "published_results.csv": ("result_id",),
    "risk_of_bias.csv": ("study_id", "domain"),
    "searches.csv": ("search_id",),
    "screening.csv": ("record_id",),
    "changelog.csv": ("version", "record_id"),
}
REJECT = [p for p in PAYLOADS if p["expect"] == "reject"]
ACCEPT = [p for p in PAYLOADS if p["expect"] == "accept"]


def corpus_size() -> int:
    """Payload x field combinations the corpus checks (URL fields included)."""
    n_fields = sum(len(s["columns"]) for s in FIELDS.values())
    n_url = sum(len(s["columns"]) for s in CORPUS["url_fields"].values())
    return len(PAYLOADS) * (n_fields + n_url)


def _put_csv(data: Path, file: str, key: str, columns: list[str], value: str) -> int:
    """Write ``value`` into ``columns`` of the row whose key is ``key``; return its line."""
    path = data / file
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))
    idx = [rows[0].index(c) for c in KEYS[file]]
    line = next(i for i, r in enumerate(rows[1:], start=2)
                if "|".join(r[j] for j in idx) == key)  # fmt: skip
    for col in columns:
        rows[line - 1][rows[0].index(col)] = value
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")
    return line


def _put_version(data: Path, value: str) -> int:
    path = data / "version.yml"
    lines = path.read_text(encoding="utf-8").split("\n")
    i = next(i for i, ln in enumerate(lines) if ln.startswith("description:"))
    lines[i] = "description: " + json.dumps(value)  # a JSON string is a YAML double-quoted one
    path.write_text("\n".join(lines), encoding="utf-8")
    return i + 1


def _put_bib(data: Path, key: str, field: str, value: str) -> int:
    """Replace ``field`` of entry ``key`` (one line ``  field = {...},``); return its line."""
    path = data / "references.bib"
    text = path.read_text(encoding="utf-8")
    start = text.index(f"@article{{{key},")
    m = re.compile(rf"(?m)^(\s*{field}\s*=\s*)\{{.*\}}(,?)$").search(text, start)
    assert m, (key, field)
    text = text[: m.start()] + m.group(1) + "{" + value + "}" + m.group(2) + text[m.end():]
    path.write_text(text, encoding="utf-8")
    return text.count("\n", 0, m.start()) + 1


def _place_everywhere(data: Path, value: str) -> dict[tuple[str, str], int]:
    """Put ``value`` into every corpus field; return {(file, column): line}."""
    where: dict[tuple[str, str], int] = {}
    for file, spec in CSV_FIELDS.items():
        line = _put_csv(data, file, spec["key"], spec["columns"], value)
        where.update({(file, c): line for c in spec["columns"]})
    where[("version.yml", "description")] = _put_version(data, value)
    for field in FIELDS["references.bib"]["columns"]:
        where[("references.bib", field)] = _put_bib(data, FIELDS["references.bib"]["key"],
                                                    field, value)  # fmt: skip
    return where


@pytest.fixture()
def data_copy(tmp_path: Path) -> Path:
    dest = tmp_path / "data"
    shutil.copytree(DATA, dest)
    return dest


def test_corpus_covers_every_text_column() -> None:
    """Every free-text and name column of every CSV file is in the corpus (and only those)."""
    from analysis.evidence.schema import SCHEMAS

    for file, schema in SCHEMAS.items():
        text_cols = {n for n, c in schema.items()
                     if c.kind == "str" and not c.pattern and c.text != "url"}  # fmt: skip
        assert set(CSV_FIELDS[file]["columns"]) == text_cols, file
        urls = {n for n, c in schema.items() if c.kind == "str" and c.text == "url"}
        assert set(CORPUS["url_fields"].get(file, {}).get("columns", [])) == urls, file
    assert len(REJECT) >= 15 and len(ACCEPT) >= 5
    assert corpus_size() >= 700
    print(f"\n[corpus] {len(PAYLOADS)} payloads x {corpus_size() // len(PAYLOADS)} fields "
          f"= {corpus_size()} cases")  # fmt: skip


@pytest.mark.parametrize("payload", REJECT, ids=[p["id"] for p in REJECT])
def test_markup_is_rejected_in_every_text_field(payload: dict, data_copy: Path) -> None:
    where = _place_everywhere(data_copy, payload["value"])
    problems = validate(data_copy)
    missing = []
    for (file, column), line in where.items():
        hits = [p for p in problems
                if p.file == f"data/{file}" and p.row == line and p.column == column
                and payload["rule"] in p.rule]  # fmt: skip
        if not hits:
            missing.append(f"{file} row {line} column {column!r}")
            continue
        text = str(hits[0])
        assert text.startswith(f"data/{file}, row {line}, column {column!r}: value ")
    assert not missing, (
        f"{payload['id']}: no problem with rule {payload['rule']!r} at:\n  "
        + "\n  ".join(missing) + "\ngot:\n  " + "\n  ".join(map(str, problems))
    )


@pytest.mark.parametrize("payload", ACCEPT, ids=[p["id"] for p in ACCEPT])
def test_ordinary_text_is_accepted_in_every_text_field(payload: dict, data_copy: Path) -> None:
    _place_everywhere(data_copy, payload["value"])
    assert validate(data_copy) == []


@pytest.mark.parametrize("payload", PAYLOADS, ids=[p["id"] for p in PAYLOADS])
def test_url_fields_take_only_http_urls(payload: dict, data_copy: Path) -> None:
    lines = {}
    for file, spec in CORPUS["url_fields"].items():
        line = _put_csv(data_copy, file, spec["key"], spec["columns"], payload["value"])
        lines.update({(file, c): line for c in spec["columns"]})
    problems = validate(data_copy)
    for (file, column), line in lines.items():
        assert any(p.file == f"data/{file}" and p.row == line and p.column == column
                   and ("http:// or https://" in p.rule or "control characters" in p.rule)
                   for p in problems), (file, column, problems)  # fmt: skip


# ------------------------------------------------------------------------------ the rules
@pytest.mark.parametrize(
    ("value", "kind", "rule"),
    [
        ("p<0.05", "free", None),
        ("< 6 sessions; <=3; <-", "name", None),
        ("Smith & Jones \"CoBalT\"", "name", None),
        ("onset = week 4; one=2; online delivery", "free", None),
        ("[x](https://example.org) `code` {text} $$x$$", "free", None),
        ("line one\nline two\ttab", "free", None),
        ("line one\nline two", "name", "control characters (a line break or tab"),
        ("a<b", "free", "HTML markup"),
        ("</p>", "free", "HTML markup"),
        ("<!doctype html>", "free", "HTML markup"),
        ("<?xml?>", "free", "HTML markup"),
        ("JavaScript :x", "free", "script URL"),
        ("java\tscript:x", "free", "script URL"),
        ("vbscript:x", "name", "script URL"),
        ("x onError = y", "free", "event-handler attribute"),
        ("x onpointerdown=y", "free", "event-handler attribute"),
        ("{glue}`k`", "free", "MyST role"),
        ("{cite:p}`ijaz2018`", "name", "MyST role"),
        ("  :::{note}", "free", "MyST role or directive"),
        ("~~~{raw}", "free", "MyST role or directive"),
        ("a\u202eb", "free", "control characters (U+202E"),
        ("a\u2066b", "name", "control characters (U+2066"),
        ("a\x7fb", "free", "control characters (U+007F"),
        ("https://a.org/x?y=1&z=2 | http://b.org", "url", None),
        ("https://a.org/x y", "url", "http:// or https://"),
        ("ftp://a.org", "url", "http:// or https://"),
        ("https://a.org/\"onmouseover=x", "url", "http:// or https://"),
    ],
)
def test_text_rules(value: str, kind: str, rule: str | None) -> None:
    got = text_problem(value, kind)
    if rule is None:
        assert got is None, got
    else:
        assert got is not None and rule in got, got


def test_problem_names_file_row_column_value_and_rule(data_copy: Path) -> None:
    line = _put_csv(data_copy, "studies.csv", "Wiles2013", ["trial_name"],
                    "<img src=x onerror=alert(1)>")  # fmt: skip
    (p,) = [p for p in validate(data_copy) if p.column == "trial_name"]
    assert p == Problem(
        "data/studies.csv", line, "trial_name", "<img src=x onerror=alert(1)>",
        "must not contain HTML markup ('<' followed by a letter, '/', '!' or '?'); write '< ' "
        "or 'less than' for a comparison",
    )  # fmt: skip
