"""The one psychotherapy-family mapping (analysis.review.families) and its users."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis import load_trials
from analysis.review import catalogue, families, subgroup_analyses
from analysis.review.analyses import meta_analysis


@pytest.fixture(scope="module")
def trials():
    return load_trials()


@pytest.mark.parametrize(
    "comparison,modality,therapy,family",
    [
        ("group CBASP+TAU vs TAU", "MBCT", "CBASP", "cbasp"),  # Michalak's second arm
        ("MBCT+TAU vs TAU", "MBCT", "MBCT", "third-wave"),
        ("BSP+MEDS vs MEDS", "CBASP", "other", "other"),  # Kocsis's brief supportive arm
        ("brief supportive psychotherapy vs MEDS", "CBASP", "other", "other"),
        ("RO DBT+TAU vs TAU", "DBT", "DBT", "third-wave"),
        ("TF-CBT vs EMDR", "TF-CBT", "TF-CBT", "other"),
        ("body psychotherapy vs waiting group", "BODY", "BODY", "other"),
        ("something vs TAU", "IPT", "IPT", "ipt"),
        ("CBT+UC vs UC", "CBT", "CBT", "cbt"),
    ],
)
def test_comparison_level_classification(comparison, modality, therapy, family):
    assert families.therapy_of(comparison, modality) == therapy
    assert families.family_of(comparison, modality).slug == family


def test_every_code_has_exactly_one_family():
    codes = [c for f in families.FAMILIES for c in f.codes]
    assert len(codes) == len(set(codes))
    from analysis.evidence.schema import MODALITIES

    assert set(MODALITIES) == set(codes)
    assert families.family_of_code("unknown").slug == "other"
    with pytest.raises(KeyError, match="known"):
        families.family("nope")


def test_in_family_uses_modality_detail():
    s = pd.DataFrame({
        "modality": ["MBCT", "CBT", "TF-CBT"],
        "modality_detail": ["3 arms: MBCT; group CBASP; TAU", "CBT", "Trauma-focused CBT vs EMDR"],
    })  # fmt: skip
    assert families.in_family(s, ["CBASP"]).tolist() == [True, False, False]
    assert families.in_family(s, ["CBT"]).tolist() == [False, True, False]
    assert families.in_family(s, ["TF-CBT"]).tolist() == [False, False, True]


def test_family_analyses_partition_the_main_analysis(trials):
    """The therapy pages' family analyses (all inactive controls) partition the all-controls
    analysis."""
    main = meta_analysis(trials, comparison="all_controls")
    parts = [families.family_analysis(trials, f.codes) for f in families.FAMILIES]
    assert sum(p.k for p in parts) == main.k
    keys = sorted(
        (s, c) for p in parts for s, c in zip(p.table["study_id"], p.table["comparison"],
                                              strict=True)
    )
    assert keys == sorted(zip(main.table["study_id"], main.table["comparison"], strict=True))
    with_data = [p for p in parts if p.k]
    assert len(with_data) >= 4
    assert all(p.table["weight"].sum() == pytest.approx(100) for p in with_data)


def test_multiarm_trial_split_between_families(trials):
    mbct = families.family_analysis(trials, ["MBCT"])
    cbasp = families.family_analysis(trials, ["CBASP"])
    assert "Michalak2015" in mbct.studies and "Michalak2015" in cbasp.studies
    assert not mbct.table["comparison"].str.contains("CBASP").any()
    assert cbasp.table["comparison"].str.contains("CBASP").all()


def test_subgroups_page_and_modality_pages_use_the_same_mapping(trials):
    main = meta_analysis(trials, comparison="all_controls")
    by_family = subgroup_analyses.by_family(main)
    for fam in families.FAMILIES:
        in_group = main.table.loc[by_family.groups == fam.short, ["study_id", "comparison"]]
        direct = families.family_analysis(trials, fam.codes).table[["study_id", "comparison"]]
        assert sorted(map(tuple, in_group.to_numpy())) == sorted(map(tuple, direct.to_numpy()))


def test_family_summary_and_single_trial_families(trials):
    summary = families.family_summary(trials)
    assert list(summary["Family"]) == [f.title for f in families.FAMILIES]
    main = meta_analysis(trials)
    single = families.single_trial_families(main.table)
    for short in single:
        fam = next(f for f in families.FAMILIES if f.short == short)
        assert len(families.family_analysis(trials, fam.codes).studies) == 1


def test_modality_ids_use_the_family_codes(trials):
    cbt = catalogue.run(trials, catalogue.modality_id("CBT"))
    direct = families.family_analysis(trials, families.family("cbt").codes)
    assert direct.k >= 1
    assert cbt.k == direct.k
    assert cbt.result.estimate == direct.result.estimate
