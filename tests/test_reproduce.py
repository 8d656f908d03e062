"""Tests of analysis.review.reproduce (published versus recomputed pooled results)."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis import load_trials
from analysis.review.reproduce import STATUSES, parse_studies, reproduction_table, status_counts


@pytest.fixture(scope="module")
def trials():
    return load_trials()


@pytest.fixture(scope="module")
def table(trials):
    return reproduction_table(trials)


def test_parse_studies_aliases_and_inference(trials):
    ids, inferred = parse_studies("Harley 2008; Wiles 2016 (inferred: CBT)", trials.studies)
    assert ids == ["Harley2008", "Wiles2013"]
    assert inferred
    assert parse_studies(float("nan"), trials.studies) == ([], False)
    six, _ = parse_studies("all six (per k=6)", trials.studies, "Ijaz 2018 CD010558.pub2")
    assert len(six) == 6 and "Wiles2008" in six


def test_columns_and_statuses(table):
    assert list(table.columns) == [
        "result_id",
        "review",
        "analysis",
        "published",
        "recomputed",
        "difference",
        "status",
        "agreement",
        "explanation",
    ]
    assert set(table["status"]) <= set(STATUSES)
    assert table["result_id"].is_unique
    counts = status_counts(table)
    assert sum(counts[s] for s in STATUSES) == len(table)


def test_single_trial_arm_data_reproduced(table):
    """Harley 2008's arm means come from Metapsy, not from Cochrane: an independent check."""
    row = table.set_index("result_id").loc["cochrane2018.bdi.md.dbt"]
    assert row["status"] == "independent" and row["agreement"] == "within 0.02"
    assert abs(row["difference"]) <= 0.02


def test_the_reviews_own_numbers_are_same_source_not_reproduced(table):
    """Rows whose source is the Cochrane review itself (Souza, Town, CoBalT effects) agree by
    construction: they are 'same source' and are not counted as reproduced."""
    t = table.set_index("result_id")
    for rid in ("cochrane2018.bdi.md.ipt", "cochrane2018.phq9.md.istdp",
                "cochrane2018.phq9.md.cbt", "cochrane2018.phq9.md.overall",
                "cochrane2018.selfreport.smd.ipt", "cochrane2018.selfreport.smd.istdp",
                "cochrane2018.bdi.md.46months.cbt"):  # fmt: skip
        assert t.loc[rid, "status"] == "same source", rid
        assert "review's own published effect" in t.loc[rid, "explanation"]
    counts = status_counts(table)
    assert counts["reproduced"] == int(((table["status"] == "independent")
                                        & (table["agreement"] == "within 0.02")).sum())  # fmt: skip
    # the old count (every agreement) would include the circular rows
    assert counts["reproduced"] + counts["same_source_agrees"] == int(
        (table["agreement"] == "within 0.02").sum())
    assert counts["same_source_agrees"] == 7 and counts["reproduced"] == 3


def test_missing_studies_cannot_be_recomputed(table):
    t = table.set_index("result_id")
    row = t.loc["cochrane2018.selfreport.smd.overall"]
    assert row["status"] == "not recomputable"
    assert "Wiles 2008" in row["explanation"]
    assert pd.isna(row["difference"])
    jpm = t.loc["jpm2025.symptoms.smd.overall"]
    assert jpm["status"] == "not recomputable"
    assert "not published" in jpm["explanation"]


def test_every_non_reproduced_row_is_explained(table):
    rest = table.loc[(table["status"] != STATUSES[0]) | (table["agreement"] != "within 0.02")]
    assert (rest["explanation"].str.len() > 0).all()
