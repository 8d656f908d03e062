"""Tests of the rule-based GRADE ratings (analysis.review.grade)."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pandas as pd

from analysis.review.grade import grade, rob_status


def res(est=-0.5, lo=-0.8, hi=-0.2, i2=10.0, pi=(-0.9, -0.1), k=4):
    return SimpleNamespace(
        estimate=est, ci_low=lo, ci_high=hi, i2=i2, pi_low=pi[0], pi_high=pi[1], k=k
    )


def table(ids=("A", "B", "C", "D"), w=(25, 25, 25, 25)):
    return pd.DataFrame({"study_id": list(ids), "weight": list(w)})


def rob_low(ids=("A", "B", "C", "D")):
    return pd.DataFrame({"study_id": list(ids), "judgement": ["low"] * len(ids)})


def test_no_downgrade_is_high():
    g = grade(res(), table(), participants=500, rob=rob_low())
    assert g.certainty == "high"
    assert sum(g.downgrades.values()) == 0
    assert "publication bias not assessed" in g.reasons_text


def test_no_data_not_rated():
    assert grade(None, table(), participants=0, rob=rob_low()).certainty == "not rated"


def test_rob_status_categories():
    rob = pd.DataFrame({"study_id": ["A", "A", "B"], "judgement": ["low", "High", "unclear"]})
    s = rob_status(rob, ["A", "B", "C"])
    assert s["A"].startswith("at least one high")
    assert s["B"] == "no high-risk domain"
    assert s["C"] == "not assessed"


def test_risk_of_bias_by_weight():
    rob = pd.DataFrame({"study_id": ["A", "B"], "judgement": ["high", "low"]})
    # C, D unassessed: A + C + D = 75% of weight -> downgrade
    g = grade(res(), table(), participants=500, rob=rob)
    assert g.downgrades["risk of bias"] == 1 and g.certainty == "moderate"
    # flagged weight exactly half -> no downgrade
    rob2 = pd.DataFrame({"study_id": ["A", "B", "C"], "judgement": ["high", "low", "low"]})
    g2 = grade(
        res(),
        table(w=(50, 30, 10, 10)),
        participants=500,
        rob=pd.concat([rob2, pd.DataFrame({"study_id": ["D"], "judgement": ["low"]})]),
    )
    assert g2.downgrades["risk of bias"] == 0


def test_inconsistency_i2_and_prediction_interval():
    assert (
        grade(res(i2=60), table(), participants=500, rob=rob_low()).downgrades["inconsistency"] == 1
    )
    g = grade(res(i2=30, pi=(-1.0, 0.2)), table(), participants=500, rob=rob_low())
    assert g.downgrades["inconsistency"] == 1
    # PI and CI both cross the null: imprecision, not inconsistency
    g = grade(res(lo=-0.6, hi=0.1, i2=30, pi=(-1.0, 0.4)), table(), participants=500, rob=rob_low())
    assert g.downgrades["inconsistency"] == 0 and g.downgrades["imprecision"] == 1


def test_single_trial_inconsistency_not_assessable():
    r = res(i2=math.nan, pi=(math.nan, math.nan), k=1)
    g = grade(r, table(("A",), (100,)), participants=500, rob=rob_low(("A",)))
    assert g.downgrades["inconsistency"] == 0
    assert "not assessable" in g.reasons_text


def test_imprecision_ci_or_small_sample():
    assert grade(res(), table(), participants=399, rob=rob_low()).downgrades["imprecision"] == 1
    assert (
        grade(res(hi=0.05), table(), participants=900, rob=rob_low()).downgrades["imprecision"] == 1
    )
    assert grade(res(), table(), participants=400, rob=rob_low()).downgrades["imprecision"] == 0


def test_indirectness_doubtful_trd():
    doubtful = {
        "A": "chronic_not_trd",
        "B": "borderline_trd; waitlist_control",
        "C": "",
        "D": "waitlist_control",
    }
    g = grade(res(), table(w=(30, 30, 20, 20)), participants=500, rob=rob_low(), doubtful=doubtful)
    assert g.downgrades["indirectness"] == 1
    g = grade(res(), table(), participants=500, rob=rob_low(), doubtful=doubtful)
    assert g.downgrades["indirectness"] == 0  # exactly half


def test_publication_bias_needs_ten_trials():
    ids = [f"S{i}" for i in range(10)]
    t = table(ids, [10] * 10)
    r = res(k=10)
    assert (
        grade(r, t, participants=900, rob=rob_low(ids), egger_p=0.05).downgrades["publication bias"]
        == 1
    )
    assert grade(r, t, participants=900, rob=rob_low(ids), egger_p=0.5).certainty == "high"
    small = grade(res(), table(), participants=900, rob=rob_low(), egger_p=0.01)
    assert small.downgrades["publication bias"] == 0


def test_floor_is_very_low():
    rob = pd.DataFrame({"study_id": ["A"], "judgement": ["high"]})
    g = grade(
        res(lo=-0.9, hi=0.3, i2=80),
        table(),
        participants=50,
        rob=rob,
        doubtful={s: "chronic_not_trd" for s in "ABCD"},
    )
    assert g.certainty == "very low"
    assert len(g.reasons) == 4
