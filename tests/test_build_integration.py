"""Integration tests of the build pipeline, in a temporary copy of the repository.

They build the whole book (slow: a few minutes), then check that

* a change of one data value reaches ``results.json`` and the page text, and a further build
  with no change executes no notebook;
* invalid data stops the build with a message naming file, row and column, and leaves the
  previous site byte for byte unchanged;
* a fabricated trial added to the copy changes the landing page's bottom line;
* editing a module of the build that no notebook imports executes no notebook, and editing the
  forest plot's module executes exactly the notebooks that imported it (some, not all).

Nothing here touches the real ``data/``.
"""

from __future__ import annotations

import csv
import hashlib
import re
from pathlib import Path

import pytest

from analysis.book.sandbox import (
    BUILD_TOOLING,
    append_comment,
    copy_repository,
    edit_csv_cell,
    forest_module,
    pages_reading,
    read_results,
    run_build,
)

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[1]
OVERALL = "symptoms.smd.overall"


def site_digest(site: Path) -> dict[str, str]:
    return {
        str(p.relative_to(site)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(site.rglob("*"))
        if p.is_file()
    }


def bottom_line(root: Path) -> str:
    html = (root / "_build" / "html" / "chapters" / "index.html").read_text(encoding="utf-8")
    match = re.search(r'<div class="bottom-line[^"]*"[^>]*>(.*?)</div>\s*(?=<)', html, re.S)
    assert match, "the landing page has no bottom-line block"
    return re.sub(r"<[^>]+>", " ", match.group(1))


def read_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames or []), list(reader)


def write_rows(path: Path, fields: list[str], rows: list[dict[str, str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = copy_repository(REPO, tmp_path_factory.mktemp("book") / "repo")
    first = run_build(root)
    assert first.returncode == 0, first.output[-5000:]
    assert first.report["executed"] == first.report["notebooks"] > 0
    return root


def overall_arm_row(root: Path) -> tuple[int, dict[str, str]]:
    """The first arm-level row that enters the overall SMD, as (data row index, row)."""
    from analysis.evidence import load_trials
    from analysis.review import meta_analysis

    ma = meta_analysis(load_trials(root / "data"))
    used = ma.table.loc[ma.table["input"] == "arms", "outcome_ids"].iloc[0].split(";")
    _, rows = read_rows(root / "data" / "outcomes.csv")
    for i, row in enumerate(rows):
        if row["outcome_id"] in used and row["arm"] == "intervention" and row["mean"]:
            return i, row
    raise AssertionError("no arm-level row found in the overall analysis")


def test_one_value_change_reaches_results_and_page(repo: Path) -> None:
    before = read_results(repo)[OVERALL]
    text_before = bottom_line(repo)
    index, row = overall_arm_row(repo)
    new_mean = max(0.0, float(row["mean"]) - 3.0)
    edit_csv_cell(repo / "data" / "outcomes.csv", index, "mean", f"{new_mean:g}")

    second = run_build(repo)
    assert second.returncode == 0, second.output[-5000:]
    after = read_results(repo)[OVERALL]
    assert after["estimate"] != pytest.approx(before["estimate"], abs=1e-9)
    assert after["data_version"] != before["data_version"]
    text_after = bottom_line(repo)
    assert text_after != text_before
    from analysis.review.text import fmt_number

    assert fmt_number(after["estimate"]) in text_after
    # Only notebooks that read data were executed.
    cache = repo / "_build" / ".cache"
    import json

    for page in second.report["executed_pages"]:
        manifest = json.loads((cache / page.replace("/", "__") / "manifest.json").read_text())
        assert manifest["data_reads"], f"{page} read no data but was re-executed"
    assert 0 < second.report["executed"] <= second.report["notebooks"]

    third = run_build(repo)
    assert third.returncode == 0, third.output[-3000:]
    assert third.report["executed"] == 0


def test_invalid_data_fails_and_keeps_the_site(repo: Path) -> None:
    site = repo / "_build" / "html"
    digest_before = site_digest(site)
    path = repo / "data" / "outcomes.csv"
    original = path.read_bytes()
    fields, rows = read_rows(path)
    index = next(i for i, r in enumerate(rows) if r["sd"])
    rows[index]["sd"] = "-1.5"
    write_rows(path, fields, rows)
    try:
        run = run_build(repo)
    finally:
        path.write_bytes(original)
    assert run.returncode != 0
    line = index + 2  # header is line 1
    assert "outcomes.csv" in run.output
    assert f"row {line}" in run.output
    assert "'sd'" in run.output
    assert site_digest(site) == digest_before


def test_fabricated_trial_changes_the_bottom_line(repo: Path) -> None:
    before = read_results(repo)[OVERALL]
    text_before = bottom_line(repo)
    data = repo / "data"
    s_fields, studies = read_rows(data / "studies.csv")
    o_fields, outcomes = read_rows(data / "outcomes.csv")
    template = next(s for s in studies if s["study_id"] == "Nakagawa2017")
    fake = dict(
        template, study_id="Fabricated2030", trial_name="FAKE", year="2030",
        n_rand_int="150", n_rand_ctl="150", notes="fabricated trial for a test",
        data_status="partial",  # symptom data only, no dropout rows
    )  # fmt: skip
    arm_rows = [
        r for r in outcomes
        if r["study_id"] == "Nakagawa2017" and r["outcome"] == "depressive_symptoms"
        and r["arm"] in ("intervention", "control") and r["use"] == "primary" and r["mean"]
    ]  # fmt: skip
    new_rows = []
    for i, r in enumerate(arm_rows, start=1):
        mean = float(r["mean"])
        new_rows.append(dict(r, study_id="Fabricated2030", outcome_id=f"Fabricated2030.o{i:02d}",
                             n="150", mean=f"{mean * (0.5 if r['arm'] == 'intervention' else 1):g}",
                             source="fabricated for a test", location="none"))  # fmt: skip
    write_rows(data / "studies.csv", s_fields, [*studies, fake])
    write_rows(data / "outcomes.csv", o_fields, [*outcomes, *new_rows])

    run = run_build(repo)
    assert run.returncode == 0, run.output[-5000:]
    after = read_results(repo)[OVERALL]
    assert after["k"] > before["k"]
    assert "Fabricated2030" in after["studies"]
    assert after["estimate"] < before["estimate"]
    assert bottom_line(repo) != text_before


def test_editing_build_tooling_executes_nothing(repo: Path) -> None:
    assert not pages_reading(repo, BUILD_TOOLING)
    append_comment(repo / BUILD_TOOLING)
    run = run_build(repo)
    assert run.returncode == 0, run.output[-3000:]
    assert run.report["executed"] == 0


def test_editing_the_forest_plot_executes_the_notebooks_that_imported_it(repo: Path) -> None:
    module = forest_module(repo)
    importers = pages_reading(repo, module)
    append_comment(repo / module)
    run = run_build(repo)
    assert run.returncode == 0, run.output[-3000:]
    assert 0 < run.report["executed"] < run.report["notebooks"]
    assert set(run.report["executed_pages"]) == importers
