"""Content checks on the shipped database (beyond schema validity)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from analysis import load_trials

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture(scope="module")
def t():
    return load_trials(DATA)


def test_counts(t) -> None:
    assert len(t.studies) == 22
    assert len(t.outcomes) == 143
    assert len(t.published) == 31
    status = t.studies["data_status"].value_counts().to_dict()
    assert status == {"awaiting data": 9, "complete": 9, "partial": 4}


def test_cochrane_six(t) -> None:
    six = set(t.studies.loc[t.studies["in_cochrane2018"] == "yes", "study_id"])
    assert six == {"Harley2008", "Nakagawa2017", "Souza2016", "Town2017", "Wiles2008",
                   "Wiles2013"}  # fmt: skip


def test_every_study_has_bib_entry_and_reviews_are_cited() -> None:
    bib = (DATA / "references.bib").read_text(encoding="utf-8")
    keys = set(re.findall(r"@\w+\{([^,]+),", bib))
    for k in ("ijaz2018", "vanbronswijk2019", "giguere2025", "metapsy_psyctr",
              "commentary_trd_definitions", "summary2025_when_pills_fail"):  # fmt: skip
        assert k in keys
    assert "10.1002/14651858.CD010558.pub2" in bib
    assert "10.5281/zenodo.7254845" in bib


def test_precalc_g_rows_are_never_primary(t) -> None:
    g = t.outcomes[t.outcomes["stat_type"] == "precalc_g"]
    assert len(g) > 0 and set(g["use"]) == {"duplicate"}


def test_orientation_columns_complete(t) -> None:
    o = t.outcomes
    comp = o[(o["arm"] == "comparison") & o["effect"].notna()]
    assert comp["favours_psychotherapy_when"].notna().all()
    arms = o[o["arm"] != "comparison"]
    assert arms["direction"].notna().all()
    # documented sign exceptions
    pos_md = comp[(comp["measure"] == "MD") & (comp["favours_psychotherapy_when"] == "positive")]
    assert set(pos_md["study_id"]) == {"Rohricht2013", "Lynch2020"}


def test_conflicts_are_kept_and_flagged(t) -> None:
    o = t.outcomes.set_index("outcome_id")
    assert o.loc["Wiles2013.o03", "use"] == "primary" and o.loc["Wiles2013.o03", "effect"] == -1.9
    assert o.loc["Wiles2013.o02", "use"] == "conflict" and o.loc["Wiles2013.o02", "effect"] == -3.6
    assert o.loc["Harley2008.o01", "use"] == "conflict"


def test_no_percentages_turned_into_counts(t) -> None:
    o = t.outcomes
    eis = o[(o["study_id"] == "Eisendrath2016") & o["outcome"].isin(["response", "remission"])]
    assert eis["events"].isna().all() and set(eis["use"]) == {"context"}


def test_metapsy_sources_name_rows(t) -> None:
    mp = t.outcomes[t.outcomes["source"].str.contains("Metapsy", na=False)]
    assert mp["source"].str.contains(r"row \.id=\S+ \[file row \d+\]").all()


def test_published_result_ids(t) -> None:
    ids = set(t.published["result_id"])
    for rid in ("cochrane2018.selfreport.smd.dbt", "cochrane2018.selfreport.smd.ipt",
                "cochrane2018.selfreport.smd.istdp", "jpm2025.symptoms.smd.overall",
                "vanbronswijk2019.symptoms.es.addon_vs_tau"):  # fmt: skip
        assert rid in ids


def test_version_file(t) -> None:
    assert t.version["version"] == "1.0.0"
    assert t.version["last_search"] == "2024-01-01"
    assert t.version["extraction_date"] == "2026-11-22"
