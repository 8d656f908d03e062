"""Participant-level datasets (IPD) as a source of arm-level rows.

A trial whose participant-level dataset is public keeps the file in ``data/ipd/<trial>/`` with a
small declarative ``mapping.yml`` beside it. The mapping names the variables of the dataset (arm,
time, outcomes, dropout flag, baseline variables) and the values that mean "psychotherapy",
"control", "end of treatment" and so on; this module turns it into arm-level rows of
``outcomes.csv`` *when the data are loaded*, so that no summary of the dataset is ever typed by
hand. Each generated row carries the dataset as its ``source`` and the mapping as its
``location``, and has the outcome id the mapping gives it.

``read_mapping(path)``
    Parse and check a mapping file (keys, ids, instruments); problems name the file, the line
    and the key.
``read_dataset(mapping)``
    Read the dataset (SPSS ``.sav`` through ``pyreadstat``, value labels applied) after checking
    its SHA-256 against the mapping; problems name the mapping file.
``check_variables(mapping, frame)``
    Every variable and value the mapping names exists in the dataset; a wrong name is reported
    with the mapping file, its line, the key and the variables the dataset has.
``arm_rows(mapping, frame)``
    The arm-level rows (``outcomes.csv`` columns, as strings): for each continuous outcome and
    time point the observed-case n, mean and SD (``ddof = 1``) per arm; for the dropout flag the
    number of participants flagged per arm over the participants randomised to it.
``arm_summary(dataset, variable, time, subgroup=None)``
    The same n, mean and SD per arm, optionally restricted to a baseline subgroup declared in the
    mapping (used by the review layer for within-trial subgroups).
``load_ipd(data_dir)``
    Every dataset of ``data/ipd/`` with its mapping (used by :func:`analysis.load_trials`).

Rules stated in the mapping and applied here: an arm is the value of the arm variable; the time
point is the value of the time variable; "observed cases" means every participant with a
non-missing value of the outcome at that time; the dropout count is the number of participants
(counted once, on their baseline row) whose dropout variable takes the ``event`` value, over the
number of participants randomised to the arm (baseline rows).
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from analysis.evidence.schema import INSTRUMENT_RANGES, IPD_DIR

__all__ = [
    "MAPPING_FILE",
    "IpdDataset",
    "IpdMapping",
    "IpdProblem",
    "arm_rows",
    "arm_summary",
    "check_variables",
    "find_mappings",
    "load_ipd",
    "read_dataset",
    "read_mapping",
]

MAPPING_FILE = "mapping.yml"
_OUTCOME_ID = re.compile(r"^[A-Z][A-Za-z]+[0-9]{4}[a-z]?\.o[0-9]+$")
_REQUIRED = (
    "study_id",
    "comparison",
    "dataset",
    "source",
    "participant",
    "arm",
    "time",
    "timepoints",
    "outcomes",
)
_CONTINUOUS = ("depressive_symptoms",)
_EVENTS = ("dropout",)


@dataclass(frozen=True)
class IpdProblem:
    """A problem of a mapping or dataset: ``file`` (as shown), ``line`` in the mapping (or
    ``None``), ``key`` (dotted path in the mapping, or ``None``), ``value`` and ``rule``."""

    file: str
    line: int | None
    key: str | None
    value: str | None
    rule: str


@dataclass(frozen=True)
class IpdMapping:
    """A parsed ``mapping.yml``.

    Attributes
    ----------
    path
        The mapping file.
    label
        How problems name it (``data/ipd/<trial>/mapping.yml``).
    spec
        The parsed YAML (a dict).
    text
        The file's text (to find the line of a key in problems).
    """

    path: Path
    label: str
    spec: dict[str, Any]
    text: str

    @property
    def study_id(self) -> str:
        return str(self.spec["study_id"])

    @property
    def folder(self) -> Path:
        return self.path.parent

    @property
    def dataset_path(self) -> Path:
        return self.folder / str(self.spec["dataset"]["file"])

    @property
    def relative_folder(self) -> str:
        """``ipd/<trial>`` (relative to the data folder)."""
        return f"{IPD_DIR}/{self.folder.name}"

    def line_of(self, needle: object) -> int | None:
        """The first line of the mapping whose text contains ``needle`` (1-based)."""
        text = str(needle)
        for i, line in enumerate(self.text.splitlines(), start=1):
            if text in line:
                return i
        return None

    def problem(self, key: str | None, value: object, rule: str, near: object = None) -> IpdProblem:
        """An :class:`IpdProblem` at the line where ``near`` (default: ``value``) appears."""
        line = self.line_of(near if near is not None else value) if (near or value) else None
        return IpdProblem(self.label, line, key, None if value is None else str(value), rule)


@dataclass(frozen=True)
class IpdDataset:
    """A participant-level dataset with its mapping (value labels applied)."""

    mapping: IpdMapping
    frame: pd.DataFrame = field(repr=False)

    @property
    def study_id(self) -> str:
        return self.mapping.study_id


# --------------------------------------------------------------------------- reading
def find_mappings(data_dir: Path) -> list[Path]:
    """The ``mapping.yml`` files under ``<data_dir>/ipd/*/``, sorted."""
    folder = Path(data_dir) / IPD_DIR
    return sorted(folder.glob(f"*/{MAPPING_FILE}")) if folder.is_dir() else []


def _label(data_dir: Path, path: Path) -> str:
    rel = path.relative_to(data_dir).as_posix()
    return f"{data_dir.name}/{rel}" if data_dir.name else rel


def read_mapping(path: Path, data_dir: Path) -> tuple[IpdMapping | None, list[IpdProblem]]:
    """Parse and check ``path``; returns the mapping (``None`` if unusable) and its problems."""
    label = _label(Path(data_dir), Path(path))
    try:
        text = Path(path).read_text(encoding="utf-8")
        spec = yaml.safe_load(text)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        return None, [IpdProblem(label, None, None, None, f"mapping cannot be read ({exc})")]
    if not isinstance(spec, dict):
        return None, [IpdProblem(label, None, None, None, "mapping must be a YAML mapping")]
    m = IpdMapping(Path(path), label, spec, text)
    problems = [
        IpdProblem(label, None, key, None, "required key is missing")
        for key in _REQUIRED
        if key not in spec
    ]
    if problems:
        return None, problems
    ds = spec["dataset"]
    if not isinstance(ds, dict) or not ds.get("file") or not ds.get("sha256"):
        problems.append(m.problem("dataset", None, "dataset needs 'file' and 'sha256'", "dataset"))
    for key in ("arm", "time"):
        if not isinstance(spec[key], dict) or "variable" not in spec[key]:
            problems.append(m.problem(key, None, f"'{key}' needs a 'variable'", f"{key}:"))
    arm = spec["arm"] if isinstance(spec["arm"], dict) else {}
    for key in ("intervention", "control"):
        if key not in arm:
            problems.append(m.problem(f"arm.{key}", None, "required key is missing", "arm:"))
    times = {str(t.get("value")) for t in spec["timepoints"] if isinstance(t, dict)}
    for t in spec["timepoints"]:
        if not isinstance(t, dict) or t.get("timepoint") not in ("post", "fu"):
            problems.append(
                m.problem(
                    "timepoints",
                    t,
                    "each time point needs 'value' and 'timepoint' (post or fu)",
                    "timepoints:",
                )
            )
    seen: set[str] = set()
    for i, out in enumerate(spec["outcomes"]):
        key = f"outcomes[{i}]"
        kind = out.get("outcome") if isinstance(out, dict) else None
        if kind not in _CONTINUOUS + _EVENTS:
            problems.append(
                m.problem(
                    f"{key}.outcome",
                    kind,
                    "outcome must be one of: " + ", ".join(_CONTINUOUS + _EVENTS),
                )
            )
            continue
        if "variable" not in out:
            problems.append(m.problem(f"{key}.variable", None, "required key is missing", kind))
        if kind in _CONTINUOUS:
            inst = out.get("instrument")
            if inst not in INSTRUMENT_RANGES:
                problems.append(
                    m.problem(
                        f"{key}.instrument",
                        inst,
                        "instrument must be a code of the schema (data/README.md)",
                    )
                )
            if out.get("rater") not in ("self", "clinician", "unclear"):
                problems.append(
                    m.problem(
                        f"{key}.rater", out.get("rater"), "rater must be self, clinician or unclear"
                    )
                )
        elif "event" not in out:
            problems.append(
                m.problem(f"{key}.event", None, "dropout needs the 'event' value", kind)
            )
        if out.get("direction") not in ("lower_better", "higher_better"):
            problems.append(
                m.problem(
                    f"{key}.direction",
                    out.get("direction"),
                    "direction must be lower_better or higher_better",
                )
            )
        ids = out.get("ids")
        if not isinstance(ids, dict) or not ids:
            problems.append(
                m.problem(
                    f"{key}.ids",
                    None,
                    "ids must map time values to [intervention id, control id]",
                    kind,
                )
            )
            continue
        for tval, pair in ids.items():
            if str(tval) not in times:
                problems.append(
                    m.problem(f"{key}.ids", tval, "time value is not declared under 'timepoints'")
                )
            if not isinstance(pair, list) or len(pair) != 2:
                problems.append(m.problem(f"{key}.ids", tval, "give [intervention id, control id]"))
                continue
            for oid in pair:
                oid = str(oid)
                if not _OUTCOME_ID.match(oid) or not oid.startswith(m.study_id + "."):
                    problems.append(
                        m.problem(f"{key}.ids", oid, f"outcome id must be '{m.study_id}.o<nn>'")
                    )
                elif oid in seen:
                    problems.append(m.problem(f"{key}.ids", oid, "outcome id used twice"))
                seen.add(oid)
    return (None if problems else m), problems


def read_dataset(mapping: IpdMapping) -> tuple[pd.DataFrame | None, list[IpdProblem]]:
    """Read the mapping's dataset (value labels applied), checking its SHA-256 first."""
    path = mapping.dataset_path
    name = mapping.spec["dataset"]["file"]
    if not path.is_file():
        return None, [mapping.problem("dataset.file", name, "dataset file is missing")]
    raw = path.read_bytes()  # read through Python: the build records the file as a data read
    digest = hashlib.sha256(raw).hexdigest()
    want = str(mapping.spec["dataset"]["sha256"]).lower()
    if digest != want:
        return None, [
            mapping.problem(
                "dataset.sha256",
                want,
                f"SHA-256 of {name} is {digest}: the dataset is not the file the mapping "
                "was written for",
            )
        ]
    fmt = str(mapping.spec["dataset"].get("format", "spss"))
    if fmt != "spss":
        return None, [mapping.problem("dataset.format", fmt, "only 'spss' (.sav) is supported")]
    try:
        import pyreadstat

        frame, _meta = pyreadstat.read_sav(str(path), apply_value_formats=True)
    except Exception as exc:  # noqa: BLE001 - any reader failure is a data problem
        return None, [mapping.problem("dataset.file", name, f"dataset cannot be read ({exc})")]
    return frame, []


def _values(frame: pd.DataFrame, variable: str) -> set[str]:
    return {str(v) for v in frame[variable].dropna().unique()}


def check_variables(mapping: IpdMapping, frame: pd.DataFrame) -> list[IpdProblem]:
    """Every variable and value named by the mapping exists in the dataset."""
    spec = mapping.spec
    cols = list(frame.columns)
    name = spec["dataset"]["file"]
    problems: list[IpdProblem] = []

    def variable(key: str, var: object) -> bool:
        if str(var) in cols:
            return True
        problems.append(
            mapping.problem(
                key,
                var,
                f"variable {var!r} is not in the dataset {name} (its variables: "
                + ", ".join(cols)
                + ")",
            )
        )
        return False

    def value(key: str, var: str, val: object) -> None:
        have = _values(frame, var)
        if str(val) not in have:
            problems.append(
                mapping.problem(
                    key,
                    val,
                    f"value {val!r} does not occur in variable {var!r} "
                    f"(its values: {', '.join(sorted(have))})",
                )
            )

    variable("participant", spec["participant"])
    arm, time = spec["arm"], spec["time"]
    if variable("arm.variable", arm["variable"]):
        for key in ("intervention", "control"):
            value(f"arm.{key}", arm["variable"], arm[key])
    if variable("time.variable", time["variable"]):
        if "baseline" in time:
            value("time.baseline", time["variable"], time["baseline"])
        for t in spec["timepoints"]:
            value("timepoints.value", time["variable"], t["value"])
    for i, out in enumerate(spec["outcomes"]):
        if variable(f"outcomes[{i}].variable", out["variable"]) and "event" in out:
            value(f"outcomes[{i}].event", out["variable"], out["event"])
    for i, base in enumerate(spec.get("baseline", []) or []):
        variable(f"baseline[{i}].variable", base.get("variable"))
    for sub, sg in (spec.get("subgroups") or {}).items():
        if variable(f"subgroups.{sub}.variable", sg.get("variable")):
            for v in sg.get("values", []):
                value(f"subgroups.{sub}.values", sg["variable"], v)
    return problems


# --------------------------------------------------------------------------- computing
def _subset(
    dataset_frame: pd.DataFrame, spec: Mapping[str, Any], time: str | None, subgroup: str | None
) -> pd.DataFrame:
    f = dataset_frame
    if subgroup is not None:
        sg = spec.get("subgroups", {}).get(subgroup)
        if sg is None:
            raise KeyError(f"subgroup {subgroup!r} is not declared in the mapping")
        keep = f[sg["variable"]].astype("string").isin([str(v) for v in sg["values"]])
        f = f.loc[keep.fillna(False).astype(bool)]
    if time is not None:
        f = f.loc[f[spec["time"]["variable"]].astype("string").eq(str(time)).fillna(False)]
    return f


def arm_summary(
    dataset: IpdDataset, variable: str, time: str, subgroup: str | None = None
) -> pd.DataFrame:
    """Observed-case n, mean and SD (``ddof = 1``) of ``variable`` per arm at ``time``.

    Parameters
    ----------
    dataset
        The dataset and its mapping.
    variable
        An outcome variable of the dataset.
    time
        A value of the mapping's time variable (``"Post-treatment"``).
    subgroup
        A subgroup declared under ``subgroups`` in the mapping (baseline variable and values),
        or ``None`` for every participant.

    Returns
    -------
    pandas.DataFrame
        Index ``intervention``, ``control``; columns ``arm_value``, ``n``, ``mean``, ``sd``.
    """
    spec = dataset.mapping.spec
    f = _subset(dataset.frame, spec, time, subgroup)
    arm = spec["arm"]
    rows = {}
    for role in ("intervention", "control"):
        vals = pd.to_numeric(
            f.loc[f[arm["variable"]].astype("string").eq(str(arm[role])).fillna(False), variable],
            errors="coerce",
        ).dropna()
        rows[role] = {
            "arm_value": str(arm[role]),
            "n": int(len(vals)),
            "mean": float(vals.mean()) if len(vals) else math.nan,
            "sd": float(vals.std(ddof=1)) if len(vals) > 1 else math.nan,
        }
    return pd.DataFrame.from_dict(rows, orient="index")


def arm_counts(dataset: IpdDataset, variable: str, event: str) -> pd.DataFrame:
    """Participants whose ``variable`` equals ``event`` per arm, over participants randomised.

    Each participant is counted once, on the baseline row (the mapping's ``time.baseline``) or,
    without a baseline value, on their first row.
    """
    spec = dataset.mapping.spec
    f = dataset.frame
    base = spec["time"].get("baseline")
    if base is not None:
        f = _subset(f, spec, base, None)
    f = f.drop_duplicates(subset=[spec["participant"], spec["arm"]["variable"]])
    arm = spec["arm"]
    rows = {}
    for role in ("intervention", "control"):
        a = f.loc[f[arm["variable"]].astype("string").eq(str(arm[role])).fillna(False)]
        rows[role] = {
            "arm_value": str(arm[role]),
            "events": int(a[variable].astype("string").eq(str(event)).fillna(False).sum()),
            "total": int(len(a)),
        }
    return pd.DataFrame.from_dict(rows, orient="index")


def _num(x: float) -> str:
    return "" if x is None or not math.isfinite(x) else repr(float(x))


def arm_rows(mapping: IpdMapping, frame: pd.DataFrame) -> list[tuple[int, dict[str, str]]]:
    """The arm-level rows the dataset feeds, as ``(mapping line, outcomes.csv record)``.

    Values are computed here and nowhere else; the records have the columns of
    ``outcomes.csv`` (as strings) plus any extra columns the mapping gives under ``columns``
    (for every row) or under an outcome's own ``columns`` (for that outcome's rows).
    """
    spec = mapping.spec
    ds = IpdDataset(mapping, frame)
    times = {str(t["value"]): t for t in spec["timepoints"]}
    file_rel = f"data/{mapping.relative_folder}/{spec['dataset']['file']}"
    source = f"{file_rel} (participant-level dataset; {spec['source']})"
    extra = {str(k): str(v) for k, v in (spec.get("columns") or {}).items()}
    out: list[tuple[int, dict[str, str]]] = []
    for item in spec["outcomes"]:
        for tval, pair in item["ids"].items():
            t = times[str(tval)]
            base = {
                "study_id": mapping.study_id,
                "comparison": str(spec["comparison"]),
                "outcome": item["outcome"],
                "timepoint": str(t["timepoint"]),
                "time_label": str(t.get("time_label", "")),
                "weeks": "" if t.get("weeks") is None else str(t["weeks"]),
                "shared_control": "no",
                "direction": str(item["direction"]),
                "use": str(item.get("use", "primary")),
                "source": source,
            }
            if item["outcome"] in _CONTINUOUS:
                summary = arm_summary(ds, item["variable"], str(tval))
                base.update(
                    instrument=str(item["instrument"]),
                    instrument_detail=str(item.get("instrument_detail", "")),
                    rater=str(item["rater"]),
                    stat_type="post_msd",
                )
                how = (
                    f"n, mean and SD (n - 1) of {item['variable']} by "
                    f"{spec['arm']['variable']} at {spec['time']['variable']} = {tval}, "
                    "observed cases"
                )
            else:
                summary = arm_counts(ds, item["variable"], str(item["event"]))
                base.update(stat_type="events")
                how = (
                    f"participants with {item['variable']} = {item['event']} over "
                    f"participants randomised, by {spec['arm']['variable']} "
                    f"(one row per participant: {spec['time']['variable']} = "
                    f"{spec['time'].get('baseline', 'first row')})"
                )
            for role, oid in zip(("intervention", "control"), pair, strict=True):
                s = summary.loc[role]
                rec = dict(base, outcome_id=str(oid), arm=role, arm_label=str(s["arm_value"]))
                if item["outcome"] in _CONTINUOUS:
                    rec.update(n=str(int(s["n"])), mean=_num(s["mean"]), sd=_num(s["sd"]))
                else:
                    rec.update(events=str(int(s["events"])), total=str(int(s["total"])))
                rec["location"] = (
                    f"computed when the data are loaded, as declared in "
                    f"data/{mapping.relative_folder}/{MAPPING_FILE}: {how}"
                )
                rec["note"] = str(item.get("note", ""))
                rec.update(extra)
                rec.update({str(k): str(v) for k, v in (item.get("columns") or {}).items()})
                out.append((mapping.line_of(oid) or 1, rec))
    return out


@dataclass
class IpdLoad:
    """What :func:`load_ipd` found: datasets, generated rows and problems."""

    datasets: dict[str, IpdDataset] = field(default_factory=dict)
    rows: list[tuple[str, int, dict[str, str]]] = field(default_factory=list)
    problems: list[IpdProblem] = field(default_factory=list)


def load_ipd(data_dir: Path, study_ids: Sequence[str] | None = None) -> IpdLoad:
    """Read every mapping and dataset under ``data_dir/ipd``.

    Returns an :class:`IpdLoad` with the datasets (by study id), the generated rows
    (``(mapping label, mapping line, record)``) and every problem found. ``study_ids``, when
    given, are the trials of ``studies.csv``: a mapping for another trial is a problem.
    """
    result = IpdLoad()
    data_dir = Path(data_dir)
    for path in find_mappings(data_dir):
        mapping, problems = read_mapping(path, data_dir)
        result.problems += problems
        if mapping is None:
            continue
        if study_ids is not None and mapping.study_id not in set(study_ids):
            result.problems.append(
                mapping.problem("study_id", mapping.study_id, "study_id must exist in studies.csv")
            )
            continue
        if mapping.study_id in result.datasets:
            result.problems.append(
                mapping.problem(
                    "study_id", mapping.study_id, "a trial can have only one dataset mapping"
                )
            )
            continue
        frame, problems = read_dataset(mapping)
        result.problems += problems
        if frame is None:
            continue
        problems = check_variables(mapping, frame)
        result.problems += problems
        if problems:
            continue
        result.datasets[mapping.study_id] = IpdDataset(mapping, frame)
        result.rows += [(mapping.label, line, rec) for line, rec in arm_rows(mapping, frame)]
    return result
