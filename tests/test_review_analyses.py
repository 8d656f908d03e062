"""The review layer's analyses: subgroups, sensitivity, small-study effects, cumulative, SoF.

Expected values come from the statistics core (validated against metafor) applied directly to
the rows each rule selects, never from the function under test.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from analysis import load_trials
from analysis.review import cumulative, sensitivity_analyses, small_study, subgroup_analyses
from analysis.review.analyses import meta_analysis
from analysis.review.summary_of_findings import ROWS, summary_of_findings
from analysis.review.text import range_text
from analysis.stats.bias import trim_and_fill
from analysis.stats.effects import effect_size
from analysis.stats.pooling import pool


@pytest.fixture(scope="module")
def trials():
    return load_trials()


@pytest.fixture(scope="module")
def main(trials):
    return meta_analysis(trials)


def _pool_rows(table, mask, method="REML", test="adhoc"):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pool(table.loc[mask, "yi"], table.loc[mask, "vi"], method=method, test=test)


def test_comparator_subgroups_follow_the_waitlist_flag(trials):
    main = meta_analysis(trials, comparison="all_controls")
    sg = subgroup_analyses.by_comparator(main, trials.studies, trials.protocol)
    flagged = set(trials.studies.loc[trials.studies["doubtful_inclusion"].fillna("")
                                     .str.contains("waitlist_control"), "study_id"])  # fmt: skip
    is_wait = main.table["study_id"].isin(flagged).to_numpy()
    assert is_wait.any() and (~is_wait).any()
    estimates = {e.result_id: e for e in sg.estimates()}
    wait = estimates["symptoms.smd.comparator.waitlist"].result
    usual = estimates["symptoms.smd.comparator.usual_care"].result
    assert wait.estimate == pytest.approx(_pool_rows(main.table, is_wait).estimate, abs=1e-12)
    assert usual.estimate == pytest.approx(_pool_rows(main.table, ~is_wait).estimate, abs=1e-12)
    assert sg.test_text().startswith("Q = ")
    # the usual-care subgroup is the primary analysis (same trials, same split, same model)
    primary = meta_analysis(trials)
    assert usual.estimate == pytest.approx(primary.result.estimate, abs=1e-12)
    assert usual.ci_low == pytest.approx(primary.result.ci_low, abs=1e-12)


def test_family_and_format_subgroups_cover_every_comparison(main):
    for sg in (subgroup_analyses.by_family(main), subgroup_analyses.by_format(main)):
        assert sum(e.result.k for e in sg.estimates()) == main.k
        ids = [e.result_id for e in sg.estimates()]
        assert len(ids) == len(set(ids))
        table = sg.summary_table()
        assert list(table["Result id"]) == ids


def test_subgroups_without_data():
    empty = meta_analysis(load_trials(), definition="min2")
    assert empty.k == 0
    sg = subgroup_analyses.by_format(empty)
    assert sg.estimates() == [] and sg.test_text().startswith("not estimable")


def test_leave_one_out_rows_equal_pooling_without_each(main):
    """Each row re-pools the other comparisons; when one arm of a multi-arm trial is left out,
    the other arm gets its whole shared control group back (Cochrane Handbook 23.3.4)."""
    table, texts = sensitivity_analyses.leave_one_out_table(main)
    assert len(table) == main.k
    t = main.table
    multi = t["shared_split"] > 1
    assert multi.sum() == 2  # Michalak 2015's two arms share the TAU group
    for i in range(main.k):
        keep = np.arange(main.k) != i
        rest = t.loc[keep].copy()
        if multi.iloc[i]:
            other = rest.index[multi[keep]][0]
            es = effect_size("SMD", m1=[rest.at[other, "m1"]], sd1=[rest.at[other, "sd1"]],
                             n1=[rest.at[other, "n1"]], m2=[rest.at[other, "m2"]],
                             sd2=[rest.at[other, "sd2"]], n2=[rest.at[other, "n2_full"]])
            assert rest.at[other, "n2_full"] == 2 * rest.at[other, "n2"]
            rest.loc[other, ["yi", "vi"]] = [es.yi[0], es.vi[0]]
        expected = _pool_rows(rest, np.ones(len(rest), dtype=bool))
        assert table.iloc[i]["SMD (95% CI) of the rest"] == range_text(
            expected.estimate, expected.ci_low, expected.ci_high
        )
    assert texts["range"].startswith("from ")


def test_outliers_follow_the_overlap_rule(trials, main):
    outliers, without = sensitivity_analyses.outlier_analysis(trials, main)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = pool(main.table["yi"], main.table["vi"], method="REML")
    lo = main.table["yi"] - 1.959963984540054 * np.sqrt(main.table["vi"])
    hi = main.table["yi"] + 1.959963984540054 * np.sqrt(main.table["vi"])
    rule = (hi < plain.ci_low) | (lo > plain.ci_high)
    assert sorted(set(main.table.loc[rule, "study_id"])) == outliers
    assert not set(outliers) & set(without.studies)
    assert without.k == main.k - int(rule.sum())


def test_low_risk_of_bias_selection(trials):
    """Trials with a judged domain and no high risk outside detection bias (which is high by
    design in every trial)."""
    low, ma = sensitivity_analyses.low_rob_analysis(trials)
    rob = trials.risk_of_bias
    rob = rob.loc[rob["domain"].isin(sensitivity_analyses.LOW_ROB_DOMAINS)]
    for sid in low:
        j = rob.loc[rob["study_id"] == sid, "judgement"].str.lower()
        assert len(j) >= 1 and not (j == "high").any()
    assert set(ma.studies) <= set(low)
    assert ma.k > 0


def test_model_table_has_every_estimator(trials):
    table, analyses = sensitivity_analyses.model_table(trials)
    assert len(table) == 9
    assert [(a.method, a.model_test) for a in analyses] == [
        (m, t) for m in ("DL", "REML", "PM") for t in ("z", "knha", "adhoc")
    ]
    main = meta_analysis(trials)
    reml_adhoc = analyses[5]
    assert reml_adhoc.result.ci_low == main.result.ci_low  # the primary model


def test_small_study_effects(main):
    sse = small_study.small_study_effects(main)
    direct = trim_and_fill(main.table["yi"], main.table["vi"], method="REML")
    assert sse.trimfill.k0 == direct.k0
    assert sse.estimate.result.estimate == direct.filled.estimate
    assert sse.estimate.result_id == "symptoms.smd.trimfill"
    few = small_study.small_study_effects(meta_analysis(load_trials(), definition="min2"))
    assert few.trimfill is None and few.texts["egger"].startswith("not estimable")


def test_cumulative_last_step_is_the_main_result(main):
    cum, table, texts = cumulative.cumulative_analysis(main)
    assert len(cum) == len(table) == main.k
    assert cum["estimate"].iloc[-1] == pytest.approx(main.result.estimate, abs=1e-12)
    assert list(cum["year"]) == sorted(cum["year"])


def test_summary_of_findings_rows(trials, main):
    sof = summary_of_findings(trials)
    assert [e.result_id for e in sof.estimates] == [rid for rid, _, _ in ROWS]
    assert sof.estimates[0].result.estimate == main.result.estimate
    assert set(sof.certainty) == {rid for rid, _, _ in ROWS}
    assert set(sof.table["Certainty (rule-based GRADE)"]) <= {
        "high", "moderate", "low", "very low", "not rated"}


@pytest.mark.parametrize(
    ("outcome", "measure", "left"),
    [("remission", "RR", "Favours control"), ("response", "OR", "Favours control"),
     ("dropout", "RR", "Favours psychotherapy"),
     ("depressive_symptoms", "SMD", "Favours psychotherapy")],
)  # fmt: skip
def test_forest_sides_follow_the_outcome(trials, outcome, measure, left):
    """More remission or response is better, so a ratio above 1 (right of the null) favours
    psychotherapy; for symptoms and dropout the left side does. The figure's labels and its
    alt text say so (the remission plot used to read 'favours control' for RR 11)."""
    from matplotlib.text import Text

    from analysis.review import figures

    ma = meta_analysis(trials, outcome, measure)
    assert ma.k >= 1
    fig = figures.forest(ma)
    fig.canvas.draw()
    sides = sorted((t.get_window_extent().x0, t.get_text()) for t in fig.findobj(Text)
                   if t.get_text().startswith("Favours"))  # fmt: skip
    assert [s for _, s in sides] == [left, ({"Favours control", "Favours psychotherapy"}
                                            - {left}).pop()]  # fmt: skip
    r = ma.result
    null = 1.0 if ma.is_ratio else 0.0
    estimate = np.exp(r.estimate) if ma.is_ratio else r.estimate
    low, high = (np.exp(r.ci_low), np.exp(r.ci_high)) if ma.is_ratio else (r.ci_low, r.ci_high)
    if low > null or high < null:
        right_of_null = estimate > null
        expected = "favours control" if right_of_null == (left == "Favours psychotherapy") \
            else "favours psychotherapy"
        assert expected in fig.alt_text, fig.alt_text
