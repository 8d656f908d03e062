"""Build the book: validate the data, execute what changed, render, publish atomically.

The pipeline, run by ``python -m analysis build`` (``make book``):

1. **Validate** ``data/`` with :func:`analysis.evidence.validate`. Any problem stops the build
   before anything is executed or published.
2. **Discover** the notebooks listed in ``_toc.yml`` and expand templates
   (:mod:`analysis.book.discovery`).
3. **Execute** with papermill into the cache ``_build/.cache``, keyed by a SHA-256 of the
   notebook text, its parameters and ``requirements.lock``, plus an exact record of the data
   files it read and the ``analysis`` modules it imported when it last ran, with their hashes
   (:mod:`analysis.book.tracking`). A notebook is reused, not run, when its key matches and
   none of the files it read has changed (:mod:`analysis.book.cache`,
   :mod:`analysis.book.execution`). Each execution writes the results it publishes (see
   :mod:`analysis.book.report`) beside it.
4. **Collect** the published results, one per id (:mod:`analysis.book.results`).
5. **Stage** a source tree in ``_build/.stage/src`` (:mod:`analysis.book.staging`): the
   executed notebooks replace their sources; files are only rewritten when their content
   changed, so Sphinx re-reads only what changed. Every page that glues from a re-executed
   notebook (``{glue:text}`nb::key```) is touched too, so Sphinx re-reads it: a data change
   reaches every page that depends on it.
6. **Render** with Jupyter Book (its own execution off), warnings as errors, and **publish**:
   copy the rendered site to a temporary folder beside ``_build/html`` and swap it in only when
   every step succeeded (:mod:`analysis.book.site`). A failed build leaves the previous site
   untouched.

The site gets ``results.json``/``results.csv`` (every pooled estimate the book shows, under a
stable id) and the data files under ``data/``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from analysis.book.discovery import discover
from analysis.book.errors import BuildError
from analysis.book.execution import execute_all
from analysis.book.results import collect_results
from analysis.book.site import SITE_DIR, publish, render
from analysis.book.staging import STAGE_DIR, stage, tree_fingerprint

__all__ = ["BuildError", "build", "data_metadata", "main"]

REPORT_FILE = Path("_build/build-report.json")


def _git_commit(root: Path) -> str:
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short=10", "HEAD"],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def data_metadata(root: Path) -> dict:
    """Versions shown in the site's footer and ``results.json``: data, search date, commit."""
    from analysis.evidence import data_version
    from analysis.evidence.yamlio import read_version

    # The validator's parser: the build has validated the file before it gets here.
    version_file = root / "data" / "version.yml"
    info = read_version(version_file)[0] if version_file.exists() else {}
    return {
        "data_version": data_version(root / "data"),
        "data_semver": str(info.get("version", "unversioned")),
        "last_search": str(info.get("last_search", "unknown")),
        "build_date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d"),
        "commit": _git_commit(root),
    }


def build(root: Path, jobs: int = 2, log: Callable[[str], object] = print) -> dict:
    """Run the whole pipeline and publish ``root/_build/html``.

    Parameters
    ----------
    root
        Repository folder.
    jobs
        Notebooks executed in parallel.
    log
        Receives the progress lines.

    Returns
    -------
    dict
        The build report (also written to ``_build/build-report.json``): seconds, notebooks,
        executed, reused, executed_pages, execution_seconds, results and the data metadata.

    Raises
    ------
    BuildError
        When a step fails; the previous site is left untouched.
    """
    root = root.resolve()
    t0 = time.perf_counter()
    log(f"Building the book in {root}")
    from analysis.evidence import validate

    problems = validate(root / "data")
    if problems:
        lines = "\n".join(f"  {p}" for p in problems)
        raise BuildError(f"invalid data ({len(problems)} problem(s)); nothing was built:\n{lines}")
    log("  data valid")
    toc, notebooks = discover(root)
    runs = execute_all(root, notebooks, jobs, log)
    meta = data_metadata(root)
    records = collect_results(root, runs, meta["data_version"])
    src = stage(root, toc, runs, records, meta, log)
    fingerprint = tree_fingerprint(src)
    marker = root / STAGE_DIR / "published.json"
    published = json.loads(marker.read_text()) if marker.exists() else {}
    if published.get("fingerprint") == fingerprint and (root / SITE_DIR / "index.html").exists():
        log("  site up to date: no staged page changed, nothing to render")
    else:
        marker.unlink(missing_ok=True)
        html = render(root, src, log)
        publish(root, html)
        marker.write_text(json.dumps({"fingerprint": fingerprint}))
    executed = [r for r in runs if r.executed]
    report = {
        "seconds": round(time.perf_counter() - t0, 2),
        "notebooks": len(runs),
        "executed": len(executed),
        "reused": len(runs) - len(executed),
        "executed_pages": [r.notebook.page for r in executed],
        "execution_seconds": {r.notebook.page: round(r.seconds, 2) for r in executed},
        "results": len(records),
        **meta,
    }
    (root / REPORT_FILE).write_text(json.dumps(report, indent=1))
    log(
        f"Built {root / SITE_DIR} in {report['seconds']:.1f} s: {report['executed']} notebook(s) "
        f"executed, {report['reused']} reused, {len(records)} results, data {meta['data_version']}"
    )
    return report


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m analysis build [--root DIR] [--jobs N]``; return the exit status."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m analysis build", description=__doc__)
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="repository folder")
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    args = parser.parse_args(argv)
    try:
        build(args.root, jobs=args.jobs)
    except BuildError as exc:
        print(f"BUILD FAILED: {exc}", file=sys.stderr)
        print("The previous site (if any) was left unchanged.", file=sys.stderr)
        return 1
    return 0
