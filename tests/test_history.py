"""Tests of analysis.review.history (released estimates and changes between releases)."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import pytest

from analysis import load_trials
from analysis.book.cli import main as cli
from analysis.evidence import find_data_dir
from analysis.review import catalogue
from analysis.review.history import (
    KEY_ESTIMATES,
    compare,
    crosses_null,
    load_releases,
    record_release,
    snapshot,
)


@pytest.fixture(scope="module")
def trials():
    return load_trials()


@pytest.fixture(scope="module")
def snap(trials):
    return snapshot(trials)


def test_snapshot_keys(snap):
    est = snap["estimates"]
    assert set(KEY_ESTIMATES) <= set(est)
    assert est["response.rr.overall"]["k"] == 0  # no trial reports usable response counts yet
    assert est["response.rr.overall"]["estimate"] is None
    assert est["dropout.rr.overall"]["k"] >= 2 and est["dropout.rr.overall"]["estimate"] > 0
    assert snap["version"] and snap["data_version"]
    json.dumps(snap)  # serialisable


def test_snapshot_uses_the_catalogue_and_the_family_mapping(trials, snap):
    est = snap["estimates"]
    mbct = catalogue.run(trials, "symptoms.smd.modality.MBCT")
    assert est["symptoms.smd.modality.MBCT"]["estimate"] == mbct.result.estimate
    assert est["symptoms.smd.modality.MBCT"]["k"] == mbct.k
    # Michalak's group CBASP arm is CBASP, not MBCT (the 1.0.0 release pooled it as MBCT)
    assert "symptoms.smd.modality.CBASP" in est
    assert "Michalak2015" in est["symptoms.smd.modality.CBASP"]["studies"]


def test_recorded_mbct_row_was_the_old_grouping(snap):
    old = next(r for r in load_releases() if r["version"] == "1.0.0")
    assert old["estimates"]["symptoms.smd.modality.MBCT"]["k"] == (
        snap["estimates"]["symptoms.smd.modality.MBCT"]["k"] + 1
    )
    diff = compare(old, snap).set_index("item")
    assert diff.loc["symptoms.smd.modality.MBCT", "change"] == "estimate"


def test_compare_identical_and_changed(snap):
    same = compare(snap, snap)
    assert set(same["change"]) == {"no change"}
    new = copy.deepcopy(snap)
    new["trials"] = [*new["trials"], "New2030"]
    e = new["estimates"]["symptoms.smd.overall"]
    e["estimate"], e["ci_low"], e["ci_high"] = -0.1, -0.3, 0.1
    diff = compare(snap, new).set_index("item")
    assert diff.loc["New2030", "change"] == "trial added"
    row = diff.loc["symptoms.smd.overall"]
    assert row["change"] == "estimate"
    assert row["null"] == "now includes the null"
    assert crosses_null({"measure": "RR", "ci_low": 0.8, "ci_high": 1.2})
    assert not crosses_null({"measure": "RR", "ci_low": 1.1, "ci_high": 1.2})


def _copy_data(tmp_path: Path) -> Path:
    dest = tmp_path / "data"
    shutil.copytree(find_data_dir(), dest, ignore=shutil.ignore_patterns("history"))
    return dest


def test_record_release_refuses_overwrite(tmp_path):
    data = _copy_data(tmp_path)
    path = record_release(data)
    assert path == data / "history" / f"{load_trials(data).version['version']}.json"
    assert record_release(data) == path  # idempotent
    # the recorded release no longer matches the data, version not bumped -> clear error
    snap = json.loads(path.read_text(encoding="utf-8"))
    snap["data_version"] = "something-else"
    path.write_text(json.dumps(snap), encoding="utf-8")
    with pytest.raises(FileExistsError, match="bump"):
        record_release(data)
    assert cli(["release", "--data", str(data)]) == 1
    # bumping the version makes a new release
    vfile = data / "version.yml"
    version = snap["version"]
    major, minor, patch = (int(x) for x in version.split("."))
    bumped = f"{major}.{minor}.{patch + 1}"
    vfile.write_text(
        vfile.read_text(encoding="utf-8").replace(f"version: {version}", f"version: {bumped}"),
        encoding="utf-8",
    )
    assert cli(["release", "--data", str(data)]) == 0
    assert [r["version"] for r in load_releases(data)] == [version, bumped]
