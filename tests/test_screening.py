"""The search and screening record (data/searches.csv, data/screening.csv): validation, PRISMA
counts, tables and the "searched to" statement.

The expected PRISMA numbers were counted by hand from the two files: 35 records; 19 through the
Metapsy database (10 used, 9 excluded on the database entry) and 23 through other methods
(Cochrane's 6, 12 + Moore 1997 + NCT04015206 from the November searches, 3 from December), 7 of
them through both; 1 report excluded (Bagherzadeh Ledari 2018); 22 included, 1 terminated,
2 awaiting classification.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import shutil
from pathlib import Path

import pandas as pd
import pytest
from shared_dirs import ROOT

from analysis import load_trials, prisma_flow, validate
from analysis.plots import alt_text
from analysis.review import screening

DATA = ROOT / "data"


@pytest.fixture(scope="module")
def trials():
    return load_trials(DATA)


@pytest.fixture()
def data_copy(tmp_path: Path) -> Path:
    dest = tmp_path / "data"
    shutil.copytree(DATA, dest)
    return dest


def _rows(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))


def _write(path: Path, rows: list[list[str]]) -> None:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")


def _set(path: Path, key: str, column: str, value: str) -> int:
    rows = _rows(path)
    j = rows[0].index(column)
    for i, r in enumerate(rows[1:], start=2):
        if r[0] == key:
            r[j] = value
            _write(path, rows)
            return i
    raise KeyError(key)


# --------------------------------------------------------------------------- PRISMA
def test_prisma_counts_of_the_record(trials) -> None:
    c = screening.prisma_counts(trials)
    assert c["identified"] == {"database": 19, "other": 23}
    assert (c["duplicates_removed"], c["records_screened"], c["records_excluded"]) == (7, 35, 9)
    assert (c["reports_sought"], c["reports_not_retrieved"], c["reports_assessed"]) == (26, 0, 26)
    assert c["reports_excluded"] == 1
    assert c["exclusion_reasons"] == {"not a randomised parallel-group trial": 1}
    assert (c["studies_included"], c["ongoing"], c["awaiting"]) == (22, 1, 2)


def _adds_up(c: dict) -> None:
    assert sum(c["identified"].values()) - c["duplicates_removed"] - c["automation_excluded"] \
        - c["other_removed"] == c["records_screened"]
    assert c["records_screened"] - c["records_excluded"] == c["reports_sought"]
    assert c["reports_sought"] - c["reports_not_retrieved"] == c["reports_assessed"]
    assert c["reports_assessed"] - c["reports_excluded"] == (
        c["studies_included"] + c["ongoing"] + c["awaiting"])
    assert sum(c["exclusion_reasons"].values()) == c["reports_excluded"]


def test_prisma_counts_add_up(trials) -> None:
    _adds_up(screening.prisma_counts(trials))


def test_prisma_counts_add_up_when_a_record_changes(data_copy: Path) -> None:
    """Exclude an included trial's record at the reports stage (after removing the trial from
    studies.csv): the boxes still add up and move by one."""
    rows = _rows(data_copy / "studies.csv")
    _write(data_copy / "studies.csv", [r for r in rows if r[0] != "Nakao2018"])
    outcomes = _rows(data_copy / "outcomes.csv")
    _write(data_copy / "outcomes.csv", [r for r in outcomes if r[1] != "Nakao2018"])
    s05 = next(r for r in _rows(data_copy / "searches.csv") if r[0] == "S05")
    new = ";".join(x for x in s05[8].split(";") if x != "Nakao2018")
    _set(data_copy / "searches.csv", "S05", "new_inclusions", new)
    scr = data_copy / "screening.csv"
    _set(scr, "Nakao2018", "decision", "excluded")
    _set(scr, "Nakao2018", "study_id", "")
    _set(scr, "Nakao2018", "reason", "not treatment-resistant: invented for this test")
    t = load_trials(data_copy)
    c = screening.prisma_counts(t)
    _adds_up(c)
    assert (c["studies_included"], c["reports_excluded"]) == (21, 2)
    assert c["exclusion_reasons"]["not treatment-resistant"] == 1


def test_prisma_figure_shows_the_counts(trials) -> None:
    args = screening.prisma_arguments(trials)
    fig = prisma_flow(args["counts"], exclusion_reasons=args["exclusion_reasons"],
                      sources=args["sources"], other_studies=args["other_studies"])  # fmt: skip
    text = alt_text(fig)
    assert "Databases: Metapsy depression-psyctr database: 19" in text
    assert "Other methods (5 searches): 23" in text
    assert "Records screened: 35; excluded: 9" in text
    assert "Studies included in the review: 22" in text
    assert "Ongoing or terminated studies (n = 1)" in text
    assert "Studies awaiting classification (n = 2)" in text
    boxes = fig.plot_info["boxes"]
    assert "Registers" not in boxes["identified"]  # no register was searched


# --------------------------------------------------------------------------- tables
def test_tables(trials) -> None:
    ex = screening.excluded_table(trials)
    assert len(ex) == 10 and ex["Study"].str.startswith("Bagherzadeh Ledari 2018").any()
    assert ex["Reason for exclusion"].str.len().gt(0).all()
    on = screening.ongoing_table(trials)
    assert list(on["Study"].str.split(" ").str[0]) == ["NCT04015206"]
    aw = screening.awaiting_classification_table(trials)
    assert {s.split(" ")[0] for s in aw["Study"]} == {"Moore", "Foroughi"}
    st = screening.search_table(trials)
    assert len(st) == 6
    assert st.loc[st["Source"].str.startswith("Metapsy"), "Searched to"].item() == "1 January 2024"
    # an unknown count is said to be unknown, never given as a number
    assert st.loc[st["Source"].str.startswith("van Bronswijk"), "Records found"].item().startswith(
        "not known")


def test_searched_to_statement(trials) -> None:
    text = screening.searched_to_text(trials)
    assert "Metapsy depression-psyctr database (to 1 January 2024)" in text
    assert "Cochrane review 2018 (Ijaz et al.): included studies (to 16 May 2017)" in text
    assert "(in December 2026)" in text and "search date not known" in text
    assert text.count(";") == len(trials.searches) - 1


def test_date_text() -> None:
    assert screening.date_text("2017-05-16") == "16 May 2017"
    assert screening.date_text("2026-12") == "December 2026"
    assert screening.date_text(pd.NA) == "not known"


# --------------------------------------------------------------------------- validation
def test_trial_without_screening_decision_fails(data_copy: Path) -> None:
    scr = data_copy / "screening.csv"
    _write(scr, [r for r in _rows(scr) if r[0] != "Harley2008"])
    problems = validate(data_copy)
    studies = _rows(data_copy / "studies.csv")
    line = next(i for i, r in enumerate(studies, 1) if r[0] == "Harley2008")
    hits = [p for p in problems if p.file == "data/studies.csv" and p.value == "Harley2008"]
    assert hits and hits[0].row == line and hits[0].column == "study_id"
    assert "every trial needs a screening decision" in hits[0].rule


def test_excluded_record_cannot_be_a_trial_of_studies_csv(data_copy: Path) -> None:
    line = _set(data_copy / "screening.csv", "Harley2008", "decision", "excluded")
    problems = validate(data_copy)
    assert any(p.file == "data/screening.csv" and p.row == line and p.column == "decision"
               for p in problems)  # fmt: skip


@pytest.mark.parametrize(
    ("file", "key", "column", "value", "rule"),
    [
        ("screening.csv", "Harley2008", "search_ids", "S01;S99", "search_ids must be search_ids"),
        ("screening.csv", "Harley2008", "study_id", "Nobody2020", "study_id must exist"),
        ("searches.csv", "S04", "new_inclusions", "Nobody2020", "new_inclusions must be"),
        ("searches.csv", "S04", "records_note", "", "records_note must say so"),
        ("searches.csv", "S02", "date_note", "", "must say why in date_note"),
        ("searches.csv", "S04", "date", "2024-13-01", "must be a date"),
        ("searches.csv", "S06", "date", "2099-01", "date must not be in the future"),
        ("changelog.csv", "1.1.0", "version", "9.0.0", "cannot belong to a version after"),
    ],
)
def test_record_problems(data_copy: Path, file: str, key: str, column: str, value: str,
                         rule: str) -> None:  # fmt: skip
    line = _set(data_copy / file, key, column, value)
    problems = validate(data_copy)
    assert any(p.file == f"data/{file}" and p.row == line and p.column == column
               and rule in p.rule for p in problems), problems  # fmt: skip


def test_last_search_must_be_the_latest_search(data_copy: Path) -> None:
    v = data_copy / "version.yml"
    v.write_text(v.read_text().replace("last_search: 2026-12", "last_search: 2024-01-01"))
    problems = validate(data_copy)
    want = "latest search date of searches.csv (2026-12)"
    assert any(p.file == "data/version.yml" and p.column == "last_search" and want in p.rule
               for p in problems)  # fmt: skip


def test_dates_in_the_future_are_rejected(data_copy: Path) -> None:
    """Before version 1.1.0 a year of 2099 and any version.yml date were accepted."""
    assert validate(data_copy) == []
    # seen from 30 November 2026, the December 2026 searches and the extraction date are future
    early = validate(data_copy, today=dt.date(2026, 11, 30))
    where = {(p.file, p.column) for p in early if "in the future" in p.rule}
    assert ("data/searches.csv", "date") in where
    assert ("data/version.yml", "last_search") in where
    assert ("data/version.yml", "extraction_date") in where
    _set(data_copy / "studies.csv", "Souza2016", "year", "2099")
    assert any(p.column == "year" and "year must lie between 1957" in p.rule
               for p in validate(data_copy))  # fmt: skip
