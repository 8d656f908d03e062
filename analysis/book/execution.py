"""Execute notebooks into the cache in fresh kernels forked from a warm parent; reuse the rest.

Each notebook runs in its own, new IPython kernel, from its source folder, with the repository
on ``PYTHONPATH``, as papermill would run it, but without paying Python's start-up and the
imports of numpy, pandas, scipy and matplotlib per notebook: the kernels are forked from one
warm process per build (:mod:`analysis.book.kernels`) and driven by ``nbclient``, up to
``jobs`` at a time. A kernel is never reused, so nothing one notebook does reaches another.

A hidden first cell (tagged ``remove-cell``) records the data files the notebook opens, the
data folders it lists and the ``analysis`` modules it loads (:mod:`analysis.book.tracking`);
they are kept with their hashes in the notebook's manifest, and the results it publishes
(:mod:`analysis.book.report`) are written beside the executed notebook. A template's
parameters are injected as papermill does (a cell tagged ``injected-parameters`` after the cell
tagged ``parameters``). See :mod:`analysis.book.cache` for the cache layout and the decision to
reuse an execution.

Every notebook has a time limit (:data:`DEFAULT_TIMEOUT`, ``--timeout`` or
``$TRD_NOTEBOOK_TIMEOUT``), counted from its first cell (starting the kernel has its own limit
of 60 s): past it, its kernel is killed and the build fails naming the notebook and the cell
that was running. Ctrl-C kills every kernel and the fork server and
removes the temporary folders before the interrupt goes on.

The executed notebook is what papermill writes for rendering (outputs, glue records, the
``injected-parameters`` cell), without timestamps or temporary paths, with cell ids numbered
in order and without memory addresses in plain-text reprs (:func:`without_addresses`), so that
executing the same notebook on the same data gives the same file.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
#: Seconds a notebook may run before its kernel is killed and the build fails.
DEFAULT_TIMEOUT = 300.0
#: Environment variable that sets the time limit (``--timeout`` takes precedence).
TIMEOUT_ENV = "TRD_NOTEBOOK_TIMEOUT"
#: What IPython is told about its history (as nbclient and papermill do).
KERNEL_ARGUMENTS = ["--HistoryManager.hist_file=:memory:"]


@dataclass
class Execution:
    """One notebook of a build: executed now (``executed``) or reused from the cache."""

    notebook: Notebook
    key: str
    executed: bool = False
    seconds: float = 0.0
    error: str | None = None
    #: One line: the notebook, the cell and the reason it failed.
    summary: str | None = None


def timeout_from_env(environ: dict[str, str] | None = None) -> float:
    """The time limit per notebook from ``$TRD_NOTEBOOK_TIMEOUT``, else :data:`DEFAULT_TIMEOUT`.

    Raises
    ------
    BuildError
        When the variable is not a positive number of seconds.
    """
    value = (os.environ if environ is None else environ).get(TIMEOUT_ENV, "").strip()
    if not value:
        return DEFAULT_TIMEOUT
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not seconds > 0:
        raise BuildError(f"{TIMEOUT_ENV}={value!r}: expected a positive number of seconds")
    return seconds


def prepare_notebook(root: Path, nb: Notebook) -> Any:
    """The notebook to execute: the source without outputs, the tracker cell first, the title of
    a rendered template, its parameters injected as papermill does, cell ids in order."""
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
    for cell in notebook.cells:
        cell.metadata.setdefault("tags", [])  # papermill gives every cell a tags list
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    tracker = nbformat.v4.new_code_cell(TRACKER_CELL, metadata={"tags": ["remove-cell"]})
    notebook.cells.insert(0, tracker)
    import papermill

    notebook.metadata["papermill"] = {
        "default_parameters": {},
        "parameters": dict(nb.parameters),
        "environment_variables": {},
        "version": papermill.__version__,
        "input_path": nb.source.as_posix(),
        "output_path": f"{nb.page}.ipynb",
    }
    if nb.parameters:
        from papermill.parameterize import parameterize_notebook

        notebook = parameterize_notebook(
            notebook, dict(nb.parameters), kernel_name="python3", language="python"
        )
        # The injected cell is hidden like the template's own parameters cell: a reader page
        # never shows "# Parameters" and the values papermill set.
        hide = [t for cell in notebook.cells if "parameters" in cell.metadata.get("tags", [])
                for t in cell.metadata["tags"] if t.startswith(("remove-", "hide-"))]  # fmt: skip
        for cell in notebook.cells:
            tags = cell.metadata.get("tags", [])
            if "injected-parameters" in tags:
                tags.extend(t for t in dict.fromkeys(hide) if t not in tags)
    for number, cell in enumerate(notebook.cells):
        cell["id"] = f"cell-{number}"
    return notebook


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


_ADDRESS = re.compile(r"(<[\w.]+(?: object)?) at 0x[0-9a-fA-F]+>")


def without_addresses(notebook: Any) -> int:
    """Drop memory addresses from default object reprs in plain-text outputs; return how many.

    ``<pandas.io.formats.style.Styler at 0x7f...>`` (the plain-text form of a glued table)
    becomes ``<pandas.io.formats.style.Styler>``: an address differs in every execution, so it
    would make the executed notebook, and the site that serves it, differ from build to build.
    """
    count = 0

    def clean(value: Any) -> Any:
        nonlocal count
        if isinstance(value, list):
            return [clean(v) for v in value]
        if isinstance(value, str):
            new, n = _ADDRESS.subn(r"\1>", value)
            count += n
            return new
        return value

    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            for mime in [m for m in data if m.endswith("text/plain")]:
                data[mime] = clean(data[mime])
    return count


def _source_cells(notebook: Any) -> list[Any]:
    """The code cells of the source (neither the tracker nor the injected parameters)."""
    return [
        c
        for c in notebook.cells
        if c.cell_type == "code"
        and "injected-parameters" not in c.metadata.get("tags", [])
        and c.source != TRACKER_CELL
    ]


def _where(nb: Notebook) -> str:
    extra = f" (page {nb.page}, parameters {nb.parameters})" if nb.parameters else ""
    return f"{nb.source}{extra}"


def _cell_label(notebook: Any, index: int | None) -> tuple[str, list[str]]:
    """("code cell N of the source", its source lines) for the cell at ``index``."""
    if index is None or not 0 <= index < len(notebook.cells):
        return "before its first cell (starting the kernel)", []
    cell = notebook.cells[index]
    if cell.source == TRACKER_CELL:
        return "the build's hidden tracking cell", []
    if "injected-parameters" in cell.metadata.get("tags", []):
        return "the injected parameters cell", cell.source.splitlines()
    number = next((i for i, c in enumerate(_source_cells(notebook), 1) if c is cell), None)
    return f"code cell {number} of the source", cell.source.splitlines()


def describe_failure(nb: Notebook, notebook: Any) -> tuple[str, str]:
    """(one-line summary, details) of a failed execution: the notebook, the failing cell and its
    traceback (from the error output the kernel sent)."""
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        if errors:
            err = errors[0]
            label, source = _cell_label(notebook, index)
            tb = re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(err.get("traceback", [])))
            reason = f"{err.get('ename')}: {err.get('evalue')}"
            lines = [f"notebook {_where(nb)} failed", f"in {label}:"]
            lines.extend("    " + s for s in source)
            lines.extend([reason, tb])
            return f"notebook {nb.source}, {label}: {reason}", "\n".join(lines)
    return f"notebook {nb.source} failed", f"notebook {_where(nb)} failed"


@dataclass
class Plan:
    """What a build executes (``todo``: notebook and key) and what it reuses (``reused``)."""

    reused: list[Execution]
    todo: list[tuple[Notebook, str]]
    hashes: FileHashes


def plan_executions(
    root: Path, notebooks: Sequence[Notebook], log: Callable[[str], object]
) -> Plan:
    """Decide which notebooks to execute (their cached execution is not current) and log why."""
    cache = root / CACHE_DIR
    dependencies = lock_hash(root)
    hashes = FileHashes(root)
    plan = Plan(reused=[], todo=[], hashes=hashes)
    for nb in notebooks:
        key = execution_key(root, nb, dependencies)
        reason = stale_reason(cache, nb, key, hashes)
        if reason is None:
            plan.reused.append(Execution(notebook=nb, key=key))
            log(f"  reuse    {nb.page}")
        else:
            plan.todo.append((nb, key))
            log(f"  execute  {nb.page} ({reason})")
    return plan


class NotebookRunner:
    """Runs notebooks in forked kernels on an event loop in a thread of its own.

    Creating it starts the fork server, which imports the heavy modules while the build goes on
    (validating the data); :meth:`run` waits for it. Use it as a context manager: leaving it
    kills the server and every kernel and removes the temporary folders, also on Ctrl-C. The
    loop runs outside the main thread so that Ctrl-C reaches the build as
    ``KeyboardInterrupt`` (nbclient would otherwise turn SIGINT into a kernel shutdown).

    Parameters
    ----------
    root
        Repository folder.
    jobs
        Notebooks executed at a time.
    timeout
        Seconds each notebook may run (default :func:`timeout_from_env`).
    """

    def __init__(self, root: Path, jobs: int, timeout: float | None = None) -> None:
        from analysis.book.kernels import ForkServer

        cache = root / CACHE_DIR
        cache.mkdir(parents=True, exist_ok=True)
        timeout = timeout_from_env() if timeout is None else timeout
        if not timeout > 0:
            raise BuildError(f"timeout {timeout!r}: expected a positive number of seconds")
        self.root, self.cache, self.jobs, self.timeout = root, cache, max(1, jobs), timeout
        self.base_env = dict(os.environ)
        self.base_env["TRD_DATA_DIR"] = str(root / "data")
        self.base_env["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(root), os.environ.get("PYTHONPATH")])
        )
        self.base_env.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
        for name in ("TRD_RESULTS_FILE", "TRD_READS_FILE", "TRD_IMPORTS_FILE",
                     "TRD_LISTINGS_FILE", "TRD_PAGE", "TRD_SITE_FILES"):  # fmt: skip
            self.base_env.pop(name, None)
        self.server = ForkServer(self.base_env, root, cache / "forkserver.log")
        self.loop: asyncio.AbstractEventLoop | None = None
        self.tasks: list[asyncio.Task] = []
        self.folders: set[Path] = set()

    def close(self) -> None:
        """Kill the fork server and every kernel; remove the temporary folders."""
        self.server.kill()
        self.server.close()
        for folder in list(self.folders):
            shutil.rmtree(folder, ignore_errors=True)

    def __enter__(self) -> NotebookRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run(
        self,
        todo: Sequence[tuple[Notebook, str]],
        hashes: FileHashes,
        done: Callable[[Execution], object],
    ) -> list[Execution]:
        """Execute ``todo``; ``done`` is called as each finishes. Ctrl-C stops everything."""
        results: list[Execution] = []
        failure: list[BaseException] = []

        def main() -> None:
            loop = asyncio.new_event_loop()
            self.loop = loop
            try:
                results.extend(loop.run_until_complete(self._all(todo, hashes, done)))
            except BaseException as exc:  # re-raised in the calling thread
                failure.append(exc)
            finally:
                _drain(loop)
                loop.close()

        thread = threading.Thread(target=main, name="notebooks", daemon=True)
        thread.start()
        try:
            while thread.is_alive():
                thread.join(0.2)
        except KeyboardInterrupt:
            self._cancel()
            thread.join(10)
            raise
        if failure:
            raise failure[0]
        return results

    def _cancel(self) -> None:
        loop = self.loop
        if loop is not None and not loop.is_closed():
            for task in self.tasks:
                try:
                    loop.call_soon_threadsafe(task.cancel)
                except RuntimeError:  # the loop closed meanwhile
                    break
        self.server.kill()

    async def _all(
        self,
        todo: Sequence[tuple[Notebook, str]],
        hashes: FileHashes,
        done: Callable[[Execution], object],
    ) -> list[Execution]:
        slots = asyncio.Semaphore(self.jobs)

        async def one(nb: Notebook, key: str) -> Execution:
            async with slots:
                try:
                    run = await self._execute(nb, key, hashes)
                except Exception as exc:  # a failure of the build itself, not of the notebook
                    import traceback

                    run = Execution(notebook=nb, key=key)
                    run.summary = f"notebook {nb.source}: the build could not execute it: {exc!r}"
                    run.error = f"{run.summary}\n{traceback.format_exc()}"
            done(run)
            return run

        self.tasks = [asyncio.ensure_future(one(nb, key)) for nb, key in todo]
        return list(await asyncio.gather(*self.tasks))

    async def _execute(self, nb: Notebook, key: str, hashes: FileHashes) -> Execution:
        run = Execution(notebook=nb, key=key)
        tmp_path = Path(tempfile.mkdtemp(prefix="nb-", dir=self.cache))
        self.folders.add(tmp_path)
        try:
            start = time.perf_counter()
            notebook = await self._kernel_run(nb, run, tmp_path)
            run.seconds = time.perf_counter() - start
            if run.error is None:
                self._store(nb, run, notebook, tmp_path, hashes)
        finally:
            shutil.rmtree(tmp_path, ignore_errors=True)
            self.folders.discard(tmp_path)
        return run

    async def _kernel_run(self, nb: Notebook, run: Execution, tmp_path: Path) -> Any:
        from nbclient import NotebookClient
        from nbclient.exceptions import CellExecutionError, DeadKernelError

        from analysis.book.kernels import ForkKernelManager

        notebook = await asyncio.to_thread(prepare_notebook, self.root, nb)
        cwd = (self.root / nb.source).parent
        env = dict(self.base_env)
        env["TRD_RESULTS_FILE"] = str(tmp_path / "results.json")
        env["TRD_SITE_FILES"] = str(tmp_path / "site_files.json")
        env["TRD_PAGE"] = nb.page
        env["TRD_READS_FILE"] = str(tmp_path / "reads.txt")
        env["TRD_IMPORTS_FILE"] = str(tmp_path / "imports.txt")
        env["TRD_LISTINGS_FILE"] = str(tmp_path / "listings.txt")
        kernel_log = tmp_path / "kernel.log"
        km = ForkKernelManager(self.server, kernel_log)
        running: dict[str, int | None] = {"cell": None}

        first_cell = asyncio.Event()

        def on_cell_execute(cell: Any, cell_index: int) -> None:
            running["cell"] = cell_index
            first_cell.set()

        client = NotebookClient(
            notebook, km=km, kernel_name="python3", timeout=None, startup_timeout=60,
            record_timing=False, extra_arguments=list(KERNEL_ARGUMENTS),
            on_cell_execute=on_cell_execute,
        )  # fmt: skip
        task = asyncio.ensure_future(client.async_execute(env=env, cwd=str(cwd)))
        started = asyncio.ensure_future(first_cell.wait())
        try:
            # The limit counts from the first cell: starting the kernel has nbclient's own
            # limit (startup_timeout), and a busy machine must not eat the notebook's time.
            await asyncio.wait({task, started}, return_when=asyncio.FIRST_COMPLETED)
            done, _ = await asyncio.wait({task}, timeout=self.timeout)
            if not done:  # past the limit: stop the kernel, then report the running cell
                task.cancel()
                await asyncio.wait({task})
                if not task.cancelled():
                    task.exception()  # retrieved: nbclient reports the cancel as a dead kernel
                label, source = _cell_label(notebook, running["cell"])
                reason = f"timed out after {self.timeout:g} s (the limit per notebook)"
                run.summary = f"notebook {nb.source}, {label}: {reason}"
                run.error = "\n".join(
                    [f"notebook {_where(nb)} {reason}", f"while running {label}:"]
                    + ["    " + s for s in source]
                    + [f"(set --timeout or ${TIMEOUT_ENV} to allow more time)"]
                )
            else:
                task.result()
        except CellExecutionError:
            run.summary, run.error = describe_failure(nb, notebook)
        except (DeadKernelError, RuntimeError, OSError) as exc:
            label, _ = _cell_label(notebook, running["cell"])
            reason = f"the kernel died ({type(exc).__name__}: {exc})"
            tail = []
            if kernel_log.exists():
                tail = kernel_log.read_text(errors="replace").splitlines()[-15:]
            run.summary = f"notebook {nb.source}, {label}: {reason}"
            run.error = "\n".join([f"notebook {_where(nb)}: {reason} in {label}", *tail])
        finally:
            for pending in (task, started):
                if not pending.done():
                    pending.cancel()
            await _stop(km, client)
        return notebook

    def _store(
        self, nb: Notebook, run: Execution, notebook: Any, tmp_path: Path, hashes: FileHashes
    ) -> None:
        import nbformat

        root = self.root
        try:
            data_reads = recorded_reads(tmp_path / "reads.txt", root, hashes)
            code_reads = recorded_reads(tmp_path / "imports.txt", root, hashes)
        except BuildError as exc:
            run.error = f"notebook {nb.source} (page {nb.page}): {exc}"
            run.summary = f"notebook {nb.source}: {exc}"
            return
        if not code_reads:
            run.summary = f"notebook {nb.source}: no analysis module was recorded"
            run.error = (
                f"notebook {nb.source} (page {nb.page}): no analysis module was recorded, so "
                "the tracking cell did not run and the cache could not tell when to re-run it"
            )
            return
        out_dir = self.cache / nb.slug
        out_dir.mkdir(parents=True, exist_ok=True)
        for old in out_dir.iterdir():  # keep only the current version of this notebook
            old.unlink()
        without_addresses(notebook)
        nbformat.write(notebook, out_dir / "executed.ipynb")
        results = tmp_path / "results.json"
        result_records = json.loads(results.read_text()) if results.exists() else []
        (out_dir / "results.json").write_text(json.dumps(result_records, indent=1))
        site_files = tmp_path / "site_files.json"
        if site_files.exists():  # files the page published at the site root (report.py)
            (out_dir / "site_files.json").write_bytes(site_files.read_bytes())
        manifest = {
            "key": run.key,
            "data_reads": data_reads,
            "data_listings": recorded_listings(tmp_path / "listings.txt", root),
            "code_reads": code_reads,
            "seconds": round(run.seconds, 2),
        }
        (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=1))
        run.executed = True


def _drain(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel and finish what nbclient left running (its kernel-alive polls after a cancel)."""
    pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    loop.run_until_complete(loop.shutdown_asyncgens())


async def _stop(km: Any, client: Any) -> None:
    """Kill the kernel at once (its work is done or failed) and close the client's channels."""
    try:
        if km.has_kernel:
            await km.shutdown_kernel(now=True)
    except Exception:  # noqa: BLE001 - a kernel that is already gone
        pass
    kc = getattr(client, "kc", None)
    if kc is not None:
        try:
            kc.stop_channels()
        except Exception:  # noqa: BLE001
            pass


def execute_plan(
    plan: Plan,
    runner: NotebookRunner | None,
    notebooks: Sequence[Notebook],
    log: Callable[[str], object],
) -> list[Execution]:
    """Execute ``plan.todo`` with ``runner`` (None when there is nothing to execute).

    Returns
    -------
    list of Execution
        One per notebook, in the order of ``notebooks``.

    Raises
    ------
    BuildError
        When a notebook fails or runs out of time; the message names each failing notebook,
        cell and traceback, and its ``summary`` the first in one line.
    KeyboardInterrupt
        On Ctrl-C, after every kernel was killed (leaving ``runner`` removes the folders).
    """
    runs = list(plan.reused)
    if plan.todo:
        if runner is None:
            raise BuildError("notebooks to execute but no runner")
        log(f"  executing {len(plan.todo)} notebook(s) with {runner.jobs} worker(s)")

        def done(run: Execution) -> None:
            status = "FAILED " if run.error else "executed"
            log(f"  {status} {run.notebook.page} ({run.seconds:.1f} s)")

        runs.extend(runner.run(plan.todo, plan.hashes, done))
    failures = [r for r in runs if r.error]
    if failures:
        first = failures[0].summary or f"notebook {failures[0].notebook.source} failed"
        more = f" (and {len(failures) - 1} more notebook(s))" if len(failures) > 1 else ""
        raise BuildError("\n\n".join(r.error for r in failures if r.error), summary=first + more)
    order = {nb.page: i for i, nb in enumerate(notebooks)}
    return sorted(runs, key=lambda r: order[r.notebook.page])


def execute_all(
    root: Path,
    notebooks: Sequence[Notebook],
    jobs: int,
    log: Callable[[str], object],
    timeout: float | None = None,
) -> list[Execution]:
    """Execute the notebooks whose cached execution is not current; reuse the others.

    :func:`plan_executions`, then :func:`execute_plan` with a :class:`NotebookRunner` of
    ``jobs`` workers and a limit of ``timeout`` seconds per notebook (default
    :func:`timeout_from_env`).

    Returns
    -------
    list of Execution
        One per notebook, in the order of ``notebooks``.

    Raises
    ------
    BuildError
        When a notebook fails or runs out of time.
    KeyboardInterrupt
        On Ctrl-C, after every kernel was killed and the temporary folders removed.
    """
    plan = plan_executions(root, notebooks, log)
    if not plan.todo:
        return execute_plan(plan, None, notebooks, log)
    with NotebookRunner(root, jobs, timeout) as runner:
        return execute_plan(plan, runner, notebooks, log)
