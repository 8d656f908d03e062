"""analysis.evidence.selection: instrument hierarchy, shared controls, orientation, TRD filters."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analysis import load_trials
from analysis.evidence.selection import (
    TRD_DEFINITIONS,
    effect_inputs,
    main_analysis_studies,
    primary_outcomes,
    split_shared_control,
    trd_filter,
)

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture(scope="module")
def t():
    return load_trials(DATA)


def test_self_first_prefers_bdi(t) -> None:
    sel = primary_outcomes(t.outcomes, hierarchy="self_first")
    inst = sel.groupby("study_id")["instrument"].first()
    assert inst["Nakagawa2017"] == "BDI-II"
    assert inst["Harley2008"] == "BDI-I"
    assert inst["Town2017"] == "PHQ-9"
    assert inst["Rohricht2013"] == "HAMD-21"  # only a clinician scale available
    assert set(sel["use"]) == {"primary"}
    # one instrument per study and comparison
    assert (sel.groupby(["study_id", "comparison"])["instrument"].nunique() == 1).all()


def test_clinician_first(t) -> None:
    sel = primary_outcomes(t.outcomes, hierarchy="clinician_first")
    inst = sel.groupby("study_id")["instrument"].first()
    assert inst["Nakagawa2017"] == "HAMD-17"
    assert inst["Michalak2015"] == "HAMD-24"
    assert inst["Garcia2023"] == "BDI-II"  # no clinician scale


def test_duplicates_never_selected(t) -> None:
    for h in ("self_first", "clinician_first"):
        for tp in ("post", "fu"):
            sel = primary_outcomes(t.outcomes, hierarchy=h, timepoint=tp)
            assert not sel["stat_type"].eq("precalc_g").any()


def test_followup_picks_one_time_label(t) -> None:
    sel = primary_outcomes(t.outcomes, timepoint="fu", hierarchy="clinician_first")
    lynch = sel[sel["study_id"] == "Lynch2020"]
    assert list(lynch["time_label"]) == ["12 months"]


def test_split_shared_control(t) -> None:
    sel = primary_outcomes(t.outcomes, outcome="dropout")
    out = split_shared_control(sel)
    ctl = out[(out["study_id"] == "Kocsis2009") & (out["arm"] == "control")]
    assert list(ctl["total"]) == [48, 48] and list(ctl["events"]) == [8, 8]
    assert set(ctl["shared_split"]) == {2}
    mich = out[(out["study_id"] == "Michalak2015") & (out["arm"] == "control")]
    assert list(mich["total"]) == [18, 18]  # 35 / 2 = 17.5, rounded half up
    raw = split_shared_control(sel, round_counts=False)
    mich = raw[(raw["study_id"] == "Michalak2015") & (raw["arm"] == "control")]
    assert list(mich["total"]) == [17.5, 17.5] and list(mich["events"]) == [1.5, 1.5]
    ivn = out[(out["study_id"] == "Kocsis2009") & (out["arm"] == "intervention")]
    assert sorted(ivn["total"]) == [195, 200]  # intervention arms untouched
    sym = split_shared_control(primary_outcomes(t.outcomes))
    m = sym[(sym["study_id"] == "Michalak2015") & (sym["arm"] == "control")]
    assert list(m["n"]) == [16, 16] and list(m["mean"]) == [28.34, 28.34]  # mean/SD kept


def test_effect_inputs_smd(t) -> None:
    main = main_analysis_studies(t.studies)
    res = effect_inputs(t.outcomes[t.outcomes["study_id"].isin(main["study_id"])], main,
                        measure="SMD")  # fmt: skip
    ready = res.ready.set_index(["study_id", "comparison"])
    assert len(ready.loc["Michalak2015"]) == 2
    h = ready.loc[("Harley2008", "DBT skills group vs wait-list")]
    assert (h["m1"], h["n1"], h["m2"], h["n2"]) == (15.1, 10, 25.89, 9)
    town = ready.loc[("Town2017", "ISTDP vs TAU")]
    assert town["input"] == "precomputed" and town["effect"] == -0.88
    awaiting = set(res.awaiting["study_id"])
    assert {"Wiles2008", "Nakao2018", "Wiles2013"} <= awaiting
    assert not awaiting & set(res.ready["study_id"])
    # every main-analysis study is either ready or awaiting
    assert awaiting | set(res.ready["study_id"]) == set(main_analysis_studies(t.studies).study_id)


def test_orientation_flips_positive_favouring_rows(t) -> None:
    o = t.outcomes.copy()
    # Make Lynch's 7-month MD (positive favours RO DBT) the primary row to test re-signing.
    o.loc[o["outcome_id"].isin(["Lynch2020.o01", "Lynch2020.o02", "Lynch2020.o05",
                                "Lynch2020.o06"]), "use"] = "alternative"  # fmt: skip
    o.loc[o["outcome_id"] == "Lynch2020.o04", "use"] = "primary"
    o.loc[o["outcome_id"] == "Lynch2020.o04", "time_label"] = pd.NA
    res = effect_inputs(o, measure="MD", hierarchy="clinician_first")
    row = res.ready.set_index("study_id").loc["Lynch2020"]
    assert row["sign_flipped"]
    assert (row["effect"], row["ci_low"], row["ci_high"]) == (-5.40, -9.85, -0.94)


def test_higher_better_arm_means_are_negated(t) -> None:
    o = t.outcomes.copy()
    ids = ["Garcia2023.o01", "Garcia2023.o02"]
    o.loc[o["outcome_id"].isin(ids), "direction"] = "higher_better"
    row = effect_inputs(o, measure="MD").ready.set_index("study_id").loc["Garcia2023"]
    assert row["m1"] == -19.95 and row["m2"] == -24.87 and row["sign_flipped"]


def test_binary_inputs(t) -> None:
    res = effect_inputs(t.outcomes, outcome="remission", measure="RR")
    town = res.ready.set_index("study_id").loc["Town2017"]
    assert (town["e1"], town["n1"], town["e2"], town["n2"]) == (10, 30, 1, 30)  # PHQ-9 first
    res = effect_inputs(t.outcomes, outcome="response", measure="OR")
    assert res.ready.set_index("study_id").loc["Wiles2013", "effect"] == 3.26


def test_trd_filters(t) -> None:
    s = t.studies
    assert set(TRD_DEFINITIONS) == {"any", "min1", "min2", "psychotherapy_failure", "strict"}
    assert len(trd_filter(s, "any")) == len(s)
    assert list(trd_filter(s, "min2")["study_id"]) == ["Eisendrath2016"]
    assert list(trd_filter(s, "psychotherapy_failure")["study_id"]) == ["CladderMicus2018"]
    strict = set(trd_filter(s, "strict")["study_id"])
    assert not strict & {"Michalak2015", "Rohricht2013", "Minelli2019", "Moore1997"}
    assert "Harley2008" not in set(trd_filter(s, "min1")["study_id"])  # number not stated
    with pytest.raises(ValueError):
        trd_filter(s, "nonsense")


def test_main_analysis_excludes_switch_and_active(t) -> None:
    main = main_analysis_studies(t.studies)
    assert set(main["design"]) == {"add-on"}
    assert not set(main["study_id"]) & {"Thase2007", "Moore1997", "Minelli2019",
                                        "Eisendrath2016", "Chiesa2015"}  # fmt: skip
    assert len(main) == 18
