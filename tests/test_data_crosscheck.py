"""Cross-check the Metapsy-sourced values in data/ against the Metapsy snapshot.

Every outcomes.csv row and risk_of_bias.csv row whose source cites
"Metapsy depression-psyctr ... [file row N]" is compared with row N of
../shared/reference/metapsy-depression-psyctr/data.csv (semicolon-separated, comma decimals).
Skipped when the reference folder is absent. Any mismatch fails and is listed.
"""

from __future__ import annotations

import re

import pandas as pd
import pytest
from shared_dirs import ROOT, shared_dir

from analysis import load_trials

REF = shared_dir() / "reference" / "metapsy-depression-psyctr" / "data.csv"
ROW = re.compile(r"Metapsy depression-psyctr \(zenodo 7254845\), row \.id=(\S+) \[file row (\d+)\]")

pytestmark = pytest.mark.skipif(not REF.is_file(), reason=f"Metapsy snapshot not found at {REF}")


@pytest.fixture(scope="module")
def metapsy() -> pd.DataFrame:
    d = pd.read_csv(REF, sep=";", decimal=",", dtype=str, keep_default_na=False)
    d = d.rename(columns={d.columns[0]: "file_row"})
    return d.set_index("file_row")


@pytest.fixture(scope="module")
def trials():
    return load_trials(ROOT / "data")


def _num(x: str) -> float | None:
    return None if x in ("", "NA") else float(x.replace(",", "."))


def _close(a: float | None, b: float | None, tol: float = 1e-9) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= tol * max(1.0, abs(b))


def _mp_row(metapsy: pd.DataFrame, source: str) -> tuple[pd.Series, str]:
    m = ROW.search(source)
    assert m, source
    row = metapsy.loc[m.group(2)]
    want_id = m.group(1)
    got_id = row[".id"] if row[".id"] not in ("", "NA") else "NA"
    assert got_id == want_id, f"file row {m.group(2)}: .id {got_id} != {want_id}"
    return row, m.group(2)


def test_outcome_values_match_metapsy(trials, metapsy) -> None:
    o = trials.outcomes
    rows = o[o["source"].str.contains("Metapsy depression-psyctr", na=False)]
    assert len(rows) >= 50
    mismatches: list[str] = []
    checked = 0
    for _, r in rows.iterrows():
        mp, fr = _mp_row(metapsy, r["source"])
        arm = "1" if r["arm"] == "intervention" else "2"
        pairs: list[tuple[str, object, str]] = []
        if r["stat_type"] == "post_msd":
            pairs = [("n", r["n"], f"n_arm{arm}"), ("mean", r["mean"], f"mean_arm{arm}"),
                     ("sd", r["sd"], f"sd_arm{arm}")]  # fmt: skip
        elif r["stat_type"] == "events" and r["outcome"] == "dropout":
            pairs = [("events", r["events"], f"attr_arm{arm}"),
                     ("total", r["total"], f"rand_arm{arm}")]  # fmt: skip
        elif r["stat_type"] == "events":
            pairs = [("events", r["events"], f"event_arm{arm}"),
                     ("total", r["total"], f"totaln_arm{arm}")]  # fmt: skip
        elif r["stat_type"] == "precalc_g":
            pairs = [("effect", r["effect"], ".g"), ("se", r["se"], ".g_se")]
        for col, ours, theirs in pairs:
            a = None if pd.isna(ours) else float(ours)
            b = _num(mp[theirs])
            checked += 1
            if not _close(a, b):
                mismatches.append(f"{r['outcome_id']} {col}={a} vs Metapsy row {fr} {theirs}={b}")
    assert checked >= 150
    assert not mismatches, "\n".join(mismatches)


def test_risk_of_bias_matches_metapsy(trials, metapsy) -> None:
    rob = trials.risk_of_bias
    rows = rob[rob["source"].str.contains("Metapsy depression-psyctr", na=False)]
    assert len(rows) >= 30
    col = {
        "sequence_generation": "sg",
        "allocation_concealment": "ac",
        "incomplete_outcome_data_itt": "itt",
        "blinding_outcome_assessors_clinician": "ba",
    }
    judgement = {"0": "high", "1": "low"}
    mismatches = []
    for _, r in rows.iterrows():
        mp, fr = _mp_row(metapsy, r["source"])
        want = judgement.get(mp[col[r["domain"]]])
        if want != r["judgement"]:
            mismatches.append(f"{r['study_id']} {r['domain']}: {r['judgement']} vs row {fr} {want}")
    assert not mismatches, "\n".join(mismatches)


def test_study_level_metapsy_values(trials, metapsy) -> None:
    """Arm sizes, age and % women that studies.csv attributes to Metapsy."""
    s = trials.studies.set_index("study_id")
    first_rows = {"Nakagawa2017": "469", "Harley2008": "257", "Town2017": "787",
                  "CladderMicus2018": "122", "Fonagy2015": "203", "Rohricht2013": "608",
                  "Lynch2020": "404", "Heshmati2023": "281", "Garcia2023": "230"}  # fmt: skip
    mismatches = []
    for sid, fr in first_rows.items():
        mp = metapsy.loc[fr]
        st = s.loc[sid]
        checks = [("n_rand_ctl", st["n_rand_ctl"], mp["rand_arm2"])]
        if sid != "Lynch2020":  # Lynch: intervention n from the abstract (162)
            checks.append(("n_rand_int", st["n_rand_int"], mp["rand_arm1"]))
        if not pd.isna(st["pct_women"]):
            checks.append(("pct_women", st["pct_women"] / 100, mp["percent_women"]))
        if not pd.isna(st["mean_age"]):
            checks.append(("mean_age", st["mean_age"], mp["mean_age"]))
        for col, ours, theirs in checks:
            a = float(ours)
            b = _num(theirs)
            if b is None or abs(a - b) > 0.006 * max(1, abs(b)):
                mismatches.append(f"{sid} {col}: {ours} vs Metapsy row {fr} {theirs}")
    assert not mismatches, "\n".join(mismatches)
