"""What the site distributes for teaching: the package with its data, and clean notebooks.

The teaching notebooks run anywhere (Colab, Binder, a laptop): their first cell installs this
review's package when ``import analysis`` fails, from ``$TRD_REVIEW_PACKAGE`` (a URL or a
local path) if set, otherwise from :func:`package_url`. That package is made here:

:func:`build_wheel`
    Builds the wheel of the ``analysis`` package with a snapshot of ``data/`` as package data
    (``analysis/_data/``, found by :func:`analysis.evidence.paths.find_data_dir` when no
    checkout is around) with ``pip wheel`` and the project's own build backend (setuptools,
    no build isolation, so it works offline). The files are copied to a temporary folder
    first; the repository's ``analysis/`` never holds a ``_data`` folder.
:func:`site_files`
    The files the build publishes: ``package/<wheel name>`` (in the site through
    ``_extra/``). The wheel is rebuilt only when its inputs (the package's ``.py`` files,
    ``data/``, ``pyproject.toml``, ``README.md``, the licences) changed; it is cached in
    ``_build/.package/``.
:func:`package_url`
    Where the published site offers the wheel: ``html.baseurl`` of ``_config.yml`` (the one
    place the site's address is configured) + ``package/`` + :func:`wheel_name`.
:func:`clean_notebook`
    An executed notebook as the site offers it for download: without the build's hidden
    tracking cell (:data:`analysis.book.execution.TRACKER_CELL`) and papermill's run
    metadata (temporary paths, timings), with its outputs, tags and parameters cells.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path

import yaml

from analysis.book.errors import BuildError

__all__ = [
    "PACKAGE_CACHE",
    "SITE_FOLDER",
    "build_wheel",
    "clean_notebook",
    "package_url",
    "site_files",
    "wheel_name",
]

#: Folder of the site (and of ``_extra/`` in the staged tree) that holds the wheel.
SITE_FOLDER = "package"
#: Where the last wheel built is kept, with the hash of its inputs.
PACKAGE_CACHE = Path("_build/.package")
#: Files of the repository root that go into the wheel's build folder.
ROOT_FILES = ("pyproject.toml", "README.md", "LICENSE", "LICENSE-DATA.md", "LICENSE-TEXT.md")
#: Zip timestamps of the wheel (1 Jan 2026): equal inputs give an identical file.
SOURCE_DATE_EPOCH = "1767225600"


def _project(root: Path) -> dict:
    return tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def wheel_name(root: Path) -> str:
    """The wheel's file name from ``pyproject.toml``: ``<name>-<version>-py3-none-any.whl``.

    The name is normalised as the wheel format requires (runs of ``-_.`` become ``_``).
    """
    project = _project(root)
    name = re.sub(r"[-_.]+", "_", project["name"]).lower()
    return f"{name}-{project['version']}-py3-none-any.whl"


def package_url(root: Path) -> str:
    """The wheel's address on the published site (``html.baseurl`` of ``_config.yml``).

    Raises
    ------
    BuildError
        When ``_config.yml`` has no ``html.baseurl``.
    """
    config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8")) or {}
    base = str((config.get("html") or {}).get("baseurl") or "")
    if not base:
        raise BuildError("_config.yml: html.baseurl (the published site's address) is not set")
    return f"{base.rstrip('/')}/{SITE_FOLDER}/{wheel_name(root)}"


def _inputs(root: Path) -> Iterator[tuple[str, Path]]:
    """(path inside the build folder, source file) of everything the wheel is built from."""
    for name in ROOT_FILES:
        if (root / name).is_file():
            yield name, root / name
    package = root / "analysis"
    for path in sorted(package.rglob("*.py")):
        rel = path.relative_to(package)
        if "__pycache__" in rel.parts or rel.parts[0] == "_data":
            continue
        yield f"analysis/{rel.as_posix()}", path
    data = root / "data"
    for path in sorted(data.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            yield f"analysis/_data/{path.relative_to(data).as_posix()}", path


def inputs_hash(root: Path) -> str:
    """SHA-256 over the names and bytes of the wheel's inputs (:func:`_inputs`)."""
    digest = hashlib.sha256()
    for rel, path in _inputs(root):
        digest.update(rel.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def build_wheel(root: Path, out_dir: Path) -> Path:
    """Build the wheel of ``analysis`` with a snapshot of ``data/`` into ``out_dir``.

    Parameters
    ----------
    root
        Repository folder.
    out_dir
        Folder that receives the wheel (created if missing).

    Returns
    -------
    pathlib.Path
        The wheel, named :func:`wheel_name`.

    Raises
    ------
    BuildError
        When ``pip wheel`` fails or does not produce the expected file.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="trd-wheel-") as tmp:
        src = Path(tmp) / "src"
        for rel, path in _inputs(root):
            dest = src / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, dest)
        dist = Path(tmp) / "dist"
        cmd = [
            sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
            "--no-build-isolation", "--no-cache-dir", "--wheel-dir", str(dist), str(src),
        ]  # fmt: skip
        env = dict(os.environ, SOURCE_DATE_EPOCH=SOURCE_DATE_EPOCH, PIP_NO_INPUT="1")
        env.pop("PYTHONPATH", None)
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tmp)
        wheel = dist / wheel_name(root)
        if proc.returncode != 0 or not wheel.is_file():
            made = sorted(p.name for p in dist.glob("*")) if dist.exists() else []
            detail = (proc.stdout + proc.stderr).strip().splitlines()[-20:]
            raise BuildError(
                f"building the package {wheel.name} failed (made {made or 'nothing'}):\n"
                + "\n".join(detail)
            )
        target = out_dir / wheel.name
        shutil.copyfile(wheel, target)
    return target


def site_files(root: Path, log: Callable[[str], object] = print) -> dict[str, bytes]:
    """The package files the site publishes, keyed by their path in the staged ``_extra/``.

    Reuses the wheel in :data:`PACKAGE_CACHE` when its inputs are unchanged. A folder without
    ``pyproject.toml`` (a test's miniature book) has no package to offer: empty.
    """
    if not (root / "pyproject.toml").is_file():
        return {}
    name = wheel_name(root)
    key = inputs_hash(root)
    cache = root / PACKAGE_CACHE
    stamp = cache / "inputs.sha256"
    wheel = cache / name
    if not (wheel.is_file() and stamp.is_file() and stamp.read_text() == key):
        start = time.perf_counter()
        shutil.rmtree(cache, ignore_errors=True)
        build_wheel(root, cache)
        stamp.write_text(key)
        seconds = time.perf_counter() - start
        log(f"  built the package {name} ({wheel.stat().st_size / 1024:.0f} KiB, {seconds:.1f} s)")
    return {f"_extra/{SITE_FOLDER}/{name}": wheel.read_bytes()}


def clean_notebook(content: bytes) -> bytes:
    """An executed notebook without build plumbing, as the site offers it for download.

    Removes the build's tracking cell and papermill's run metadata (the notebook's
    ``metadata.papermill`` with temporary input/output paths, and each cell's ``papermill``
    and ``execution`` timings). Keeps every other cell with its outputs and tags (so the
    ``parameters`` and ``injected-parameters`` cells stay).

    Parameters
    ----------
    content
        The notebook file (nbformat 4 JSON).

    Returns
    -------
    bytes
        The cleaned notebook, JSON with one-space indent as nbformat writes it.
    """
    from analysis.book.execution import TRACKER_CELL

    nb = json.loads(content)
    nb.get("metadata", {}).pop("papermill", None)
    cells = []
    for cell in nb.get("cells", []):
        source = cell.get("source", "")
        if cell.get("cell_type") == "code" and (
            "".join(source) if isinstance(source, list) else source
        ).strip() == TRACKER_CELL:
            continue
        meta = cell.get("metadata", {})
        meta.pop("papermill", None)
        meta.pop("execution", None)
        cells.append(cell)
    nb["cells"] = cells
    return (json.dumps(nb, indent=1, ensure_ascii=False, sort_keys=True) + "\n").encode()
