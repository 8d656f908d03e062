"""Collect the results the executed notebooks published, for ``results.json``/``results.csv``.

Every pooled estimate a page shows is published under a stable id
(:func:`analysis.book.report.publish`); the build gathers them from the cache, one record per
id, and the site serves them as ``results.json`` and ``results.csv``. An id has one value: two
pages may publish the same id only with the same estimate.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from analysis.book.cache import CACHE_DIR
from analysis.book.errors import BuildError
from analysis.book.execution import Execution

RESULT_COLUMNS = [
    "id", "label", "outcome", "measure", "scale", "estimate", "ci_low", "ci_high",
    "pi_low", "pi_high", "se", "p", "tau2", "i2", "k", "participants",
    "participants_unknown", "method", "hksj", "test", "studies", "page", "data_version",
]  # fmt: skip


#: What must agree when several pages publish the same result id (they show the same estimate).
SAME_RESULT_FIELDS = (
    "estimate", "ci_low", "ci_high", "pi_low", "pi_high", "k", "participants", "studies",
    "method", "hksj", "test", "measure",
)  # fmt: skip


def _same(a: Any, b: Any) -> bool:
    """Exact equality (both values come from the same code), NaN equal to NaN."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


def differing_fields(first: dict, second: dict) -> list[str]:
    """The fields of :data:`SAME_RESULT_FIELDS` in which two records of one id differ."""
    return [f for f in SAME_RESULT_FIELDS if not _same(first.get(f), second.get(f))]


def collect_results(root: Path, runs: Sequence[Execution], data_version: str) -> list[dict]:
    """The published results of ``runs``, one per id, sorted by id.

    Several pages may publish the same id (the landing page repeats the headline estimate);
    ``page`` is the first of them in the order of ``runs`` (table-of-contents order).

    Raises
    ------
    BuildError
        When two pages publish the same id with different values (any field of
        :data:`SAME_RESULT_FIELDS`); the message names the id, both pages and the fields.
    """
    records: list[dict] = []
    first: dict[str, tuple[str, dict]] = {}
    conflicts: list[str] = []
    for run in runs:
        page = run.notebook.page
        path = root / CACHE_DIR / run.notebook.slug / "results.json"
        for rec in json.loads(path.read_text()) if path.exists() else []:
            rid = rec["id"]
            if rid in first:
                first_page, kept = first[rid]
                fields = differing_fields(kept, rec)
                if fields:
                    values = "; ".join(
                        f"{f} {kept.get(f)!r} on {first_page}, {rec.get(f)!r} on {page}"
                        for f in fields
                    )
                    conflicts.append(
                        f"result {rid!r} is published by {first_page} and {page} with "
                        f"different values ({values})"
                    )
                continue
            first[rid] = (page, rec)
            records.append({**rec, "page": page, "data_version": data_version})
    if conflicts:
        raise BuildError(
            "the same result id is published with different values (an id has one value: "
            "give each estimate its own id, or compute it the same way on every page):\n"
            + "\n".join(f"  {c}" for c in conflicts)
        )
    return sorted(records, key=lambda r: r["id"])


def collect_site_files(root: Path, runs: Sequence[Execution]) -> dict[str, bytes]:
    """The files the executed notebooks published at the site root
    (:func:`analysis.book.report.write_site_file`), name -> content, sorted by name.

    Raises
    ------
    BuildError
        When two pages publish one name with different contents.
    """
    files: dict[str, tuple[str, bytes]] = {}
    conflicts: list[str] = []
    for run in runs:
        path = root / CACHE_DIR / run.notebook.slug / "site_files.json"
        if not path.exists():
            continue
        for name, text in json.loads(path.read_text(encoding="utf-8")).items():
            content = text.encode("utf-8")
            if name in files and files[name][1] != content:
                conflicts.append(f"site file {name!r} is written by {files[name][0]} and "
                                 f"{run.notebook.page} with different contents")  # fmt: skip
            files.setdefault(name, (run.notebook.page, content))
    if conflicts:
        raise BuildError("pages publish different site files under one name:\n"
                         + "\n".join(f"  {c}" for c in conflicts))  # fmt: skip
    return {name: files[name][1] for name in sorted(files)}


def results_json(records: list[dict], meta: dict) -> bytes:
    """``results.json``: the build metadata and every record."""
    return json.dumps({"meta": meta, "results": records}, indent=1).encode()


def results_csv(records: list[dict]) -> bytes:
    """``results.csv``: one row per record, the columns of :data:`RESULT_COLUMNS`."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=RESULT_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for rec in records:
        row = dict(rec)
        if isinstance(row.get("studies"), list):
            row["studies"] = "; ".join(map(str, row["studies"]))
        writer.writerow(row)
    return buf.getvalue().encode()
