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
from analysis.review.history import compare, crosses_null, load_releases, record_release, snapshot


@pytest.fixture(scope="module")
def snap():
    return snapshot(load_trials())


def test_snapshot_keys(snap):
    est = snap["estimates"]
    for key in (
        "symptoms.smd.overall",
        "symptoms.md.bdi",
        "remission.rr.overall",
        "response.rr.overall",
        "dropout.rr.overall",
    ):
        assert key in est
    assert any(k.startswith("symptoms.smd.modality.") for k in est)
    assert snap["version"] and snap["data_version"]
    assert est["response.rr.overall"]["k"] == 0 or est["response.rr.overall"]["estimate"]
    json.dumps(snap)  # serialisable


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
    assert path.name == "1.0.0.json" or path.suffix == ".json"
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
