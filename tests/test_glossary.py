"""Glossary links: pages link technical terms to the glossary with MyST's {term} role, and every
linked term exists (the build's -W also fails on an unknown term; this finds it in a second)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GLOSSARY = ROOT / "chapters" / "glossary.md"
TERM_ROLE = re.compile(r"\{term\}`(?:[^`<]*<([^>`]+)>|([^`]+))`")
#: Pages a reader reaches first for results and methods: each links at least this many terms.
KEY_PAGES = {
    "chapters/index.md": 3,
    "chapters/how-to-read.md": 8,
    "chapters/results/symptoms.md": 5,
    "chapters/results/summary-of-findings.md": 3,
    "chapters/methods.md": 8,
    "chapters/trd/definition.md": 3,
    "chapters/modalities/index.md": 3,
}


def glossary_terms() -> set[str]:
    text = GLOSSARY.read_text(encoding="utf-8")
    block = text.split("```{glossary}", 1)[1].split("```", 1)[0]
    return {line.strip().lower() for line in block.splitlines()
            if line.strip() and not line.startswith((" ", "\t"))}  # fmt: skip


def linked_terms(path: Path) -> list[str]:
    return [(a or b).strip() for a, b in TERM_ROLE.findall(path.read_text(encoding="utf-8"))]


def test_glossary_is_parsed():
    terms = glossary_terms()
    assert {"smd", "confidence interval (ci)", "grade", "trd"} <= terms
    assert len(terms) > 40


def test_every_linked_term_exists():
    terms = glossary_terms()
    pages = [md for md in sorted((ROOT / "chapters").rglob("*.md")) if md != GLOSSARY]
    unknown = [f"{md.relative_to(ROOT)}: {t}" for md in pages
               for t in linked_terms(md) if t.lower() not in terms]  # fmt: skip
    assert not unknown, "{term} links to terms the glossary does not define:\n" + "\n".join(unknown)


def test_key_pages_link_the_glossary():
    few = {page: len(linked_terms(ROOT / page)) for page, least in KEY_PAGES.items()
           if len(linked_terms(ROOT / page)) < least}  # fmt: skip
    assert not few, f"pages linking fewer glossary terms than expected: {few}"
