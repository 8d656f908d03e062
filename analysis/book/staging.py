"""Stage the source tree that Jupyter Book renders, rewriting only what changed.

Executed notebooks replace their sources; other files of ``chapters/`` (and
:data:`STAGED_EXTRAS`) are copied; files are only rewritten when their content changed, so
Sphinx re-reads only what changed. Every page that glues from a re-executed notebook
(``{glue:text}`nb::key```) is touched too, so that Sphinx re-reads it: a data change reaches
every page that depends on it.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path

import yaml

from analysis.book import package
from analysis.book.cache import CACHE_DIR
from analysis.book.execution import Execution
from analysis.book.html import escape
from analysis.book.results import collect_site_files, results_csv, results_json

STAGE_DIR = Path("_build/.stage")
#: Files and folders of the repository that the staged source tree needs besides the pages.
STAGED_EXTRAS = ("_static", "_templates")
GLUE_REF = re.compile(r"\{glue(?::\w+)?\}`([^`]+?)::")


def write_if_changed(dest: Path, content: bytes) -> bool:
    """Write ``content`` to ``dest`` unless it already holds it; return whether it wrote."""
    if dest.exists() and dest.read_bytes() == content:
        return False
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(content)
    return True


def stage(
    root: Path,
    toc: dict,
    runs: Sequence[Execution],
    records: list[dict],
    meta: dict,
    log: Callable[[str], object],
) -> Path:
    """Write the source tree that Jupyter Book renders; return its folder."""
    src = root / STAGE_DIR / "src"
    src.mkdir(parents=True, exist_ok=True)
    wanted: set[Path] = set()

    def put(rel: str | Path, content: bytes) -> bool:
        rel = Path(rel)
        wanted.add(rel)
        return write_if_changed(src / rel, content)

    # Configuration: the repository's, plus the footer with versions and the extra files.
    config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))
    html = config.setdefault("html", {})
    m = {k: escape(v) for k, v in meta.items()}  # footer is raw HTML: escape data values
    html["extra_footer"] = (
        f'<p class="build-info">Data version {m["data_semver"]} '
        f"(<code>{m['data_version']}</code>, last search {m['last_search']}) · "
        f"built {m['build_date']} · code <code>{m['commit']}</code> · "
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

    # Pages: executed notebooks replace their sources (without the build's tracking cell: the
    # site offers them for download, see analysis.book.package); other files are copied.
    for run in runs:
        path = root / CACHE_DIR / run.notebook.slug / "executed.ipynb"
        put(f"{run.notebook.page}.ipynb", package.clean_notebook(path.read_bytes()))
    for folder in ["chapters", *STAGED_EXTRAS]:
        base = root / folder
        if not base.exists():
            continue
        for path in base.rglob("*"):
            if not path.is_file() or "__pycache__" in path.parts:
                continue
            # A template's .yml and the .ipynb paired with a .md notebook (for Binder and Colab)
            # are not pages: the executed notebook is.
            if (
                path.resolve() in notebook_sources
                or path.suffix in (".yml", ".ipynb")
                and path.with_suffix(".md").resolve() in notebook_sources
            ):
                continue
            rel = path.relative_to(root)
            content = path.read_bytes()
            changed = put(rel, content)
            if (
                not changed
                and path.suffix == ".md"
                and depends_on(content.decode("utf-8", "replace"), rel, executed_pages)
            ):
                os.utime(src / rel)  # re-read by Sphinx: it glues from a re-executed page
                log(f"  re-read  {rel.with_suffix('')} (glues from a re-executed notebook)")
    # The index page at the root, if any, and the bibliography.
    for name in ("index.md", "intro.md"):
        if (root / name).exists() and (root / name).resolve() not in notebook_sources:
            put(name, (root / name).read_bytes())
    # Every data file, sub-folders included (the participant-level datasets of data/ipd/), is
    # staged for the pages and offered for download under data/ on the site.
    for path in sorted((root / "data").rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            rel = path.relative_to(root / "data")
            put(Path("data") / rel, path.read_bytes())
            put(Path("_extra/data") / rel, path.read_bytes())
    put("_extra/results.json", results_json(records, meta))
    put("_extra/results.csv", results_csv(records))
    # Data files pages computed for the site (analysis.book.report.write_site_file).
    for name, content in collect_site_files(root, runs).items():
        put(Path("_extra") / name, content)
    # The package with a snapshot of data/, for the teaching notebooks (analysis.book.package).
    for rel, content in package.site_files(root, log).items():
        put(rel, content)

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


def depends_on(text: str, rel: Path, changed_pages: set[str]) -> bool:
    """Whether the page ``rel`` with source ``text`` glues from one of ``changed_pages``."""
    for ref in GLUE_REF.findall(text):
        target = (rel.parent / ref).as_posix()
        target = os.path.normpath(target).replace(os.sep, "/")
        for suffix in (".ipynb", ".md"):
            if target.endswith(suffix):
                target = target[: -len(suffix)]
        if target in changed_pages:
            return True
    return False
