"""Record what a notebook reads while the build executes it: data files and ``analysis`` code.

The build inserts a hidden first cell (tagged ``remove-cell``) into every notebook it executes::

    import analysis.book.tracking as _trd_tracking
    _trd_tracking.track_reads()

:func:`track_reads` installs one audit hook (PEP 578) for the rest of the kernel's life. It
appends, once per file and as an absolute path:

* to ``$TRD_READS_FILE``, every file under ``$TRD_DATA_DIR`` the process opens (``open``);
* to ``$TRD_LISTINGS_FILE``, every folder under ``$TRD_DATA_DIR`` (or that folder itself) whose
  entries the process lists (``os.listdir``, ``os.scandir``: also what :func:`glob.glob`,
  :meth:`pathlib.Path.glob`, :meth:`pathlib.Path.iterdir` and :func:`os.walk` do), so that a file
  added to or removed from a folder a page globs (``data/history/*.json``) re-executes it;
* to ``$TRD_IMPORTS_FILE``, the source file of every module of the ``analysis`` package the
  process loads:

  - the modules already in :data:`sys.modules` when the hook is installed (this module and the
    packages above it, imported before the hook existed);
  - ``import`` events: the import statement, wherever it runs (also inside a function the
    notebook calls, at the time it is called);
  - ``exec`` events of a module's code object from a file of the package: modules loaded
    through :func:`importlib.import_module` raise no ``import`` event, and that is how the lazy
    re-exports of :mod:`analysis._lazy` load them (``from analysis import pool``).

The build keeps these files with their SHA-256 (and each listed folder with a hash of its
entries' names) in the notebook's manifest and executes the notebook again when, and only when,
one of them (or its own text, parameters or the locked dependencies) changes. Outside the
pipeline (no such environment variables) nothing happens.

This module imports only the standard library, so that tracking adds no dependency of its own.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

#: The package whose modules are recorded.
PACKAGE = "analysis"
#: Its folder: the one this module was loaded from.
PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))

_INSTALLED = False


def module_file(name: str, package_dir: str = PACKAGE_DIR) -> str | None:
    """The source file of module ``name`` of the package in ``package_dir``, or None.

    Parameters
    ----------
    name
        Absolute module name, e.g. ``"analysis.stats.pooling"``.
    package_dir
        Folder of the ``analysis`` package.

    Returns
    -------
    str or None
        ``<package_dir>/stats/pooling.py`` (or ``.../__init__.py`` for a package, which takes
        precedence as in Python's path finder); None when ``name`` is not a module of the
        package or no such file exists.
    """
    parts = name.split(".")
    if parts[0] != PACKAGE:
        return None
    base = os.path.join(package_dir, *parts[1:])
    for candidate in (os.path.join(base, "__init__.py"), base + ".py"):
        if os.path.isfile(candidate):
            return candidate
    return None


class _Recorder:
    """Append each new path under ``prefix`` to the file ``out``, once."""

    def __init__(self, out: str, prefix: str, *, include_root: bool = False) -> None:
        self.out = out
        self.prefix = prefix
        # With include_root, the folder the prefix names counts too (a listing of data/).
        self.root = prefix.rstrip(os.sep) if include_root else None
        self.seen: set[str] = set()

    def add(self, path: str) -> None:
        if path in self.seen:
            return
        self.seen.add(path)
        real = os.path.realpath(path)
        if real != path:
            if real in self.seen:
                return
            self.seen.add(real)
        if real.startswith(self.prefix) or real == self.root:
            # open() raises an "open" event too; the hook ignores it (not a data file).
            with open(self.out, "a", encoding="utf-8") as fh:  # noqa: PTH123
                fh.write(real + "\n")


def track_reads(environ: Mapping[str, str] | None = None) -> bool:
    """Record the data files and ``analysis`` modules this process reads (see the module doc).

    Parameters
    ----------
    environ
        Where to find ``TRD_READS_FILE``, ``TRD_DATA_DIR``, ``TRD_LISTINGS_FILE`` and
        ``TRD_IMPORTS_FILE``; defaults to :data:`os.environ`.

    Returns
    -------
    bool
        Whether a hook is installed (in this call or an earlier one). An audit hook cannot be
        removed, so a second call changes nothing.
    """
    global _INSTALLED
    if _INSTALLED:
        return True
    env = os.environ if environ is None else environ
    reads_file, data_dir = env.get("TRD_READS_FILE"), env.get("TRD_DATA_DIR")
    imports_file, listings_file = env.get("TRD_IMPORTS_FILE"), env.get("TRD_LISTINGS_FILE")
    data = listings = None
    if reads_file and data_dir:
        data = _Recorder(reads_file, os.path.realpath(data_dir) + os.sep)
    if listings_file and data_dir:
        prefix = os.path.realpath(data_dir) + os.sep
        listings = _Recorder(listings_file, prefix, include_root=True)
    code = _Recorder(imports_file, PACKAGE_DIR + os.sep) if imports_file else None
    if data is None and code is None and listings is None:
        return False

    if code is not None:
        for name, module in list(sys.modules.items()):
            if name == PACKAGE or name.startswith(PACKAGE + "."):
                path = getattr(module, "__file__", None)
                if isinstance(path, str):
                    code.add(path)

    def hook(event: str, args: tuple) -> None:
        if event == "open":
            if data is not None and args and isinstance(args[0], str | bytes | os.PathLike):
                data.add(os.fsdecode(args[0]))
        elif event in ("os.listdir", "os.scandir"):
            # The argument is a path (None or "" for the working folder) or a folder's fd.
            if listings is not None and args and not isinstance(args[0], int):
                listings.add(os.path.abspath(os.fsdecode(args[0] or ".")))
        elif code is not None:
            if event == "import":
                name = args[0] if args else None
                if isinstance(name, str) and (name == PACKAGE or name.startswith(PACKAGE + ".")):
                    path = module_file(name)
                    if path is not None:
                        code.add(path)
            elif event == "exec":
                filename = getattr(args[0], "co_filename", None) if args else None
                if isinstance(filename, str) and filename.endswith(".py"):
                    code.add(filename)

    sys.addaudithook(hook)
    _INSTALLED = True
    return True
