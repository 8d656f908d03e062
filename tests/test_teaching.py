"""The teaching notebooks run anywhere: the package with its data, install cell, pairs, answers.

Unit tests (no built site needed). ``tests/test_teaching_site.py`` checks the built site: its
launch, download and source links, and each downloaded notebook run in a fresh virtualenv.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import jupytext
import pytest
import yaml

from analysis import load_trials
from analysis.book import launch, package
from analysis.book.execution import TRACKER_CELL
from analysis.evidence import data_version, paths

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
TEACHING = ROOT / "chapters" / "teaching"
NOTEBOOKS = sorted(TEACHING.glob("*.md"))
NAMES = [p.stem for p in NOTEBOOKS]
SITE_URL = "https://trd-living-review.github.io/trd-psychotherapy-review/"


def _code_cells(path: Path) -> list:
    return [c for c in jupytext.read(path).cells if c.cell_type == "code"]


# --- 1. the data: checkout first, else the snapshot packaged with the wheel -------------------


@pytest.fixture
def snapshot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of data/ standing in for the packaged snapshot; cwd outside any checkout."""
    snap = tmp_path / "site-packages" / "analysis" / "_data"
    shutil.copytree(DATA, snap)
    monkeypatch.setattr(paths, "PACKAGED_DATA", snap.resolve())
    monkeypatch.delenv("TRD_DATA_DIR", raising=False)
    away = tmp_path / "elsewhere"
    away.mkdir()
    monkeypatch.chdir(away)
    return snap


def test_no_checkout_falls_back_to_the_packaged_snapshot(
    snapshot: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("INFO", logger="analysis.evidence.paths"):
        trials = load_trials()
    assert trials.data_dir == snapshot.resolve()
    assert "using the snapshot packaged" in caplog.text
    line = paths.describe_data(trials.data_dir)
    assert line.startswith("Data: the snapshot of data/ packaged with the analysis package")
    version = yaml.safe_load((DATA / "version.yml").read_text())["version"]
    assert f"data version {version} ({data_version(DATA)})" in line


def test_a_checkout_wins_over_the_snapshot(snapshot: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(TEACHING)
    trials = load_trials()
    assert trials.data_dir.resolve() == DATA.resolve()
    line = paths.describe_data(trials.data_dir)
    assert line.startswith(f"Data: the folder {os.path.join('..', '..', 'data')};")


def test_no_checkout_and_no_snapshot_says_what_to_do(
    snapshot: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.rmtree(snapshot)
    with pytest.raises(FileNotFoundError, match="carries no data snapshot.*TRD_DATA_DIR"):
        load_trials()


# --- 1. the wheel ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return package.build_wheel(ROOT, tmp_path_factory.mktemp("wheel"))


def test_wheel_name_and_metadata_come_from_pyproject(wheel: Path) -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert wheel.name == f"trd_psychotherapy_review-{project['version']}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as zf:
        meta_name = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        metadata = zf.read(meta_name).decode()
    requires = sorted(re.findall(r"^Requires-Dist: ([^;\n]+)$", metadata, re.M))
    assert requires == sorted(project["dependencies"])
    assert f"Requires-Python: {project['requires-python']}" in metadata


def test_wheel_holds_the_package_and_every_data_file(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        for path in sorted(DATA.rglob("*")):
            if path.is_file():
                inside = f"analysis/_data/{path.relative_to(DATA).as_posix()}"
                assert zf.read(inside) == path.read_bytes(), inside
    modules = {
        f"analysis/{p.relative_to(ROOT / 'analysis').as_posix()}"
        for p in (ROOT / "analysis").rglob("*.py")
        if "__pycache__" not in p.parts
    }
    assert modules <= names


def test_the_unpacked_wheel_loads_its_own_data_outside_a_checkout(
    wheel: Path, tmp_path: Path
) -> None:
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(site)
    env = {k: v for k, v in os.environ.items() if k not in ("TRD_DATA_DIR", "PYTHONPATH")}
    env["PYTHONPATH"] = str(site)
    code = (
        "import analysis, json\n"
        "from analysis import load_trials\n"
        "from analysis.evidence.paths import describe_data\n"
        "t = load_trials()\n"
        "print(json.dumps([analysis.__file__, str(t.data_dir), t.data_version, "
        "describe_data(t.data_dir), len(t.studies)]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    module, data_dir, version, line, n_studies = json.loads(out.stdout)
    assert Path(module).resolve().is_relative_to(site.resolve())
    assert Path(data_dir).resolve() == (site / "analysis" / "_data").resolve()
    assert version == data_version(DATA)
    assert "packaged with the analysis package" in line
    assert n_studies == len(load_trials(DATA).studies)


def test_wheel_is_rebuilt_only_when_its_inputs_change(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    for name in (*package.ROOT_FILES, "_config.yml"):
        if (ROOT / name).exists():
            shutil.copy(ROOT / name, repo / name)
    shutil.copytree(ROOT / "analysis", repo / "analysis", ignore=shutil.ignore_patterns("__pyc*"))
    shutil.copytree(DATA, repo / "data")
    lines: list[str] = []
    first = package.site_files(repo, lines.append)
    assert len(lines) == 1 and "built the package" in lines[0]
    assert package.site_files(repo, lines.append) == first and len(lines) == 1
    with (repo / "data" / "outcomes.csv").open("a", encoding="utf-8") as fh:
        fh.write("\n")
    changed = package.site_files(repo, lines.append)
    assert len(lines) == 2
    assert list(changed) == [f"_extra/package/{package.wheel_name(ROOT)}"]
    assert changed != first


def test_package_url_is_configured_once_in_config() -> None:
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["html"]["baseurl"] == SITE_URL
    assert package.package_url(ROOT) == f"{SITE_URL}package/{package.wheel_name(ROOT)}"


# --- 2. the notebooks' first cell and the downloads --------------------------------------------


@pytest.mark.parametrize("path", NOTEBOOKS, ids=NAMES)
def test_first_cell_installs_the_package_when_missing(path: Path) -> None:
    first = _code_cells(path)[0].source
    url = package.package_url(ROOT)
    assert f'PACKAGE_URL = "{url}"' in first, f"{path.name}: the first cell must install {url}"
    assert 'if importlib.util.find_spec("analysis") is None:' in first
    assert 'os.environ.get("TRD_REVIEW_PACKAGE") or PACKAGE_URL' in first
    assert '%pip install --quiet "{package}"' in first
    assert "%matplotlib inline" in first


@pytest.mark.parametrize("path", NOTEBOOKS, ids=NAMES)
def test_page_offers_the_package_for_download(path: Path) -> None:
    name = package.wheel_name(ROOT)
    assert f" </_extra/{package.SITE_FOLDER}/{name}>`" in path.read_text()


def test_every_notebook_has_the_same_first_cell() -> None:
    assert len({_code_cells(p)[0].source for p in NOTEBOOKS}) == 1


@pytest.mark.parametrize("path", NOTEBOOKS, ids=NAMES)
def test_parameters_cell_is_kept(path: Path) -> None:
    tagged = [c for c in _code_cells(path) if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1


def _executed(cells: list[dict]) -> bytes:
    nb = {
        "cells": cells,
        "metadata": {"papermill": {"input_path": "/tmp/nb-x/input.ipynb"}, "kernelspec": {}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    return json.dumps(nb).encode()


def test_clean_notebook_drops_the_tracker_and_papermill_run_metadata() -> None:
    timing = {"papermill": {"duration": 0.1}, "execution": {"iopub.status.busy": "x"}}
    raw = _executed([
        {"cell_type": "code", "source": TRACKER_CELL, "metadata": {"tags": ["remove-cell"]},
         "outputs": [{"output_type": "execute_result", "data": {"text/plain": "True"}}]},
        {"cell_type": "code", "source": "n = 1", "outputs": [],
         "metadata": {"tags": ["parameters"], **timing}},
        {"cell_type": "code", "source": "fig", "metadata": dict(timing),
         "outputs": [{"output_type": "display_data", "data": {"image/png": "iVBOR"}}]},
    ])  # fmt: skip
    nb = json.loads(package.clean_notebook(raw))
    assert "papermill" not in nb["metadata"]
    assert [c["source"] for c in nb["cells"]] == ["n = 1", "fig"]
    assert nb["cells"][0]["metadata"] == {"tags": ["parameters"]}
    assert nb["cells"][1]["outputs"][0]["data"] == {"image/png": "iVBOR"}
    assert nb["cells"][1]["metadata"] == {}
    # The executed notebook as the build writes it does contain the tracker (the test can fail).
    assert json.loads(raw)["cells"][0]["source"] == TRACKER_CELL


# --- 3. Binder and Colab -----------------------------------------------------------------------


@pytest.mark.parametrize("path", NOTEBOOKS, ids=NAMES)
def test_paired_ipynb_exists_output_free_and_in_sync(path: Path) -> None:
    paired = path.with_suffix(".ipynb")
    assert paired.exists(), f"run: jupytext --sync {path.relative_to(ROOT)}"
    raw = json.loads(paired.read_text(encoding="utf-8"))
    for cell in raw["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None
    ipynb = jupytext.read(paired)
    md = jupytext.read(path)
    assert [(c.cell_type, c.source, c.metadata.get("tags")) for c in ipynb.cells] == [
        (c.cell_type, c.source, c.metadata.get("tags")) for c in md.cells
    ], f"{paired.name} is out of date: run jupytext --sync {path.relative_to(ROOT)}"


def test_launch_buttons_are_kept_on_configured_pages_only() -> None:
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    sconf = config["sphinx"]["config"]
    assert "analysis.book.launch" in sconf["extensions"]
    patterns = sconf["launch_pages"]
    for path in NOTEBOOKS:
        page = path.relative_to(ROOT).with_suffix("").as_posix()
        assert launch.keep_launch_buttons(page, patterns)
        assert path.with_suffix(".ipynb").exists()  # what the buttons open
    assert not launch.keep_launch_buttons("chapters/results/symptoms", patterns)

    class App:
        class config:  # noqa: N801 - stands in for Sphinx's app.config
            launch_pages = patterns

    buttons = [{"label": "launch-buttons"}, {"label": "download-buttons"}]
    context = {"header_buttons": list(buttons)}
    launch._filter(App, "chapters/results/symptoms", "page.html", context, None)
    assert context["header_buttons"] == buttons[1:]
    context = {"header_buttons": list(buttons)}
    launch._filter(App, "chapters/teaching/few-trials", "page.html", context, None)
    assert context["header_buttons"] == buttons


def test_binder_environment_matches_the_package() -> None:
    binder = ROOT / "binder"
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = {
        line.strip()
        for line in (binder / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert set(project["dependencies"]) <= pins
    assert (binder / "runtime.txt").read_text().strip() == "python-3.11"
    post = binder / "postBuild"
    assert os.access(post, os.X_OK)
    assert "pip install --no-deps -e ." in post.read_text()


# --- 4. exercises and answers --------------------------------------------------------------------

EXERCISE = re.compile(r"```\{exercise\}[^\n]*\n:label: ([\w-]+)")
SOLUTION = re.compile(r"```\{solution(?:-start)?\} ([\w-]+)\n:class: dropdown")


def unanswered(text: str) -> list[str]:
    """Exercise labels of a page without exactly one collapsible solution, and questions
    posed as plain numbered lists under a "Questions" or "Exercises" heading."""
    exercises = EXERCISE.findall(text)
    answers = SOLUTION.findall(text)
    bad = [e for e in exercises if answers.count(e) != 1]
    sections = re.findall(r"^## (?:Questions|Exercises)[^\n]*\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    for section in sections:
        bad += [f"plain question: {q}" for q in re.findall(r"^\d+\. (.*)$", section, re.M)]
    return bad


@pytest.mark.parametrize("path", NOTEBOOKS, ids=NAMES)
def test_every_exercise_and_question_has_a_model_answer(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert EXERCISE.findall(text), f"{path.name} has no exercise or question"
    assert unanswered(text) == []
    assert "```{dropdown}" not in text and "```{admonition} Exercise" not in text


def test_the_answer_check_can_fail() -> None:
    old_style = "## Questions for discussion\n\n1. Which definition would you choose?\n"
    assert unanswered(old_style) == ["plain question: Which definition would you choose?"]
    orphan = "```{exercise}\n:label: q1\n\nWhy?\n```\n"
    assert unanswered(orphan) == ["q1"]


def test_landing_page_links_to_the_teaching_part() -> None:
    text = (ROOT / "chapters" / "index.md").read_text(encoding="utf-8")
    for name in NAMES:
        assert f"teaching/{name}" in text
