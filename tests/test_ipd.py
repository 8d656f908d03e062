"""Participant-level data (data/ipd/heshmati2023): mapping, generated rows, cross-checks, errors.

Expected values come from outside the code under test: the figures printed in
``shared/extraction/UPDATE-2026-12.md`` (section 1, three decimals) and an independent
computation with ``pandas.read_spss`` on the reference copy in
``shared/reference/heshmati2023-ipd/`` (skipped when that folder is absent).
"""

from __future__ import annotations

import hashlib
import math
import shutil
from pathlib import Path

import pandas as pd
import pytest
from scipy.special import gammaln
from shared_dirs import ROOT, shared_dir

from analysis import DataValidationError, load_trials, validate
from analysis.evidence import data_version
from analysis.review import within_trial

DATA = ROOT / "data"
IPD = DATA / "ipd" / "heshmati2023"
MAPPING = IPD / "mapping.yml"
SAV = "RCT Dataset ISTDP vs. Waitlist for Treatment-Resistant Depression.sav"
REF = shared_dir() / "reference" / "heshmati2023-ipd" / SAV
needs_ref = pytest.mark.skipif(not REF.is_file(), reason=f"reference dataset not found at {REF}")

#: UPDATE-2026-12.md section 1: (timepoint, arm) -> (mean, SD, n), observed cases.
SHEET = {
    ("post", "intervention"): (21.806, 5.181, 36),
    ("post", "control"): (29.333, 3.716, 39),
    ("fu", "intervention"): (17.333, 5.372, 36),
    ("fu", "control"): (29.231, 4.126, 39),
}
SHEET_MIN2 = {"intervention": (23.812, 5.294, 16), "control": (30.958, 2.116, 24)}
SHEET_PRIOR = {"ISTDP": {"one": 22, "two": 11, "three": 6, "four": 4},
               "Control": {"one": 16, "two": 21, "three": 2, "four": 4}}  # fmt: skip


@pytest.fixture(scope="module")
def trials():
    return load_trials(DATA)


@pytest.fixture(scope="module")
def generated(trials) -> pd.DataFrame:
    o = trials.outcomes
    return o.loc[o["origin"] == "ipd/heshmati2023/mapping.yml"].set_index("outcome_id")


@pytest.fixture()
def data_copy(tmp_path: Path) -> Path:
    dest = tmp_path / "data"
    shutil.copytree(DATA, dest)
    return dest


# --------------------------------------------------------------------------- values
def test_generated_rows_match_the_update_sheet(generated) -> None:
    sym = generated.loc[generated["outcome"] == "depressive_symptoms"]
    assert len(sym) == 4
    for r in sym.itertuples():
        mean, sd, n = SHEET[(r.timepoint, r.arm)]
        assert r.n == n
        assert r.mean == pytest.approx(mean, abs=5e-4)
        assert r.sd == pytest.approx(sd, abs=5e-4)
        assert r.instrument == "WAI-D" and r.rater == "self" and r.use == "primary"
    drop = generated.loc[generated["outcome"] == "dropout"]
    got = {r.arm: (r.events, r.total) for r in drop.itertuples()}
    assert got == {"intervention": (7, 43), "control": (4, 43)}  # 1.0.0 had 3/43 for ISTDP


def test_primary_dropout_of_heshmati_is_the_dataset_count(trials) -> None:
    """Fails on data 1.0.0, where Metapsy's 3/43 (Heshmati2023.o06) was the primary row."""
    o = trials.outcomes
    prim = o.loc[(o["study_id"] == "Heshmati2023") & (o["outcome"] == "dropout")
                 & (o["use"] == "primary")]  # fmt: skip
    assert sorted(prim["outcome_id"]) == ["Heshmati2023.o12", "Heshmati2023.o13"]
    assert prim["source"].str.startswith(f"data/ipd/heshmati2023/{SAV}").all()


@needs_ref
def test_data_copy_is_the_reference_file() -> None:
    assert (IPD / SAV).read_bytes() == REF.read_bytes()


@needs_ref
def test_generated_rows_equal_an_independent_computation(generated) -> None:
    ref = pd.read_spss(str(REF), convert_categoricals=True)
    arms = {"intervention": "ISTDP", "control": "Control"}
    times = {"post": "Post-treatment", "fu": "Follow-up"}
    for r in generated.loc[generated["outcome"] == "depressive_symptoms"].itertuples():
        vals = ref.loc[(ref["Tx_condition"] == arms[r.arm]) & (ref["Time"] == times[r.timepoint]),
                       "Depression"].dropna()  # fmt: skip
        assert r.n == len(vals)
        assert r.mean == pytest.approx(vals.mean(), rel=1e-12)
        assert r.sd == pytest.approx(vals.std(), rel=1e-12)
    base = ref.loc[ref["Time"] == "Baseline"]
    for r in generated.loc[generated["outcome"] == "dropout"].itertuples():
        arm = base.loc[base["Tx_condition"] == arms[r.arm]]
        assert (r.events, r.total) == ((arm["Dropout"] == "Dropout").sum(), len(arm))


@needs_ref
def test_min2_subgroup_equals_an_independent_computation(trials) -> None:
    ref = pd.read_spss(str(REF), convert_categoricals=True)
    sub = ref.loc[ref["previoustreatment"].isin(["two", "three", "four"])
                  & (ref["Time"] == "Post-treatment")]  # fmt: skip
    got = within_trial.subgroup_summary(trials, "Heshmati2023", "min2")
    for arm, value in (("intervention", "ISTDP"), ("control", "Control")):
        vals = sub.loc[sub["Tx_condition"] == value, "Depression"].dropna()
        assert got.loc[arm, "n"] == len(vals)
        assert got.loc[arm, "mean"] == pytest.approx(vals.mean(), rel=1e-12)
        assert got.loc[arm, "sd"] == pytest.approx(vals.std(), rel=1e-12)


def test_min2_subgroup_matches_the_update_sheet(trials) -> None:
    got = within_trial.subgroup_summary(trials, "Heshmati2023", "min2")
    for arm, (mean, sd, n) in SHEET_MIN2.items():
        assert got.loc[arm, "n"] == n
        assert got.loc[arm, "mean"] == pytest.approx(mean, abs=5e-4)
        assert got.loc[arm, "sd"] == pytest.approx(sd, abs=5e-4)


def test_prior_failed_trials_match_the_update_sheet(trials) -> None:
    frame = trials.ipd["Heshmati2023"].frame
    base = frame.loc[frame["Time"] == "Baseline"]
    counts = base.groupby("Tx_condition")["previoustreatment"].value_counts()
    for arm, want in SHEET_PRIOR.items():
        assert {k: int(counts[arm][k]) for k in want} == want


def test_min2_effect_is_hedges_g_of_the_subgroup(trials) -> None:
    """Hedges' g (exact J) and its metafor variance, written out here from the sheet's figures
    (three decimals, hence the tolerance)."""
    (m1, s1, n1), (m2, s2, n2) = SHEET_MIN2["intervention"], SHEET_MIN2["control"]
    df = n1 + n2 - 2
    sp = math.sqrt(((n1 - 1) * s1**2 + (n2 - 1) * s2**2) / df)
    j = math.exp(gammaln(df / 2) - math.log(math.sqrt(df / 2)) - gammaln((df - 1) / 2))
    g = j * (m1 - m2) / sp
    v = 1 / n1 + 1 / n2 + g**2 / (2 * (n1 + n2))
    e = within_trial.subgroup_effect(trials, "Heshmati2023", "min2")
    assert e.estimate == pytest.approx(g, abs=2e-3)
    assert e.ci_low == pytest.approx(g - 1.959963984540054 * math.sqrt(v), abs=2e-3)
    assert e.k == 1 and math.isnan(e.tau2)


def test_within_trial_texts_say_it_is_not_randomised(trials) -> None:
    est = within_trial.subgroup_estimate(trials, within_trial.MIN2_ID)
    assert "not a randomised comparison" in est.label
    assert est.studies == ("Heshmati2023",) and est.participants == 40
    text = within_trial.subgroup_text(trials)
    assert "a subgroup of one randomised trial, not a randomised comparison" in text
    assert "not an established depression-severity instrument" in text
    table = within_trial.subgroup_table(trials, "Heshmati2023")
    assert table["Participants"].iloc[0].endswith("(randomised comparison)")
    assert table["Participants"].iloc[1:].str.contains("not a randomised comparison").all()
    assert "not a randomised comparison" in within_trial.within_trial_note(trials, "min2")
    assert "No within-trial subgroup" in within_trial.within_trial_note(trials, "any")


def test_baseline_means_in_studies_match_the_dataset(trials) -> None:
    frame = trials.ipd["Heshmati2023"].frame
    base = frame.loc[frame["Time"] == "Baseline"].groupby("Tx_condition")["Depression"].mean()
    s = trials.studies.set_index("study_id").loc["Heshmati2023"]
    assert float(s["baseline_mean_int"]) == pytest.approx(base["ISTDP"], abs=5e-3)
    assert float(s["baseline_mean_ctl"]) == pytest.approx(base["Control"], abs=5e-3)


def test_generated_rows_carry_the_file_and_mapping(generated) -> None:
    assert generated["source"].str.startswith(f"data/ipd/heshmati2023/{SAV} (").all()
    assert generated["source"].str.contains("10.17605/OSF.IO/75PU8").all()
    assert generated["location"].str.contains("data/ipd/heshmati2023/mapping.yml").all()
    assert generated["line"].notna().all()


# --------------------------------------------------------------------------- errors
def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_wrong_variable_name_names_the_mapping_file_and_variable(data_copy: Path) -> None:
    mapping = data_copy / "ipd" / "heshmati2023" / "mapping.yml"
    _edit(mapping, "variable: Tx_condition", "variable: Tx_conditon")
    problems = validate(data_copy)
    hits = [p for p in problems if p.file == "data/ipd/heshmati2023/mapping.yml"]
    assert len(hits) == 1, problems
    p = hits[0]
    line = next(i for i, t in enumerate(mapping.read_text().splitlines(), 1) if "Tx_conditon" in t)
    assert (p.row, p.column, p.value) == (line, "arm.variable", "Tx_conditon")
    assert "variable 'Tx_conditon' is not in the dataset" in p.rule and "Tx_condition" in p.rule
    with pytest.raises(DataValidationError, match=r"mapping\.yml.*Tx_conditon"):
        load_trials(data_copy)


@pytest.mark.parametrize(
    ("old", "new", "key", "rule"),
    [
        ("intervention: ISTDP\n", "intervention: ISTDPX\n", "arm.intervention",
         "value 'ISTDPX' does not occur in variable 'Tx_condition'"),
        ("variable: Depression", "variable: Depresion", "outcomes[0].variable",
         "variable 'Depresion' is not in the dataset"),
        ("variable: previoustreatment\n    description", "variable: previous\n    description",
         "baseline[0].variable", "variable 'previous' is not in the dataset"),
        ("sha256: fa6458cc", "sha256: 0a6458cc", "dataset.sha256", "the dataset is not the file"),
        ("instrument: WAI-D", "instrument: WAI", "outcomes[0].instrument",
         "instrument must be a code of the schema"),
        ("Heshmati2023.o10, Heshmati2023.o11", "Heshmati2023.o10, Heshmati2023.o10",
         "outcomes[0].ids", "outcome id used twice"),
    ],
)  # fmt: skip
def test_mapping_errors_are_reported(data_copy: Path, old: str, new: str, key: str,
                                     rule: str) -> None:  # fmt: skip
    _edit(data_copy / "ipd" / "heshmati2023" / "mapping.yml", old, new)
    problems = validate(data_copy)
    assert any(p.file.endswith("mapping.yml") and p.column == key and rule in p.rule
               for p in problems), problems  # fmt: skip


def test_generated_id_that_collides_with_outcomes_csv_is_reported(data_copy: Path) -> None:
    _edit(data_copy / "ipd" / "heshmati2023" / "mapping.yml", "[Heshmati2023.o08,",
          "[Heshmati2023.o01,")  # fmt: skip
    problems = validate(data_copy)
    assert any(p.file.endswith("mapping.yml") and p.rule.startswith("outcome_id must be unique")
               for p in problems), problems  # fmt: skip


def test_missing_dataset_is_reported(data_copy: Path) -> None:
    (data_copy / "ipd" / "heshmati2023" / SAV).unlink()
    problems = validate(data_copy)
    assert any(p.file.endswith("mapping.yml") and p.rule == "dataset file is missing"
               for p in problems)  # fmt: skip


def test_data_version_covers_the_dataset_and_the_mapping(data_copy: Path) -> None:
    before = data_version(data_copy)
    assert before == data_version(DATA)
    with (data_copy / "ipd" / "heshmati2023" / "mapping.yml").open("a") as fh:
        fh.write("# edited\n")
    assert data_version(data_copy) != before
    assert hashlib.sha256((IPD / SAV).read_bytes()).hexdigest().startswith("fa6458cc")
