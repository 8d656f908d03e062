"""The layers of ``analysis/`` and the thin-notebook rule, checked on the source code.

Layers, bottom to top (a module may import its own layer and the layers below it):

* ``analysis.stats``    statistics core: standard library, numpy, scipy and pandas only
* ``analysis.plots``    figures: may import ``stats`` (result types) and matplotlib
* ``analysis.evidence`` the trial database: may import ``stats``
* ``analysis.review``   the review's analyses: may import ``stats``, ``plots``, ``evidence``
* ``analysis.book``     build, glue, CLI: may import everything

Chapter notebooks stay thin: no ``def``, ``class`` or ``lambda`` in a code cell (logic lives in
``analysis/``, where it is tested).
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "analysis"
LAYERS = ("stats", "plots", "evidence", "review", "book")
ALLOWED: dict[str, set[str]] = {
    "stats": {"stats"},
    "plots": {"stats", "plots"},
    "evidence": {"stats", "evidence"},
    "review": {"stats", "plots", "evidence", "review"},
    "book": set(LAYERS),
}
#: Modules at the package root that any layer may use (no domain logic).
SHARED = {"analysis", "analysis._lazy"}
STATS_THIRD_PARTY = {"numpy", "scipy", "pandas"}
CODE_CELL = re.compile(r"```\{code-cell\}[^\n]*\n((?::[^\n]*\n)*)(.*?)```", re.S)


def imported_modules(source: str, module: str) -> set[str]:
    """Every module named by an import statement anywhere in ``source`` (absolute names;
    relative imports are resolved against ``module``)."""
    found: set[str] = set()
    package = module.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def layer_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "analysis" and parts[1] in LAYERS else None


def violations(source: str, module: str) -> list[str]:
    """Imports of ``module`` that point upward or sideways, and (for the statistics core)
    third-party imports other than numpy, scipy and pandas."""
    own = layer_of(module)
    out = []
    for name in sorted(imported_modules(source, module)):
        if name.startswith("analysis"):
            target = layer_of(name)
            if name in SHARED or name.startswith("analysis._"):
                continue
            if target is None:
                out.append(f"{module} imports {name}, which is not in a layer")
            elif own is not None and target not in ALLOWED[own]:
                out.append(f"{module} ({own}) imports {name} ({target})")
        elif own == "stats":
            top = name.split(".")[0]
            if top and top not in STATS_THIRD_PARTY and top not in sys.stdlib_module_names:
                out.append(f"{module} (stats) imports third-party {name}")
    return out


def package_modules() -> list[tuple[str, Path]]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(ROOT).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out.append((".".join(parts), path))
    return out


def test_every_module_is_in_a_layer():
    loose = [m for m, _ in package_modules()
             if layer_of(m) is None and m not in SHARED | {"analysis.__main__"}]  # fmt: skip
    assert loose == []


@pytest.mark.parametrize("module,path", package_modules(), ids=[m for m, _ in package_modules()])
def test_imports_point_downward(module: str, path: Path):
    assert violations(path.read_text(encoding="utf-8"), module) == []


def test_the_import_check_can_fail():
    assert violations("from analysis.review import catalogue\n", "analysis.stats.pooling")
    assert violations("import matplotlib\n", "analysis.stats.pooling")
    assert violations("def f():\n    from analysis.book import report\n", "analysis.review.x")
    assert violations("from analysis.evidence import load_trials\n", "analysis.plots.forest")
    assert not violations("from analysis.stats import pooling\n", "analysis.review.x")
    assert not violations("from . import pooling\n", "analysis.stats.bias")
    assert violations("from ..review import text\n", "analysis.stats.bias")


def functions_defined(code: str) -> list[str]:
    """Names of the functions, classes and lambdas defined in a code cell."""
    tree = ast.parse(code)
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.append(node.name)
        elif isinstance(node, ast.Lambda):
            names.append("lambda")
    return names


def chapter_cells() -> list[tuple[str, int, str]]:
    out = []
    for path in sorted((ROOT / "chapters").rglob("*.md")):
        text = path.read_text(encoding="utf-8")
        for i, m in enumerate(CODE_CELL.finditer(text), start=1):
            out.append((str(path.relative_to(ROOT)), i, m.group(2)))
    return out


def test_chapter_cells_define_no_functions():
    thick = {}
    for page, number, code in chapter_cells():
        source = "\n".join(ln for ln in code.splitlines() if not ln.lstrip().startswith("%"))
        names = functions_defined(source)
        if names:
            thick[f"{page} cell {number}"] = names
    assert thick == {}, "move these into analysis/ (and test them there)"


def test_the_thin_notebook_check_can_fail():
    assert functions_defined("def f(x):\n    return x\n") == ["f"]
    assert functions_defined("y = sorted(xs, key=lambda v: -v)\n") == ["lambda"]
    assert functions_defined("class A:\n    pass\n") == ["A"]
    assert functions_defined("for x in xs:\n    glue(x)\n") == []
    assert len(chapter_cells()) > 30
