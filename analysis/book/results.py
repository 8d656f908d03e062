"""Collect the results the executed notebooks published, for ``results.json``/``results.csv``.

Every pooled estimate a page shows is published under a stable id
(:func:`analysis.book.report.publish`); the build gathers them from the cache, one record per
id, and the site serves them as ``results.json`` and ``results.csv``.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from pathlib import Path

from analysis.book.cache import CACHE_DIR
from analysis.book.execution import Execution

RESULT_COLUMNS = [
    "id", "label", "outcome", "measure", "scale", "estimate", "ci_low", "ci_high",
    "pi_low", "pi_high", "se", "p", "tau2", "i2", "k", "participants", "method", "hksj",
    "studies", "page", "data_version",
]  # fmt: skip


def collect_results(root: Path, runs: Sequence[Execution], data_version: str) -> list[dict]:
    """The published results of ``runs``, one per id, sorted by id.

    ``page`` is the first page (in the order of ``runs``) that published the id.
    """
    records: list[dict] = []
    seen: dict[str, str] = {}
    for run in runs:
        path = root / CACHE_DIR / run.notebook.slug / "results.json"
        for rec in json.loads(path.read_text()) if path.exists() else []:
            rid = rec["id"]
            if rid in seen:
                # The same estimate may be shown on several pages; keep the first.
                continue
            seen[rid] = run.notebook.page
            records.append({**rec, "page": run.notebook.page, "data_version": data_version})
    return sorted(records, key=lambda r: r["id"])


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
