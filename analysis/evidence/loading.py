"""Loading the trial database in ``data/`` into typed DataFrames.

``load_trials(data_dir=None) -> Trials``
    Validate (:func:`analysis.evidence.validation.validate`), then load the CSV files,
    ``version.yml``, the review protocol ``protocol.yml`` and the participant-level datasets
    of ``data/ipd/`` (whose arm-level rows are appended to ``outcomes``, see
    :mod:`analysis.evidence.ipd`). Raises
    :class:`DataValidationError` (carrying *every* problem found) when the data are invalid.
``data_version(data_dir=None) -> str``
    First 12 hex digits of the SHA-256 of the data files' bytes (sorted by file name).
``find_data_dir(data_dir=None) -> pathlib.Path``
    ``data_dir`` if given; else ``$TRD_DATA_DIR``; else the first ``data/`` folder holding
    ``studies.csv`` found walking up from the current working directory.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.evidence.paths import data_version, find_data_dir
from analysis.evidence.protocol import Protocol, load_protocol
from analysis.evidence.schema import SCHEMAS, Col
from analysis.evidence.validation import ORIGIN, DataValidationError, _Table, _validate

__all__ = ["Trials", "data_version", "find_data_dir", "load_trials"]


@dataclass(frozen=True)
class Trials:
    """The loaded database (typed pandas DataFrames; missing values are ``NA``/``NaN``).

    ``outcomes`` holds the rows of ``outcomes.csv`` and, after them, the rows generated from
    the participant-level datasets; its ``origin`` column names the file each row comes from
    (``outcomes.csv`` or ``ipd/<trial>/mapping.yml``) and ``line`` the line in that file.
    ``searches``, ``screening`` and ``changes`` are the search and screening record and the
    changelog (``searches.csv``, ``screening.csv``, ``changelog.csv``); ``ipd`` maps a study id
    to its :class:`analysis.evidence.ipd.IpdDataset`.
    """

    studies: pd.DataFrame
    outcomes: pd.DataFrame
    risk_of_bias: pd.DataFrame
    published: pd.DataFrame
    version: dict[str, Any] = field(default_factory=dict)
    data_dir: Path = field(default_factory=Path)
    protocol: Protocol | None = None
    searches: pd.DataFrame = field(default_factory=pd.DataFrame)
    screening: pd.DataFrame = field(default_factory=pd.DataFrame)
    changes: pd.DataFrame = field(default_factory=pd.DataFrame)
    ipd: dict[str, Any] = field(default_factory=dict)

    @property
    def data_version(self) -> str:
        return data_version(self.data_dir)




def _frame(t: _Table, schema: dict[str, Col]) -> pd.DataFrame:
    data = {c: [rec.get(c, "") for _, rec in t.rows] for c in t.header}
    df = pd.DataFrame(data, columns=t.header)
    for name, col in schema.items():
        if name not in df:
            continue
        s = df[name].replace("", pd.NA)
        if col.kind == "int":
            df[name] = pd.to_numeric(s).astype("Int64")
        elif col.kind == "float":
            df[name] = pd.to_numeric(s).astype("float64")
        else:
            df[name] = s.astype("string")
    df.insert(0, "line", pd.array([ln for ln, _ in t.rows], dtype="Int64"))
    return df


def load_trials(data_dir: str | os.PathLike[str] | None = None) -> Trials:
    """Validate and load the database.

    Returns a frozen :class:`Trials` with typed DataFrames (``studies``, ``outcomes``,
    ``risk_of_bias``, ``published``; each has an extra leading ``line`` column giving the row's
    line number in its file), the parsed ``version.yml`` dict, ``data_dir`` and the validated
    review protocol (``protocol.yml``, :class:`analysis.evidence.protocol.Protocol`).

    Raises
    ------
    DataValidationError
        If :func:`validate` finds any problem; ``exc.problems`` lists them all.
    """
    root = find_data_dir(data_dir)
    problems, tables, version, ipd = _validate(root)
    if problems:
        raise DataValidationError(problems)
    frames = {name: _frame(tables[name], SCHEMAS[name]) for name in SCHEMAS}
    outcomes = frames["outcomes.csv"]
    prefix = f"{root.name}/" if root.name else ""
    outcomes["origin"] = pd.array(
        [rec.get(ORIGIN, "outcomes.csv").removeprefix(prefix) for _, rec in
         tables["outcomes.csv"].rows],
        dtype="string",
    )  # fmt: skip
    return Trials(
        studies=frames["studies.csv"],
        outcomes=outcomes,
        risk_of_bias=frames["risk_of_bias.csv"],
        published=frames["published_results.csv"],
        version=version,
        data_dir=root,
        protocol=load_protocol(root),
        searches=frames["searches.csv"],
        screening=frames["screening.csv"],
        changes=frames["changelog.csv"],
        ipd=dict(ipd),
    )
