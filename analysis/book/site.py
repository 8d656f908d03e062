"""Render the staged source tree with Jupyter Book and publish the site atomically.

Every render starts from an empty output folder, so the site of an incremental build is the
site a clean build of the same tree gives: no page, image or search entry of an earlier render
survives (Sphinx's incremental output keeps them).

``_build/html`` is a symbolic link to a complete site in ``_build/site/<version>``. Publishing
moves the new site there and points the link at it with one :func:`os.replace` of a new link
over the old one, so ``_build/html/index.html`` exists at every moment, and a reader sees either
the old site or the new one, never a mix. Earlier versions are removed after the swap.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from analysis.book.errors import BuildError
from analysis.book.staging import STAGE_DIR

SITE_DIR = Path("_build/html")
#: The published versions of the site; ``_build/html`` links to one of them.
VERSIONS_DIR = Path("_build/site")
#: Lines of Jupyter Book's output that explain a failure (besides the last lines).
CAUSE = re.compile(r"warning|error|exception|traceback|failed|invalid|cannot|could not", re.I)
#: Lines kept from the end of Jupyter Book's output when it fails.
TAIL_LINES = 25


def failure_detail(output: str) -> tuple[str, str]:
    """(one-line cause, details) of a failed Jupyter Book run, from its output.

    The details keep every line that names a warning, error or exception (with the line after
    it, where tools such as pybtex put the file and position) and the last
    :data:`TAIL_LINES` lines, in order and without repeats; the cause is the first warning or
    error line (else the last line of output).
    """
    lines = [ln.rstrip() for ln in output.splitlines() if ln.strip()]
    keep: set[int] = set(range(max(0, len(lines) - TAIL_LINES), len(lines)))
    for i, line in enumerate(lines):
        if CAUSE.search(line):
            keep.update({i, i + 1} & set(range(len(lines))))
    detail = "\n".join(lines[i] for i in sorted(keep))
    flagged = [ln for ln in lines if re.search(r"warning|error", ln, re.I)]
    specific = [ln for ln in flagged if "look above" not in ln.lower()]
    cause = (specific or flagged or lines[-1:] or ["no output"])[0].strip()
    return cause, detail


def render(root: Path, src: Path, log: Callable[[str], object]) -> Path:
    """Render ``src`` with Jupyter Book (warnings are errors) into a new output folder.

    Returns
    -------
    Path
        The HTML folder.

    Raises
    ------
    BuildError
        When Jupyter Book fails or reports a warning; the message keeps the lines of its
        output that explain why (see :func:`failure_detail`), the summary the first of them.
    """
    out = root / STAGE_DIR / "out"
    shutil.rmtree(out, ignore_errors=True)
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
        shutil.rmtree(out, ignore_errors=True)
        cause, detail = failure_detail(output)
        raise BuildError(
            f"Jupyter Book reported problems (warnings are errors):\n{detail}",
            summary=f"Jupyter Book: {cause}",
        )
    log(f"  rendered the site with Jupyter Book ({seconds:.1f} s)")
    return html


def _versions(root: Path) -> Path:
    return root / VERSIONS_DIR


def current_version(root: Path) -> Path | None:
    """The versioned folder ``_build/html`` links to, or None."""
    site = root / SITE_DIR
    if not site.is_symlink():
        return None
    return (site.parent / os.readlink(site)).resolve()


def publish(root: Path, html: Path) -> Path:
    """Make ``html`` the site: move it to a new version and swap ``_build/html`` to it.

    ``html`` is moved (it must be on the same file system as ``_build``, as the render output
    is). The swap is one :func:`os.replace` of a symbolic link; a ``_build/html`` folder left by
    an earlier layout is moved aside first (once).
    """
    site = root / SITE_DIR
    build_dir = site.parent
    versions = _versions(root)
    versions.mkdir(parents=True, exist_ok=True)
    version = Path(tempfile.mkdtemp(prefix=f"{time.strftime('%Y%m%dT%H%M%S')}-", dir=versions))
    link = build_dir / f"html.new-{version.name}"
    try:
        version.rmdir()
        html.rename(version)
        os.symlink(os.path.relpath(version, build_dir), link)
        if site.exists() and not site.is_symlink():  # the folder of the earlier layout
            site.rename(build_dir / f"html.old-{version.name}")
        os.replace(link, site)
    except BaseException:
        link.unlink(missing_ok=True)
        if version.exists() and current_version(root) != version:
            shutil.rmtree(version, ignore_errors=True)
        raise
    remove_stale(root)
    return site


def remove_stale(root: Path) -> list[Path]:
    """Remove what an interrupted or earlier build left: temporary execution folders
    (``_build/.cache/nb-*``), half-published sites (``_build/html.new-*``), sites moved aside
    (``_build/html.old-*``) and versions ``_build/html`` no longer links to. Returns them."""
    from analysis.book.cache import CACHE_DIR

    build_dir = root / SITE_DIR.parent
    current = current_version(root)
    stale = [
        *sorted((root / CACHE_DIR).glob("nb-*")),
        *sorted(build_dir.glob("html.new-*")),
        *sorted(build_dir.glob("html.old-*")),
        *sorted(p for p in _versions(root).glob("*") if p.resolve() != current),
    ]
    for path in stale:
        if path.is_symlink() or path.is_file():
            path.unlink(missing_ok=True)
        else:
            shutil.rmtree(path, ignore_errors=True)
    return stale
