"""The tracker records exactly the data files and ``analysis`` modules a process reads.

Each test runs a fresh Python process (an audit hook cannot be removed, and the modules a
process has already imported are not imported again), installs the tracker the way the hidden
first cell of an executed notebook does, and reads the files it listed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from analysis.book.tracking import PACKAGE_DIR, module_file

REPO = Path(__file__).resolve().parents[1]
PACKAGE = Path(PACKAGE_DIR)


def run_tracked(
    tmp_path: Path, body: str, *, data_dir: Path | None = None, listings: bool = False
) -> tuple[set, set] | tuple[set, set, set]:
    """Run ``body`` after installing the tracker; return (data files read, code files loaded).

    With ``listings``, also the data folders listed (third item). ``tmp_path`` is on
    ``sys.path`` (tests put helper modules there).
    """
    reads, imports = tmp_path / "reads.txt", tmp_path / "imports.txt"
    listed_dirs = tmp_path / "listings.txt"
    script = (
        "import analysis.book.tracking as _trd_tracking\n"
        "assert _trd_tracking.track_reads()\n" + textwrap.dedent(body)
    )
    env = dict(os.environ, TRD_IMPORTS_FILE=str(imports), TRD_READS_FILE=str(reads))
    env["TRD_LISTINGS_FILE"] = str(listed_dirs)
    env["TRD_DATA_DIR"] = str(data_dir or tmp_path / "no-data")
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), str(tmp_path)])
    proc = subprocess.run(
        [sys.executable, "-c", script], env=env, cwd=tmp_path, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr

    def listed(path: Path) -> set[str]:
        return set(path.read_text().splitlines()) if path.exists() else set()

    code = {Path(p).relative_to(PACKAGE.parent).as_posix() for p in listed(imports)}
    if listings:
        return listed(reads), code, listed(listed_dirs)
    return listed(reads), code


def test_records_the_modules_imported_before_the_hook(tmp_path: Path) -> None:
    _, code = run_tracked(tmp_path, "")
    assert code == {
        "analysis/__init__.py",
        "analysis/_lazy.py",
        "analysis/book/__init__.py",
        "analysis/book/tracking.py",
    }


def test_records_an_import_statement(tmp_path: Path) -> None:
    _, code = run_tracked(tmp_path, "import analysis.stats.nnt")
    assert {"analysis/stats/__init__.py", "analysis/stats/nnt.py"} <= code


def test_records_a_lazy_reexport(tmp_path: Path) -> None:
    # ``analysis.__getattr__`` loads the module with importlib.import_module, which raises no
    # "import" audit event: only the module's execution shows it was loaded.
    _, code = run_tracked(tmp_path, "from analysis import pool\nassert callable(pool)")
    assert {
        "analysis/stats/__init__.py",
        "analysis/stats/pooling.py",
        "analysis/stats/_checks.py",
    } <= code


def test_records_a_module_imported_inside_a_called_function(tmp_path: Path) -> None:
    (tmp_path / "helper.py").write_text(
        "def effect():\n"
        "    from analysis.stats.nnt import nnt\n"
        "    from analysis import egger_test\n"
        "    return nnt, egger_test\n"
    )
    body = """
        import helper
        with open(__import__("os").environ["TRD_IMPORTS_FILE"]) as fh:
            before = fh.read()
        assert "nnt.py" not in before and "bias.py" not in before
        helper.effect()
    """
    _, code = run_tracked(tmp_path, body)
    assert {"analysis/stats/nnt.py", "analysis/stats/bias.py"} <= code


def test_does_not_record_modules_never_imported(tmp_path: Path) -> None:
    _, code = run_tracked(tmp_path, "from analysis import pool")
    never = {
        "analysis/book/build.py",
        "analysis/book/execution.py",
        "analysis/book/report.py",
        "analysis/plots/__init__.py",
        "analysis/stats/bias.py",
        "analysis/review/analyses.py",
    }
    assert not never & code
    assert all((PACKAGE.parent / rel).is_file() for rel in code)


def test_records_only_data_files_opened(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    for name in ("a.csv", "b.csv"):
        (data / name).write_text("x\n1\n")
    (tmp_path / "outside.csv").write_text("x\n")
    body = f"""
        open({str(data / "a.csv")!r}).read()
        open({str(data / "a.csv")!r}).read()
        open({str(tmp_path / "outside.csv")!r}).read()
    """
    reads, _ = run_tracked(tmp_path, body, data_dir=data)
    assert reads == {str((data / "a.csv").resolve())}


@pytest.mark.parametrize(
    "listing",
    [
        "glob.glob(os.path.join(DATA, 'history', '*.json'))",
        "sorted(pathlib.Path(DATA, 'history').glob('*.json'))",
        "os.listdir(os.path.join(DATA, 'history'))",
        "list(os.scandir(os.path.join(DATA, 'history')))",
        "os.chdir(DATA); glob.glob('history/*.json')",
    ],
)
def test_records_data_folders_listed(tmp_path: Path, listing: str) -> None:
    # A page that finds its files with a glob depends on the folder's listing, not only on
    # the files it then opens: a new release file must re-execute it.
    data = tmp_path / "data"
    (data / "history").mkdir(parents=True)
    (data / "history" / "1.0.0.json").write_text("{}")
    (tmp_path / "elsewhere").mkdir()
    body = f"""
        import glob, os, pathlib
        DATA = {str(data)!r}
        os.listdir({str(tmp_path / "elsewhere")!r})
        {listing}
    """
    reads, _, listings = run_tracked(tmp_path, body, data_dir=data, listings=True)
    assert listings == {str((data / "history").resolve())}
    assert reads == set()


def test_records_a_listing_of_the_data_folder_itself(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    body = f"import os\nos.listdir({str(data)!r})"
    _, _, listings = run_tracked(tmp_path, body, data_dir=data, listings=True)
    assert listings == {str(data.resolve())}


def test_does_nothing_outside_the_pipeline() -> None:
    script = "import sys, analysis.book.tracking as t\nsys.exit(1 if t.track_reads({}) else 0)"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRD_")}
    env["PYTHONPATH"] = str(REPO)
    assert subprocess.run([sys.executable, "-c", script], env=env).returncode == 0


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("analysis", "analysis/__init__.py"),
        ("analysis.stats", "analysis/stats/__init__.py"),
        ("analysis.stats.pooling", "analysis/stats/pooling.py"),
        ("analysis.stats.no_such_module", None),
        ("numpy", None),
        ("analysisx.stats", None),
    ],
)
def test_module_file(name: str, expected: str | None) -> None:
    found = module_file(name)
    if expected is None:
        assert found is None
    else:
        assert found is not None
        assert Path(found).relative_to(PACKAGE.parent).as_posix() == expected
