"""Execute notebooks with papermill into the cache, reusing current cached executions.

Each notebook runs in its own papermill process (a fresh kernel), from its source folder, with
the repository on ``PYTHONPATH``. A hidden first cell (tagged ``remove-cell``) records the data
files the notebook opens and the ``analysis`` modules it loads (:mod:`analysis.book.tracking`);
they are kept with their hashes in the notebook's manifest, and the results it publishes
(:mod:`analysis.book.report`) are written beside the executed notebook. See
:mod:`analysis.book.cache` for the cache layout and the decision to reuse an execution.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import yaml

from analysis.book.cache import (
    CACHE_DIR,
    FileHashes,
    execution_key,
    listing_digest,
    lock_hash,
    stale_reason,
)
from analysis.book.discovery import Notebook
from analysis.book.errors import BuildError

#: The hidden first cell of every executed notebook.
TRACKER_CELL = "import analysis.book.tracking as _trd_tracking\n_trd_tracking.track_reads()"


@dataclass
class Execution:
    """One notebook of a build: executed now (``executed``) or reused from the cache."""

    notebook: Notebook
    key: str
    executed: bool = False
    seconds: float = 0.0
    error: str | None = None


def _as_ipynb(root: Path, nb: Notebook, dest: Path) -> None:
    """Write the notebook source as an output-free ``.ipynb`` (papermill's input)."""
    import jupytext
    import nbformat

    path = root / nb.source
    notebook = jupytext.read(path, fmt="md:myst" if path.suffix == ".md" else None)
    notebook.metadata.pop("jupytext", None)
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    if nb.title:
        for cell in notebook.cells:
            if cell.cell_type == "markdown" and re.search(r"^# ", cell.source, re.M):
                cell.source = re.sub(r"^# .*$", f"# {nb.title}", cell.source, count=1, flags=re.M)
                break
    tracker = nbformat.v4.new_code_cell(TRACKER_CELL, metadata={"tags": ["remove-cell"]})
    notebook.cells.insert(0, tracker)
    nbformat.write(notebook, dest)


def recorded_reads(listing: Path, root: Path, hashes: FileHashes) -> dict[str, str]:
    """The files a tracker listed (absolute paths, one a line), relative to ``root``, hashed.

    Files that no longer exist are left out.

    Raises
    ------
    BuildError
        When a listed file is outside ``root`` (the notebook loaded another copy of the code).
    """
    lines = set(listing.read_text(encoding="utf-8").splitlines()) if listing.exists() else set()
    reads: dict[str, str] = {}
    for line in sorted(lines - {""}):
        path = Path(line)
        try:
            rel = path.relative_to(root).as_posix()
        except ValueError:
            raise BuildError(f"{path} was read from outside the repository {root}") from None
        digest = hashes(rel)
        if digest is not None:
            reads[rel] = digest
    return reads


def recorded_listings(listing: Path, root: Path) -> dict[str, str]:
    """The data folders a tracker listed (absolute paths, one a line), with their entries' hash.

    Paths are made relative to ``root``; folders outside it are left out (the tracker only
    records folders under the data folder).
    """
    lines = set(listing.read_text(encoding="utf-8").splitlines()) if listing.exists() else set()
    listed: dict[str, str] = {}
    for line in sorted(lines - {""}):
        try:
            rel = Path(line).relative_to(root).as_posix()
        except ValueError:
            continue
        listed[rel] = listing_digest(root / rel)
    return listed


def _execute(root: Path, nb: Notebook, key: str, cache: Path, hashes: FileHashes) -> Execution:
    run = Execution(notebook=nb, key=key)
    out_dir = cache / nb.slug
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="nb-", dir=cache) as tmp:
        tmp_path = Path(tmp)
        src = tmp_path / "input.ipynb"
        _as_ipynb(root, nb, src)
        executed = tmp_path / "executed.ipynb"
        results = tmp_path / "results.json"
        reads = tmp_path / "reads.txt"
        imports = tmp_path / "imports.txt"
        listings = tmp_path / "listings.txt"
        params = tmp_path / "parameters.yml"
        params.write_text(yaml.safe_dump(nb.parameters), encoding="utf-8")
        env = dict(os.environ)
        env["TRD_RESULTS_FILE"] = str(results)
        env["TRD_DATA_DIR"] = str(root / "data")
        env["TRD_PAGE"] = nb.page
        env["TRD_READS_FILE"] = str(reads)
        env["TRD_IMPORTS_FILE"] = str(imports)
        env["TRD_LISTINGS_FILE"] = str(listings)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), env.get("PYTHONPATH")]))
        env.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
        cmd = [
            sys.executable, "-m", "papermill", str(src), str(executed),
            "-f", str(params), "--cwd", str((root / nb.source).parent),
            "-k", "python3", "--no-progress-bar", "--log-level", "WARNING",
        ]  # fmt: skip
        start = time.perf_counter()
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
        run.seconds = time.perf_counter() - start
        if proc.returncode != 0:
            run.error = _describe_failure(nb, executed, proc.stderr)
            return run
        try:
            data_reads = recorded_reads(reads, root, hashes)
            code_reads = recorded_reads(imports, root, hashes)
        except BuildError as exc:
            run.error = f"notebook {nb.source} (page {nb.page}): {exc}"
            return run
        if not code_reads:
            run.error = (
                f"notebook {nb.source} (page {nb.page}): no analysis module was recorded, so "
                "the tracking cell did not run and the cache could not tell when to re-run it"
            )
            return run
        for old in out_dir.iterdir():  # keep only the current version of this notebook
            old.unlink()
        shutil.move(executed, out_dir / "executed.ipynb")
        result_records = json.loads(results.read_text()) if results.exists() else []
        (out_dir / "results.json").write_text(json.dumps(result_records, indent=1))
        manifest = {
            "key": key,
            "data_reads": data_reads,
            "data_listings": recorded_listings(listings, root),
            "code_reads": code_reads,
            "seconds": round(run.seconds, 2),
        }
        (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=1))
    run.executed = True
    return run


def _describe_failure(nb: Notebook, executed: Path, stderr: str) -> str:
    """Name the notebook, the failing cell and its traceback."""
    where = f"{nb.source}" + (
        f" (page {nb.page}, parameters {nb.parameters})" if nb.parameters else ""
    )
    lines = [f"notebook {where} failed"]
    if executed.exists():
        import nbformat

        try:
            notebook = nbformat.read(executed, as_version=4)
        except Exception:  # pragma: no cover - papermill always writes a readable file
            notebook = None
        code_cells = [
            c
            for c in (notebook.cells if notebook else [])
            if c.cell_type == "code"
            and "injected-parameters" not in c.metadata.get("tags", [])
            and c.source != TRACKER_CELL
        ]
        for number, cell in enumerate(code_cells, start=1):
            errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
            if errors:
                err = errors[0]
                tb = "\n".join(err.get("traceback", []))
                tb = re.sub(r"\x1b\[[0-9;]*m", "", tb)
                lines.append(f"in code cell {number} of the source:")
                lines.extend("    " + s for s in cell.source.splitlines())
                lines.append(f"{err.get('ename')}: {err.get('evalue')}")
                lines.append(tb)
                break
    tail = [s for s in stderr.strip().splitlines() if s.strip()][-15:]
    if len(lines) == 1:
        lines.extend(tail)
    return "\n".join(lines)


def execute_all(
    root: Path, notebooks: Sequence[Notebook], jobs: int, log: Callable[[str], object]
) -> list[Execution]:
    """Execute the notebooks whose cached execution is not current; reuse the others.

    Parameters
    ----------
    root
        Repository folder.
    notebooks
        The notebooks of the book, in table-of-contents order.
    jobs
        Notebooks executed in parallel.
    log
        Receives one line per notebook: reused, or why it is executed and how long it took.

    Returns
    -------
    list of Execution
        One per notebook, in the order of ``notebooks``.

    Raises
    ------
    BuildError
        When a notebook fails; the message names each failing notebook, cell and traceback.
    """
    cache = root / CACHE_DIR
    cache.mkdir(parents=True, exist_ok=True)
    dependencies = lock_hash(root)
    hashes = FileHashes(root)
    runs: list[Execution] = []
    todo: list[tuple[Notebook, str]] = []
    for nb in notebooks:
        key = execution_key(root, nb, dependencies)
        reason = stale_reason(cache, nb, key, hashes)
        if reason is None:
            runs.append(Execution(notebook=nb, key=key))
            log(f"  reuse    {nb.page}")
        else:
            todo.append((nb, key))
            log(f"  execute  {nb.page} ({reason})")
    if todo:
        log(f"  executing {len(todo)} notebook(s) with {jobs} worker(s)")

    def one(item: tuple[Notebook, str]) -> Execution:
        nb, key = item
        run = _execute(root, nb, key, cache, hashes)
        status = "FAILED " if run.error else "executed"
        log(f"  {status} {nb.page} ({run.seconds:.1f} s)")
        return run

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        runs.extend(pool.map(one, todo))
    failures = [r for r in runs if r.error]
    if failures:
        raise BuildError("\n\n".join(r.error for r in failures if r.error))
    order = {nb.page: i for i, nb in enumerate(notebooks)}
    return sorted(runs, key=lambda r: order[r.notebook.page])
