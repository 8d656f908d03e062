"""Validating the trial database in ``data/``: every problem, with file, row, column and rule.

``validate(data_dir=None) -> list[Problem]``
    Run every check and return all problems (empty list = valid). Never raises on bad data.

Row numbers in problems are 1-based *line numbers in the file*: the header is line 1, so the
first data row is line 2 (a record spanning several lines because of a quoted newline is
reported at its first line). UTF-8 with or without a byte-order mark and LF or CRLF line
endings are accepted; the delimiter must be a comma and decimals must use a dot.

The schema (columns, types, allowed values, ranges) is :data:`analysis.evidence.schema.SCHEMAS`.
Text cells follow the rules of their kind (:mod:`analysis.evidence.textrules`: no markup, no
control characters, http(s) URLs). Study years lie between
:data:`analysis.evidence.dates.FIRST_TRIAL_YEAR` and the year of ``extraction_date``.
``version.yml`` is read with the parser the build uses (:mod:`analysis.evidence.yamlio`), and
``references.bib`` is parsed with pybtex, as the book's bibliography is.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from analysis.evidence import dates, yamlio
from analysis.evidence.dates import FIRST_TRIAL_YEAR, parse_iso_date
from analysis.evidence.paths import find_data_dir
from analysis.evidence.problems import DataValidationError, Problem
from analysis.evidence.schema import DATE_PATTERN, INSTRUMENT_RANGES, SCHEMAS, STUDIES, Col
from analysis.evidence.textrules import text_problem

__all__ = ["DataValidationError", "Problem", "release_problems", "validate"]

#: Key under which a record generated from another file (a participant-level dataset) carries
#: that file's label; problems about the record name that file and its line.
ORIGIN = "__origin__"

_NONFINITE = re.compile(r"^[+-]?(nan|inf|infinity)$", re.IGNORECASE)
_INT = re.compile(r"^[+-]?[0-9]+$")
_FLOAT = re.compile(r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$")


def _label(root: Path, name: str) -> str:
    return f"{root.name}/{name}" if root.name else name


@dataclass
class _Table:
    header: list[str]
    rows: list[tuple[int, dict[str, str]]]  # (line number, record)


def _where(label: str, rec: dict[str, str]) -> str:
    """The file a record comes from: ``label``, or the file that generated it."""
    return rec.get(ORIGIN, label)


def _read_csv(path: Path, label: str, problems: list[Problem]) -> _Table | None:
    """Read a CSV as strings, reporting file-level problems. Returns None if unusable."""
    if not path.is_file():
        problems.append(Problem(label, None, None, None, "file is missing"))
        return None
    raw = path.read_bytes()
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        problems.append(
            Problem(
                label, line, None, None, f"file must be UTF-8 (invalid byte at offset {exc.start})"
            )
        )
        return None
    if not text.strip():
        problems.append(Problem(label, None, None, None, "file is empty"))
        return None
    first = text.splitlines()[0]
    if first.count(";") > first.count(","):
        problems.append(
            Problem(
                label,
                1,
                None,
                None,
                "file is semicolon-separated; the delimiter must be a comma (and decimals a dot)",
            )
        )
        return None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    records: list[tuple[int, list[str]]] = []
    prev = 0
    try:
        for rec in reader:
            start = prev + 1
            prev = reader.line_num
            if not rec or all(not f.strip() for f in rec):
                continue
            records.append((start, rec))
    except csv.Error as exc:
        problems.append(
            Problem(label, prev + 1, None, None, f"malformed CSV ({exc}); file truncated?")
        )
        return None
    if not records:
        problems.append(Problem(label, None, None, None, "file is empty"))
        return None
    header = [h.strip() for h in records[0][1]]
    rows: list[tuple[int, dict[str, str]]] = []
    ok = True
    for line, rec in records[1:]:
        if len(rec) != len(header):
            ok = False
            problems.append(
                Problem(
                    label,
                    line,
                    None,
                    None,
                    f"row has {len(rec)} fields but the header has {len(header)} "
                    "(truncated or ragged row)",
                )
            )
            continue
        rows.append((line, {h: v.strip() for h, v in zip(header, rec, strict=True)}))
    if not ok and not rows:
        return None
    return _Table(header, rows)


def _check_value(col: Col, value: str) -> str | None:
    """Return the broken rule for a non-empty value, or None."""
    if col.kind == "str":
        if col.pattern:
            if not re.match(col.pattern, value):
                return f"must match pattern {col.pattern}"
            return None
        return text_problem(value, col.text)
    if col.kind == "enum":
        if value not in col.allowed:
            return "must be one of: " + ", ".join(col.allowed)
        return None
    if col.kind == "date":
        if not re.match(DATE_PATTERN, value) or dates.parse_partial_date(value) is None:
            return "must be a date YYYY-MM-DD (or YYYY-MM when the day was not recorded)"
        return None
    if col.kind == "strlist":
        items = [x.strip() for x in value.split(";")]
        if any(not x for x in items) or (
            col.pattern and not all(re.match(col.pattern, x) for x in items)
        ):
            return f"';'-separated values must each match pattern {col.pattern}"
        return None
    if col.kind == "tokens":
        bad = [t for t in (x.strip() for x in value.split(";")) if t not in col.allowed]
        if bad:
            return "'; '-separated tokens must be among: " + ", ".join(col.allowed)
        return None
    items = [x.strip() for x in value.split(";")] if col.kind.endswith("list") else [value]
    numbers: list[float] = []
    for item in items:
        if _NONFINITE.match(item):
            return "must be a finite number (NaN/inf not allowed)"
        if col.kind in ("int", "intlist"):
            if not _INT.match(item):
                return (
                    "must be an integer"
                    if col.kind == "int"
                    else ("must be ';'-separated integers")
                )
        elif not _FLOAT.match(item):
            return (
                "must be a number (dot decimal)"
                if col.kind == "float"
                else ("must be ';'-separated numbers")
            )
        numbers.append(float(item))
    for x in numbers:
        if col.min is not None and (x <= col.min if col.min_exclusive else x < col.min):
            return f"must be > {col.min:g}" if col.min_exclusive else f"must be >= {col.min:g}"
        if col.max is not None and x > col.max:
            return f"must be <= {col.max:g}"
    return None


_RULE_NAMES = {
    "sd": {"must be > 0": "SD must be > 0"},
    "n": {"must be >= 1": "n must be >= 1"},
    "total": {"must be >= 1": "total must be >= 1"},
    "events": {"must be >= 0": "events must be >= 0"},
    "se": {"must be > 0": "SE must be > 0"},
    "pct_women": {
        "must be >= 0": "pct_women must be 0-100",
        "must be <= 100": "pct_women must be 0-100",
    },
}


def _year_rule(max_year: int) -> str:
    return (
        f"year must lie between {FIRST_TRIAL_YEAR} (the first antidepressants; no trial in "
        f"scope is older) and {max_year} (the year of extraction_date in version.yml, or the "
        "current year)"
    )


def _check_future(
    table: _Table, schema: dict[str, Col], label: str, today: dt.date, problems: list[Problem]
) -> None:
    """Dates after ``today`` are rejected in every date column marked ``not_future``."""
    for line, rec in table.rows:
        for name, col in schema.items():
            value = rec.get(name, "")
            if not col.not_future or not value:
                continue
            rule = dates.partial_date_problem(value, today) if col.kind == "date" else None
            if rule:
                problems.append(Problem(_where(label, rec), line, name, value, rule))


def _check_columns(
    table: _Table, schema: dict[str, Col], label: str, problems: list[Problem]
) -> bool:
    ok = True
    for name in schema:
        if name not in table.header:
            problems.append(Problem(label, 1, name, None, "required column is missing"))
            ok = False
    seen: set[str] = set()
    for name in table.header:
        if name in seen:
            problems.append(Problem(label, 1, name, None, "duplicate column name"))
            ok = False
        seen.add(name)
        if name not in schema:
            problems.append(
                Problem(
                    label, 1, name, None, "unknown column (not in the schema; see data/README.md)"
                )
            )
    return ok


def _check_cells(
    table: _Table, schema: dict[str, Col], label: str, problems: list[Problem], max_year: int
) -> None:
    for line, rec in table.rows:
        for name, col in schema.items():
            value = rec.get(name, "")
            if value == "":
                if col.required:
                    problems.append(
                        Problem(_where(label, rec), line, name, "", "value is required (non-empty)")
                    )
                continue
            broken = _check_value(col, value)
            if broken:
                broken = _RULE_NAMES.get(name, {}).get(broken, broken)
                if name == "year" and broken == f"must be >= {FIRST_TRIAL_YEAR}":
                    broken = _year_rule(max_year)
                problems.append(Problem(_where(label, rec), line, name, value, broken))


def _num(value: str) -> float | None:
    """Parse a float leniently for cross-field checks (None when empty or invalid)."""
    if value == "" or _NONFINITE.match(value) or not _FLOAT.match(value):
        return None
    return float(value)


def _unique(
    table: _Table, cols: tuple[str, ...], label: str, problems: list[Problem], rule: str
) -> None:
    first: dict[tuple[str, ...], str] = {}
    for line, rec in table.rows:
        key = tuple(rec.get(c, "") for c in cols)
        where = _where(label, rec)
        if key in first:
            problems.append(
                Problem(
                    where,
                    line,
                    cols[0],
                    rec.get(cols[0], ""),
                    f"{rule} (first at {first[key]})",
                )
            )
        else:
            first[key] = f"row {line}" if where == label else f"{where} row {line}"


# --------------------------------------------------------------------------- checks
def _check_studies(
    t: _Table, label: str, bib_keys: set[str] | None, max_year: int, p: list[Problem]
) -> None:
    _unique(t, ("study_id",), label, p, "study_id must be unique")
    for line, r in t.rows:
        if _INT.match(r["year"]) and int(r["year"]) > max_year:
            p.append(Problem(label, line, "year", r["year"], _year_rule(max_year)))
        if bib_keys is not None and r["citation_key"] and r["citation_key"] not in bib_keys:
            p.append(
                Problem(
                    label,
                    line,
                    "citation_key",
                    r["citation_key"],
                    "citation_key must be a key in references.bib",
                )
            )
        ints, ctls = r["n_rand_int"], r["n_rand_ctl"]
        if ints and ctls:
            ni, nc = len(ints.split(";")), len(ctls.split(";"))
            if nc not in (1, ni):
                p.append(
                    Problem(
                        label,
                        line,
                        "n_rand_ctl",
                        ctls,
                        "n_rand_ctl must hold 1 value (shared control) or one per n_rand_int value",
                    )
                )
        rng = INSTRUMENT_RANGES.get(r["baseline_instrument"])
        for col in ("baseline_mean_int", "baseline_mean_ctl"):
            if r[col] and rng and _check_value(STUDIES[col], r[col]) is None:
                for x in r[col].split(";"):
                    v = float(x)
                    if not rng[0] <= v <= rng[1]:
                        p.append(
                            Problem(
                                label,
                                line,
                                col,
                                r[col],
                                f"mean must lie within the {r['baseline_instrument']} scale "
                                f"range {rng[0]:g}-{rng[1]:g}",
                            )
                        )
                        break
        if r["main_analysis"] == "yes" and r["design"] in ("switch", "active"):
            p.append(
                Problem(
                    label,
                    line,
                    "main_analysis",
                    "yes",
                    "main analysis admits only add-on designs (psychotherapy vs usual care)",
                )
            )
        toks = {x.strip() for x in r["doubtful_inclusion"].split(";") if x.strip()}
        if r["main_analysis"] == "yes" and toks & {"non_randomised", "active_vs_active"}:
            p.append(
                Problem(
                    label,
                    line,
                    "main_analysis",
                    "yes",
                    "non-randomised or active-vs-active trials cannot be in the main analysis",
                )
            )


def _arm_usable(r: dict[str, str]) -> bool:
    if r["stat_type"] == "post_msd":
        return all(r[c] for c in ("n", "mean", "sd"))
    if r["stat_type"] == "events":
        return bool(r["events"] and r["total"])
    return False


def _check_outcomes(t: _Table, label: str, study_ids: set[str] | None, p: list[Problem]) -> None:
    _unique(t, ("outcome_id",), label, p, "outcome_id must be unique")
    key = (
        "study_id",
        "comparison",
        "outcome",
        "instrument",
        "instrument_detail",
        "rater",
        "timepoint",
        "time_label",
        "weeks",
        "arm",
        "stat_type",
        "measure",
        "source",
        "location",
    )
    _unique(
        t,
        key,
        label,
        p,
        "outcome row key (study, comparison, outcome, instrument, "
        "time point, arm, stat_type, measure, source, location) must be unique",
    )
    for line, r in t.rows:

        def bad(col: str, rule: str, r: dict[str, str] = r, line: int = line) -> None:
            p.append(Problem(_where(label, r), line, col, r.get(col, ""), rule))

        sid = r["study_id"]
        if study_ids is not None and sid and sid not in study_ids:
            bad("study_id", "study_id must exist in studies.csv")
        if sid and r["outcome_id"] and not r["outcome_id"].startswith(sid + "."):
            bad("outcome_id", "outcome_id must start with '<study_id>.'")
        arm, st, use = r["arm"], r["stat_type"], r["use"]
        if r["outcome"] != "dropout":
            if not r["instrument"]:
                bad("instrument", "instrument is required except for dropout")
            if not r["rater"]:
                bad("rater", "rater is required except for dropout")
        # orientation columns
        if arm == "comparison":
            if r["direction"]:
                bad(
                    "direction",
                    "direction is for arm-level rows; comparison rows use "
                    "favours_psychotherapy_when",
                )
            if r["effect"] and not r["favours_psychotherapy_when"]:
                bad(
                    "favours_psychotherapy_when",
                    "comparison rows with an effect need favours_psychotherapy_when",
                )
            if r["effect"] and not r["measure"]:
                bad("measure", "comparison rows with an effect need a measure")
        elif arm:
            if not r["direction"]:
                bad("direction", "arm-level rows need direction (lower_better/higher_better)")
            if r["favours_psychotherapy_when"]:
                bad(
                    "favours_psychotherapy_when",
                    "favours_psychotherapy_when is only for comparison rows",
                )
            if r["effect"] or r["ci_low"] or r["ci_high"]:
                bad("effect", "arm-level rows cannot carry an effect")
        # stat_type consistency
        need_measure = {
            "precalc_md": ("MD",),
            "precalc_smd": ("SMD", "d"),
            "precalc_g": ("g",),
            "precalc_or": ("OR",),
            "precalc_rr": ("RR",),
        }
        if st in need_measure and r["measure"] not in need_measure[st]:
            bad("measure", f"stat_type {st} needs measure " + "/".join(need_measure[st]))
        if st.startswith("precalc") and arm != "comparison":
            bad("arm", "precalc_* rows must have arm 'comparison'")
        if st == "post_msd":
            if arm == "comparison":
                bad("arm", "post_msd rows are arm-level")
            for c in ("n", "mean", "sd"):
                if not r[c]:
                    bad(c, "post_msd rows need n, mean and sd")
            rng = INSTRUMENT_RANGES.get(r["instrument"])
            m = _num(r["mean"])
            if rng and m is not None and not rng[0] <= m <= rng[1]:
                bad(
                    "mean",
                    f"mean must lie within the {r['instrument']} scale range {rng[0]:g}-{rng[1]:g}",
                )
        ev, tot, n = _num(r["events"]), _num(r["total"]), _num(r["n"])
        if ev is not None and tot is not None and ev > tot:
            bad("events", "events must be <= total")
        if st == "events" and arm == "overall" and n is not None and tot is not None and n > tot:
            bad("n", "n must be <= total")
        eff, lo, hi = _num(r["effect"]), _num(r["ci_low"]), _num(r["ci_high"])
        if (r["ci_low"] == "") != (r["ci_high"] == ""):
            bad(
                "ci_low" if r["ci_low"] == "" else "ci_high",
                "ci_low and ci_high must be given together",
            )
        if lo is not None and hi is not None and lo > hi:
            bad("ci_low", "ci_low must be <= ci_high")
        if eff is not None and lo is not None and eff < lo:
            bad("ci_low", "ci_low must be <= effect")
        if eff is not None and hi is not None and eff > hi:
            bad("ci_high", "effect must be <= ci_high")
        if (lo is not None or r["se"]) and eff is None and r["effect"] == "":
            bad("effect", "a CI or SE needs an effect")
        if r["measure"] in ("RR", "OR"):
            for c, v in (("effect", eff), ("ci_low", lo), ("ci_high", hi)):
                if v is not None and v <= 0:
                    bad(c, "ratio measures must be > 0")
        # use
        if use == "primary":
            if arm == "overall":
                bad("use", "whole-trial ('overall') rows cannot be primary")
            elif arm == "comparison":
                if not r["effect"] or not (r["se"] or (r["ci_low"] and r["ci_high"])):
                    bad("use", "primary comparison rows need an effect and a CI or SE")
            elif not _arm_usable(r):
                bad("use", "primary arm-level rows need n/mean/sd (post_msd) or events/total")
        if use == "conflict" and not r["conflict_flag"]:
            bad("conflict_flag", "rows marked use=conflict must say what they conflict with")
        if r["shared_control"] == "yes" and arm != "control":
            bad("shared_control", "only control rows can be shared")
        if r.get("trial_primary_definition") and r["outcome"] not in ("response", "remission"):
            bad(
                "trial_primary_definition",
                "trial_primary_definition is only for response and remission rows",
            )
    _check_primary_sets(t, label, p)


def _check_primary_sets(t: _Table, label: str, p: list[Problem]) -> None:
    """One coherent primary data set per study x comparison x outcome x instrument x time."""
    groups: dict[tuple[str, ...], list[tuple[int, dict[str, str]]]] = {}
    for line, r in t.rows:
        if r["use"] != "primary":
            continue
        k = (
            r["study_id"],
            r["comparison"],
            r["outcome"],
            r["instrument"],
            r["timepoint"],
            r["time_label"],
        )
        groups.setdefault(k, []).append((line, r))
    for rows in groups.values():
        arms = [(ln, r) for ln, r in rows if r["arm"] in ("intervention", "control")]
        comps = [(ln, r) for ln, r in rows if r["arm"] == "comparison"]
        if arms and comps:
            ln, r = comps[0]
            p.append(
                Problem(
                    _where(label, r),
                    ln,
                    "use",
                    "primary",
                    "arm-level and comparison-level rows cannot both be primary for the "
                    "same study/comparison/outcome/instrument/time point (mark one "
                    "'alternative' or 'duplicate')",
                )
            )
        by_type: dict[str, list[tuple[int, dict[str, str]]]] = {}
        for ln, r in arms:
            by_type.setdefault(r["stat_type"], []).append((ln, r))
        for lst in by_type.values():
            kinds = sorted(r["arm"] for _, r in lst)
            if kinds != ["control", "intervention"]:
                p.append(
                    Problem(
                        _where(label, lst[0][1]),
                        lst[0][0],
                        "arm",
                        lst[0][1]["arm"],
                        "primary arm-level rows need exactly one intervention and one "
                        "control row per comparison",
                    )
                )
        seen: dict[str, int] = {}
        for ln, r in comps:
            if r["measure"] in seen:
                p.append(
                    Problem(
                        _where(label, r),
                        ln,
                        "use",
                        "primary",
                        f"only one primary {r['measure']} row per comparison/outcome/"
                        f"instrument/time point (first at row {seen[r['measure']]})",
                    )
                )
            seen.setdefault(r["measure"], ln)


def _expected_status(rows: list[dict[str, str]]) -> str:
    prim = [r for r in rows if r["use"] == "primary"]
    if not prim:
        return "awaiting data"
    sym = any(
        r["outcome"] == "depressive_symptoms"
        and r["stat_type"] == "post_msd"
        and r["timepoint"] == "post"
        for r in prim
    )
    drop = any(r["outcome"] == "dropout" for r in prim)
    return "complete" if sym and drop else "partial"


def _check_status(studies: _Table, outcomes: _Table, label: str, p: list[Problem]) -> None:
    by: dict[str, list[dict[str, str]]] = {}
    for _, r in outcomes.rows:
        by.setdefault(r["study_id"], []).append(r)
    for line, r in studies.rows:
        exp = _expected_status(by.get(r["study_id"], []))
        if r["data_status"] and r["data_status"] != exp:
            p.append(
                Problem(
                    label,
                    line,
                    "data_status",
                    r["data_status"],
                    f"data_status must match the outcome rows (expected {exp!r}: "
                    "complete = primary post-treatment arm-level symptom data and "
                    "dropout; partial = some primary rows; awaiting data = none)",
                )
            )


def _check_rob(t: _Table, label: str, study_ids: set[str] | None, p: list[Problem]) -> None:
    _unique(
        t,
        ("study_id", "domain", "source"),
        label,
        p,
        "risk-of-bias row (study_id, domain, source) must be unique",
    )
    for line, r in t.rows:
        if study_ids is not None and r["study_id"] and r["study_id"] not in study_ids:
            p.append(
                Problem(
                    label, line, "study_id", r["study_id"], "study_id must exist in studies.csv"
                )
            )


def _check_published(t: _Table, label: str, bib_keys: set[str] | None, p: list[Problem]) -> None:
    _unique(t, ("result_id",), label, p, "result_id must be unique")
    for line, r in t.rows:
        if bib_keys is not None and r["review_key"] and r["review_key"] not in bib_keys:
            p.append(
                Problem(
                    label,
                    line,
                    "review_key",
                    r["review_key"],
                    "review_key must be a key in references.bib",
                )
            )
        eff, lo, hi = _num(r["estimate"]), _num(r["ci_low"]), _num(r["ci_high"])
        if eff is not None and lo is not None and eff < lo:
            p.append(Problem(label, line, "ci_low", r["ci_low"], "ci_low must be <= effect"))
        if eff is not None and hi is not None and eff > hi:
            p.append(Problem(label, line, "ci_high", r["ci_high"], "effect must be <= ci_high"))
        if r["estimate"] and not r["favours_psychotherapy_when"]:
            p.append(
                Problem(
                    label,
                    line,
                    "favours_psychotherapy_when",
                    "",
                    "rows with an estimate need favours_psychotherapy_when",
                )
            )
        if r["k"] and not r["k_unit"]:
            p.append(Problem(label, line, "k_unit", "", "k needs k_unit"))


#: Start of a BibTeX entry: ``@type{key,`` (``@comment``, ``@string`` and ``@preamble`` are not
#: entries).
_BIB_ENTRY = re.compile(r"@\s*([A-Za-z]+)\s*[{(]\s*([^,\s}]+)\s*,")
_BIB_KEY_OK = re.compile(r"^[A-Za-z][A-Za-z0-9_:.-]*$")
#: BibTeX fields that hold identifiers, not text (checked for spaces and markup only).
_BIB_URL_FIELDS = ("url",)


def _line_at(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _bib_entries(text: str) -> list[tuple[int, int, str]]:
    """(offset, line, key) of every entry in ``text`` (not @comment/@string/@preamble)."""
    return [
        (m.start(), _line_at(text, m.start()), m.group(2))
        for m in _BIB_ENTRY.finditer(text)
        if m.group(1).lower() not in ("comment", "string", "preamble")
    ]


def _read_bib(path: Path, label: str, p: list[Problem]) -> set[str] | None:
    """Parse ``references.bib`` with pybtex (the parser sphinxcontrib-bibtex uses to render the
    references) and check every entry's fields; return the entry keys."""
    import pybtex.errors
    from pybtex.database import BibliographyDataError
    from pybtex.database.input.bibtex import Parser
    from pybtex.scanner import PybtexSyntaxError

    if not path.is_file():
        p.append(Problem(label, None, None, None, "file is missing"))
        return None
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        p.append(Problem(label, line, None, None, f"file must be UTF-8 ({exc.reason})"))
        return None
    entries = _bib_entries(text)
    starts = {key.lower(): (offset, line) for offset, line, key in reversed(entries)}

    def entry_at(offset: int) -> tuple[int, str] | None:
        before = [(ln, key) for off, ln, key in entries if off <= offset]
        return before[-1] if before else None

    with pybtex.errors.capture() as errors:
        data = Parser(encoding="utf-8").parse_string(text)
    for err in errors:
        if isinstance(err, PybtexSyntaxError):
            offset = err.error_context_info[0] if err.error_context_info else None
            where = entry_at(offset) if offset is not None else None
            inside = f" (in the entry '{where[1]}' that starts at line {where[0]})" if where else ""
            reason = str(err).split(": ", 1)[-1]
            p.append(Problem(label, err.lineno, None, None,
                             f"BibTeX syntax error (pybtex): {reason}{inside}"))  # fmt: skip
        elif isinstance(err, BibliographyDataError) and "repeated bibliography entry" in str(err):
            continue  # reported below with both lines
        else:
            key = getattr(err, "key", None) or ""
            line = starts.get(str(key).lower(), (None, None))[1]
            p.append(Problem(label, line, None, None, f"BibTeX error (pybtex): {err}"))
    seen: dict[str, int] = {}
    for _, line, key in entries:
        if key.lower() in seen:
            p.append(Problem(label, line, None, key,
                             f"BibTeX keys must be unique, ignoring case (first at line "
                             f"{seen[key.lower()]})"))  # fmt: skip
        else:
            seen[key.lower()] = line
        if not _BIB_KEY_OK.match(key):
            p.append(Problem(label, line, None, key,
                             "BibTeX keys must be letters, digits and _ : . - (a letter first)"))
    for key, entry in data.entries.items():
        offset, line = starts.get(key.lower(), (0, None))
        fields = [(name, value) for name, value in entry.fields.items()]
        fields += [(role, str(person)) for role, people in entry.persons.items()
                   for person in people]  # fmt: skip
        for name, value in fields:
            kind = "url" if name.lower() in _BIB_URL_FIELDS else "free"
            rule = text_problem(value, kind)
            if rule:
                m = re.compile(rf"(?im)^\s*{re.escape(name)}\s*=").search(text, offset)
                field_line = _line_at(text, m.start()) if m else line
                p.append(Problem(label, field_line, name, value, f"entry '{key}': {rule}"))
    if not entries:
        p.append(Problem(label, None, None, None, "file holds no BibTeX entries"))
    return {e[2] for e in entries} | set(data.entries.keys())


def _read_version(path: Path, label: str, today: dt.date, p: list[Problem]) -> dict[str, Any]:
    """Read ``version.yml`` with the shared YAML parser (:func:`analysis.evidence.yamlio.
    read_version`, also used by the build) and check its text for markup."""
    if not path.is_file():
        p.append(Problem(label, None, None, None, "file is missing"))
        return {}
    out, problems = yamlio.read_version(path, today)
    p.extend(Problem(label, q.line, q.key, q.value, q.rule) for q in problems)
    return out


def _max_year(version: dict[str, Any], today: dt.date) -> int:
    """Latest plausible study year: the year of ``extraction_date`` (a trial cannot have been
    extracted before it was published), never later than the current year."""
    now = today.year
    extracted = parse_iso_date(version.get("extraction_date"))
    return min(now, extracted.year) if extracted else now


# --------------------------------------------------------------------------- search record
def _ids(value: str) -> list[str]:
    return [x.strip() for x in value.split(";") if x.strip()]


def _check_searches(
    t: _Table, label: str, study_ids: set[str] | None, bib_keys: set[str] | None,
    p: list[Problem],
) -> None:
    _unique(t, ("search_id",), label, p, "search_id must be unique")
    for line, r in t.rows:
        if not r["date"] and not r["date_note"]:
            p.append(Problem(label, line, "date_note", "",
                             "a search without a date must say why in date_note"))
        if not r["records_found"] and not r["records_note"]:
            p.append(Problem(label, line, "records_note", "",
                             "when records_found is not known, records_note must say so"))
        if study_ids is not None:
            for sid in _ids(r["new_inclusions"]):
                if sid not in study_ids:
                    p.append(Problem(label, line, "new_inclusions", sid,
                                     "new_inclusions must be study_ids of studies.csv"))
        if bib_keys is not None and r["reference"] and r["reference"] not in bib_keys:
            p.append(Problem(label, line, "reference", r["reference"],
                             "reference must be a key in references.bib"))


#: Decisions that keep a trial in studies.csv (every trial there has exactly one of them).
IN_DATABASE = ("included", "awaiting classification")


def _check_screening(
    t: _Table, label: str, studies: _Table | None, search_ids: set[str] | None,
    studies_label: str, p: list[Problem],
) -> None:
    _unique(t, ("record_id",), label, p, "record_id must be unique")
    study_ids = {r["study_id"] for _, r in studies.rows} if studies else None
    decided: dict[str, int] = {}
    for line, r in t.rows:
        sid, decision = r["study_id"], r["decision"]
        if decision == "included" and not sid:
            p.append(Problem(label, line, "study_id", "",
                             "included records need the study_id of their studies.csv row"))
        if sid and study_ids is not None:
            if sid not in study_ids:
                p.append(Problem(label, line, "study_id", sid,
                                 "study_id must exist in studies.csv"))
            elif decision not in IN_DATABASE:
                p.append(Problem(label, line, "decision", decision,
                                 f"a trial of studies.csv must be {' or '.join(IN_DATABASE)} "
                                 "(excluded, ongoing and terminated studies are not in "
                                 "studies.csv)"))
            elif sid in decided:
                p.append(Problem(label, line, "study_id", sid,
                                 f"a trial has one screening decision (first at row "
                                 f"{decided[sid]})"))
            else:
                decided[sid] = line
        if search_ids is not None:
            for s in _ids(r["search_ids"]):
                if s not in search_ids:
                    p.append(Problem(label, line, "search_ids", s,
                                     "search_ids must be search_ids of searches.csv"))
    if studies is not None:
        for line, r in studies.rows:
            if r["study_id"] not in decided:
                p.append(Problem(studies_label, line, "study_id", r["study_id"],
                                 "every trial needs a screening decision: add a row to "
                                 "screening.csv (decision 'included' or 'awaiting "
                                 "classification')"))


def _semver(value: str) -> tuple[int, ...] | None:
    m = re.match(r"^(\d+)\.(\d+)\.(\d+)$", value.strip())
    return tuple(int(x) for x in m.groups()) if m else None


def _check_changelog(
    t: _Table, label: str, record_ids: set[str] | None, outcome_ids: set[str] | None,
    version: str, p: list[Problem],
) -> None:
    current = _semver(version) if version else None
    for line, r in t.rows:
        v = _semver(r["version"])
        if v and current and v > current:
            p.append(Problem(label, line, "version", r["version"],
                             f"a change cannot belong to a version after the data's version "
                             f"({version}, version.yml)"))
        if record_ids is not None and r["record_id"] and r["record_id"] not in record_ids:
            p.append(Problem(label, line, "record_id", r["record_id"],
                             "record_id must be a record_id of screening.csv"))
        if outcome_ids is not None:
            for oid in _ids(r["outcome_ids"]):
                if oid not in outcome_ids:
                    p.append(Problem(label, line, "outcome_ids", oid,
                                     "outcome_ids must exist in outcomes.csv or be generated "
                                     "from a participant-level dataset"))


def _check_last_search(
    version: dict[str, Any], searches: _Table, vlabel: str, p: list[Problem]
) -> None:
    """``last_search`` in version.yml is the latest date of searches.csv."""
    found = [r["date"] for _, r in searches.rows if dates.parse_partial_date(r["date"] or "")]
    last = str(version.get("last_search", ""))
    if not found or dates.parse_partial_date(last) is None:
        return
    latest = max(found, key=dates.partial_date_key)
    if last != latest:
        p.append(Problem(vlabel, None, "last_search", last,
                         f"last_search must be the latest search date of searches.csv "
                         f"({latest})"))


# --------------------------------------------------------------------------- participant data
def _add_ipd_rows(root: Path, outcomes: _Table, study_ids: set[str] | None,
                  problems: list[Problem]) -> dict[str, Any]:
    """Append the rows generated from ``data/ipd`` to ``outcomes`` (records carry their
    mapping file as origin); return the datasets by study id."""
    from analysis.evidence.ipd import load_ipd

    found = load_ipd(root, sorted(study_ids) if study_ids is not None else None)
    for q in found.problems:
        problems.append(Problem(q.file, q.line, q.key, q.value, q.rule))
    for where, line, rec in found.rows:
        unknown = [k for k in rec if k not in outcomes.header]
        if unknown:
            problems.append(Problem(where, line, unknown[0], rec[unknown[0]],
                                    "the mapping gives a column that outcomes.csv does not "
                                    "have"))
        full = {h: rec.get(h, "") for h in outcomes.header}
        full[ORIGIN] = where
        outcomes.rows.append((line, full))
    return found.datasets


# --------------------------------------------------------------------------- releases
def release_problems(root: Path, version: str, data_hash: str) -> list[Problem]:
    """Problems that stop recording ``version`` as a release: a version older than a recorded
    release, or a recorded release of the same version made from different data (a release
    is never overwritten: bump ``version``)."""
    out: list[Problem] = []
    label = _label(root, "version.yml")
    want = _semver(version)
    if want is None:
        return [Problem(label, None, "version", version, "must be semantic (X.Y.Z)")]
    folder = root / "history"
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        have = _semver(path.stem)
        if have is None:
            continue
        if have > want:
            out.append(Problem(label, None, "version", version,
                               f"version is older than the recorded release {path.stem}: bump "
                               "'version'"))
        elif have == want:
            try:
                recorded = json.loads(path.read_text(encoding="utf-8")).get("data_version")
            except (OSError, ValueError):
                recorded = None
            if recorded != data_hash:
                out.append(Problem(label, None, "version", version,
                                   f"release {version} is already recorded "
                                   f"(history/{path.name}) from different data (data version "
                                   f"{recorded}, now {data_hash}); a release is never "
                                   "overwritten: bump 'version' (patch = corrections, minor = "
                                   "new rows/trials)"))
    return out


# --------------------------------------------------------------------------- all checks
class _Result(NamedTuple):
    problems: list[Problem]
    tables: dict[str, _Table]
    version: dict[str, Any]
    ipd: dict[str, Any]


def _validate(root: Path, today: dt.date | None = None) -> _Result:
    from analysis.evidence.protocol import PROTOCOL_FILE, protocol_problems

    today = today or dates.today()
    problems: list[Problem] = []
    problems += protocol_problems(root / PROTOCOL_FILE, _label(root, PROTOCOL_FILE))[0]
    bib_keys = _read_bib(root / "references.bib", _label(root, "references.bib"), problems)
    vlabel = _label(root, "version.yml")
    version = _read_version(root / "version.yml", vlabel, today, problems)
    max_year = _max_year(version, today)
    tables: dict[str, _Table] = {}
    for name, schema in SCHEMAS.items():
        label = _label(root, name)
        t = _read_csv(root / name, label, problems)
        if t is None:
            continue
        if not _check_columns(t, schema, label, problems):
            continue  # cells cannot be checked reliably without the columns
        tables[name] = t
    st = tables.get("studies.csv")
    study_ids = {r["study_id"] for _, r in st.rows} if st else None
    ipd: dict[str, Any] = {}
    if "outcomes.csv" in tables:
        ipd = _add_ipd_rows(root, tables["outcomes.csv"], study_ids, problems)
    for name, t in tables.items():
        label = _label(root, name)
        _check_cells(t, SCHEMAS[name], label, problems, max_year)
        _check_future(t, SCHEMAS[name], label, today, problems)
    searches, screening = tables.get("searches.csv"), tables.get("screening.csv")
    search_ids = {r["search_id"] for _, r in searches.rows} if searches else None
    record_ids = {r["record_id"] for _, r in screening.rows} if screening else None
    outs = tables.get("outcomes.csv")
    outcome_ids = {r["outcome_id"] for _, r in outs.rows} if outs else None
    checks: dict[str, Callable[[_Table, str], None]] = {
        "studies.csv": lambda t, lab: _check_studies(t, lab, bib_keys, max_year, problems),
        "outcomes.csv": lambda t, lab: _check_outcomes(t, lab, study_ids, problems),
        "risk_of_bias.csv": lambda t, lab: _check_rob(t, lab, study_ids, problems),
        "published_results.csv": lambda t, lab: _check_published(t, lab, bib_keys, problems),
        "searches.csv": lambda t, lab: _check_searches(t, lab, study_ids, bib_keys, problems),
        "screening.csv": lambda t, lab: _check_screening(
            t, lab, st, search_ids, _label(root, "studies.csv"), problems
        ),
        "changelog.csv": lambda t, lab: _check_changelog(
            t, lab, record_ids, outcome_ids, str(version.get("version", "")), problems
        ),
    }
    for name, t in tables.items():
        checks[name](t, _label(root, name))
    if st and "outcomes.csv" in tables:
        _check_status(st, tables["outcomes.csv"], _label(root, "studies.csv"), problems)
    if searches:
        _check_last_search(version, searches, vlabel, problems)
    return _Result(problems, tables, version, ipd)


def validate(
    data_dir: str | os.PathLike[str] | None = None, *, today: dt.date | None = None
) -> list[Problem]:
    """Check every file and return all problems found (an empty list means valid).

    ``today`` (default: the current date) is the date after which no date may lie.
    """
    try:
        root = find_data_dir(data_dir)
    except FileNotFoundError as exc:
        return [Problem("data", None, None, None, str(exc))]
    if not root.is_dir():
        return [Problem(str(root), None, None, None, "data folder is missing")]
    return _validate(root, today).problems
