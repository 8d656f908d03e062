"""Every rule of the review protocol (``data/protocol.yml``) is applied by the code.

Each test checks one rule or one corrected mismatch of issue #10, on the real data or, where the
current rows do not exercise the rule, on a copy of ``data/`` with one change. Expected values
come from the statistics core (validated against metafor) applied to the rows the rule selects,
or from the source figures, never from the function under test; where it matters, the test also
shows that the old behaviour gives a different answer.
"""

from __future__ import annotations

import csv
import io
import math
import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import load_trials, pool
from analysis.review import headline, sensitivity_analyses, subgroup_analyses
from analysis.review.catalogue import ANALYSES, run
from analysis.review.grade import GradeRules, grade, rules_of, statement, with_design_rule
from analysis.review.protocol import protocol_lists, protocol_texts
from analysis.review.sentences import nnt_from_smd_text
from analysis.review.summary_of_findings import (
    certainty_statement,
    smd_scale_sd,
    summary_of_findings,
)
from analysis.stats.effects import effect_size, pooled_sd, standardised_md
from analysis.stats.nnt import risk_with_intervention
from analysis.stats.pooling import fit

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
Z = 1.959963984540054


@pytest.fixture(scope="module")
def trials():
    return load_trials(DATA)


@pytest.fixture(scope="module")
def primary(trials):
    return run(trials, "symptoms.smd.overall")


def _copy(tmp_path: Path) -> Path:
    dest = tmp_path / "data"
    shutil.copytree(DATA, dest, ignore=shutil.ignore_patterns("history"))
    return dest


def _set(data: Path, file: str, key_col: str, key: str, column: str, value: str) -> None:
    path = data / file
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))
    k, c = rows[0].index(key_col), rows[0].index(column)
    hits = [r for r in rows[1:] if r[k] == key]
    assert hits, key
    for r in hits:
        r[c] = value
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")


def _waitlist(trials) -> set[str]:
    s = trials.studies
    return set(s.loc[s["doubtful_inclusion"].fillna("").str.contains("waitlist_control"),
                     "study_id"])  # fmt: skip


# ------------------------------------------------------------------ comparisons
def test_primary_analysis_is_usual_care_only_and_all_controls_adds_waitlist(trials, primary):
    wait = _waitlist(trials)
    assert not set(primary.studies) & wait  # old headline mixed in Harley and Rohricht
    allc = run(trials, "symptoms.smd.all_controls")
    assert {"Harley2008", "Rohricht2013"} <= set(allc.studies)
    assert set(allc.studies) - set(primary.studies) <= wait
    assert primary.result.test == "adhoc" and primary.result.method == "REML"


def test_primary_analysis_uses_established_instruments_only(trials, primary):
    """Heshmati 2023's instrument (WAI depression subscale, coded 'unclear' today) is not an
    established depression-severity instrument: it enters only the any-instrument analyses."""
    established = set(trials.protocol.established_instruments)
    for rid in ("symptoms.smd.overall", "symptoms.smd.all_controls"):
        assert set(run(trials, rid).table["instrument"]) <= established
    assert "Heshmati2023" not in run(trials, "symptoms.smd.all_controls").studies
    assert "Heshmati2023" in run(trials, "symptoms.smd.all_controls.any_instrument").studies


def test_unestablished_instrument_only_enters_the_any_instrument_sensitivity(tmp_path):
    data = _copy(tmp_path)
    for oid in ("Garcia2023.o01", "Garcia2023.o02", "Garcia2023.o03"):
        _set(data, "outcomes.csv", "outcome_id", oid, "instrument", "unclear")
    t = load_trials(data)
    assert "Garcia2023" not in run(t, "symptoms.smd.overall").studies
    assert "Garcia2023" in set(run(t, "symptoms.smd.overall").awaiting["study_id"])
    assert "Garcia2023" in run(t, "symptoms.smd.sensitivity.any_instrument").studies


def test_self_help_excluded_from_primary_included_in_sensitivity_and_single_scales(tmp_path):
    data = _copy(tmp_path)
    _set(data, "studies.csv", "study_id", "Nakagawa2017", "format", "self-help")
    t = load_trials(data)
    assert "Nakagawa2017" not in run(t, "symptoms.smd.overall").studies
    sens = run(t, "symptoms.smd.sensitivity.self_help")
    assert "Nakagawa2017" in sens.studies
    bdi = run(t, "symptoms.md.bdi")
    label = bdi.table.loc[bdi.table["study_id"] == "Nakagawa2017", "label"].iloc[0]
    assert label.endswith("(self-help)")


# ------------------------------------------------------------------ outcome hierarchy
def test_itt_mean_difference_preferred_and_standardised(trials, primary):
    """Cladder-Micus enters with its ITT MD (−3.23, −6.99 to 0.54; 49 + 57 randomised),
    standardised by its own post-treatment SDs, not with the completers' means (g −0.43)."""
    row = primary.table.set_index("study_id").loc["CladderMicus2018"]
    assert row["population"] == "itt" and row["input"] == "standardised"
    sp = pooled_sd([12.66], [44], [11.83], [52])
    g, v = standardised_md([-3.23], [(0.54 + 6.99) / (2 * Z)], sp, [49 + 57])
    assert row["yi"] == pytest.approx(g[0], abs=1e-12) and row["vi"] == pytest.approx(v[0])
    assert row["participants"] == 106
    completers = effect_size("SMD", m1=[35.27], sd1=[12.66], n1=[44], m2=[40.52], sd2=[11.83],
                             n2=[52]).yi[0]  # fmt: skip
    assert abs(row["yi"] - completers) > 0.1
    rev = run(trials, "symptoms.smd.sensitivity.completers_first").table.set_index("study_id")
    assert rev.loc["CladderMicus2018", "yi"] == pytest.approx(completers, abs=1e-12)


def test_standardised_md_equals_hedges_g_when_built_from_the_arms() -> None:
    m1, sd1, n1, m2, sd2, n2 = 22.3, 12.5, 28, 28.3, 10.3, 32
    es = effect_size("SMD", m1=[m1], sd1=[sd1], n1=[n1], m2=[m2], sd2=[sd2], n2=[n2])
    sp = pooled_sd([sd1], [n1], [sd2], [n2])
    g, v = standardised_md([m1 - m2], sp * np.sqrt(1 / n1 + 1 / n2), sp, [n1 + n2])
    assert g[0] == pytest.approx(es.yi[0], abs=1e-14) and v[0] == pytest.approx(es.vi[0])


def test_population_order_is_read_from_the_protocol(tmp_path):
    data = _copy(tmp_path)
    text = (data / "protocol.yml").read_text(encoding="utf-8")
    (data / "protocol.yml").write_text(
        text.replace("[itt, not reported, completers]", "[completers, not reported, itt]"),
        encoding="utf-8")
    t = load_trials(data)
    row = run(t, "symptoms.smd.overall").table.set_index("study_id").loc["CladderMicus2018"]
    assert row["population"] == "completers" and row["input"] == "arms"


def test_remission_uses_the_trials_own_definition(trials):
    """Town 2017's remission is HAM-D based (11/30 vs 1/30); the old self-report-first choice
    took the PHQ-9 row (10/30 vs 1/30)."""
    ma = run(trials, "remission.rr.overall")
    row = ma.table.set_index("study_id").loc["Town2017"]
    assert row["instrument"] == "HAMD-17" and (row["e1"], row["e2"]) == (11, 1)
    assert math.exp(ma.result.estimate) == pytest.approx(11.0)


def test_trial_primary_definition_is_read_from_the_data(tmp_path):
    data = _copy(tmp_path)
    for oid in ("Town2017.o08", "Town2017.o09", "Town2017.o10"):
        _set(data, "outcomes.csv", "outcome_id", oid, "trial_primary_definition", "no")
    for oid in ("Town2017.o11", "Town2017.o12", "Town2017.o13"):
        _set(data, "outcomes.csv", "outcome_id", oid, "trial_primary_definition", "yes")
    row = run(load_trials(data), "remission.rr.overall").table.set_index("study_id")
    assert row.loc["Town2017", "instrument"] == "PHQ-9"


def test_cobalt_response_odds_ratio_is_shown(trials):
    ma = run(trials, "response.or.overall")
    assert ma.studies == ["Wiles2013"]
    assert [round(math.exp(v), 2) for v in (ma.result.estimate, ma.result.ci_low,
                                            ma.result.ci_high)] == [3.26, 2.10, 5.06]  # fmt: skip
    assert ma.participants_unknown == 1
    assert "participants not reported" in ma.estimate("x", "x").texts()["who"]
    assert run(trials, "response.rr.overall").k == 0  # no counts: never back-calculated


# ------------------------------------------------------------------ multi-arm and participants
def test_shared_control_split_only_when_both_arms_are_in_the_analysis(trials, primary):
    mich = primary.table.loc[primary.table["study_id"] == "Michalak2015"]
    assert list(mich["n2"]) == [16, 16] and set(mich["shared_split"]) == {2}
    cbasp = run(trials, "symptoms.smd.modality.family-cbasp")
    row = cbasp.table.iloc[0]
    assert row["n2"] == 32 and row["shared_split"] == 1
    whole = effect_size("SMD", m1=[22.28], sd1=[12.54], n1=[28], m2=[28.34], sd2=[10.27],
                        n2=[32]).yi[0]  # fmt: skip
    assert cbasp.result.estimate == pytest.approx(whole, abs=1e-12)
    assert round(cbasp.result.estimate, 2) == -0.53  # −0.51 with the control halved (old)


def test_published_effects_count_their_participants(trials, primary):
    t = primary.table.set_index("study_id")
    assert t.loc["Souza2016", "participants"] == 34 and t.loc["Town2017", "participants"] == 60
    phq9 = run(trials, "symptoms.md.phq9")
    assert phq9.table.set_index("study_id").loc["Wiles2013", "participants"] == 422
    # Mantani2017 (self-help, shown labelled in the single-scale analyses): an ITT difference
    # without an n, so its participants are the 81 + 83 randomised (studies.csv).
    assert phq9.table.set_index("study_id").loc["Mantani2017", "participants"] == 164
    assert phq9.participants == 422 + 60 + 121 + 62 + 164
    for rid in ANALYSES:
        ma = run(trials, rid)
        if len(ma.table):
            p = pd.to_numeric(ma.table["participants"], errors="coerce")
            assert not (p == 0).any(), rid  # unknown is NaN (said), never a silent zero


# ------------------------------------------------------------------ model
def test_model_is_read_from_the_protocol(tmp_path):
    data = _copy(tmp_path)
    text = (data / "protocol.yml").read_text(encoding="utf-8")
    (data / "protocol.yml").write_text(text.replace("  test: adhoc", "  test: z")
                                       .replace("  tau2: REML", "  tau2: DL"), encoding="utf-8")
    t = load_trials(data)
    ma = run(t, "symptoms.smd.overall")
    assert ma.result.test == "z" and ma.result.method == "DL"
    assert "DerSimonian–Laird" in protocol_texts(t.protocol)["model"]


def test_no_published_interval_is_narrower_than_the_standard_one(trials):
    for rid in ("symptoms.smd.overall", "symptoms.smd.all_controls", "dropout.rr.overall",
                "symptoms.md.bdi", "symptoms.smd.modality.family-third-wave"):  # fmt: skip
        ma = run(trials, rid)
        z = pool(ma.table["yi"], ma.table["vi"], method=ma.method, test="z")
        assert ma.result.se >= z.se - 1e-15, rid
        assert ma.result.pi_low <= ma.result.ci_low and ma.result.pi_high >= ma.result.ci_high


def test_comparator_subgroup_test_uses_standard_ses(trials):
    allc = run(trials, "symptoms.smd.all_controls")
    sg = subgroup_analyses.by_comparator(allc, trials.studies, trials.protocol)
    groups = sg.groups
    est, ses = [], []
    for g in dict.fromkeys(groups):
        m = groups == g
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r = fit(allc.table["yi"].to_numpy()[m], allc.table["vi"].to_numpy()[m], "REML", "z",
                    0.95)  # fmt: skip
        est.append(r.estimate)
        ses.append(r.se)
    w = 1 / np.array(ses) ** 2
    q = float(w @ (np.array(est) - (w @ est) / w.sum()) ** 2)
    assert sg.result.q_between == pytest.approx(q, rel=1e-12)


# ------------------------------------------------------------------ certainty
def test_detection_bias_is_derived_from_the_design_for_every_trial(trials):
    rob = with_design_rule(trials.risk_of_bias, trials.studies, ("add-on", "switch", "active"))
    derived = set(rob.loc[rob["derived"], "study_id"])
    stated = set(trials.risk_of_bias.loc[trials.risk_of_bias["domain"]
                                         == "detection_bias_self_report", "study_id"])  # fmt: skip
    assert "Lynch2020" in derived and "Wiles2013" not in derived  # Wiles: Cochrane's statement
    assert derived | stated == set(trials.studies["study_id"])
    assert (rob.loc[rob["derived"], "judgement"] == "high").all()


def test_grade_rates_symptoms_down_for_risk_of_bias_and_indirectness(trials, primary):
    rating, text = certainty_statement(trials, "symptoms.smd.overall", primary)
    assert rating.downgrades["risk of bias"] == 1 and rating.downgrades["indirectness"] == 1
    # the old rule (source judgements only, no TRD-criterion indirectness) rated it higher
    old = grade(primary.result, primary.table, participants=primary.participants,
                rob=trials.risk_of_bias, rules=rules_of(trials.protocol))  # fmt: skip
    assert old.downgrades["indirectness"] == 0 and rating.certainty != old.certainty
    assert text == statement(rating.certainty, "lower", subject="Psychotherapy added to usual "
                             "care", outcome="depressive symptoms")  # fmt: skip


@pytest.mark.parametrize(("level", "kind", "expected"), [
    ("high", "lower", "Psychotherapy reduces symptoms"),
    ("moderate", "lower", "Psychotherapy probably reduces symptoms"),
    ("low", "lower", "Psychotherapy may reduce symptoms"),
    ("very low", "lower", "We are very uncertain whether psychotherapy reduces symptoms"),
    ("low", "higher", "Psychotherapy may increase symptoms"),
    ("moderate", "no difference",
     "Psychotherapy probably results in little or no difference in symptoms"),
])  # fmt: skip
def test_plain_wording_follows_certainty(level: str, kind: str, expected: str) -> None:
    assert statement(level, kind, subject="Psychotherapy", outcome="symptoms") == expected


def test_inconsistency_prediction_rule_needs_heterogeneity() -> None:
    from types import SimpleNamespace

    t = pd.DataFrame({"study_id": list("ABCD"), "weight": [25] * 4})
    rob = pd.DataFrame({"study_id": list("ABCD"), "judgement": ["low"] * 4})
    base = dict(estimate=-0.3, ci_low=-0.5, ci_high=-0.1, i2=0.0, pi_low=-0.7, pi_high=0.1, k=4)
    hom = grade(SimpleNamespace(**base, tau2=0.0), t, participants=500, rob=rob)
    het = grade(SimpleNamespace(**base, tau2=0.02), t, participants=500, rob=rob)
    assert hom.downgrades["inconsistency"] == 0 and het.downgrades["inconsistency"] == 1


def test_one_statement_everywhere(trials, primary):
    sof = summary_of_findings(trials)
    texts = headline.headline_texts(trials, primary, run(trials, "symptoms.smd.all_controls"))
    assert texts["statement"] == sof.statements["sof.symptoms.smd"]
    assert texts["certainty"] == sof.certainty["sof.symptoms.smd"].certainty


def test_absolute_effects(trials, primary):
    sof = summary_of_findings(trials).table.set_index("Outcome")
    sd, scale, _ = smd_scale_sd(trials, primary)
    assert scale == "BDI-II" and sd == pytest.approx(np.median([12.0, 16.6, 10.27, 14.2]))
    pts = primary.result.estimate * sd
    assert f"{pts:.1f}".replace("-", "\u2212") in sof.loc["Depressive symptoms, end of treatment",
                                                          "Absolute effect"]  # fmt: skip
    risk = risk_with_intervention(3.26, 0.22, "OR")
    assert round(1000 * risk) == 479
    assert "479 per 1,000" in sof.loc["Response (odds ratio)", "Absolute effect"]
    assert "220 per 1,000" in sof.loc["Response (odds ratio)", "Absolute effect"]


def test_nnt_follows_the_primary_analysis(trials, primary):
    texts = headline.headline_texts(trials, primary, run(trials, "symptoms.smd.all_controls"))
    r = primary.result
    assert texts["nnt"] == nnt_from_smd_text(r.estimate, r.ci_low, r.ci_high, 0.22)


# ------------------------------------------------------------------ strict question
def test_strict_question_names_the_qualifying_trials(trials):
    q = headline.strict_question(trials)
    assert q["n"] == "1" and "Eisendrath 2016" in q["trials"]
    assert "no usable data" in q["data"]


def test_strict_question_pools_qualifying_trials_with_data(tmp_path):
    data = _copy(tmp_path)
    _set(data, "studies.csv", "study_id", "Nakagawa2017", "min_failed_ad", "2")
    t = load_trials(data)
    q = headline.strict_question(t)
    one = run(t, "symptoms.smd.overall").table.set_index("study_id").loc["Nakagawa2017"]
    assert "Nakagawa 2017" in q["trials"] and "in the primary comparison" in q["trials"]
    assert f"{abs(one['yi']):.2f}" in q["data"]


# ------------------------------------------------------------------ protocol lists
def test_every_prespecified_analysis_exists(trials):
    proto = trials.protocol
    lists = protocol_lists(proto)
    assert len(lists["sensitivity"]) == len(proto.sensitivity)
    for rid in proto.sensitivity:
        assert rid in ANALYSES or rid in {sensitivity_analyses.NO_OUTLIERS,
                                          sensitivity_analyses.LOW_ROB}, rid  # fmt: skip
    dims = {"symptoms.smd.comparator", "symptoms.smd.family", "symptoms.smd.format",
            "symptoms.smd.definition"}  # fmt: skip
    assert set(proto.subgroups) == dims


def test_grade_rules_come_from_the_protocol(trials):
    rules = rules_of(trials.protocol)
    assert rules == GradeRules(wording=rules.wording)  # the released values
    assert rules.ois == 400 and rules.strict_min_failed == 2
