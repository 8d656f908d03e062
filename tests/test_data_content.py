"""Content checks on the shipped database (beyond schema validity)."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from analysis import load_trials

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture(scope="module")
def t():
    return load_trials(DATA)


def test_counts(t) -> None:
    assert len(t.studies) == 23
    assert int((t.outcomes["origin"] == "outcomes.csv").sum()) == 153
    assert len(t.outcomes) == 153 + 6  # six rows generated from data/ipd/heshmati2023
    assert len(t.published) == 31
    status = t.studies["data_status"].value_counts().to_dict()
    assert status == {"awaiting data": 8, "complete": 9, "partial": 6}


def test_update_1_1_0_values(t) -> None:
    """The update of December 2026 (shared/extraction/UPDATE-2026-12.md), value by value."""
    o = t.outcomes.set_index("outcome_id")
    # Heshmati 2023: Metapsy's 3/43 is kept as a flagged conflict; 4/43 is a duplicate
    o06 = o.loc["Heshmati2023.o06"]
    assert (o06["use"], o06["events"], o06["total"]) == ("conflict", 3, 43)
    assert "7 of 43" in o.loc["Heshmati2023.o06", "conflict_flag"]
    assert o.loc["Heshmati2023.o07", "use"] == "duplicate"
    hesh = o.loc[o["study_id"] == "Heshmati2023"]
    assert set(hesh.loc[hesh["outcome"] == "depressive_symptoms", "instrument"]) == {"WAI-D"}
    # Mantani 2017: ITT MD -2.48 (-3.72 to -1.23), negative favours psychotherapy; SMD 0.40 is
    # context without a CI
    md = o.loc["Mantani2017.o01"]
    assert (md["effect"], md["ci_low"], md["ci_high"]) == (-2.48, -3.72, -1.23)
    assert (md["use"], md["favours_psychotherapy_when"], md["measure"]) == ("primary", "negative",
                                                                             "MD")  # fmt: skip
    smd = o.loc["Mantani2017.o02"]
    assert smd["use"] == "context" and pd.isna(smd["ci_low"]) and pd.isna(smd["se"])
    s = t.studies.set_index("study_id")
    assert s.loc["Mantani2017", "format"] == "self-help"
    assert (s.loc["Mantani2017", "n_rand_int"], s.loc["Mantani2017", "n_rand_ctl"]) == ("81", "83")
    # Minelli 2019: the four Metapsy in-patient rows, both symptom scales flagged
    mi = o.loc[o["study_id"] == "Minelli2019"]
    assert len(mi) == 8 and s.loc["Minelli2019", "main_analysis"] == "no"
    want = {("MADRS", "intervention"): (16.9, 13.16, 10), ("MADRS", "control"): (7.83, 10.36, 12),
            ("BDI-II", "intervention"): (13.42, 12.13, 10),
            ("BDI-II", "control"): (26.6, 17.3, 12)}  # fmt: skip
    sym = mi.loc[mi["outcome"] == "depressive_symptoms"]
    got = {(r.instrument, r.arm): (r.mean, r.sd, r.n) for r in sym.itertuples()}
    assert got == want
    assert sym["conflict_flag"].str.contains("direction conflict").all()
    dich = mi.loc[mi["outcome"] != "depressive_symptoms"]
    ev = {(r.outcome, r.arm): (r.events, r.total) for r in dich.itertuples()}
    assert ev == {
        ("response", "intervention"): (5, 10),
        ("response", "control"): (10, 12),
        ("remission", "intervention"): (5, 10),
        ("remission", "control"): (9, 12),
    }
    # CoBalT: response denominators stay empty; its odds ratio is the usable figure
    cob = o.loc[(o["study_id"] == "Wiles2013") & (o["outcome"] == "response")]
    assert cob["total"].isna().all()
    assert o.loc["Wiles2013.o09", "use"] == "primary"


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
    assert mp["source"].str.contains(r"row \.id=\S+ \[file rows? \d+(-\d+)?\]").all()


def test_published_result_ids(t) -> None:
    ids = set(t.published["result_id"])
    for rid in ("cochrane2018.selfreport.smd.dbt", "cochrane2018.selfreport.smd.ipt",
                "cochrane2018.selfreport.smd.istdp", "jpm2025.symptoms.smd.overall",
                "vanbronswijk2019.symptoms.es.addon_vs_tau"):  # fmt: skip
        assert rid in ids


def test_version_file(t) -> None:
    assert t.version["version"] == "1.1.0"
    assert t.version["last_search"] == "2026-12"
    assert t.version["extraction_date"] == "2026-12-05"
