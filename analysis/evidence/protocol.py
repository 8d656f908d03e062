"""The review protocol in ``data/protocol.yml``: loading and validation.

``load_protocol(data_dir=None) -> Protocol``
    Read and validate the protocol; raises :class:`DataValidationError` listing every problem.
``protocol_problems(path) -> (list[Problem], Protocol | None)``
    Every problem found (file, line, key, value, rule) and the protocol when there is none; used
    by :func:`analysis.evidence.validation.validate`, so ``python -m analysis validate`` and the
    build report a bad protocol before any notebook runs.

The protocol is data, versioned with the trial database: the review layer
(:mod:`analysis.review.protocol`) applies it and renders it. This module only checks that every
value is one the code understands (instrument codes, formats, designs, flags, populations,
estimators, tests, thresholds, wording templates).
"""

from __future__ import annotations

import math
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from analysis.evidence.paths import find_data_dir
from analysis.evidence.problems import DataValidationError, Problem
from analysis.evidence.schema import (
    ANALYSIS_POPULATIONS,
    DOUBT_TOKENS,
    INSTRUMENT_RANGES,
    OUTCOMES,
    STUDIES,
)
from analysis.stats.pooling import METHODS, TESTS

__all__ = ["CONTROL_TYPES", "LEVELS", "PROTOCOL_FILE", "Protocol", "load_protocol",
           "protocol_problems"]  # fmt: skip

PROTOCOL_FILE = "protocol.yml"
#: Kinds of control of an add-on trial (wait-list = the trial carries the wait-list flag).
CONTROL_TYPES = ("usual care", "wait-list")
#: GRADE certainty levels, highest first.
LEVELS = ("high", "moderate", "low", "very low")
_PLACEHOLDERS = {"subject", "subject_lower", "verb", "verb_base", "outcome"}
_OUTCOMES = ("depressive_symptoms", "response", "remission", "dropout")


@dataclass(frozen=True)
class Comparison:
    """A comparison of the protocol: its label, design and kinds of control."""

    label: str
    design: str
    controls: tuple[str, ...]


@dataclass(frozen=True)
class Protocol:
    """The validated protocol. ``raw`` is the parsed YAML (for the texts readers see)."""

    version: str
    question: str
    strict_question: str
    min_failed: int
    strict_min_failed: int
    doubtful_population_flags: tuple[str, ...]
    never_pooled_flags: tuple[str, ...]
    therapist_formats: tuple[str, ...]
    self_help_formats: tuple[str, ...]
    waitlist_flag: str
    primary: Comparison
    all_controls: Comparison
    never_pooled_designs: tuple[str, ...]
    timepoint: str
    self_report_instruments: tuple[str, ...]
    clinician_instruments: tuple[str, ...]
    first_rater: str
    population_order: tuple[str, ...]
    use_order: tuple[str, ...]
    standardise_itt_md: bool
    definition_order: tuple[str, ...]
    method: str
    test: str
    level: float
    grade: Mapping[str, Any]
    per: int
    assumed_control_risk: Mapping[str, Any]
    smd_scale: str
    subgroups: Mapping[str, str]
    sensitivity: Mapping[str, str]
    raw: Mapping[str, Any] = field(default_factory=dict)

    @property
    def established_instruments(self) -> tuple[str, ...]:
        """The established depression-severity instruments, in the primary order."""
        return self.instrument_order(self.first_rater)

    def instrument_order(self, first: str | None = None, *, any_instrument: bool = False
                         ) -> tuple[str, ...]:  # fmt: skip
        """Established instruments with the ``first`` rater's scales first (``"self"`` or
        ``"clinician"``; default the protocol's); with ``any_instrument``, every other instrument
        code of the schema follows (in schema order), e.g. ``unclear``."""
        first = first or self.first_rater
        if first == "self":
            order = self.self_report_instruments + self.clinician_instruments
        else:
            order = self.clinician_instruments + self.self_report_instruments
        if any_instrument:
            order += tuple(c for c in INSTRUMENT_RANGES if c not in order)
        return order


class _Checker:
    """Collects problems with the line of each key (from the YAML node tree)."""

    def __init__(self, label: str, root: yaml.Node | None) -> None:
        self.label = label
        self.root = root
        self.problems: list[Problem] = []

    def line(self, path: tuple[str, ...]) -> int | None:
        node = self.root
        line = None
        for key in path:
            if not isinstance(node, yaml.MappingNode):
                break
            for k, v in node.value:
                if getattr(k, "value", None) == key:
                    line, node = k.start_mark.line + 1, v
                    break
            else:
                break
        return line

    def bad(self, path: tuple[str, ...], value: Any, rule: str) -> None:
        shown = None if value is None else str(value)
        self.problems.append(Problem(self.label, self.line(path), ".".join(path), shown, rule))


def _get(c: _Checker, data: Any, path: tuple[str, ...], kind: type | tuple[type, ...],
         default: Any = None) -> Any:  # fmt: skip
    node = data
    for key in path:
        if not isinstance(node, dict) or key not in node:
            c.bad(path, None, "required key is missing")
            return default
        node = node[key]
    if kind is float and isinstance(node, int) and not isinstance(node, bool):
        node = float(node)
    if not isinstance(node, kind) or (kind is not bool and isinstance(node, bool)):
        names = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
        c.bad(path, node, f"must be a {names}")
        return default
    return node


def _str_list(c: _Checker, data: Any, path: tuple[str, ...], allowed: tuple[str, ...] | None,
              *, empty_ok: bool = False) -> tuple[str, ...]:  # fmt: skip
    value = _get(c, data, path, list, [])
    out = []
    for item in value:
        item = "" if item is None else str(item)
        if allowed is not None and item not in allowed:
            c.bad(path, item, "must be one of: " + ", ".join(repr(a) for a in allowed))
        out.append(item)
    if not out and not empty_ok and value is not None:
        c.bad(path, value, "must not be empty")
    if len(set(out)) != len(out):
        c.bad(path, value, "values must be unique")
    return tuple(out)


def _choice(c: _Checker, data: Any, path: tuple[str, ...], allowed: tuple[str, ...]) -> str:
    value = _get(c, data, path, str, "")
    if value and value not in allowed:
        c.bad(path, value, "must be one of: " + ", ".join(allowed))
    return value


def _number(c: _Checker, data: Any, path: tuple[str, ...], lo: float, hi: float) -> float:
    value = _get(c, data, path, float, math.nan)
    if math.isfinite(value) and not lo <= value <= hi:
        c.bad(path, value, f"must be between {lo:g} and {hi:g}")
    return value


def _int(c: _Checker, data: Any, path: tuple[str, ...], lo: float, hi: float, default: int) -> int:
    value = _number(c, data, path, lo, hi)
    return int(value) if math.isfinite(value) else default


def _comparison(c: _Checker, data: Any, name: str) -> Comparison:
    base = ("comparisons", name)
    return Comparison(
        label=_get(c, data, (*base, "label"), str, ""),
        design=_choice(c, data, (*base, "design"), STUDIES["design"].allowed),
        controls=_str_list(c, data, (*base, "controls"), CONTROL_TYPES),
    )


def _wording(c: _Checker, data: Any) -> None:
    for kind in ("effect", "no_difference"):
        for level in LEVELS:
            path = ("grade", "wording", kind, level)
            text = _get(c, data, path, str, "")
            try:
                names = {f[1] for f in string.Formatter().parse(text) if f[1] is not None}
            except ValueError as exc:
                c.bad(path, text, f"must be a valid template ({exc})")
                continue
            unknown = names - _PLACEHOLDERS
            if unknown:
                c.bad(path, text, "placeholders must be among: " + ", ".join(sorted(_PLACEHOLDERS)))
            if "outcome" not in names:
                c.bad(path, text, "the template must name the {outcome}")


def _control_risks(c: _Checker, data: Any) -> dict[str, Any]:
    risks = _get(c, data, ("absolute_effects", "assumed_control_risk"), dict, {})
    out: dict[str, Any] = {}
    for outcome, spec in risks.items():
        path = ("absolute_effects", "assumed_control_risk", str(outcome))
        if outcome not in _OUTCOMES[1:]:
            c.bad(path, outcome, "must be a dichotomous outcome: response, remission or dropout")
        if spec == "trials":
            out[outcome] = "trials"
        elif isinstance(spec, dict):
            value = _number(c, data, (*path, "value"), 0.0, 1.0)
            source = _get(c, data, (*path, "source"), str, "")
            if not source.strip():
                c.bad((*path, "source"), source, "an assumed control risk needs its source")
            out[outcome] = {"value": value, "source": " ".join(source.split())}
        else:
            c.bad(path, spec, "must be 'trials' or a mapping with value and source")
    for outcome in _OUTCOMES[1:]:
        if outcome not in out:
            c.bad(("absolute_effects", "assumed_control_risk", outcome), None,
                  "required key is missing")  # fmt: skip
    return out


def protocol_problems(
    path: Path, label: str | None = None
) -> tuple[list[Problem], Protocol | None]:
    """Validate ``path``: every problem (with the line of the key) and, without problems, the
    :class:`Protocol`."""
    label = label or path.name
    if not path.is_file():
        return [Problem(label, None, None, None, "file is missing")], None
    text = path.read_bytes().decode("utf-8-sig", errors="replace")
    try:
        root = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        return [Problem(label, line, None, None, f"not valid YAML ({exc})")], None
    c = _Checker(label, root)
    if not isinstance(data, dict):
        c.bad((), None, "the protocol must be a mapping of keys")
        return c.problems, None
    version = str(_get(c, data, ("protocol_version",), str, ""))
    if version and not re.fullmatch(r"\d+\.\d+\.\d+", version):
        c.bad(("protocol_version",), version, "must be semantic (X.Y.Z)")
    doubt = DOUBT_TOKENS
    formats = STUDIES["format"].allowed
    instruments = tuple(INSTRUMENT_RANGES)
    self_report = _str_list(c, data, ("outcomes", "self_report_instruments"), instruments)
    clinician = _str_list(c, data, ("outcomes", "clinician_instruments"), instruments)
    if set(self_report) & set(clinician):
        c.bad(("outcomes", "clinician_instruments"), sorted(set(self_report) & set(clinician)),
              "an instrument cannot be both self-report and clinician-rated")  # fmt: skip
    if "unclear" in self_report + clinician:
        c.bad(("outcomes",), "unclear", "'unclear' is not an established instrument")
    therapist = _str_list(c, data, ("interventions", "therapist_formats"), formats)
    self_help = _str_list(c, data, ("interventions", "self_help_formats"), formats, empty_ok=True)
    if set(therapist) & set(self_help):
        c.bad(("interventions", "self_help_formats"), sorted(set(therapist) & set(self_help)),
              "a format cannot be both therapist-delivered and self-help")  # fmt: skip
    populations = _str_list(c, data, ("outcomes", "population_order"), ANALYSIS_POPULATIONS)
    if set(populations) != set(ANALYSIS_POPULATIONS):
        c.bad(("outcomes", "population_order"), populations,
              "must list every analysis_population value: " + ", ".join(ANALYSIS_POPULATIONS))
    use_order = _str_list(c, data, ("outcomes", "use_order"), ("primary", "alternative"))
    definitions = _str_list(c, data, ("outcomes", "dichotomous_definition_order"),
                            ("yes", "", "no"))  # fmt: skip
    if set(definitions) != {"yes", "", "no"}:
        c.bad(("outcomes", "dichotomous_definition_order"), definitions,
              "must order all of 'yes', '' (not known) and 'no'")  # fmt: skip
    grade = _get(c, data, ("grade",), dict, {})
    ranges = (("risk_of_bias_weight_share", 0, 100), ("inconsistency_i2", 0, 100),
              ("indirectness_weight_share", 0, 100), ("imprecision_participants", 0, 1e6),
              ("publication_bias_min_trials", 2, 1e3), ("publication_bias_p", 0, 1))  # fmt: skip
    for key, lo, hi in ranges:
        _number(c, data, ("grade", key), lo, hi)
    _choice(c, data, ("grade", "start"), LEVELS)
    _str_list(c, data, ("grade", "unblinded_designs"), STUDIES["design"].allowed, empty_ok=True)
    _wording(c, data)
    risks = _control_risks(c, data)
    smd_scale = _choice(c, data, ("absolute_effects", "smd_scale"), self_report + clinician)
    per = _get(c, data, ("absolute_effects", "per"), int, 1000)
    if per < 1:
        c.bad(("absolute_effects", "per"), per, "must be a positive integer")
    subgroups = _get(c, data, ("subgroups",), dict, {})
    sensitivity = _get(c, data, ("sensitivity",), dict, {})
    for name, mapping in (("subgroups", subgroups), ("sensitivity", sensitivity)):
        for k, v in mapping.items():
            if not isinstance(v, str) or not str(k).startswith("symptoms."):
                c.bad((name, str(k)), v, "entries are 'result id: description'")
    proto = Protocol(
        version=version,
        question=" ".join(str(_get(c, data, ("question",), str, "")).split()),
        strict_question=" ".join(str(_get(c, data, ("strict_question",), str, "")).split()),
        min_failed=_int(c, data, ("population", "min_failed_antidepressants"), 0, 20, 1),
        strict_min_failed=_int(c, data, ("population", "strict_min_failed_antidepressants"),
                               1, 20, 2),  # fmt: skip
        doubtful_population_flags=_str_list(c, data, ("population", "doubtful_population_flags"),
                                            doubt),  # fmt: skip
        never_pooled_flags=_str_list(c, data, ("designs", "never_pooled_flags"), doubt,
                                     empty_ok=True),  # fmt: skip
        therapist_formats=therapist,
        self_help_formats=self_help,
        waitlist_flag=_choice(c, data, ("comparisons", "waitlist_flag"), doubt),
        primary=_comparison(c, data, "primary"),
        all_controls=_comparison(c, data, "all_controls"),
        never_pooled_designs=_str_list(c, data, ("comparisons", "never_pooled_designs"),
                                       STUDIES["design"].allowed, empty_ok=True),  # fmt: skip
        timepoint=_choice(c, data, ("outcomes", "timepoint"), OUTCOMES["timepoint"].allowed),
        self_report_instruments=self_report,
        clinician_instruments=clinician,
        first_rater=_choice(c, data, ("outcomes", "first_rater"), ("self", "clinician")),
        population_order=populations,
        use_order=use_order,
        standardise_itt_md=bool(_get(c, data, ("outcomes", "standardise_itt_mean_differences"),
                                     bool, False)),  # fmt: skip
        definition_order=definitions,
        method=_choice(c, data, ("model", "tau2"), METHODS),
        test=_choice(c, data, ("model", "test"), TESTS),
        level=_number(c, data, ("model", "level"), 0.5, 0.999),
        grade=grade,
        per=per,
        assumed_control_risk=risks,
        smd_scale=smd_scale,
        subgroups={str(k): str(v) for k, v in subgroups.items()},
        sensitivity={str(k): str(v) for k, v in sensitivity.items()},
        raw=data,
    )
    if proto.primary.design in proto.never_pooled_designs:
        c.bad(("comparisons", "primary", "design"), proto.primary.design,
              "the primary comparison's design cannot be a never-pooled design")  # fmt: skip
    primary, every = set(proto.primary.controls), set(proto.all_controls.controls)
    if primary and not primary <= every:
        c.bad(("comparisons", "all_controls", "controls"), proto.all_controls.controls,
              "the all-controls comparison must include the primary comparison's controls")
    return c.problems, (None if c.problems else proto)


def load_protocol(data_dir: str | Path | None = None) -> Protocol:
    """Read and validate ``data/protocol.yml``.

    Raises
    ------
    DataValidationError
        Listing every problem (file, line, key, value, rule).
    """
    root = find_data_dir(data_dir)
    problems, proto = protocol_problems(root / PROTOCOL_FILE,
                                        f"{root.name}/{PROTOCOL_FILE}" if root.name else None)
    if proto is None:
        raise DataValidationError(problems)
    return proto
