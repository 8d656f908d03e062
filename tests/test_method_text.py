"""The book's method text says what the code does (issue #10).

Each test names a sentence the book used to contain that contradicted the code, and fails if it
comes back; the positive checks require the text to be glued from the protocol where it states
a rule the code applies.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from analysis.review.sentences import outcome_note, pi_width_text

CHAPTERS = Path(__file__).resolve().parents[1] / "chapters"


def page(name: str) -> str:
    return (CHAPTERS / name).read_text(encoding="utf-8")


def test_methods_does_not_claim_rob2_and_names_the_items_used() -> None:
    text = page("methods.md")
    assert "assessed with the Cochrane risk-of-bias tool (RoB 2)" not in text
    assert "original Cochrane risk-of-bias tool" in text


def test_methods_states_the_implemented_smd_variance() -> None:
    text = page("methods.md")
    assert r"J(\nu)^2 \left(" not in text  # the old, unimplemented formula
    assert r"\frac{g^2}{2(n_T+n_C)}" in text


def test_no_page_says_knapp_hartung_simply_widens_intervals() -> None:
    for path in CHAPTERS.rglob("*.md"):
        if "teaching" in path.parts:
            continue
        assert "which widens intervals" not in path.read_text(encoding="utf-8"), path


def test_dropout_page_does_not_credit_mh_weights_to_the_inverse_variance_model() -> None:
    assert "Mantel–Haenszel weights handle trials with few events" not in page(
        "results/dropout.md")
    assert "inverse-variance weights" in page("results/dropout.md")


def test_model_is_glued_not_typed() -> None:
    """Pages name the model through a glued text from the protocol, not as typed words."""
    typed = re.compile(r"REML,? (with )?(the )?Knapp–Hartung")
    for path in CHAPTERS.rglob("*.md"):
        if "teaching" in path.parts or path.name == "changelog.md":  # other maintainers' pages
            continue
        assert not typed.search(path.read_text(encoding="utf-8")), path


def test_implications_do_not_call_cbt_best_supported() -> None:
    text = page("implications.md")
    assert "evidence is strongest for CBT" not in text
    assert "{glue:text}`impl_families`" in text and "{glue:text}`impl_statement`" in text


def test_landing_page_shows_primary_secondary_and_strict_question() -> None:
    text = page("index.md")
    for key in ("symptoms_smd_overall", "symptoms_smd_all_controls_full", "index_statement",
                "index_nnt", "index_strict_answer", "response_or_overall"):  # fmt: skip
        assert f"`{key}`" in text, key


def test_single_trial_note_does_not_contradict_the_certainty_wording() -> None:
    """The landing page said "very uncertain" (GRADE's very-low wording) for every single-trial
    result whatever its rated certainty."""
    ma = SimpleNamespace(k=1, studies=["A"])
    assert "uncertain" not in outcome_note(ma)


@pytest.mark.parametrize(("tau2", "word"), [(0.0, "about as wide"), (0.05, "times as wide")])
def test_prediction_interval_width_is_described_from_the_result(tau2: float, word: str) -> None:
    r = SimpleNamespace(ci_low=-0.5, ci_high=-0.1, pi_low=-0.9 if tau2 else -0.52,
                        pi_high=0.3 if tau2 else -0.08, tau2=tau2)  # fmt: skip
    assert word in pi_width_text(r)
    assert "needs at least three" in pi_width_text(SimpleNamespace(pi_low=math.nan))
