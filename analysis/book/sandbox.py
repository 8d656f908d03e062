"""Build the book in a throw-away copy of the repository (integration tests and benchmarks).

Nothing here touches the real repository: the copy leaves out ``.git``, ``.venv`` and
``_build``, and every build runs with ``--root`` pointing at the copy. Besides running builds,
the helpers edit the copy (one CSV cell, a comment appended to a module) and read the cache's
manifests, to tell which notebooks a change should execute.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
import signal
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


def run_build(root: Path, jobs: int = 2, *args: str, env: dict[str, str] | None = None) -> BuildRun:
    """Run the build pipeline on ``root`` in a subprocess and collect its report."""
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "analysis", "build", "--root", str(root), "--jobs", str(jobs),
         *args],
        capture_output=True, text=True, env=env,
    )  # fmt: skip
    seconds = time.perf_counter() - start
    report_path = root / "_build" / "build-report.json"
    report = json.loads(report_path.read_text()) if proc.returncode == 0 else {}
    return BuildRun(proc.returncode, proc.stdout + proc.stderr, seconds, report)


#: The front matter of a MyST Markdown notebook.
NOTEBOOK_HEADER = (
    "---\njupytext:\n  text_representation:\n    extension: .md\n    format_name: myst\n"
    "kernelspec:\n  display_name: Python 3\n  language: python\n  name: python3\n---\n"
)


def notebook_text(title: str, *cells: str) -> str:
    """A MyST Markdown notebook: a title and one code cell per item of ``cells``."""
    body = "".join(f"\n```{{code-cell}} ipython3\n{cell.strip()}\n```\n" for cell in cells)
    return f"{NOTEBOOK_HEADER}\n# {title}\n{body}"


def mini_book(source: Path, dest: Path, pages: dict[str, str]) -> Path:
    """A small book in ``dest``: the repository's configuration, data and ``analysis`` package,
    and only ``pages`` (``{"chapters/a": text}``; the first is the root of the table of contents).

    A notebook page is a text from :func:`notebook_text`; the build treats it like any other.
    """
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("analysis", "data", "_static"):
        shutil.copytree(source / name, dest / name, ignore=IGNORED)
    for name in ("_config.yml", "requirements.lock"):
        shutil.copy2(source / name, dest / name)
    names = list(pages)
    toc = {"format": "jb-book", "root": names[0]}
    if names[1:]:
        toc["chapters"] = [{"file": name} for name in names[1:]]
    (dest / "_toc.yml").write_text(json.dumps(toc), encoding="utf-8")
    for name, text in pages.items():
        path = dest / f"{name}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return dest


def _default_sigint() -> None:
    # A shell starts background jobs with SIGINT ignored, and Python then keeps ignoring it:
    # the build must react to SIGINT as when started from a terminal, wherever the tests run.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_build(root: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    """Start ``python -m analysis build --root root ARGS`` (text output on pipes), with SIGINT
    handled as in a terminal (so a test can send it Ctrl-C)."""
    return subprocess.Popen(
        [sys.executable, "-m", "analysis", "build", "--root", str(root), *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        preexec_fn=_default_sigint,
    )  # fmt: skip


#: pandas Styler's random table ids (``T_1a2b3``); a fix in ``report.py`` makes them stable.
STYLER_ID = re.compile(rb"T_[0-9a-f]{5}")


def site_files(site: Path) -> dict[str, bytes]:
    """Every file of a built site by relative path, with Styler table ids normalised."""
    return {
        p.relative_to(site).as_posix(): STYLER_ID.sub(b"T_xxxxx", p.read_bytes())
        for p in sorted(site.rglob("*"))
        if p.is_file()
    }


def site_differences(first: Path, second: Path) -> list[str]:
    """How two built sites differ: files only in one, files whose bytes differ (after
    :func:`site_files`' normalisation of Styler ids). Empty when they are the same."""
    a, b = site_files(first.resolve()), site_files(second.resolve())
    out = [f"only in the first: {name}" for name in sorted(a.keys() - b.keys())]
    out += [f"only in the second: {name}" for name in sorted(b.keys() - a.keys())]
    out += [f"differs: {name}" for name in sorted(a.keys() & b.keys()) if a[name] != b[name]]
    return out


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


#: The module of the build that only the build runs (no notebook imports it).
BUILD_TOOLING = Path("analysis/book/build.py")
#: The statistics module nearly every analysis imports.
POOLING_MODULE = Path("analysis/stats/pooling.py")


def forest_module(root: Path) -> Path:
    """The forest plot's module, relative to ``root``.

    ``analysis/plots/forest.py`` once the plots are split into modules, else the package's
    ``__init__.py``, which holds every plot.
    """
    split = Path("analysis/plots/forest.py")
    return split if (root / split).is_file() else Path("analysis/plots/__init__.py")


def append_comment(path: Path, comment: str = "# edited by a build test") -> None:
    """Append a comment line to a Python file (a change of content, not of behaviour)."""
    text = path.read_text(encoding="utf-8")
    path.write_text(text + ("" if text.endswith("\n") else "\n") + comment + "\n", encoding="utf-8")


def read_manifests(root: Path) -> dict[str, dict]:
    """The cache manifest of every executed notebook of a built copy, by page."""
    from analysis.book.cache import CACHE_DIR

    return {
        path.parent.name.replace("__", "/"): json.loads(path.read_text())
        for path in sorted((root / CACHE_DIR).glob("*/manifest.json"))
    }


def pages_reading(root: Path, rel: str | Path) -> set[str]:
    """The pages whose last execution read ``rel`` (a data file or an ``analysis`` module)."""
    rel = Path(rel).as_posix()
    return {
        page
        for page, manifest in read_manifests(root).items()
        if rel in manifest.get("code_reads", {}) or rel in manifest.get("data_reads", {})
    }
