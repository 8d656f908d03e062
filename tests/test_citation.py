"""CITATION.cff names the latest recorded release of the trial database (data/history/)."""

from __future__ import annotations

from pathlib import Path

import yaml

from analysis.review import history

ROOT = Path(__file__).resolve().parents[1]


def test_citation_names_the_latest_release() -> None:
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    latest = history.load_releases(ROOT / "data")[-1]
    assert str(citation["version"]) == latest["version"], (
        "CITATION.cff 'version' must be the latest release in data/history/ "
        f"({latest['version']}): update it when recording a release"
    )
    assert str(citation["date-released"]) == latest["recorded"]
