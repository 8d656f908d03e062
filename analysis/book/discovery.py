"""Find the pages the build executes: notebooks listed in ``_toc.yml`` and expanded templates.

A page is a notebook when it is an output-free ``.ipynb`` or a MyST Markdown notebook (a
``.md`` file whose front matter has a ``kernelspec``). A notebook with a YAML file of the same
stem beside it (``explorer.md`` + ``explorer.yml``) is a *template*: it is rendered once per
entry of that file's ``pages`` list, with those papermill parameters, and the table of
contents entry of the template is replaced by the rendered pages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from analysis.book.errors import BuildError


@dataclass(frozen=True)
class Notebook:
    """One page that is executed: a notebook source, or one rendering of a template.

    Attributes
    ----------
    page
        Docname in the book, e.g. ``"chapters/trd/explorer-min2"``.
    source
        The notebook source file, relative to the repository root.
    parameters
        Papermill parameters (templates only).
    title
        Replaces the first H1 of a rendered template.
    """

    page: str
    source: Path
    parameters: dict = field(default_factory=dict)
    title: str | None = None

    @property
    def slug(self) -> str:
        """The page as one file name (``chapters/index`` -> ``chapters__index``)."""
        return self.page.replace("/", "__")


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


def resolve_page(root: Path, docname: str) -> Path:
    """Return the source file of a table-of-contents entry.

    Raises
    ------
    BuildError
        When neither ``<docname>.md`` nor ``<docname>.ipynb`` exists.
    """
    base = docname[:-3] if docname.endswith((".md", ".ipynb")) else docname
    for suffix in (".md", ".ipynb"):
        candidate = root / f"{base}{suffix}"
        if candidate.exists():
            return candidate
    raise BuildError(f"_toc.yml lists {docname!r} but no {base}.md or {base}.ipynb exists")


def template_pages(root: Path, source: Path, docname: str) -> list[Notebook] | None:
    """Expand a parameterised template, or return None when ``source`` is not one.

    Raises
    ------
    BuildError
        When the template's YAML file has no ``pages`` list or a page has no valid name.
    """
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
    """Read ``_toc.yml``, expand templates and return (expanded toc, notebooks).

    The notebooks are in table-of-contents order (the root page first).

    Raises
    ------
    BuildError
        When ``_toc.yml`` is missing, lists a page that does not exist, or a template is
        malformed.
    """
    toc_path = root / "_toc.yml"
    if not toc_path.exists():
        raise BuildError("_toc.yml is missing")
    toc = yaml.safe_load(toc_path.read_text(encoding="utf-8"))
    notebooks: list[Notebook] = []

    def expand(node: Any) -> Any:
        if isinstance(node, list):
            out = []
            for item in node:
                out.extend(expand_entry(item))
            return out
        if isinstance(node, dict):
            return {k: expand(v) if isinstance(v, list | dict) else v for k, v in node.items()}
        return node

    def expand_entry(item: Any) -> list:
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
