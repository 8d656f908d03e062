"""The landing page's review-layer texts (analysis.review.headline): whom the answer applies to,
which therapy the trials tested, the short strict-question sentence and the certainty words.

Expected values come from the data tables and the protocol, computed here directly, not from
the functions under test."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
import pytest

from analysis import load_trials
from analysis.review import headline
from analysis.review.catalogue import run
from analysis.review.families import FAMILIES, family_of_code
from analysis.review.text import count_text


@pytest.fixture(scope="module")
def trials():
    return load_trials()


@pytest.fixture(scope="module")
def primary(trials):
    return run(trials, "symptoms.smd.overall")


def _family_counts_from_tables(trials, primary) -> dict[str, int]:
    """Trials per family, straight from the analysis table and studies.csv: a comparison's
    family is that of the therapy code its label names, else of the trial's modality code."""
    codes = {c for f in FAMILIES for c in f.codes}
    modality = trials.studies.set_index("study_id")["modality"]
    out: dict[str, set[str]] = {}
    for sid, comp in zip(primary.table["study_id"], primary.table["comparison"], strict=True):
        named = [c for c in sorted(codes, key=len, reverse=True) if c in str(comp).split()
                 or f"{c}+" in str(comp)]  # fmt: skip
        code = named[0] if named else modality[sid]
        out.setdefault(family_of_code(code).slug, set()).add(sid)
    return {k: len(v) for k, v in out.items()}


def test_family_counts_equal_those_of_the_data(trials, primary):
    counts = headline.family_trial_counts(primary)
    assert counts == _family_counts_from_tables(trials, primary)
    # a multi-arm trial (two therapies, one control) counts once in each family it tested
    assert sum(counts.values()) >= primary.table["study_id"].nunique()


def test_which_therapy_text_states_the_counts_of_the_data(trials, primary):
    text = headline.which_therapy_text(trials, primary)
    n = primary.table["study_id"].nunique()
    assert text.startswith(f"The {count_text(n, 'trial')} tested ")
    by_slug = {f.slug: f for f in FAMILIES}
    for slug, k in _family_counts_from_tables(trials, primary).items():
        assert by_slug[slug].plain_name in text
        assert count_text(k, "trial") in text
    most = max(_family_counts_from_tables(trials, primary).values())
    if most >= headline.FAMILY_MIN_TRIALS:
        assert f"{headline.FAMILY_MIN_TRIALS} or more trials" in text
    assert "uncertain" in text and "not with another therapy" in text


def _table(rows):
    return pd.DataFrame(rows, columns=["study_id", "comparison", "modality"])


def test_single_family_reads_one_trial():
    ma = SimpleNamespace(table=_table([("A2020", "IPT+TAU vs TAU", "IPT")]))
    text = headline.which_therapy_text(None, ma)
    assert text.startswith("The 1 trial tested interpersonal therapy (1 trial)")
    assert "1 trials" not in text
    assert "No therapy has 3 or more trials" in text


def test_synthetic_families_with_enough_trials_and_a_multi_arm_trial():
    rows = [(f"M{i}", "MBCT+TAU vs TAU", "MBCT") for i in range(3)]
    rows += [("M0", "group CBASP+TAU vs TAU", "MBCT"), ("C1", "CBT+UC vs UC", "CBT")]
    ma = SimpleNamespace(table=_table(rows))
    assert headline.family_trial_counts(ma) == {"cbt": 1, "cbasp": 1, "third-wave": 3}
    text = headline.which_therapy_text(None, ma)
    assert text.startswith("The 4 trials tested mindfulness-based and related therapy (3 trials); "
                           "CBT and CBASP")  # fmt: skip
    assert "(1 trial each)" in text and "1 trial tested 2 therapies" in text
    assert "Only the first has 3 or more trials" in text


def test_no_data_says_so():
    ma = SimpleNamespace(table=_table([]))
    assert headline.family_trial_counts(ma) == {}
    assert "No trial has usable data yet" in headline.which_therapy_text(None, ma)


def test_population_comes_from_the_protocol(trials):
    proto = trials.protocol
    text = headline.population_text(trials)
    assert f"at least {proto.min_failed} adequate antidepressant course" in text
    assert text.endswith(proto.primary.label.split(" versus ")[1])


def test_strict_short_sentence_counts_from_the_data(trials):
    need = trials.protocol.strict_min_failed
    failed = pd.to_numeric(trials.studies["min_failed_ad"], errors="coerce")
    n = int((failed >= need).sum())
    short = headline.strict_question(trials)["short"]
    assert f"{n} of {count_text(len(trials.studies), 'trial')} required at least {need}" in short
    assert short.endswith(".") and "\n" not in short


def test_headline_extras(trials, primary):
    texts = headline.headline_texts(trials, primary, run(trials, "symptoms.smd.all_controls"))
    assert texts["primary_who"].startswith(
        count_text(len(set(primary.studies)), "trial") + f", {primary.participants} participants")
    assert texts["certainty_meaning"] == headline.CERTAINTY_MEANINGS[texts["certainty"]]
    source = trials.protocol.assumed_control_risk["response"]["source"]
    assert source.startswith(texts["cer_source_short"]) and ":" not in texts["cer_source_short"]
    assert texts["certainty_why"].startswith(("rated down for ", "not rated down"))


def test_outcome_brief_drops_only_the_subject(trials):
    ma = run(trials, "dropout.rr.overall")
    full = headline.outcome_statement(trials, "dropout.rr.overall", ma)
    brief = headline.outcome_brief(trials, "dropout.rr.overall", ma)
    assert full.endswith(brief) and len(brief) < len(full)
    assert brief[0].islower()


def test_landing_page_has_no_mathematics():
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "chapters" / "index.md").read_text("utf-8")
    assert "$" not in text and "{math}" not in text
