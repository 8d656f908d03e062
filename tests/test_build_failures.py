"""How ``python -m analysis build`` fails: never hanging, always saying why, in one last line.

Each test builds a small book (the repository's configuration, data and package, one or two
pages of its own; see :func:`analysis.book.sandbox.mini_book`) in a subprocess, the way
``make book`` does, and checks the exit status and the output: the last line is
``BUILD FAILED: <file, notebook or extension>: <reason>``, with no raw traceback for an
expected failure (a bad BibTeX file, invalid data, a failing or sleeping notebook, Ctrl-C, a
cache that cannot be written, another build holding the lock).
"""

from __future__ import annotations

import errno
import fcntl
import os
import signal
import time
from pathlib import Path

import pytest

from analysis.book import build as build_module
from analysis.book.cache import CACHE_DIR
from analysis.book.sandbox import mini_book, notebook_text, run_build, start_build

REPO = Path(__file__).resolve().parents[1]
TEXT_PAGE = "# A page\n\nNo code here.\n"


def last_line(output: str) -> str:
    return [ln for ln in output.splitlines() if ln.strip()][-1]


def assert_no_traceback(output: str) -> None:
    assert "Traceback (most recent call last)" not in output
    assert '  File "' not in output


def test_a_broken_bibtex_file_stops_the_build_at_validation_naming_file_and_row(
    tmp_path: Path,
) -> None:
    """references.bib is validated with pybtex before any notebook runs (issue #15)."""
    root = mini_book(REPO, tmp_path / "book", {"chapters/intro": TEXT_PAGE})
    bib = root / "data" / "references.bib"
    lines = bib.read_text(encoding="utf-8").splitlines()
    at = next(i for i, line in enumerate(lines) if line.strip().startswith("title"))
    lines[at] = lines[at].replace("{", "{{", 1)  # an unbalanced brace
    bib.write_text("\n".join(lines) + "\n", encoding="utf-8")
    run = run_build(root)
    assert run.returncode == 1
    last = last_line(run.output)
    assert last.startswith("BUILD FAILED: invalid data: data/references.bib, row "), last
    assert "BibTeX syntax error (pybtex)" in last  # the tool's own message is kept
    assert "Executing" not in run.output and "executed" not in run.output.lower()
    assert_no_traceback(run.output)


def test_a_failing_notebook_ends_with_its_cell_and_error(tmp_path: Path) -> None:
    page = notebook_text("Failing", "x = 1", "x / 0")
    root = mini_book(REPO, tmp_path / "book", {"chapters/failing": page})
    run = run_build(root)
    assert run.returncode == 1
    assert last_line(run.output) == (
        "BUILD FAILED: notebook chapters/failing.md, code cell 2 of the source: "
        "ZeroDivisionError: division by zero"
    )
    assert "----> 1 x / 0" in run.output  # the notebook's traceback stays in the details


def test_invalid_data_ends_with_the_first_problem(tmp_path: Path) -> None:
    root = mini_book(REPO, tmp_path / "book", {"chapters/intro": TEXT_PAGE})
    version = root / "data" / "version.yml"
    version.write_text(version.read_text().replace("version:", "version: not-semver #"))
    run = run_build(root)
    assert run.returncode == 1
    last = last_line(run.output)
    assert last.startswith("BUILD FAILED: invalid data: ") and "version.yml" in last, last
    assert_no_traceback(run.output)


@pytest.mark.parametrize("how", ["option", "environment"])
def test_a_sleeping_notebook_times_out_naming_the_cell(tmp_path: Path, how: str) -> None:
    page = notebook_text("Sleeper", "import time", "time.sleep(120)")
    root = mini_book(REPO, tmp_path / "book", {"chapters/sleeper": page})
    env = dict(os.environ)
    args: tuple[str, ...] = ()
    if how == "option":
        args = ("--timeout", "2")
        env["TRD_NOTEBOOK_TIMEOUT"] = "600"  # the option wins
    else:
        env["TRD_NOTEBOOK_TIMEOUT"] = "2"
    start = time.monotonic()
    run = run_build(root, 2, *args, env=env)
    assert time.monotonic() - start < 60
    assert run.returncode == 1
    assert last_line(run.output) == (
        "BUILD FAILED: notebook chapters/sleeper.md, code cell 2 of the source: "
        "timed out after 2 s (the limit per notebook)"
    )
    assert "time.sleep(120)" in run.output
    assert not list((root / CACHE_DIR).glob("nb-*"))


def process_gone(pid: int, seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except FileNotFoundError:
            return True
        if "\nState:\tZ" in status:
            return True
        time.sleep(0.1)
    return False


def test_ctrl_c_stops_kernels_cleans_up_and_exits_130(tmp_path: Path) -> None:
    pid_file = tmp_path / "kernel.pid"
    page = notebook_text(
        "Sleeper",
        f"import os, time\nopen({str(pid_file)!r}, 'w').write(str(os.getpid()))\ntime.sleep(120)",
    )
    root = mini_book(REPO, tmp_path / "book", {"chapters/sleeper": page})
    proc = start_build(root)
    deadline = time.monotonic() + 60
    while not (pid_file.exists() and pid_file.read_text()) and time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.1)
    kernel = int(pid_file.read_text())
    assert list((root / CACHE_DIR).glob("nb-*")), "the execution folder should exist by now"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert "interrupted" in last_line(err)
    assert_no_traceback(out + err)
    assert process_gone(kernel), "the kernel survived Ctrl-C"
    assert not list((root / CACHE_DIR).glob("nb-*"))
    assert not (root / "_build" / "html").exists()


def test_a_second_build_waits_for_the_lock_then_says_why_it_stops(tmp_path: Path) -> None:
    root = mini_book(REPO, tmp_path / "book", {"chapters/intro": TEXT_PAGE})
    lock = root / build_module.LOCK_FILE
    lock.parent.mkdir(parents=True)
    with lock.open("a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        fh.write("pid 4242\n")
        fh.flush()
        run = run_build(root, env=dict(os.environ, TRD_BUILD_LOCK_TIMEOUT="1"))
    assert run.returncode == 1
    assert "waiting for another build" in run.output
    assert last_line(run.output) == (
        f"BUILD FAILED: {lock}: another build of {root} is running (pid 4242)"
    )
    # Once the lock is free, the build goes on.
    assert run_build(root).returncode == 0


def test_a_cache_that_cannot_be_written_names_the_path(tmp_path: Path) -> None:
    page = notebook_text("One", "1 + 1")
    root = mini_book(REPO, tmp_path / "book", {"chapters/one": page})
    (root / "_build").mkdir()
    (root / CACHE_DIR).write_text("not a folder")  # as good as read-only, even for root
    run = run_build(root)
    assert run.returncode == 1
    last = last_line(run.output)
    assert last.startswith(f"BUILD FAILED: {root / CACHE_DIR}: "), last
    assert_no_traceback(run.output)


def test_a_full_disk_names_the_path(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def full(*args: object, **kwargs: object) -> dict:
        raise OSError(errno.ENOSPC, "No space left on device", "/repo/_build/site/v1/x.png")

    monkeypatch.setattr(build_module, "build", full)
    assert build_module.main(["--root", "/repo"]) == 1
    err = capsys.readouterr().err
    assert last_line(err) == (
        "BUILD FAILED: /repo/_build/site/v1/x.png: No space left on device (OSError)"
    )


def test_an_interrupted_build_leaves_nothing_the_next_one_does_not_remove(
    tmp_path: Path,
) -> None:
    root = mini_book(REPO, tmp_path / "book", {"chapters/intro": TEXT_PAGE})
    stale = [
        root / CACHE_DIR / "nb-abc123",
        root / "_build" / "html.new-20260101T000000-x",
        root / "_build" / "html.old-20260101T000000-y",
        root / "_build" / "site" / "20260101T000000-z",
    ]
    for folder in stale:
        folder.mkdir(parents=True)
        (folder / "index.html").write_text("stale")
    run = run_build(root)
    assert run.returncode == 0, run.output[-3000:]
    assert not [p for p in stale if p.exists()]
    site = root / "_build" / "html"
    assert site.is_symlink() and (site / "index.html").is_file()
