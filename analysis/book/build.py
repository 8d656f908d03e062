"""Build the book: validate the data, execute what changed, render, publish atomically.

The pipeline, run by ``python -m analysis build`` (``make book``):

1. **Validate** ``data/`` with :func:`analysis.evidence.validate`. Any problem stops the
   build before anything is discovered, executed or published.
2. **Discover** the notebooks listed in ``_toc.yml`` and expand templates
   (:mod:`analysis.book.discovery`), and decide which to execute: the cache ``_build/.cache``
   is keyed by a SHA-256 of the notebook text, its parameters and ``requirements.lock``, plus
   an exact record of the data files it read, the data folders it listed and the ``analysis``
   modules it imported when it last ran, with their hashes (:mod:`analysis.book.tracking`). A
   notebook is reused, not run, when its key matches and none of these has changed
   (:mod:`analysis.book.cache`).
3. **Execute** the others, each in a fresh kernel forked from a warm process
   (:mod:`analysis.book.execution`, :mod:`analysis.book.kernels`), with a time limit. Each
   execution writes the results it publishes (see :mod:`analysis.book.report`) beside it.
4. **Collect** the published results, one per id (:mod:`analysis.book.results`).
5. **Stage** a source tree in ``_build/.stage/src`` (:mod:`analysis.book.staging`): the
   executed notebooks replace their sources; files are only rewritten when their content
   changed, so Sphinx re-reads only what changed. Every page that glues from a re-executed
   notebook (``{glue:text}`nb::key```) is touched too, so Sphinx re-reads it: a data change
   reaches every page that depends on it.
6. **Render** with Jupyter Book (its own execution off, into a new output folder), warnings as
   errors, and **publish**: move the rendered site to ``_build/site/<version>`` and point the
   symbolic link ``_build/html`` at it with one atomic rename, only when every step succeeded
   (:mod:`analysis.book.site`). A failed build leaves the previous site untouched.

One build of a repository runs at a time: a second one waits for the lock ``_build/build.lock``
(saying so) up to ``$TRD_BUILD_LOCK_TIMEOUT`` seconds, then stops with a message. A build
starts by removing what an interrupted build left (temporary execution folders, half-published
sites). Every failure ends with one line naming the file, notebook or extension and the reason;
Ctrl-C stops the kernels, removes the temporary folders and exits with status 130.

The site gets ``results.json``/``results.csv`` (every pooled estimate the book shows, under a
stable id) and the data files under ``data/``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from analysis.book.discovery import discover
from analysis.book.errors import BuildError
from analysis.book.execution import NotebookRunner, execute_plan, plan_executions
from analysis.book.results import collect_results
from analysis.book.site import SITE_DIR, publish, remove_stale, render
from analysis.book.staging import STAGE_DIR, stage, tree_fingerprint

__all__ = ["BuildError", "build", "data_metadata", "main"]

REPORT_FILE = Path("_build/build-report.json")
LOCK_FILE = Path("_build/build.lock")
#: Seconds a build waits for another build of the same repository (``$TRD_BUILD_LOCK_TIMEOUT``).
LOCK_TIMEOUT = 900.0
#: Exit status after Ctrl-C (128 + SIGINT), as shells report it.
INTERRUPTED = 130


@contextlib.contextmanager
def build_lock(
    root: Path, log: Callable[[str], object], timeout: float | None = None
) -> Iterator[None]:
    """Hold ``_build/build.lock`` (``fcntl.flock``) for one build of ``root``.

    A second build of the same repository waits, saying once which process holds the lock,
    up to ``timeout`` seconds (``$TRD_BUILD_LOCK_TIMEOUT``, default :data:`LOCK_TIMEOUT`).

    Raises
    ------
    BuildError
        When the lock is still held after ``timeout`` seconds.
    """
    import fcntl

    if timeout is None:
        timeout = float(os.environ.get("TRD_BUILD_LOCK_TIMEOUT") or LOCK_TIMEOUT)
    path = root / LOCK_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+") as fh:
        deadline = time.monotonic() + timeout
        waiting = False
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
            fh.seek(0)
            holder = fh.read().strip() or "another process"
            if time.monotonic() >= deadline:
                raise BuildError(
                    f"another build of {root} is running ({holder}, lock {path}); "
                    f"waited {timeout:g} s. Wait for it to finish, or stop it.",
                    summary=f"{path}: another build of {root} is running ({holder})",
                )
            if not waiting:
                log(f"  waiting for another build of {root} to finish ({holder}, lock {path})")
                waiting = True
            time.sleep(0.2)
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()}\n")
        fh.flush()
        try:
            yield
        finally:
            fh.seek(0)
            fh.truncate()
            fcntl.flock(fh, fcntl.LOCK_UN)


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


def build(
    root: Path,
    jobs: int = 2,
    log: Callable[[str], object] = print,
    timeout: float | None = None,
) -> dict:
    """Run the whole pipeline and publish ``root/_build/html`` (one build of ``root`` at a time).

    Parameters
    ----------
    root
        Repository folder.
    jobs
        Notebooks executed in parallel.
    log
        Receives the progress lines.
    timeout
        Seconds each notebook may run (default ``$TRD_NOTEBOOK_TIMEOUT``, else 300).

    Returns
    -------
    dict
        The build report (also written to ``_build/build-report.json``): seconds, notebooks,
        executed, reused, executed_pages, execution_seconds, results and the data metadata.

    Raises
    ------
    BuildError
        When a step fails; the previous site is left untouched.
    KeyboardInterrupt
        On Ctrl-C, after the kernels were stopped and the temporary folders removed.
    """
    root = root.resolve()
    log(f"Building the book in {root}")
    with build_lock(root, log):
        stale = remove_stale(root)
        if stale:
            log(f"  removed {len(stale)} folder(s) left by an interrupted build")
        return _build(root, jobs, log, timeout)


def _build(root: Path, jobs: int, log: Callable[[str], object], timeout: float | None) -> dict:
    t0 = time.perf_counter()
    from analysis.evidence import validate

    # Data first (0.3 s): a bad file is reported before anything else is looked at or run.
    problems = validate(root / "data")
    if problems:
        lines = "\n".join(f"  {p}" for p in problems)
        raise BuildError(
            f"invalid data ({len(problems)} problem(s)); nothing was built:\n{lines}",
            summary=f"invalid data: {problems[0]}"
            + (f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""),
        )
    log("  data valid")
    toc, notebooks = discover(root)
    plan = plan_executions(root, notebooks, log)
    runner = NotebookRunner(root, jobs, timeout) if plan.todo else None
    try:
        runs = execute_plan(plan, runner, notebooks, log)
    finally:
        if runner is not None:
            runner.close()
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
    """``python -m analysis build [--root DIR] [--jobs N] [--timeout S]``; the exit status.

    0 on success; 1 on a failure, whose output ends with the cause in one line
    (``BUILD FAILED: <file, notebook or extension>: <reason>``); 130 after Ctrl-C.
    """
    import argparse

    parser = argparse.ArgumentParser(prog="python -m analysis build", description=__doc__)
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="repository folder")
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument(
        "--timeout", type=float, default=None,
        help="seconds each notebook may run (default: $TRD_NOTEBOOK_TIMEOUT, else 300)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    kept = "The previous site (if any) was left unchanged."
    try:
        build(args.root, jobs=args.jobs, timeout=args.timeout)
    except BuildError as exc:
        print(str(exc), file=sys.stderr)
        print(kept, file=sys.stderr)
        print(f"BUILD FAILED: {exc.summary}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"\n{kept}", file=sys.stderr)
        print("BUILD FAILED: interrupted (Ctrl-C); kernels stopped, temporary files removed",
              file=sys.stderr)  # fmt: skip
        return INTERRUPTED
    except OSError as exc:
        where = exc.filename if exc.filename is not None else "a file of the build"
        reason = exc.strerror or str(exc)
        print(kept, file=sys.stderr)
        print(f"BUILD FAILED: {where}: {reason} ({type(exc).__name__})", file=sys.stderr)
        return 1
    return 0
