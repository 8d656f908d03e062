"""Build the book in a throw-away copy of the repository (integration tests and benchmarks).

Nothing here touches the real repository: the copy leaves out ``.git``, ``.venv`` and
``_build``, and every build runs with ``--root`` pointing at the copy.
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

IGNORED = shutil.ignore_patterns(
    ".git", ".venv", "_build", "__pycache__", ".pytest_cache", ".ruff_cache", ".hypothesis",
    ".benchmarks", "*.egg-info",
)  # fmt: skip


@dataclass(frozen=True)
class BuildRun:
    """Outcome of one ``python -m analysis build`` in a copy."""

    returncode: int
    output: str
    seconds: float
    report: dict

    @property
    def executed(self) -> int:
        return int(self.report.get("executed", -1)) if self.returncode == 0 else -1


def copy_repository(source: Path, dest: Path) -> Path:
    """Copy the repository's working tree (without generated files) to ``dest``."""
    shutil.copytree(source, dest, ignore=IGNORED)
    return dest


def run_build(root: Path, jobs: int = 2) -> BuildRun:
    """Run the build pipeline on ``root`` in a subprocess and collect its report."""
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "analysis", "build", "--root", str(root), "--jobs", str(jobs)],
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - start
    report_path = root / "_build" / "build-report.json"
    report = json.loads(report_path.read_text()) if proc.returncode == 0 else {}
    return BuildRun(proc.returncode, proc.stdout + proc.stderr, seconds, report)


def read_results(root: Path) -> dict[str, dict]:
    """The published ``results.json`` of a built copy, by result id."""
    payload = json.loads((root / "_build" / "html" / "results.json").read_text())
    return {rec["id"]: rec for rec in payload["results"]}


def edit_csv_cell(path: Path, row: int, column: str, value: str) -> str:
    """Set one cell of a CSV file (``row`` is the 0-based data row); return the old value."""
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
        fieldnames = list(rows[0].keys()) if rows else []
    old = rows[row][column]
    rows[row][column] = value
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=fieldnames, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return old
