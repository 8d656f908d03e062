"""The built site's teaching material: links that resolve, and downloads that run anywhere.

Both tests read the site that is already built (``make book``; ``TRD_SITE_DIR`` for another
build), like the browser tests, and ``make test`` runs them after building it.

* ``test_launch_download_and_source_links_resolve`` (marker ``browser``: it checks the built
  site, statically): every Binder and Colab launch link, every download link and every link
  to the source repository on every page opens a file that exists, in the repository (tracked
  by git) or in the site.
* ``test_downloaded_notebook_runs_in_a_fresh_virtualenv`` (marker ``integration``: slow, and
  installs numpy, scipy, pandas and matplotlib from the package index or pip's cache): takes
  each teaching notebook as the site offers it for download, creates a virtualenv in a
  temporary folder outside the repository with only ``ipykernel`` installed, sets
  ``TRD_REVIEW_PACKAGE`` to the wheel in the built site and executes the notebook with
  papermill (from the project's environment) under that virtualenv's kernel. The notebook's
  first cell must install the package; any failing cell fails the test.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import pytest
import yaml
from bs4 import BeautifulSoup

from analysis.book import package

ROOT = Path(__file__).resolve().parents[1]
TEACHING_PAGES = sorted(p.stem for p in (ROOT / "chapters" / "teaching").glob("*.md"))
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
REPO_URL = CONFIG["repository"]["url"].rstrip("/")
BRANCH = CONFIG["repository"].get("branch", "main")
_ORG_REPO = "/".join(urllib.parse.urlsplit(REPO_URL).path.strip("/").split("/")[:2])
BINDER = re.compile(
    rf"^https://mybinder\.org/v2/gh/{re.escape(_ORG_REPO)}/(?P<branch>[^?]+)"
    r"\?urlpath=(?:lab/)?tree/(?P<path>.+)$"
)
COLAB = re.compile(
    rf"^https://colab\.research\.google\.com/github/{re.escape(_ORG_REPO)}/blob/"
    r"(?P<branch>[^/]+)/(?P<path>.+)$"
)
GITHUB_FILE = re.compile(
    rf"^{re.escape(REPO_URL)}/(?:blob|tree|raw|edit)/(?P<branch>[^/]+)/(?P<path>[^?#]+)"
)
#: Site-relative hrefs that are downloads (files, not pages).
DOWNLOAD_SUFFIXES = (".ipynb", ".md", ".whl", ".csv", ".json", ".bib", ".yml", ".py", ".pdf")


def _site_dir() -> Path:
    site = Path(os.environ.get("TRD_SITE_DIR") or ROOT / "_build" / "html")
    if not (site / "index.html").is_file():
        pytest.fail(f"No built site at {site}: run make book first.", pytrace=False)
    return site


@pytest.fixture(scope="module")
def site_dir() -> Path:
    return _site_dir()


def _tracked_files() -> set[str]:
    out = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files"], capture_output=True, text=True, check=True
    )
    return set(out.stdout.splitlines())


def page_links(site: Path) -> dict[str, list[tuple[str, str]]]:
    """Every page's ``<a href>`` targets, with the link's text (e.g. ``Binder``, ``.ipynb``)."""
    links: dict[str, list[tuple[str, str]]] = {}
    for page in sorted(site.rglob("*.html")):
        rel = page.relative_to(site).as_posix()
        if rel.startswith(("_static/", "_sources/", "_downloads/")):
            continue
        soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
        links[rel] = [
            (a["href"], a.get_text(" ", strip=True) or (a.get("title") or "").strip())
            for a in soup.find_all("a", href=True)
        ]
    return links


def link_problems(
    links: dict[str, list[tuple[str, str]]], site: Path, tracked: set[str]
) -> dict[str, list[str]]:
    """Launch, download and source links that do not open an existing file."""
    problems: dict[str, list[str]] = {}

    def bad(page: str, text: str) -> None:
        problems.setdefault(page, []).append(text)

    for page, hrefs in links.items():
        for href, _title in hrefs:
            launch = BINDER.match(href) or COLAB.match(href) or GITHUB_FILE.match(href)
            if launch:
                path = urllib.parse.unquote(launch["path"])
                if launch["branch"] != BRANCH:
                    bad(page, f"{href}: branch {launch['branch']!r}, not {BRANCH!r}")
                if path not in tracked:
                    bad(page, f"{href}: {path} is not a file of the repository")
                continue
            if "mybinder.org" in href or "colab.research.google.com" in href:
                bad(page, f"{href}: a launch link for another repository or of unknown form")
                continue
            if href.startswith(REPO_URL) and href.rstrip("/") != REPO_URL:
                bad(page, f"{href}: a repository link of unknown form")
                continue
            parts = urllib.parse.urlsplit(href)
            if parts.scheme or parts.netloc or not parts.path:
                continue
            target = (site / page).parent / urllib.parse.unquote(parts.path)
            if parts.path.endswith(DOWNLOAD_SUFFIXES) or "/_downloads/" in f"/{parts.path}":
                if not target.resolve().is_file():
                    bad(page, f"{href}: no such file in the site")
    return problems


def _buttons(hrefs: list[tuple[str, str]]) -> dict[str, str]:
    return {title: href for href, title in hrefs if title in {"Binder", "Colab", ".ipynb"}}


@pytest.mark.browser
def test_launch_download_and_source_links_resolve(site_dir: Path) -> None:
    links = page_links(site_dir)
    tracked = _tracked_files()
    problems = link_problems(links, site_dir, tracked)
    assert not problems, "links that open nothing:\n" + json.dumps(problems, indent=1)
    # The teaching pages do offer all three (so the check above is not vacuous) ...
    for name in TEACHING_PAGES:
        buttons = _buttons(links[f"chapters/teaching/{name}.html"])
        assert set(buttons) == {"Binder", "Colab", ".ipynb"}, (name, buttons)
        assert buttons["Colab"].endswith(f"/blob/{BRANCH}/chapters/teaching/{name}.ipynb")
        wheel = [h for h, _ in links[f"chapters/teaching/{name}.html"] if h.endswith(".whl")]
        assert wheel, f"{name} does not offer the package for download"
    # ... and no other page has a launch button (their notebooks are not in the repository).
    launching = sorted(
        page
        for page, hrefs in links.items()
        if {"Binder", "Colab"} & set(_buttons(hrefs))
        and not page.startswith("chapters/teaching/")
    )
    assert launching == []
    assert (site_dir / package.SITE_FOLDER / package.wheel_name(ROOT)).is_file()


def test_the_link_check_can_fail(tmp_path: Path) -> None:
    (tmp_path / "chapters").mkdir()
    links = {
        "chapters/page.html": [
            (f"https://mybinder.org/v2/gh/{_ORG_REPO}/{BRANCH}?urlpath=tree/chapters/x.ipynb", ""),
            (f"https://colab.research.google.com/github/{_ORG_REPO}/blob/{BRANCH}/a.ipynb", ""),
            ("../_sources/chapters/page.ipynb", ".ipynb"),
            (f"{REPO_URL}/blob/{BRANCH}/README.md", ""),
            ("other.html", ""),
        ]
    }
    found = link_problems(links, tmp_path, tracked={"README.md", "a.ipynb"})
    assert len(found["chapters/page.html"]) == 2
    binder, download = found["chapters/page.html"]
    assert binder.endswith("chapters/x.ipynb is not a file of the repository")
    assert download == "../_sources/chapters/page.ipynb: no such file in the site"


# --- the downloaded notebooks, run in a fresh virtualenv ----------------------------------------


def _run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    detail = f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    assert proc.returncode == 0, f"{' '.join(cmd)} failed:\n{detail}"
    return proc


def _clean_env(**extra: str) -> dict[str, str]:
    """The environment without anything that points at this repository or its virtualenv."""
    drop = {"PYTHONPATH", "TRD_DATA_DIR", "VIRTUAL_ENV", "PYTHONHOME", "MPLBACKEND",
            "JUPYTER_PATH", "TRD_RESULTS_FILE", "TRD_READS_FILE", "TRD_IMPORTS_FILE"}  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(extra)
    return env


@pytest.mark.integration
@pytest.mark.parametrize("name", TEACHING_PAGES)
def test_downloaded_notebook_runs_in_a_fresh_virtualenv(
    name: str, site_dir: Path, tmp_path: Path
) -> None:
    start = time.perf_counter()
    assert not tmp_path.resolve().is_relative_to(ROOT)
    # The notebook as the page offers it for download.
    page = site_dir / "chapters" / "teaching" / f"{name}.html"
    href = _buttons(page_links(site_dir)[f"chapters/teaching/{name}.html"])[".ipynb"]
    download = (page.parent / href).resolve()
    notebook = tmp_path / f"{name}.ipynb"
    notebook.write_bytes(download.read_bytes())
    raw = json.loads(notebook.read_text(encoding="utf-8"))
    assert "papermill" not in raw["metadata"]
    assert not any("_trd_tracking" in "".join(c["source"]) for c in raw["cells"])
    assert any("parameters" in c["metadata"].get("tags", []) for c in raw["cells"])
    # It is the executed notebook (not the output-free pair): figures and tables are inline.
    offered = [set(o.get("data", {})) for c in raw["cells"] for o in c.get("outputs", [])]
    assert any("text/html" in kinds for kinds in offered)
    if name in ("first-meta-analysis", "few-trials"):
        assert any("image/png" in kinds for kinds in offered)

    # A fresh virtualenv with ipykernel only, and its kernel registered inside it.
    venv = tmp_path / "venv"
    env = _clean_env()
    _run([sys.executable, "-m", "venv", str(venv)], env=env)
    python = venv / "bin" / "python"
    _run([str(python), "-m", "pip", "install", "--quiet", "ipykernel"], env=env)
    probe = "import importlib.util as u; print(u.find_spec('analysis') is None)"
    assert _run([str(python), "-c", probe], env=env, cwd=tmp_path).stdout.strip() == "True"
    kernel = f"trd-teaching-{name}"
    _run([str(python), "-m", "ipykernel", "install", "--prefix", str(venv), "--name", kernel],
         env=env)  # fmt: skip

    wheel = site_dir / package.SITE_FOLDER / package.wheel_name(ROOT)
    work = tmp_path / "work"
    work.mkdir()
    executed = tmp_path / f"{name}.executed.ipynb"
    run_env = _clean_env(
        TRD_REVIEW_PACKAGE=str(wheel), JUPYTER_PATH=str(venv / "share" / "jupyter")
    )
    proc = subprocess.run(
        [sys.executable, "-m", "papermill", str(notebook), str(executed), "-k", kernel,
         "--cwd", str(work), "--no-progress-bar", "--log-level", "WARNING"],
        capture_output=True, text=True, env=run_env,
    )  # fmt: skip
    assert proc.returncode == 0, f"{name} failed in a fresh virtualenv:\n{proc.stderr[-5000:]}"

    # The package came from the site's wheel, with its data snapshot.
    where = _run(
        [str(python), "-c", "import analysis; print(analysis.__file__)"], env=env, cwd=work
    ).stdout.strip()
    assert Path(where).resolve().is_relative_to(venv.resolve())
    out = json.loads(executed.read_text(encoding="utf-8"))
    code = [c for c in out["cells"] if c["cell_type"] == "code"]
    assert not [o for c in code for o in c["outputs"] if o["output_type"] == "error"]
    texts = "\n".join(
        "".join(o.get("text", "")) for c in code for o in c["outputs"] if o.get("text")
    )
    shown = [set(o.get("data", {})) for c in code for o in c["outputs"]]
    if name != "few-trials":
        assert "Data: the snapshot of data/ packaged with the analysis package" in texts
    if name in ("first-meta-analysis", "few-trials"):
        assert any("image/png" in kinds for kinds in shown), f"{name} shows no figure"
    assert any("text/html" in kinds for kinds in shown), f"{name} shows no table"
    seconds = time.perf_counter() - start
    size = wheel.stat().st_size / 1024
    print(f"\n[teaching] {name}: the download ran in a fresh virtualenv in {seconds:.0f} s "
          f"(wheel {size:.0f} KiB)")  # fmt: skip
