"""Lazy re-exports for package ``__init__`` modules (PEP 562).

A package lists ``name -> module`` and gets a module-level ``__getattr__`` that imports the
module only when the name is first used. ``import analysis`` therefore stays cheap, and the
build's import record (which modules a notebook really used) stays exact.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy_exports(
    package: str, exports: dict[str, str], namespace: dict[str, Any]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Return ``(__getattr__, __dir__)`` for ``package`` re-exporting ``exports``.

    ``exports`` maps a public name to the absolute module that defines it, or to
    ``"module:<path>"`` to re-export a module itself (``"report": "module:analysis.book.report"``).
    """

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        if module.startswith("module:"):
            value = importlib.import_module(module.removeprefix("module:"))
        else:
            value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(exports))

    return __getattr__, __dir__
