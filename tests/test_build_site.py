"""Publishing the site and explaining render failures (``analysis.book.site``).

* Publishing never leaves ``_build/html`` missing: the swap to a new site is one rename
  (``os.replace`` of a symbolic link), and a reader polling ``_build/html/index.html`` during
  many publications always finds it.
* What an interrupted build leaves is removed, the published version is kept.
* A failed render keeps the extension's own message (pybtex's syntax error), not only the
  lines with WARNING or ERROR.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from analysis.book import site as site_module
from analysis.book.site import SITE_DIR, current_version, failure_detail, publish, remove_stale


def rendered(root: Path, text: str) -> Path:
    """A rendered site as the render step leaves it (a folder under ``_build``)."""
    html = root / "_build" / ".stage" / "out" / "_build" / "html"
    html.mkdir(parents=True, exist_ok=True)
    (html / "index.html").write_text(text)
    (html / "page.html").write_text(text * 100)
    return html


def test_publishing_swaps_the_site_with_one_rename(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    publish(tmp_path, rendered(tmp_path, "v1"))
    site = tmp_path / SITE_DIR
    touched: list[tuple[str, str]] = []

    def spy(name: str, real):  # noqa: ANN001, ANN202
        def call(src, dst, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
            for path in (src, dst):
                if Path(path) == site:
                    touched.append((name, str(path)))
            return real(src, dst, *args, **kwargs)

        return call

    monkeypatch.setattr(os, "rename", spy("rename", os.rename))
    monkeypatch.setattr(os, "replace", spy("replace", os.replace))
    real_rmtree = site_module.shutil.rmtree

    def rmtree(path, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        assert Path(path) != site, "the published site was deleted"
        return real_rmtree(path, *args, **kwargs)

    monkeypatch.setattr(site_module.shutil, "rmtree", rmtree)
    publish(tmp_path, rendered(tmp_path, "v2"))
    assert touched == [("replace", str(site))]
    assert (site / "index.html").read_text() == "v2"


def test_the_site_exists_at_every_moment_of_publishing(tmp_path: Path) -> None:
    publish(tmp_path, rendered(tmp_path, "v0"))
    index = tmp_path / SITE_DIR / "index.html"
    missing: list[int] = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            if not index.is_file():
                missing.append(1)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        for i in range(30):
            publish(tmp_path, rendered(tmp_path, f"v{i + 1}"))
    finally:
        stop.set()
        watcher.join()
    assert not missing, f"_build/html/index.html was missing {len(missing)} time(s)"
    assert index.read_text() == "v30"
    assert len(list((tmp_path / "_build" / "site").iterdir())) == 1


def test_an_old_site_folder_is_replaced_by_the_link(tmp_path: Path) -> None:
    old = tmp_path / SITE_DIR
    old.mkdir(parents=True)
    (old / "index.html").write_text("old layout")
    publish(tmp_path, rendered(tmp_path, "new"))
    assert old.is_symlink()
    assert (old / "index.html").read_text() == "new"
    assert not list((tmp_path / "_build").glob("html.old-*"))


def test_stale_folders_are_removed_and_the_published_site_kept(tmp_path: Path) -> None:
    publish(tmp_path, rendered(tmp_path, "kept"))
    current = current_version(tmp_path)
    stale = [
        tmp_path / "_build" / ".cache" / "nb-1234",
        tmp_path / "_build" / "html.new-x",
        tmp_path / "_build" / "html.old-y",
        tmp_path / "_build" / "site" / "20200101T000000-old",
    ]
    for folder in stale:
        folder.mkdir(parents=True)
    (tmp_path / "_build" / "html.new-link").symlink_to("site/20200101T000000-old")
    removed = remove_stale(tmp_path)
    assert set(removed) == {*stale, tmp_path / "_build" / "html.new-link"}
    assert not [p for p in stale if p.exists()]
    assert current is not None and current.is_dir()
    assert (tmp_path / SITE_DIR / "index.html").read_text() == "kept"


PYBTEX_FAILURE = """\
Running Jupyter-Book v1.0.4.post1
Source Folder: /x/_build/.stage/src
\x1b[91mExtension error (sphinxcontrib.bibtex):\x1b[39;49;00m
Handler <function builder_inited_cite at 0x7f> for event 'builder-inited' threw an exception \
(exception: syntax error in line 20: '}' expected)
Traceback (most recent call last):
  File "/venv/sphinx/events.py", line 98, in emit
    self.handle_error(error)
    ^^^^^^^^^^^^^^^^^^^^^^^^
pybtex.scanner.TokenRequired: syntax error in line 20: '}' expected
The above exception was the direct cause of the following exception:
RuntimeError:
===============================================================================
There was an error in building your book. Look above for the cause.
===============================================================================
"""


def test_a_render_failure_keeps_the_extensions_message() -> None:
    cause, detail = failure_detail(PYBTEX_FAILURE, Path("/x/_build/.stage/src"))
    assert cause == "extension sphinxcontrib.bibtex: syntax error in line 20: '}' expected"
    assert "pybtex.scanner.TokenRequired: syntax error in line 20: '}' expected" in detail
    assert 'File "' not in detail and "\x1b[" not in detail and "^^^" not in detail


def test_a_sphinx_warning_is_the_cause_with_a_repository_path() -> None:
    output = (
        "Running Jupyter-Book\n"
        "/x/_build/.stage/src/chapters/a.md:12: WARNING: undefined label: 'nowhere'\n"
        "There was an error in building your book. Look above for the cause.\n"
    )
    cause, _ = failure_detail(output, Path("/x/_build/.stage/src"))
    assert cause == "chapters/a.md:12: WARNING: undefined label: 'nowhere'"
