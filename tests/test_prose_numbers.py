"""Every number the book states about the evidence reaches the prose through ``glue``.

The test scans the prose of every chapter (code cells, front matter, comments, math and glue
references removed) for result-like numbers: a decimal next to SMD, MD, RR, OR, CI, I², p, g,
d or "95%". Quoted published figures are allowed only through ``ALLOWED`` below, one entry per
page and quoted snippet, so that each exception is visible and reviewed.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = ROOT / "chapters"

#: (page relative to chapters/, snippet) pairs of quoted published figures that may stay typed.
ALLOWED: set[tuple[str, str]] = set()

DECIMAL = r"[−\-–]?\d+\.\d+"
KEYWORD = r"(?:SMD|MD|RR|OR|HR|CI|I²|I\^2|I2|τ²|tau²|tau2|\bp\b|\bg\b|\bd\b|95 ?%)"
RESULT_LIKE = re.compile(
    rf"{KEYWORD}\s*(?:[=<>≈:]|of|was|is|were)?\s*\(?\s*{DECIMAL}"
    rf"|{DECIMAL}\s*\(?\s*(?:95 ?% )?(?:CI|confidence interval)"
    rf"|{DECIMAL}\s*(?:to|–|-)\s*{DECIMAL}",
)


def prose(text: str) -> str:
    """The reader-facing prose of a MyST page, without code, glue, math and comments."""
    text = re.sub(r"\A---\n.*?\n---\n", "", text, flags=re.S)  # front matter
    text = re.sub(r"```\{code-cell\}.*?```", "", text, flags=re.S)  # code cells
    text = re.sub(r"```(?:python|bash|text)?\n.*?```", "", text, flags=re.S)  # code blocks
    text = re.sub(r"\$\$.*?\$\$", "", text, flags=re.S)  # display math
    text = re.sub(r"\$[^$\n]+\$", "", text)  # inline math
    text = re.sub(r"\{math\}`[^`]*`", "", text)
    text = re.sub(r"\{glue(?::\w+)?\}`[^`]*`", "GLUED", text)
    text = re.sub(r"^%.*$", "", text, flags=re.M)  # MyST comments
    text = re.sub(r"`[^`\n]*`", "", text)  # inline code
    return text


def offending(page: str, text: str) -> list[str]:
    found = []
    for match in RESULT_LIKE.finditer(prose(text)):
        snippet = match.group(0).strip()
        if (page, snippet) not in ALLOWED:
            found.append(snippet)
    return found


PAGES = sorted(CHAPTERS.rglob("*.md"))


@pytest.mark.parametrize("path", PAGES, ids=[str(p.relative_to(CHAPTERS)) for p in PAGES])
def test_no_typed_results_in_prose(path: Path) -> None:
    page = str(path.relative_to(CHAPTERS))
    bad = offending(page, path.read_text(encoding="utf-8"))
    assert not bad, f"{page} types result-like numbers instead of gluing them: {bad}"


@pytest.mark.parametrize(
    "text",
    [
        "The pooled SMD was -0.40 (95% CI -0.65 to -0.14).",
        "an effect of SMD −0.57 in favour of therapy",
        "RR 1.92, 95% CI 1.46 to 2.52",
        "heterogeneity was moderate (I² = 58.2%)",
        "the difference was 4.07 (95% CI ...)",
        "with p = 0.03 overall",
    ],
)
def test_detector_catches_typed_results(text: str) -> None:
    assert offending("x.md", text)


@pytest.mark.parametrize(
    "text",
    [
        "The pooled SMD was {glue:text}`symptoms_smd_overall`.",
        "At least two antidepressant trials of at least 6 weeks.",
        "A 0.5 continuity correction is added to zero cells.",
        "```{code-cell} ipython3\nx = 0.40 # SMD 0.40\n```",
        "$$ g = J \\times d, \\; 0.975 $$",
    ],
)
def test_detector_lets_glue_and_definitions_through(text: str) -> None:
    assert not offending("x.md", text)
