"""The one YAML parser of the trial database, shared by the validator and the build.

``data/version.yml`` is read only through :func:`read_version`, by the validator
(:mod:`analysis.evidence.validation`, hence ``make validate`` and :func:`load_trials`) and by the
build (:func:`analysis.book.build.data_metadata`, the footer and ``results.json``). So anything
that validates also builds, and a bad file fails validation with file, line and reason before
any notebook runs.

The parser is PyYAML's safe loader, made strict:

* a syntax error (e.g. a ``description`` holding an unquoted ``: ``) is reported with its line;
* an impossible date (``2024-02-30``, which PyYAML's constructor turns into a bare
  ``ValueError``) is reported with its line;
* a key given twice is an error (PyYAML silently keeps the last one).

Types are handled explicitly (YAML turns ``2024-01-01`` into a ``datetime.date`` and ``1.0``
into a float): see :data:`VERSION_KEYS`.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import ConstructorError

from analysis.evidence.dates import parse_iso_date, parse_partial_date, partial_date_problem
from analysis.evidence.textrules import text_problem

__all__ = [
    "VERSION_KEYS",
    "YamlProblem",
    "YamlSyntaxError",
    "load_yaml",
    "read_version",
]

_SEMVER = re.compile(r"^\d+\.\d+\.\d+$")

#: Required keys of ``version.yml`` and what each must hold.
VERSION_KEYS: dict[str, str] = {
    "version": "semantic version X.Y.Z (a string)",
    "last_search": "date YYYY-MM-DD, not in the future",
    "extraction_date": "date YYYY-MM-DD, not before last_search and not in the future",
    "description": "non-empty text without markup (analysis.evidence.textrules, free text)",
}


class YamlSyntaxError(ValueError):
    """A YAML file that cannot be parsed: ``line`` (1-based, or None), ``reason`` and, when the
    error lies in the value of a top-level key, that ``key`` and the ``value`` as written."""

    def __init__(
        self, line: int | None, reason: str, key: str | None = None, value: str | None = None
    ):
        self.line = line
        self.reason = reason
        self.key = key
        self.value = value
        super().__init__(f"line {line}: {reason}" if line else reason)


@dataclass(frozen=True)
class YamlProblem:
    """One problem in a YAML data file: line (1-based), key, value and the broken rule."""

    line: int | None
    key: str | None
    value: str | None
    rule: str


class _StrictLoader(yaml.SafeLoader):
    """Safe loader that rejects duplicate keys and reports impossible dates with their line."""

    def construct_yaml_timestamp(self, node: yaml.Node) -> Any:  # noqa: D102
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError as exc:
            raise ConstructorError(
                None, None, f"{node.value!r} is not a valid date ({exc})", node.start_mark
            ) from None

    def construct_mapping(self, node: yaml.Node, deep: bool = False) -> dict[Any, Any]:  # noqa: D102
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=True)
                line = key_node.start_mark.line + 1
                try:
                    if key in seen:
                        raise ConstructorError(
                            None, None,
                            f"key {key!r} is given twice (first at line {seen[key]})",
                            key_node.start_mark,
                        )  # fmt: skip
                    seen[key] = line
                except TypeError:  # unhashable key: let the base class report it
                    pass
        return super().construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(
    "tag:yaml.org,2002:timestamp", _StrictLoader.construct_yaml_timestamp
)
_StrictLoader.add_constructor(
    "tag:yaml.org,2002:map", _StrictLoader.construct_yaml_map
)


def _error(exc: yaml.YAMLError, node: yaml.Node | None = None) -> YamlSyntaxError:
    """A :class:`YamlSyntaxError` for ``exc``, naming the top-level key of ``node`` (a parsed
    mapping) whose key or value holds the error."""
    if not isinstance(exc, yaml.MarkedYAMLError):
        return YamlSyntaxError(None, str(exc))
    mark = exc.problem_mark or exc.context_mark
    reason = " ".join(str(x) for x in (exc.context, exc.problem) if x) or str(exc)
    if "mapping values are not allowed" in reason:
        reason += " (a value that contains ': ' must be put in quotes)"
    line = mark.line + 1 if mark else None
    if mark is not None and isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if key_node.start_mark.index <= mark.index < value_node.end_mark.index + 1:
                value = value_node.value if isinstance(value_node, yaml.ScalarNode) else None
                return YamlSyntaxError(line, reason, str(key_node.value), value)
    return YamlSyntaxError(line, reason)


def _parse(text: str) -> tuple[Any, dict[str, int]]:
    """Parse ``text``; return the data and the line of each top-level key."""
    loader = _StrictLoader(text)
    node = None
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        raise _error(exc, node) from None
    finally:
        loader.dispose()
    lines: dict[str, int] = {}
    if isinstance(node, yaml.MappingNode):
        for key_node, _ in node.value:
            lines.setdefault(str(key_node.value), key_node.start_mark.line + 1)
    return data, lines


def load_yaml(path: Path) -> Any:
    """Parse a YAML file strictly (UTF-8, a BOM is tolerated).

    Raises
    ------
    YamlSyntaxError
        With the line and the reason, for a syntax error, an impossible date, a duplicate key
        or a file that is not UTF-8.
    """
    return _parse(_read_text(path))[0]


def _read_text(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise YamlSyntaxError(None, f"file must be UTF-8 ({exc.reason})") from None


def read_version(
    path: Path, today: dt.date | None = None
) -> tuple[dict[str, str], list[YamlProblem]]:
    """Read ``version.yml``: its values, normalised, and every problem found.

    The values returned are strings: ``version`` as written, the dates as ``YYYY-MM-DD`` and
    ``description``; keys with a problem are left out. Keys other than :data:`VERSION_KEYS`
    are kept as ``str``.

    Parameters
    ----------
    path
        The file.
    today
        The date that "not in the future" compares with (default: the review's clock,
        :func:`analysis.evidence.dates.today`).
    """
    try:
        data, lines = _parse(_read_text(path))
    except YamlSyntaxError as exc:
        return {}, [YamlProblem(exc.line, exc.key, exc.value, f"invalid YAML: {exc.reason}")]
    if not isinstance(data, dict):
        kind = "empty" if data is None else f"a {type(data).__name__}"
        rule = f"must be a mapping of 'key: value' lines, not {kind}"
        return {}, [YamlProblem(1, None, None, rule)]
    problems: list[YamlProblem] = []
    out: dict[str, str] = {}

    def bad(key: str, value: Any, rule: str) -> None:
        shown = value.isoformat() if isinstance(value, dt.date) else str(value)
        problems.append(YamlProblem(lines.get(key), key, shown, rule))

    for key in VERSION_KEYS:
        if key not in data:
            problems.append(YamlProblem(None, key, None, "required key is missing"))
    version = data.get("version")
    if "version" in data:
        if isinstance(version, str) and _SEMVER.match(version):
            out["version"] = version
        else:
            bad("version", version, "must be semantic (X.Y.Z)")
    # extraction_date is a day; last_search may be a month (YYYY-MM) when the searches' days
    # were not recorded (data/searches.csv), compared by its first day.
    dates: dict[str, dt.date] = {}
    for key in ("last_search", "extraction_date"):
        if key not in data:
            continue
        value = data[key]
        if key == "last_search" and isinstance(value, str) and parse_partial_date(value):
            year, month, day_of = parse_partial_date(value)  # type: ignore[misc]
            day, shown = dt.date(year, month, day_of or 1), value
        else:
            day = parse_iso_date(value)
            shown = day.isoformat() if day else ""
        if day is None:
            bad(key, value, "must be a date YYYY-MM-DD" + (" (or YYYY-MM)" if key ==
                "last_search" else ""))  # fmt: skip
            continue
        future = partial_date_problem(shown, today)
        if future:
            bad(key, shown, future)
            continue
        dates[key] = day
        out[key] = shown
    if len(dates) == 2 and dates["extraction_date"] < dates["last_search"]:
        bad(
            "extraction_date", dates["extraction_date"],
            f"extraction_date must not be before last_search ({out['last_search']})",
        )  # fmt: skip
        del out["extraction_date"]
    if "description" in data:
        desc = data["description"]
        if not (isinstance(desc, str) and desc.strip()):
            bad("description", desc, "must be non-empty text")
        else:
            rule = text_problem(desc, "free")
            if rule:
                bad("description", desc, rule)
            else:
                out["description"] = desc
    for key, value in data.items():
        if str(key) in VERSION_KEYS:
            continue
        text = value.isoformat() if isinstance(value, dt.date) else str(value)
        rule = text_problem(text, "free")
        if rule:
            bad(str(key), text, rule)
        else:
            out[str(key)] = text
    return out, problems
