"""Data files that pages publish at the site root (``report.write_site_file``, issue #14)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from analysis.book import report
from analysis.book.build import BuildError
from analysis.book.cache import CACHE_DIR
from analysis.book.discovery import Notebook
from analysis.book.execution import Execution
from analysis.book.results import collect_site_files


def test_write_site_file_writes_the_pipelines_file(tmp_path: Path, monkeypatch) -> None:
    target = tmp_path / "site_files.json"
    monkeypatch.setenv("TRD_SITE_FILES", str(target))
    monkeypatch.setattr(report, "SITE_FILES", {})
    size = report.write_site_file("explorer/multiverse.json", '{"a": "é"}')
    assert size == len('{"a": "é"}'.encode())
    report.write_site_file("explorer/other.csv", "x\n1\n")
    assert json.loads(target.read_text(encoding="utf-8")) == {
        "explorer/multiverse.json": '{"a": "é"}', "explorer/other.csv": "x\n1\n"}


@pytest.mark.parametrize("name", ["results.json", "data/studies.csv", "../x.json", "/x.json",
                                  "explorer/x.html", "Explorer/x.json", "package/a.json",
                                  "explorer//x.json", "x.js"])  # fmt: skip
def test_unsafe_or_reserved_names_are_refused(name: str, monkeypatch) -> None:
    monkeypatch.setattr(report, "SITE_FILES", {})
    with pytest.raises(ValueError, match="site file name"):
        report.write_site_file(name, "{}")


def _page(root: Path, page: str, files: dict[str, str] | None) -> Execution:
    nb = Notebook(page=page, source=Path(f"{page}.md"))
    folder = root / CACHE_DIR / nb.slug
    folder.mkdir(parents=True, exist_ok=True)
    if files is not None:
        (folder / "site_files.json").write_text(json.dumps(files))
    return Execution(notebook=nb, key="k")


def test_collect_site_files(tmp_path: Path) -> None:
    runs = [_page(tmp_path, "chapters/a", {"explorer/m.json": "{}"}),
            _page(tmp_path, "chapters/b", None),
            _page(tmp_path, "chapters/c", {"explorer/m.json": "{}", "z/z.csv": "1"})]  # fmt: skip
    assert collect_site_files(tmp_path, runs) == {"explorer/m.json": b"{}", "z/z.csv": b"1"}


def test_two_pages_writing_one_name_differently_fail(tmp_path: Path) -> None:
    runs = [_page(tmp_path, "chapters/a", {"explorer/m.json": "{}"}),
            _page(tmp_path, "chapters/b", {"explorer/m.json": "[]"})]  # fmt: skip
    with pytest.raises(BuildError, match="explorer/m.json.*chapters/a and chapters/b"):
        collect_site_files(tmp_path, runs)
