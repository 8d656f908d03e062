"""Reader-facing text of the review layer: formatting, plurals, sentences, NNT texts, tables."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from scipy import stats

from analysis.review import sentences, tables, text
from analysis.stats.nnt import nnt, nnt_from_counts


def test_count_text_pluralises():
    assert text.count_text(0, "trial") == "0 trials"
    assert text.count_text(1, "trial") == "1 trial"
    assert text.count_text(2, "family", "families") == "2 families"


def test_number_formats():
    assert text.fmt_number(-0.4) == "\u22120.40"
    assert text.fmt_number(-0.001) == "0.00"  # no negative zero
    assert text.fmt_number(float("nan")) == "NA"
    assert text.fmt_p(0.0004) == "p < 0.001"
    assert text.fmt_p(0.004) == "p = 0.004"
    assert text.fmt_p(0.04) == "p = 0.04"
    assert text.ci_text(-0.5, -0.8, -0.2) == "\u22120.50 [\u22120.80, \u22120.20]"
    assert text.range_text(1, 0.5, 2) == "1.00 (0.50 to 2.00)"


def test_lists_and_labels():
    assert text.trial_list([]) == "none"
    assert text.trial_list(["Smith2020"]) == "Smith 2020"
    assert text.trial_list(["Smith2020", "Jones2021", "Smith2020"]) == "Smith 2020 and Jones 2021"
    assert text.study_label("CladderMicus2018") == "Cladder-Micus 2018"
    assert text.list_or_none([]) == "none"
    assert text.percent(0.2) == "20%"
    assert text.shorten("a  b " * 50, 20).endswith("…")
    assert len(text.shorten("a  b " * 50, 20)) == 20


def test_nnt_from_smd_text_matches_furukawa_formula():
    cer = 0.2
    smd = -0.5
    eer = stats.norm.cdf(0.5 + stats.norm.ppf(cer))  # Furukawa & Leucht, positive = benefit
    expected = math.ceil(1 / (eer - cer))
    out = sentences.nnt_from_smd_text(smd, -0.8, -0.2, cer)
    assert out.split()[0] == str(expected)
    lo, hi = sorted(math.ceil(1 / (stats.norm.cdf(-x + stats.norm.ppf(cer)) - cer))
                    for x in (-0.8, -0.2))
    assert f"(95% CI {lo} to {hi})" in out
    assert "unbounded" in sentences.nnt_from_smd_text(-0.2, -0.5, 0.1, cer)
    assert sentences.nnt_from_smd_text(None).startswith("not estimable")
    assert "number needed to harm" in sentences.nnt_from_smd_text(0.3, 0.1, 0.5, cer)


def test_nnt_from_counts_text_uses_the_stats_core():
    point, lo, hi = nnt_from_counts(11, 30, 1, 30)
    assert point == pytest.approx(1 / (11 / 30 - 1 / 30))
    out = sentences.nnt_from_counts_text(11, 30, 1, 30)
    assert out == f"NNT {math.ceil(point)} (95% CI {math.ceil(lo)} to {math.ceil(hi)})"
    assert sentences.nnt_from_counts_text(5, 30, 5, 30).startswith("NNT not estimable")
    # the SMD-based NNT and the count-based NNT live in one module
    assert nnt.__module__ == nnt_from_counts.__module__ == "analysis.stats.nnt"


def test_direction_and_largest_share():
    assert "clear difference" in sentences.smd_direction(-0.3, 0.1)
    assert "fewer" in sentences.smd_direction(-0.8, -0.2)
    assert "more" in sentences.smd_direction(0.1, 0.4)
    t = pd.DataFrame({"study_id": ["A", "B", "B"], "participants": [10, 30, 30],
                      "weight": [40.0, 30.0, 30.0]})
    top = sentences.largest_trial_share(t)
    assert top["study_id"] == "B"
    assert top["participants_pct"] == pytest.approx(100 * 60 / 70)
    assert top["weight_pct"] == pytest.approx(60.0)


def test_not_complete_and_awaiting_tables():
    studies = pd.DataFrame({
        "study_id": ["Smith2020", "Jones2021"], "trial_name": ["X", None],
        "modality": ["CBT", "IPT"], "data_status": ["complete", "awaiting data"],
        "main_analysis": ["yes", "no"], "main_analysis_reason": ["ok", "active control"],
        "notes": ["", "No numbers seen. More text."],
    })
    table = tables.not_complete_table(studies)
    assert list(table["Trial"]) == ["Jones 2021"]
    assert table.iloc[0, -1].startswith("Not in the main analysis: active control.")
    assert list(table.index) == [0]
    assert len(tables.awaiting_table(pd.DataFrame(columns=["study_id", "reason"]))) == 0


def test_join_words():
    assert text.join_words([]) == ""
    assert text.join_words(["a"]) == "a"
    assert text.join_words(["a", "b", "c"]) == "a, b and c"
    assert text.join_words(["x", "y"], "or") == "x or y"
    assert text.join_words([1, 2]) == "1 and 2"
