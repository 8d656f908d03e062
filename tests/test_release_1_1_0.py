"""Release 1.1.0, recorded in a temporary copy of data/ (the lead records the real one): the
history then holds 1.0.0 and 1.1.0, a release is never overwritten, and the changelog speaks in
trial names and estimate labels, not internal ids."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from shared_dirs import ROOT

from analysis import load_trials
from analysis.evidence.validation import release_problems
from analysis.review import history

DATA = ROOT / "data"
INTERNAL_ID = re.compile(r"\b[A-Z][A-Za-z]+\d{4}(?:\.o\d+)?\b|\b[a-z]+\.(?:smd|md|rr)\.[a-z_.]+\b")


@pytest.fixture(scope="module")
def released(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("release") / "data"
    shutil.copytree(DATA, data)
    # Record 1.1.0 afresh from the data (the repository's own record is compared below).
    (data / "history" / "1.1.0.json").unlink(missing_ok=True)
    assert [r["version"] for r in history.load_releases(data)] == ["1.0.0"]
    history.record_release(data)
    return data


def test_the_repository_records_release_1_1_0_of_these_data(released: Path) -> None:
    """data/history/1.1.0.json is the snapshot of the data as they are (same hash, estimates)."""
    mine = json.loads((DATA / "history" / "1.1.0.json").read_text(encoding="utf-8"))
    again = json.loads((released / "history" / "1.1.0.json").read_text(encoding="utf-8"))
    assert mine["data_version"] == again["data_version"]
    assert mine["estimates"] == again["estimates"] and mine["trials"] == again["trials"]


def test_history_holds_1_0_0_and_1_1_0(released: Path) -> None:
    releases = history.load_releases(released)
    assert [r["version"] for r in releases] == ["1.0.0", "1.1.0"]
    new = releases[-1]
    assert new["last_search"] == "2026-12"
    assert "Mantani2017" in new["studies"] and "Heshmati2023" in new["studies"]
    assert history.is_recorded(releases, history.snapshot(load_trials(released)))
    # Under the protocol (issue #10) the key estimates use the primary comparison (usual-care
    # controls, therapist-delivered, established scales): Heshmati 2023 (wait-list) and
    # Mantani 2017 (self-help) enter none of them, and the dropout RR moved with the method.
    assert "Heshmati2023" not in new["trials"] and "Mantani2017" not in new["trials"]
    old_rr = releases[0]["estimates"]["dropout.rr.overall"]
    new_rr = new["estimates"]["dropout.rr.overall"]
    assert "Heshmati2023" in old_rr["studies"] and "Heshmati2023" not in new_rr["studies"]
    assert new_rr["estimate"] != old_rr["estimate"]


def test_recording_again_is_idempotent_and_never_overwrites(released: Path,
                                                            tmp_path: Path) -> None:  # fmt: skip
    path = released / "history" / "1.1.0.json"
    before = path.read_bytes()
    assert history.record_release(released) == path
    data = tmp_path / "data"
    shutil.copytree(released, data)
    (data / "outcomes.csv").write_text(
        (data / "outcomes.csv").read_text(encoding="utf-8").replace(
            "Mantani2017.o01,Mantani2017,CBT app+switch vs switch,depressive_symptoms,PHQ-9,"
            "PHQ-9 (administered by masked telephone assessors),self,post,week 9,9,comparison,,no,"
            ",,,,,precalc_md,MD,-2.48",
            "Mantani2017.o01,Mantani2017,CBT app+switch vs switch,depressive_symptoms,PHQ-9,"
            "PHQ-9 (administered by masked telephone assessors),self,post,week 9,9,comparison,,no,"
            ",,,,,precalc_md,MD,-2.47", 1),
        encoding="utf-8",
    )  # fmt: skip
    problems = release_problems(data, "1.1.0", load_trials(data).data_version)
    assert problems and "never overwritten" in problems[0].rule
    with pytest.raises(FileExistsError, match="bump"):
        history.record_release(data)
    assert (data / "history" / "1.1.0.json").read_bytes() == before


def test_older_version_is_refused(released: Path) -> None:
    problems = release_problems(released, "1.0.5", "whatever")
    assert problems and "older than the recorded release 1.1.0" in problems[0].rule


def test_changelog_lists_the_heshmati_correction_and_the_mantani_addition(released: Path) -> None:
    trials = load_trials(released)
    table = history.data_changes_table(trials, "1.1.0")
    rows: dict[tuple[str, str], str] = {}
    for _, r in table.iterrows():
        key = (r["Trial or study"], r["Change"])
        rows[key] = rows.get(key, "") + " " + r["What changed"]
    assert "dropout in the ISTDP arm corrected from 3 of 43 to 7 of 43" in rows[
        ("Heshmati 2023", "Correction")]
    assert "smartphone CBT" in rows[("Mantani 2017 (FLATT)", "Trial added")]
    assert ("Foroughi 2020", "Screening") in rows
    assert ("Bagherzadeh Ledari 2018", "Screening") in rows
    assert not any(INTERNAL_ID.search(x) for x in table["Trial or study"])


def test_estimates_moved_in_words(released: Path) -> None:
    old, new = history.load_releases(released)
    table = history.movement_table(old, new)
    assert list(table.columns) == ["Estimate", "Version 1.0.0", "Version 1.1.0", "Change", "95% CI"]
    row = table.set_index("Estimate").loc[
        "Psychotherapy added to usual care vs usual care: dropout (RR)"]
    assert row["Change"].startswith("moved by \u22120.02")  # 0.99 -> 0.98
    assert row["95% CI"] == "still includes no difference (1)"
    assert not table["Estimate"].str.contains(INTERNAL_ID).any()
    text = history.whats_new_text(load_trials(released), [old, new], new)
    assert "adds Mantani 2017 (FLATT)" in text and "Heshmati 2023" in text
    assert "dropout (RR) moved from RR" in text
    assert not INTERNAL_ID.search(text.replace("Mantani 2017", "").replace("Heshmati 2023", ""))


def test_release_file_is_json_with_the_data_hash(released: Path) -> None:
    rec = json.loads((released / "history" / "1.1.0.json").read_text(encoding="utf-8"))
    assert rec["data_version"] == load_trials(released).data_version


def test_whats_new_says_when_the_analysis_itself_changed(released: Path) -> None:
    """1.0.0 recorded 'Depressive symptoms, SMD' (all controls, REML + HKSJ); 1.1.0 records the
    protocol's primary analysis: the text must not pass the shift off as new data alone."""
    old, new = history.load_releases(released)
    assert old["estimates"]["symptoms.smd.overall"]["label"] != new["estimates"][
        "symptoms.smd.overall"]["label"]
    trials = load_trials(released)
    assert "the analysis itself changed" in history.whats_new_text(trials, [old, new], new)
    same_method = dict(old, estimates={k: dict(v, label=new["estimates"].get(k, v)["label"])
                                       for k, v in old["estimates"].items()})  # fmt: skip
    assert "the analysis itself changed" not in history.whats_new_text(
        trials, [same_method, new], new)
