"""Build the book: validate the data, execute what changed, render, publish atomically.

The pipeline, run by ``python -m analysis build`` (``make book``):

1. **Validate** ``data/`` with :func:`analysis.data.validate`. Any problem stops the build
   before anything is executed or published.
2. **Discover** the notebooks listed in ``_toc.yml``. A page is a notebook when it is an
   output-free ``.ipynb`` or a MyST Markdown notebook (a ``.md`` file whose front matter has a
   ``kernelspec``). A notebook with a YAML file of the same stem beside it (``explorer.md`` +
   ``explorer.yml``) is a *template*: it is rendered once per entry of that file's ``pages``
   list, with those papermill parameters, and the table of contents entry of the template is
   replaced by the rendered pages.
3. **Execute** with papermill into the cache ``_build/.cache``, keyed by a SHA-256 of the
   notebook text, its parameters and every file of the ``analysis`` package, plus an exact
   record of the data files it read when it last ran (with their hashes). A notebook is
   reused, not run, when its key matches and none of the data files it read has changed.
   Each execution writes the results it publishes (see :mod:`analysis.book.report`) beside it.
4. **Stage** a source tree in ``_build/.stage/src`` (the executed notebooks replace their
   sources; files are only rewritten when their content changed, so Sphinx re-reads only what
   changed). Every page that glues from a re-executed notebook (``{glue:text}`nb::key```) is
   touched too, so Sphinx re-reads it: a data change reaches every page that depends on it.
5. **Render** with Jupyter Book (its own execution off), warnings as errors.
6. **Publish**: copy the rendered site to a temporary folder beside ``_build/html`` and swap it
   in only when every step succeeded. A failed build leaves the previous site untouched.

The site gets ``results.json``/``results.csv`` (every pooled estimate the book shows, under a
stable id) and the data files under ``data/``.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import yaml

CACHE_DIR = Path("_build/.cache")
STAGE_DIR = Path("_build/.stage")
SITE_DIR = Path("_build/html")
REPORT_FILE = Path("_build/build-report.json")

#: Files and folders of the repository that the staged source tree needs besides the pages.
STAGED_EXTRAS = ("_static", "_templates")
#: Bump to invalidate every cached execution when the way notebooks are executed changes.
PIPELINE_VERSION = "1"
GLUE_REF = re.compile(r"\{glue(?::\w+)?\}`([^`]+?)::")


class BuildError(RuntimeError):
    """A build step failed; the message says which file and why."""


@dataclass(frozen=True)
class Notebook:
    """One page that is executed: a notebook source, or one rendering of a template."""

    page: str  # docname in the book, e.g. "chapters/trd/explorer-min2"
    source: Path  # the notebook source file (relative to the root)
    parameters: dict = field(default_factory=dict)
    title: str | None = None  # replaces the first H1 of a rendered template

    @property
    def slug(self) -> str:
        return self.page.replace("/", "__")


@dataclass
class Execution:
    notebook: Notebook
    key: str
    executed: bool = False
    seconds: float = 0.0
    error: str | None = None


# --------------------------------------------------------------------------- discovery


def _front_matter(text: str) -> dict:
    if not text.startswith("---"):
        return {}
    end = text.find("\n---", 3)
    if end < 0:
        return {}
    try:
        return yaml.safe_load(text[3:end]) or {}
    except yaml.YAMLError:
        return {}


def is_notebook(path: Path) -> bool:
    """Whether ``path`` is a notebook source (``.ipynb`` or MyST Markdown notebook)."""
    if path.suffix == ".ipynb":
        return True
    if path.suffix == ".md":
        return "kernelspec" in _front_matter(path.read_text(encoding="utf-8"))
    return False


def _toc_files(toc: dict) -> list[str]:
    files: list[str] = []

    def walk(node):
        if isinstance(node, dict):
            for key in ("root", "file"):
                if key in node and isinstance(node[key], str):
                    files.append(node[key])
            for value in node.values():
                if isinstance(value, list | dict):
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(toc)
    return files


def resolve_page(root: Path, docname: str) -> Path:
    """Return the source file of a table-of-contents entry."""
    base = docname[:-3] if docname.endswith((".md", ".ipynb")) else docname
    for suffix in (".md", ".ipynb"):
        candidate = root / f"{base}{suffix}"
        if candidate.exists():
            return candidate
    raise BuildError(f"_toc.yml lists {docname!r} but no {base}.md or {base}.ipynb exists")


def template_pages(root: Path, source: Path, docname: str) -> list[Notebook] | None:
    """Expand a parameterised template, or return None when ``source`` is not one."""
    spec_path = source.with_suffix(".yml")
    if not spec_path.exists():
        return None
    spec = yaml.safe_load(spec_path.read_text(encoding="utf-8")) or {}
    pages = spec.get("pages")
    if not isinstance(pages, list) or not pages:
        raise BuildError(f"{spec_path.relative_to(root)}: expected a non-empty 'pages' list")
    folder = docname.rsplit("/", 1)[0] if "/" in docname else ""
    out = []
    for i, entry in enumerate(pages, start=1):
        if not isinstance(entry, dict) or "name" not in entry:
            raise BuildError(f"{spec_path.relative_to(root)}: page {i} needs a 'name'")
        name = str(entry["name"])
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", name):
            raise BuildError(
                f"{spec_path.relative_to(root)}: page {i} name {name!r} must be lowercase "
                "letters, digits and hyphens"
            )
        page = f"{folder}/{name}" if folder else name
        out.append(
            Notebook(
                page=page,
                source=source.relative_to(root),
                parameters=dict(entry.get("parameters") or {}),
                title=entry.get("title"),
            )
        )
    return out


def discover(root: Path) -> tuple[dict, list[Notebook]]:
    """Read ``_toc.yml``, expand templates and return (expanded toc, notebooks)."""
    toc_path = root / "_toc.yml"
    if not toc_path.exists():
        raise BuildError("_toc.yml is missing")
    toc = yaml.safe_load(toc_path.read_text(encoding="utf-8"))
    notebooks: list[Notebook] = []

    def expand(node):
        if isinstance(node, list):
            out = []
            for item in node:
                out.extend(expand_entry(item))
            return out
        if isinstance(node, dict):
            return {k: expand(v) if isinstance(v, list | dict) else v for k, v in node.items()}
        return node

    def expand_entry(item):
        if isinstance(item, dict) and isinstance(item.get("file"), str):
            source = resolve_page(root, item["file"])
            if is_notebook(source):
                rendered = template_pages(root, source, item["file"])
                if rendered is not None:
                    notebooks.extend(rendered)
                    return [{"file": nb.page} for nb in rendered]
                notebooks.append(Notebook(page=item["file"], source=source.relative_to(root)))
            return [expand(item)]
        return [expand(item)]

    if isinstance(toc.get("root"), str):
        source = resolve_page(root, toc["root"])
        if is_notebook(source):
            notebooks.append(Notebook(page=toc["root"], source=source.relative_to(root)))
    expanded = expand(toc)
    return expanded, notebooks


# --------------------------------------------------------------------------- hashing


def _hash_files(paths: Iterable[Path], root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def code_hash(root: Path) -> str:
    """Hash of the ``analysis`` package: a code change re-executes every notebook."""
    code = [p for p in (root / "analysis").rglob("*.py") if "__pycache__" not in p.parts]
    return _hash_files(code, root)


def execution_key(root: Path, nb: Notebook, analysis_hash: str) -> str:
    """Key of a notebook's own inputs: its text, parameters, title and the analysis code.

    The data files a notebook reads are recorded when it runs (see :func:`data_reads_current`)
    rather than hashed up front, so a notebook that reads no data is not re-run when
    ``data/`` changes, and one that reads ``outcomes.csv`` only is re-run when that file does.
    """
    digest = hashlib.sha256(PIPELINE_VERSION.encode())
    digest.update((root / nb.source).read_bytes())
    digest.update(json.dumps(nb.parameters, sort_keys=True, default=str).encode())
    digest.update(json.dumps(nb.title).encode())
    digest.update(analysis_hash.encode())
    return digest.hexdigest()[:20]


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def data_reads_current(root: Path, reads: dict[str, str]) -> bool:
    """Whether every data file a notebook read still has the content it read."""
    for rel, digest in reads.items():
        path = root / rel
        if not path.is_file() or file_digest(path) != digest:
            return False
    return True


# --------------------------------------------------------------------------- execution


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
    tracker = nbformat.v4.new_code_cell(
        "import analysis.book.report as _trd_report\n_trd_report.track_data_reads()",
        metadata={"tags": ["remove-cell"]},
    )
    notebook.cells.insert(0, tracker)
    nbformat.write(notebook, dest)


def _execute(root: Path, nb: Notebook, key: str, cache: Path) -> Execution:
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
        params = tmp_path / "parameters.yml"
        params.write_text(yaml.safe_dump(nb.parameters), encoding="utf-8")
        env = dict(os.environ)
        env["TRD_RESULTS_FILE"] = str(results)
        env["TRD_DATA_DIR"] = str(root / "data")
        env["TRD_PAGE"] = nb.page
        env["TRD_READS_FILE"] = str(reads)
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
        read_paths = set(reads.read_text().split("\n")) - {""} if reads.exists() else set()
        data_reads = {}
        for read in sorted(read_paths):
            path = Path(read)
            if path.is_file():
                data_reads[path.relative_to(root).as_posix()] = file_digest(path)
        for old in out_dir.iterdir():  # keep only the current version of this notebook
            old.unlink()
        shutil.move(executed, out_dir / "executed.ipynb")
        result_records = json.loads(results.read_text()) if results.exists() else []
        (out_dir / "results.json").write_text(json.dumps(result_records, indent=1))
        manifest = {"key": key, "data_reads": data_reads, "seconds": round(run.seconds, 2)}
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
            and not c.source.startswith("import analysis.book.report as _trd_report")
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


def execute_all(root: Path, notebooks: Sequence[Notebook], jobs: int, log) -> list[Execution]:
    cache = root / CACHE_DIR
    cache.mkdir(parents=True, exist_ok=True)
    analysis_hash = code_hash(root)
    runs: list[Execution] = []
    todo: list[tuple[Notebook, str]] = []
    for nb in notebooks:
        key = execution_key(root, nb, analysis_hash)
        manifest_path = cache / nb.slug / "manifest.json"
        manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
        if (
            manifest.get("key") == key
            and (cache / nb.slug / "executed.ipynb").exists()
            and data_reads_current(root, manifest.get("data_reads", {}))
        ):
            runs.append(Execution(notebook=nb, key=key))
            log(f"  reuse    {nb.page}")
        else:
            todo.append((nb, key))
    if todo:
        log(f"  executing {len(todo)} notebook(s) with {jobs} worker(s)")

    def one(item):
        nb, key = item
        run = _execute(root, nb, key, cache)
        status = "FAILED " if run.error else "executed"
        log(f"  {status} {nb.page} ({run.seconds:.1f} s)")
        return run

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        runs.extend(pool.map(one, todo))
    failures = [r for r in runs if r.error]
    if failures:
        raise BuildError("\n\n".join(r.error for r in failures))
    order = {nb.page: i for i, nb in enumerate(notebooks)}
    return sorted(runs, key=lambda r: order[r.notebook.page])


# --------------------------------------------------------------------------- staging


def _write_if_changed(dest: Path, content: bytes) -> bool:
    if dest.exists() and dest.read_bytes() == content:
        return False
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(content)
    return True


def collect_results(root: Path, runs: Sequence[Execution], data_version: str) -> list[dict]:
    records: list[dict] = []
    seen: dict[str, str] = {}
    for run in runs:
        path = root / CACHE_DIR / run.notebook.slug / "results.json"
        for rec in json.loads(path.read_text()) if path.exists() else []:
            rid = rec["id"]
            if rid in seen and seen[rid] != run.notebook.page:
                # The same estimate may be shown on several pages; keep the first.
                continue
            if rid in seen:
                continue
            seen[rid] = run.notebook.page
            records.append({**rec, "page": run.notebook.page, "data_version": data_version})
    return sorted(records, key=lambda r: r["id"])


RESULT_COLUMNS = [
    "id", "label", "outcome", "measure", "scale", "estimate", "ci_low", "ci_high",
    "pi_low", "pi_high", "se", "p", "tau2", "i2", "k", "participants", "method", "hksj",
    "studies", "page", "data_version",
]  # fmt: skip


def write_results(records: list[dict], folder: Path, meta: dict) -> None:
    payload = {"meta": meta, "results": records}
    _write_if_changed(folder / "results.json", json.dumps(payload, indent=1).encode())
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=RESULT_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for rec in records:
        row = dict(rec)
        if isinstance(row.get("studies"), list):
            row["studies"] = "; ".join(map(str, row["studies"]))
        writer.writerow(row)
    _write_if_changed(folder / "results.csv", buf.getvalue().encode())


def _git_commit(root: Path) -> str:
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short=10", "HEAD"],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def stage(
    root: Path, toc: dict, runs: Sequence[Execution], records: list[dict], meta: dict, log
) -> Path:
    """Write the source tree that Jupyter Book renders; return its folder."""
    src = root / STAGE_DIR / "src"
    src.mkdir(parents=True, exist_ok=True)
    wanted: set[Path] = set()

    def put(rel: str | Path, content: bytes) -> bool:
        rel = Path(rel)
        wanted.add(rel)
        return _write_if_changed(src / rel, content)

    # Configuration: the repository's, plus the footer with versions and the extra files.
    config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))
    html = config.setdefault("html", {})
    html["extra_footer"] = (
        f'<p class="build-info">Data version {meta["data_semver"]} '
        f"(<code>{meta['data_version']}</code>, last search {meta['last_search']}) · "
        f"built {meta['build_date']} · code <code>{meta['commit']}</code> · "
        f"text CC BY 4.0, data CC0 1.0, code MIT</p>"
    )
    sconf = config.setdefault("sphinx", {}).setdefault("config", {})
    extra = list(sconf.get("html_extra_path", []))
    if "_extra" not in extra:
        extra.append("_extra")
    sconf["html_extra_path"] = extra
    put("_config.yml", yaml.safe_dump(config, sort_keys=False, allow_unicode=True).encode())
    put("_toc.yml", yaml.safe_dump(toc, sort_keys=False, allow_unicode=True).encode())

    executed_pages = {r.notebook.page for r in runs if r.executed}
    notebook_sources = {(root / r.notebook.source).resolve() for r in runs}

    # Pages: executed notebooks replace their sources; other files are copied.
    for run in runs:
        path = root / CACHE_DIR / run.notebook.slug / "executed.ipynb"
        put(f"{run.notebook.page}.ipynb", path.read_bytes())
    for folder in ["chapters", *STAGED_EXTRAS]:
        base = root / folder
        if not base.exists():
            continue
        for path in base.rglob("*"):
            if not path.is_file() or "__pycache__" in path.parts:
                continue
            if (
                path.resolve() in notebook_sources
                or path.name.endswith(".yml")
                and path.with_suffix(".md").resolve() in notebook_sources
            ):
                continue
            rel = path.relative_to(root)
            content = path.read_bytes()
            changed = put(rel, content)
            if (
                not changed
                and path.suffix == ".md"
                and _depends_on(content.decode("utf-8", "replace"), rel, executed_pages)
            ):
                os.utime(src / rel)  # re-read by Sphinx: it glues from a re-executed page
                log(f"  re-read  {rel.with_suffix('')} (glues from a re-executed notebook)")
    # The index page at the root, if any, and the bibliography.
    for name in ("index.md", "intro.md"):
        if (root / name).exists() and (root / name).resolve() not in notebook_sources:
            put(name, (root / name).read_bytes())
    for path in sorted((root / "data").glob("*")):
        if path.is_file():
            put(Path("data") / path.name, path.read_bytes())
            put(Path("_extra/data") / path.name, path.read_bytes())
    extra_dir = src / "_extra"
    write_results(records, extra_dir, meta)
    wanted.update({Path("_extra/results.json"), Path("_extra/results.csv")})

    # Remove what is no longer part of the book (e.g. a deleted page).
    for path in sorted(src.rglob("*"), reverse=True):
        rel = path.relative_to(src)
        if rel.parts and rel.parts[0] == "_build":
            continue
        if path.is_file() and rel not in wanted:
            path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()
    return src


def tree_fingerprint(folder: Path) -> str:
    """Hash of the paths, sizes and modification times of every file under ``folder``."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        stat = path.stat()
        digest.update(f"{path.relative_to(folder)}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def _depends_on(text: str, rel: Path, changed_pages: set[str]) -> bool:
    for ref in GLUE_REF.findall(text):
        target = (rel.parent / ref).as_posix()
        target = os.path.normpath(target).replace(os.sep, "/")
        for suffix in (".ipynb", ".md"):
            if target.endswith(suffix):
                target = target[: -len(suffix)]
        if target in changed_pages:
            return True
    return False


# --------------------------------------------------------------------------- render, publish


def render(root: Path, src: Path, log) -> Path:
    out = root / STAGE_DIR / "out"
    cmd = [
        str(Path(sys.executable).with_name("jupyter-book")), "build", str(src),
        "--path-output", str(out), "-W", "--keep-going", "-q",
    ]  # fmt: skip
    start = time.perf_counter()
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")])),
    )
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - start
    output = (proc.stdout + "\n" + proc.stderr).strip()
    problems = [ln for ln in output.splitlines() if "WARNING" in ln or "ERROR" in ln]
    html = out / "_build" / "html"
    if proc.returncode != 0 or problems or not (html / "index.html").exists():
        # Drop Sphinx's cache: an incremental rebuild would not repeat these warnings.
        shutil.rmtree(out, ignore_errors=True)
        detail = "\n".join(problems) or "\n".join(output.splitlines()[-30:])
        raise BuildError(f"Jupyter Book reported problems (warnings are errors):\n{detail}")
    log(f"  rendered the site with Jupyter Book ({seconds:.1f} s)")
    return html


def publish(root: Path, html: Path) -> Path:
    """Replace ``_build/html`` with ``html`` in one rename; the old site stays until then."""
    site = root / SITE_DIR
    site.parent.mkdir(parents=True, exist_ok=True)
    fresh = Path(tempfile.mkdtemp(prefix="html.new-", dir=site.parent))
    shutil.rmtree(fresh)
    shutil.copytree(html, fresh)
    old = None
    if site.exists():
        old = Path(tempfile.mkdtemp(prefix="html.old-", dir=site.parent))
        shutil.rmtree(old)
        site.rename(old)
    fresh.rename(site)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return site


# --------------------------------------------------------------------------- entry point


def data_metadata(root: Path) -> dict:
    from analysis.evidence import data_version

    version_file = root / "data" / "version.yml"
    info = yaml.safe_load(version_file.read_text(encoding="utf-8")) if version_file.exists() else {}
    return {
        "data_version": data_version(root / "data"),
        "data_semver": str(info.get("version", "unversioned")),
        "last_search": str(info.get("last_search", "unknown")),
        "build_date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d"),
        "commit": _git_commit(root),
    }


def build(root: Path, jobs: int = 2, log=print) -> dict:
    """Run the whole pipeline; return a report (raise :class:`BuildError` on failure)."""
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
