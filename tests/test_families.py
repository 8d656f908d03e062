"""Tests for analysis.review.families (therapy families, TRD definition summaries)."""

import math

import pandas as pd

from analysis import load_trials
from analysis.review.families import (
    FAMILIES,
    comparison_therapy,
    definition_comparison,
    definition_counts,
    definition_table,
    effect_text,
    family_analysis,
    family_summary,
    in_family,
    nnt_from_counts,
)


def test_comparison_therapy_names_other_arm():
    assert comparison_therapy("group CBASP+TAU vs TAU", "MBCT") == "CBASP"
    assert comparison_therapy("MBCT+TAU vs TAU", "MBCT") == "MBCT"
    assert comparison_therapy("RO DBT+TAU vs TAU", "DBT") == "DBT"
    assert comparison_therapy("TF-CBT vs EMDR", "TF-CBT") == "TF-CBT"
    assert comparison_therapy("BSP+MEDS vs MEDS", "CBASP") == "other"
    assert comparison_therapy("body psychotherapy vs waiting group", "BODY") == "BODY"
    assert comparison_therapy("something vs TAU", "IPT") == "IPT"


def test_in_family_uses_modality_detail():
    s = pd.DataFrame(
        {
            "modality": ["MBCT", "CBT", "TF-CBT"],
            "modality_detail": [
                "3 arms: MBCT; group CBASP; TAU",
                "CBT",
                "Trauma-focused CBT vs EMDR",
            ],
        }
    )
    assert in_family(s, ["CBASP"]).tolist() == [True, False, False]
    assert in_family(s, ["CBT"]).tolist() == [False, True, False]


def test_family_analysis_splits_multiarm_trial():
    t = load_trials()
    mbct = family_analysis(t, ["MBCT"])
    cbasp = family_analysis(t, ["CBASP"])
    assert not mbct.table["comparison"].str.contains("CBASP").any()
    assert cbasp.table["comparison"].str.contains("CBASP").all()
    assert abs(mbct.table["weight"].sum() - 100) < 1e-6 if mbct.k else True
    # families partition the main analysis comparisons
    total = sum(family_analysis(t, c).k for _, c in FAMILIES.values())
    from analysis.review import meta_analysis

    assert total == meta_analysis(t).k


def test_effect_text_handles_k0():
    t = load_trials()
    ma = family_analysis(t, ["TF-CBT"])
    assert ma.result is None
    assert effect_text(ma).startswith("no trial")


def test_nnt_from_counts():
    nnt, lo, hi = nnt_from_counts(10, 30, 1, 30)
    assert math.isclose(nnt, 1 / (10 / 30 - 1 / 30))
    assert lo < nnt < hi
    assert nnt_from_counts(1, 30, 1, 30)[0] == math.inf


def test_definition_summaries():
    t = load_trials()
    c = definition_counts(t.studies)
    assert c["min2"] + c["min1"] + c["not_stated"] <= c["total"]
    tab = definition_table(t.studies)
    assert len(tab) == len(t.studies)
    assert tab["Definition (shortened)"].str.len().max() <= 120
    comp = definition_comparison(t)
    assert comp.loc[comp["Definition"] == "any", "k"].iloc[0] >= 1
    assert len(family_summary(t)) == len(FAMILIES)
