"""Characteristics of included studies, Minelli's arm-level table, the within-trial catalogue
entry and the PRISMA diagram's named sources."""

from __future__ import annotations

import pytest
from shared_dirs import ROOT

from analysis import load_trials, prisma_flow
from analysis.review import catalogue, characteristics, tables


@pytest.fixture(scope="module")
def trials():
    return load_trials(ROOT / "data")


def test_one_row_per_included_trial(trials) -> None:
    table = characteristics.characteristics_table(trials)
    included = trials.screening.loc[trials.screening["decision"] == "included", "study_id"]
    assert len(table) == len(included) == 22
    assert not table["Trial"].str.startswith("Moore 1997").any()  # awaiting classification
    assert list(table.columns) == ["Trial", "Design", "Participants and TRD definition",
                                   "Therapy and sessions", "Comparator",
                                   "Outcomes in the database", "Data source"]  # fmt: skip
    row = table.set_index("Trial")
    assert "self-help format" in row.loc["Mantani 2017 (FLATT)", "Therapy and sessions"]
    assert "failed antidepressants required: 1" in row.loc[
        "Mantani 2017 (FLATT)", "Participants and TRD definition"]
    assert row.loc["Heshmati 2023", "Data source"].startswith(
        "the trial's participant-level dataset")
    assert "WAI-D (end of treatment, follow-up)" in row.loc["Heshmati 2023",
                                                            "Outcomes in the database"]
    assert row.loc["Thase 2007 (STAR*D level 2 (cognitive therapy strata))",
                   "Outcomes in the database"] == "none in the database"  # fmt: skip


def test_minelli_scales_side_by_side_with_the_conflict(trials) -> None:
    t = tables.arm_level_table(trials.outcomes, "Minelli2019").set_index("Instrument", append=True)
    sym = t.loc[t["Outcome"] == "depressive symptoms"]
    assert len(sym) == 2
    assert sym["Conflict flagged in the data"].str.startswith("direction conflict").all()
    assert set(t.columns) >= {"TF-CBT", "EMDR"}


def test_within_trial_id_is_catalogued_apart_from_pooled_analyses() -> None:
    rid = "symptoms.smd.withintrial.Heshmati2023.min2"
    assert rid in catalogue.COMPUTED and rid not in catalogue.ANALYSES
    assert "not a randomised comparison" in catalogue.label(rid)


def test_prisma_named_sources_replace_databases_and_registers() -> None:
    counts = {"records_screened": 5, "studies_included": 2}
    fig = prisma_flow(counts, sources={"Databases: X": 3, "Other methods": 4},
                      other_studies={"Studies awaiting classification": 1})  # fmt: skip
    boxes = fig.plot_info["boxes"]
    assert "Databases: X (n\u00a0=\u00a03)" in boxes["identified"]
    assert "Registers" not in boxes["identified"]
    assert "Studies awaiting classification (n\u00a0=\u00a01)" in boxes["included"]
    plain = prisma_flow(counts)
    assert "Registers" in plain.plot_info["boxes"]["identified"]
