"""Render the staged source tree with Jupyter Book and publish the site atomically."""

from __future__ import annotations

import os
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


def render(root: Path, src: Path, log: Callable[[str], object]) -> Path:
    """Render ``src`` with Jupyter Book (warnings are errors); return the HTML folder.

    Raises
    ------
    BuildError
        When Jupyter Book fails or reports a warning; the message lists them.
    """
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
