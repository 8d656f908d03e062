"""The validator rejects every case of the malformed corpus with the right message.

Each case in ``tests/malformed/cases.json`` copies the real ``data/`` folder into a temporary
directory, applies one defect and checks that :func:`analysis.data.validate` reports a problem
naming the file, the row (1-based line number, header = line 1), the column and the rule.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import pytest

from analysis import DataValidationError, load_trials, validate
from analysis.book.cli import main
from analysis.evidence import Problem, data_version

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
CASES = json.loads((Path(__file__).parent / "malformed" / "cases.json").read_text())["cases"]
KEYS = {
    "studies.csv": ("study_id",),
    "outcomes.csv": ("outcome_id",),
    "published_results.csv": ("result_id",),
    "risk_of_bias.csv": ("study_id", "domain"),
}


def _read(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))


def _write(path: Path, rows: list[list[str]]) -> None:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")


def _line_of(rows: list[list[str]], file: str, key: str) -> int:
    """Line number of the row with ``key`` (no multi-line records in the data files)."""
    cols = [rows[0].index(c) for c in KEYS[file]]
    for i, rec in enumerate(rows[1:], start=2):
        if "|".join(rec[c] for c in cols) == key:
            return i
    raise KeyError(key)


@pytest.fixture()
def data_copy(tmp_path: Path) -> Path:
    dest = tmp_path / "data"
    shutil.copytree(DATA, dest)
    return dest


def _apply(case: dict, d: Path) -> int | None:
    """Apply a case's defect; return the expected line when it depends on the data."""
    path = d / case["file"]
    op = case["op"]
    if op in ("set_cell", "append_field"):
        rows = _read(path)
        line = _line_of(rows, case["file"], case["key"])
        if op == "set_cell":
            rows[line - 1][rows[0].index(case["column"])] = case["value"]
        else:
            rows[line - 1].append("extra")
        _write(path, rows)
        return line
    if op == "drop_column":
        rows = _read(path)
        j = rows[0].index(case["column"])
        _write(path, [r[:j] + r[j + 1 :] for r in rows])
    elif op == "add_column":
        rows = _read(path)
        _write(path, [rows[0] + [case["column"]]] + [r + ["x"] for r in rows[1:]])
    elif op == "semicolon":
        rows = _read(path)
        buf = io.StringIO()
        csv.writer(buf, delimiter=";", lineterminator="\n").writerows(rows)
        path.write_text(buf.getvalue(), encoding="utf-8")
    elif op == "truncate":
        text = path.read_text(encoding="utf-8").rstrip("\n")
        text = text[: -case["chars"]]
        path.write_text(text, encoding="utf-8")
        return text.count("\n") + 1
    elif op == "empty":
        path.write_bytes(b"")
    elif op == "replace":
        text = path.read_text(encoding="utf-8")
        at = text.index(case["old"])
        path.write_text(text.replace(case["old"], case["new"], 1), encoding="utf-8")
        return text.count("\n", 0, at) + 1
    elif op == "write_text":
        path.write_text(case["text"], encoding="utf-8")
    elif op == "delete":
        path.unlink()
    elif op == "latin1":
        raw = path.read_bytes()
        assert b"Rohricht" in raw
        path.write_bytes(raw.replace(b"Rohricht", b"R\xf6hricht", 1))
    else:  # pragma: no cover
        raise ValueError(op)
    return None


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 25
    assert len({c["id"] for c in CASES}) == len(CASES)


def test_real_data_are_valid() -> None:
    assert validate(DATA) == []


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_malformed_case_is_rejected(case: dict, data_copy: Path) -> None:
    line = _apply(case, data_copy)
    problems = validate(data_copy)
    assert problems, f"{case['id']}: defect not detected"
    exp = case["expect"]
    want_file = f"data/{exp['file']}"
    want_row = (
        {"key": line, "last": line}.get(exp["row"], exp["row"])
        if isinstance(exp["row"], str)
        else exp["row"]
    )

    def matches(p: Problem) -> bool:
        if p.file != want_file or exp["rule"] not in p.rule:
            return False
        if exp["row"] != "any" and p.row != want_row:
            return False
        return p.column == exp["column"]

    hits = [p for p in problems if matches(p)]
    assert hits, f"{case['id']}: expected {exp} (row {want_row}); got:\n" + "\n".join(
        map(str, problems)
    )
    text = str(hits[0])
    assert text.startswith(want_file)
    if want_row is not None and exp["row"] != "any":
        assert f"row {want_row}" in text
    if exp["column"] is not None:
        assert f"column {exp['column']!r}" in text
    assert exp["rule"] in text
    # load_trials refuses the same data and carries every problem
    with pytest.raises(DataValidationError) as err:
        load_trials(data_copy)
    assert err.value.problems == problems


def test_all_errors_are_collected(data_copy: Path) -> None:
    rows = _read(data_copy / "outcomes.csv")
    sd = rows[0].index("sd")
    for key in ("Harley2008.o04", "Harley2008.o05", "Garcia2023.o01"):
        rows[_line_of(rows, "outcomes.csv", key) - 1][sd] = "-1"
    _write(data_copy / "outcomes.csv", rows)
    (data_copy / "risk_of_bias.csv").write_bytes(b"")
    problems = validate(data_copy)
    assert sum(p.rule == "SD must be > 0" for p in problems) == 3
    assert any(p.rule == "file is empty" for p in problems)


def test_problem_str_format() -> None:
    p = Problem("data/outcomes.csv", 14, "sd", "-2.1", "SD must be > 0")
    assert str(p) == (
        "data/outcomes.csv, row 14, column 'sd': value '-2.1' breaks rule 'SD must be > 0'"
    )
    assert str(Problem("data/x.csv", None, None, None, "file is missing")) == (
        "data/x.csv: breaks rule 'file is missing'"
    )


@pytest.mark.parametrize("variant", ["bom", "crlf", "bom+crlf", "trailing_blank_lines"])
def test_accepted_encodings(variant: str, data_copy: Path) -> None:
    for name in ("studies.csv", "outcomes.csv", "risk_of_bias.csv", "published_results.csv"):
        path = data_copy / name
        raw = path.read_bytes()
        if "crlf" in variant:
            raw = raw.replace(b"\n", b"\r\n")
        if "bom" in variant:
            raw = b"\xef\xbb\xbf" + raw
        if variant == "trailing_blank_lines":
            raw += b"\n\n"
        path.write_bytes(raw)
    assert validate(data_copy) == []
    trials = load_trials(data_copy)
    assert list(trials.studies.columns)[1] == "study_id"  # BOM not glued to the first header


def test_load_trials_types() -> None:
    t = load_trials(DATA)
    assert t.studies["year"].dtype == "Int64"
    assert t.outcomes["sd"].dtype == "float64"
    assert t.version["version"] == "1.1.0"
    assert t.data_dir == DATA
    assert len(t.data_version) == 12


def test_default_data_dir(monkeypatch: pytest.MonkeyPatch, data_copy: Path) -> None:
    monkeypatch.chdir(ROOT / "tests")
    monkeypatch.delenv("TRD_DATA_DIR", raising=False)
    assert load_trials().data_dir.resolve() == DATA.resolve()
    monkeypatch.setenv("TRD_DATA_DIR", str(data_copy))
    assert load_trials().data_dir == data_copy


def test_data_version_changes_with_data(data_copy: Path) -> None:
    before = data_version(data_copy)
    assert before == data_version(DATA)
    with (data_copy / "outcomes.csv").open("a", encoding="utf-8") as fh:
        fh.write("\n")
    assert data_version(data_copy) != before


def test_cli_validate(capsys: pytest.CaptureFixture[str], data_copy: Path) -> None:
    assert main(["validate", "--data", str(DATA)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("OK: 23 studies, ") and "outcome rows (data version " in out
    (data_copy / "published_results.csv").unlink()
    assert main(["validate", "--data", str(data_copy)]) == 1
    out = capsys.readouterr().out
    assert "data/published_results.csv: breaks rule 'file is missing'" in out
