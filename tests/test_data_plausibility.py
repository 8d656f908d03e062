"""Plausibility rules, the one YAML parser and the BibTeX check (issue #15, items 3, 4 and 6).

* Study years lie between 1957 (the first antidepressants: no trial in scope is older) and the
  year of ``extraction_date``, which is itself not in the future.
* ``last_search`` and ``extraction_date`` are real dates, not in the future, and ordered.
* ``version.yml`` is read by one parser (:func:`analysis.evidence.yamlio.read_version`) in the
  validator and in the build, so what validates also builds, and a bad file stops the build
  with file, line and reason before any notebook runs.
* ``references.bib`` is parsed with pybtex during validation: a syntax error names the line
  pybtex reports and the entry it is in.

The malformed corpus (``tests/malformed/cases.json``) holds one case per defect; the tests here
cover what a corpus case cannot express (the clock, types, build agreement, line numbers).
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from analysis.book.build import build, data_metadata
from analysis.book.errors import BuildError
from analysis.evidence import dates, load_trials, validate
from analysis.evidence.yamlio import load_yaml, read_version

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
# last_search must equal the latest date of searches.csv (2026-12: the day was not recorded).
VERSION = "version: 1.1.0\nlast_search: 2026-12\nextraction_date: 2026-12-05\ndescription: x\n"


@pytest.fixture()
def data_copy(tmp_path: Path) -> Path:
    dest = tmp_path / "data"
    shutil.copytree(DATA, dest)
    return dest


def _set_year(data: Path, study_id: str, year: str) -> int:
    """Set ``year`` of one study (plain text edit); return its line number."""
    path = data / "studies.csv"
    lines = path.read_text(encoding="utf-8").split("\n")
    header = lines[0].split(",")
    col = header.index("year")
    for i, line in enumerate(lines):
        if line.startswith(study_id + ","):
            cells = line.split(",")
            assert cells[col].isdigit()
            cells[col] = year
            lines[i] = ",".join(cells)
            path.write_text("\n".join(lines), encoding="utf-8")
            return i + 1
    raise KeyError(study_id)


def _year_problems(data: Path) -> list:
    return [p for p in validate(data) if p.column == "year"]


# ----------------------------------------------------------------------------------- years
def test_first_trial_year_is_1957() -> None:
    assert dates.FIRST_TRIAL_YEAR == 1957


def test_year_bounds_are_inclusive(data_copy: Path) -> None:
    _set_year(data_copy, "Moore1997", "1957")
    _set_year(data_copy, "Wiles2013", "2026")  # the year of extraction_date
    assert _year_problems(data_copy) == []


def test_year_after_extraction_date_is_rejected(data_copy: Path) -> None:
    """2027 is after the extraction (2026-12-05): implausible even once 2027 has come."""
    line = _set_year(data_copy, "Wiles2013", "2027")
    (p,) = _year_problems(data_copy)
    assert (p.file, p.row, p.value) == ("data/studies.csv", line, "2027")
    assert "between 1957" in p.rule and "and 2026" in p.rule


def test_year_bound_is_never_after_today(data_copy: Path, monkeypatch) -> None:
    """With extraction_date unusable, the bound is the current year of the review's clock."""
    (data_copy / "version.yml").write_text(VERSION.replace("2026-12-05", "soon"), "utf-8")
    monkeypatch.setattr(dates, "today", lambda: dt.date(2025, 3, 1))
    _set_year(data_copy, "Wiles2013", "2025")
    assert _year_problems(data_copy) == []
    _set_year(data_copy, "Wiles2013", "2026")
    (p,) = _year_problems(data_copy)
    assert "and 2025" in p.rule


# ----------------------------------------------------------------------------------- dates
def test_dates_in_the_future_follow_the_clock(data_copy: Path, monkeypatch) -> None:
    (data_copy / "version.yml").write_text(VERSION, encoding="utf-8")
    # On 4 December the month of the last search (2026-12) has begun; the extraction date has not.
    monkeypatch.setattr(dates, "today", lambda: dt.date(2026, 12, 4))
    probs = [p for p in validate(data_copy) if p.file.endswith("version.yml")]
    assert [(p.row, p.column, p.value) for p in probs] == [(3, "extraction_date", "2026-12-05")]
    assert probs[0].rule == "date must not be in the future (today is 2026-12-04)"
    monkeypatch.setattr(dates, "today", lambda: dt.date(2026, 11, 30))
    probs = [p for p in validate(data_copy) if p.file.endswith("version.yml")]
    assert [(p.column, p.value) for p in probs] == [("last_search", "2026-12"),
                                                    ("extraction_date", "2026-12-05")]
    monkeypatch.setattr(dates, "today", lambda: dt.date(2026, 12, 5))
    assert validate(data_copy) == []


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        (dt.date(2024, 1, 1), True),
        ("2024-01-01", True),
        ("2024-02-30", False),
        ("2024-1-1", False),
        (dt.datetime(2024, 1, 1, 10, 0), False),
        (20240101, False),
        (None, False),
    ],
)
def test_parse_iso_date(value: object, ok: bool) -> None:
    got = dates.parse_iso_date(value)
    assert (got == dt.date(2024, 1, 1)) if ok else got is None


# ------------------------------------------------------------------------- one YAML parser
@pytest.mark.parametrize(
    "text",
    [
        VERSION,
        VERSION.replace("last_search: 2026-12", 'last_search: "2026-12"').replace(
            "1.1.0", "'1.1.0'"),
        "\ufeff# comment\n" + VERSION.replace("\n", "\r\n"),
        VERSION.replace("description: x", 'description: "Trials: 22, search 2024-01-01"'),
        VERSION + "note: extra keys are kept as text\n",
    ],
    ids=["plain", "quoted", "bom-crlf-comment", "quoted-colon", "extra-key"],
)
def test_what_validates_builds_the_same_values(text: str, data_copy: Path) -> None:
    (data_copy / "version.yml").write_text(text, encoding="utf-8")
    assert validate(data_copy) == []
    version = load_trials(data_copy).version
    assert version["version"] == "1.1.0" and version["last_search"] == "2026-12"
    assert version["extraction_date"] == "2026-12-05"
    meta = data_metadata(data_copy.parent)
    assert (meta["data_semver"], meta["last_search"]) == ("1.1.0", "2026-12")


def test_the_build_reads_version_yml_with_the_validators_parser(monkeypatch) -> None:
    import analysis.evidence.yamlio as yamlio

    calls: list[Path] = []
    real = yamlio.read_version

    def spy(path: Path, today: dt.date | None = None):
        calls.append(Path(path))
        return real(path, today)

    monkeypatch.setattr(yamlio, "read_version", spy)
    data_metadata(ROOT)
    validate(DATA)
    assert calls == [ROOT / "data" / "version.yml", DATA / "version.yml"]


@pytest.mark.parametrize(
    ("text", "line", "column", "reason"),
    [
        (VERSION.replace("last_search: 2026-12\n", "last_search: 2024-02-30\n"), 2,
         "last_search", "is not a valid date"),
        (VERSION.replace("description: x", "description: Trials: 22"), 4, None,
         "must be put in quotes"),
        (VERSION.replace("last_search: 2026-12\n", "last_search: 2099-12-31\n").replace(
            "2026-12-05", "2099-12-31"), 2,
         "last_search", "must not be in the future"),
    ],
    ids=["impossible-date", "unquoted-colon", "future"],
)
def test_bad_version_yml_stops_the_build_before_any_notebook(
    text: str, line: int, column: str | None, reason: str, tmp_path: Path
) -> None:
    """The build validates first: it names file, line and reason and runs nothing (the copy
    has no _toc.yml, so reaching discovery would fail differently)."""
    root = tmp_path / "repo"
    shutil.copytree(DATA, root / "data")
    (root / "data" / "version.yml").write_text(text, encoding="utf-8")
    with pytest.raises(BuildError) as err:
        build(root, log=lambda _: None)
    msg = str(err.value)
    assert msg.startswith("invalid data") and "nothing was built" in msg
    where = f"data/version.yml, row {line}" + (f", column {column!r}" if column else "")
    assert where in msg and reason in msg
    assert not (root / "_build" / "html").exists() and not (root / "_build" / ".cache").exists()


def test_load_yaml_rejects_duplicate_keys_with_line(tmp_path: Path) -> None:
    path = tmp_path / "x.yml"
    path.write_text("a: 1\nb:\n  c: 2\n  c: 3\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"line 4: .*key 'c' is given twice \(first at line 3\)"):
        load_yaml(path)


def test_read_version_returns_strings(tmp_path: Path) -> None:
    path = tmp_path / "version.yml"
    path.write_text(VERSION, encoding="utf-8")
    values, problems = read_version(path)
    assert problems == []
    assert values == {"version": "1.1.0", "last_search": "2026-12",
                      "extraction_date": "2026-12-05", "description": "x"}  # fmt: skip


# ------------------------------------------------------------------------------- BibTeX
def test_unbalanced_brace_names_pybtex_line_and_entry(data_copy: Path) -> None:
    path = data_copy / "references.bib"
    text = path.read_text(encoding="utf-8")
    entry_line = text[: text.index("@article{wiles2013,")].count("\n") + 1
    next_entry_line = text[: text.index("@article{wiles2008,")].count("\n") + 1
    path.write_text(text.replace("{CoBalT} randomised", "{CoBalT randomised", 1), "utf-8")
    (p,) = [p for p in validate(data_copy) if p.file == "data/references.bib"]
    # pybtex notices the missing '}' where the next entry starts (what the render would say)
    assert p.row == next_entry_line
    assert p.rule == (
        f"BibTeX syntax error (pybtex): '}}' expected (in the entry 'wiles2013' that starts "
        f"at line {entry_line})"
    )


def test_real_bibliography_parses_cleanly() -> None:
    assert [p for p in validate(DATA) if p.file.endswith("references.bib")] == []
