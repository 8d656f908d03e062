"""Recompute the single-trial SMDs Cochrane 2018 published, from the database.

Expected values are read from data/published_results.csv (result_ids
cochrane2018.selfreport.smd.{dbt,ipt,istdp}); the arm-level inputs come from
data/outcomes.csv via analysis.selection. Where the database holds no arm-level means/SDs
for a trial, the test asserts that they are indeed absent and xfails with the reason.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis import effect_size, load_trials
from analysis.evidence.selection import effect_inputs

DATA = Path(__file__).resolve().parents[1] / "data"
CASES = {
    # result_id: (study_id, instrument Cochrane used for the self-report SMD)
    "cochrane2018.selfreport.smd.dbt": ("Harley2008", ("BDI-I", "BDI-II", "BDI")),
    "cochrane2018.selfreport.smd.ipt": ("Souza2016", ("BDI-I", "BDI-II", "BDI")),
    "cochrane2018.selfreport.smd.istdp": ("Town2017", ("PHQ-9",)),
}


@pytest.fixture(scope="module")
def trials():
    return load_trials(DATA)


@pytest.mark.parametrize("result_id", sorted(CASES))
def test_single_trial_smd(trials, result_id: str) -> None:
    study, instruments = CASES[result_id]
    pub = trials.published.set_index("result_id").loc[result_id]
    assert int(pub["k"]) == 1
    expected = float(pub["estimate"])
    o = trials.outcomes
    arm_rows = o[
        (o["study_id"] == study)
        & (o["outcome"] == "depressive_symptoms")
        & (o["timepoint"] == "post")
        & (o["stat_type"] == "post_msd")
        & o["instrument"].isin(instruments)
    ]
    if arm_rows.empty:
        # The database must really lack arm-level data: only comparison-level rows exist.
        rows = o[(o["study_id"] == study) & (o["outcome"] == "depressive_symptoms")]
        assert not rows["stat_type"].eq("post_msd").any()
        assert rows["sd"].isna().all()
        pytest.xfail(
            f"{study}: no arm-level post-treatment means/SDs in the database (only "
            f"{', '.join(sorted(set(rows['stat_type'])))} rows); Cochrane's SMD {expected} "
            "cannot be recomputed"
        )
    ready = effect_inputs(o, outcome="depressive_symptoms", measure="SMD", hierarchy=instruments)
    row = ready.ready.set_index("study_id").loc[study]
    assert row["input"] == "arms"
    es = effect_size(
        "SMD",
        m1=[row["m1"]],
        sd1=[row["sd1"]],
        n1=[row["n1"]],
        m2=[row["m2"]],
        sd2=[row["sd2"]],
        n2=[row["n2"]],
    )
    assert float(es.yi[0]) == pytest.approx(expected, abs=0.02)
    lo, hi = float(pub["ci_low"]), float(pub["ci_high"])
    se = float(es.vi[0]) ** 0.5
    assert float(es.yi[0]) - 1.959964 * se == pytest.approx(lo, abs=0.03)
    assert float(es.yi[0]) + 1.959964 * se == pytest.approx(hi, abs=0.03)
