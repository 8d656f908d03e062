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
CAUSE = re.compile(r"warning|error|exception|failed|invalid|cannot|could not|expected", re.I)
#: Lines kept from the end of Jupyter Book's output when it fails.
TAIL_LINES = 25
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_EXCEPTION = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Required|Warning|Interrupt)\b[^:]*: ")


def _readable(output: str, src: Path | None) -> list[str]:
    """The lines of a tool's output without colours, traceback frames or rules; staged paths
    relative to the staged tree (so they name the repository's files)."""
    lines: list[str] = []
    in_frame = False
    for raw in output.splitlines():
        line = _ANSI.sub("", raw).rstrip()
        if src is not None:
            line = line.replace(f"{src}{os.sep}", "")
        if not line.strip():
            continue
        if re.match(r"\s+File \"", line):
            in_frame = True
            continue
        if in_frame and line.startswith("    "):
            continue  # the source line and carets of a frame
        in_frame = False
        if line.startswith("Traceback (most recent call last)") or set(line.strip()) <= set("=^~-"):
            continue
        lines.append(line)
    return lines


def failure_detail(output: str, src: Path | None = None) -> tuple[str, str]:
    """(one-line cause, details) of a failed Jupyter Book run, from its output.

    The details are the output without colours and traceback frames: every line that names a
    warning, error or exception, and the last :data:`TAIL_LINES` lines, in order. The cause is
    the first Sphinx warning or error line, else what an extension's exception says (``extension
    sphinxcontrib.bibtex: syntax error in line 20: '}' expected``), else the last exception
    line, else the last line.
    """
    lines = _readable(output, src)
    keep = set(range(max(0, len(lines) - TAIL_LINES), len(lines)))
    keep.update(i for i, line in enumerate(lines) if CAUSE.search(line))
    detail = "\n".join(lines[i] for i in sorted(keep))
    flagged = [ln for ln in lines if re.search(r"\b(WARNING|ERROR)\b", ln)]
    extension = next(
        (m.group(1) for ln in lines if (m := re.search(r"Extension error \(([^)]+)\)", ln))), None
    )
    thrown = [
        m.group(1)
        for ln in lines
        if (m := re.search(r"threw an exception \(exception: (.*)\)$", ln))
    ]
    exceptions = [ln for ln in lines if _EXCEPTION.match(ln) and "Look above" not in ln]
    if flagged:
        cause = flagged[0]
    elif extension and (thrown or exceptions):
        reason = thrown[0] if thrown else exceptions[0].split(": ", 1)[1]
        cause = f"extension {extension}: {reason}"
    elif exceptions:
        cause = exceptions[0]
    else:
        cause = lines[-1] if lines else "no output"
    return " ".join(cause.split()), detail


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
        cause, detail = failure_detail(output, src)
        if "bibtex" in cause:
            cause += f" (bibliography: {', '.join(_bibfiles(src))})"
        raise BuildError(
            f"Jupyter Book reported problems (warnings are errors):\n{detail}",
            summary=f"Jupyter Book: {cause}",
        )
    log(f"  rendered the site with Jupyter Book ({seconds:.1f} s)")
    return html


def _bibfiles(src: Path) -> list[str]:
    """The BibTeX files the staged configuration names."""
    import yaml

    try:
        config = yaml.safe_load((src / "_config.yml").read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return ["?"]
    return [str(f) for f in config.get("bibtex_bibfiles") or []] or ["?"]


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
