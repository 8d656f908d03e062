"""Tests for analysis.review.landing (helpers of the landing, results and limitations pages)."""

import math

import pandas as pd

from analysis.review import landing


def test_assumed_rate_is_a_probability():
    assert 0 < landing.ASSUMED_CONTROL_RESPONSE_RATE < 1


def test_nnt_text_benefit_and_null():
    assert landing.nnt_text(-0.5, -0.8, -0.2, 0.2).split()[0].isdigit()
    assert "unbounded" in landing.nnt_text(-0.2, -0.5, 0.1, 0.2)
    assert landing.nnt_text(None).startswith("not estimable")


def test_family_of_uses_comparison_label():
    assert landing.family_of("MBCT", "group CBASP+TAU vs TAU") == "CBASP"
    assert landing.family_of("MBCT", "MBCT+TAU vs TAU") == "third-wave therapies"
    assert landing.family_of("BODY", "body psychotherapy vs waiting group") == "other therapies"
    assert landing.family_of("TF-CBT", "TF-CBT vs EMDR") == "other therapies"


def test_single_trial_families_and_largest_share():
    t = pd.DataFrame(
        {
            "study_id": ["A", "B", "B", "C"],
            "modality": ["CBT", "MBCT", "MBCT", "IPT"],
            "comparison": ["CBT vs TAU", "MBCT vs TAU", "CBASP vs TAU", "IPT vs TAU"],
            "participants": [10, 30, 30, 0],
            "weight": [20.0, 30.0, 30.0, 20.0],
        }
    )
    assert landing.single_trial_families(t) == [
        "CBT and related",
        "CBASP",
        "third-wave therapies",
        "IPT",
    ]
    top = landing.largest_trial_share(t)
    assert top["study_id"] == "B"
    assert math.isclose(top["participants_pct"], 100 * 60 / 70)
    assert math.isclose(top["weight_pct"], 60.0)
    assert landing.single_trial_families(t.iloc[0:0]) == []


def test_tables_and_texts():
    studies = pd.DataFrame(
        {
            "study_id": ["Smith2020", "Jones2021"],
            "trial_name": ["X", None],
            "modality": ["CBT", "IPT"],
            "data_status": ["complete", "awaiting data"],
            "main_analysis": ["yes", "no"],
            "main_analysis_reason": ["ok", "active control"],
            "notes": ["", "No numbers seen. More text."],
        }
    )
    table = landing.not_complete_table(studies)
    assert list(table["Trial"]) == ["Jones 2021"]
    assert "active control" in table.iloc[0, -1]
    assert landing.trial_list([]) == "none"
    assert landing.trial_list(["Smith2020", "Jones2021"]) == "Smith 2020 and Jones 2021"
    assert landing.count_text(1, "trial") == "1 trial"
    assert landing.percent(0.2) == "20%"
    assert "clear difference" in landing.smd_direction(-0.3, 0.1)
    assert "fewer" in landing.smd_direction(-0.8, -0.2)
    assert len(landing.awaiting_display(pd.DataFrame(columns=["study_id", "reason"]))) == 0
