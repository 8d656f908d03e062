"""Executing notebooks in kernels forked from a warm process (``analysis.book.execution``).

Each test executes a few small notebooks of a throw-away book (the repository's ``analysis``
package and data, its own pages) with the build's executor, one worker, so that consecutive
notebooks come from the same fork server. They check that

* nothing one notebook does (a global, a monkeypatched module, ``matplotlib.rcParams``, the
  working folder, the environment, ``sys.path``) reaches the next one, which runs in a new
  process forked from the same parent, in its own folder, with its own environment variables;
* the heavy third-party modules are already imported in a kernel but no ``analysis`` module is,
  so the tracker still records every module a notebook imports, and every data file it reads;
* the executed notebook equals papermill's for rendering (cells, tags, outputs, glue records);
* a failing cell and a notebook past its time limit stop the build, naming the notebook and
  the cell, and leave no kernel running.
"""

from __future__ import annotations

import ast
import os
import time
from pathlib import Path

import nbformat
import pytest

from analysis.book.cache import CACHE_DIR
from analysis.book.discovery import Notebook
from analysis.book.errors import BuildError
from analysis.book.execution import TIMEOUT_ENV, execute_all, prepare_notebook, timeout_from_env
from analysis.book.sandbox import mini_book, notebook_text

REPO = Path(__file__).resolve().parents[1]

POLLUTER = notebook_text(
    "Polluter",
    """
import os, statistics, sys
import matplotlib
import analysis.stats
LEAKED_GLOBAL = 1
statistics.median = lambda *args: "patched"
analysis.stats.LEAKED = True
matplotlib.rcParams["lines.linewidth"] = 42.0
os.environ["TRD_LEAK"] = "1"
sys.path.append("/leaked/path")
os.chdir("/")
print("PID", os.getpid(), os.getppid())
""",
)

PROBE = notebook_text(
    "Probe",
    """
import os, statistics, sys
import matplotlib
state = {
    "pid": os.getpid(),
    "parent": os.getppid(),
    "global": "LEAKED_GLOBAL" in globals(),
    "median": statistics.median([1, 2, 3]),
    "module": hasattr(sys.modules.get("analysis.stats"), "LEAKED"),
    "linewidth": matplotlib.rcParams["lines.linewidth"],
    "environ": os.environ.get("TRD_LEAK"),
    "path": "/leaked/path" in sys.path,
    "cwd": os.getcwd(),
    "page": os.environ.get("TRD_PAGE"),
    "pythonpath": os.environ.get("PYTHONPATH", "").split(os.pathsep)[0],
    "data_dir": os.environ.get("TRD_DATA_DIR"),
    "results_file": bool(os.environ.get("TRD_RESULTS_FILE")),
    "warm": all(m in sys.modules for m in ("pandas", "scipy.stats", "matplotlib.pyplot")),
}
print("STATE", repr(state))
""",
)

IMPORTER = notebook_text(
    "Importer",
    "from analysis.stats.nnt import nnt\nobject()",
    "import os\nimport pandas as pd\n"
    "_ = pd.read_csv(os.path.join(os.environ['TRD_DATA_DIR'], 'studies.csv'))",
)


def executed(root: Path, page: str) -> nbformat.NotebookNode:
    path = root / CACHE_DIR / page.replace("/", "__") / "executed.ipynb"
    return nbformat.read(path, as_version=4)


def printed(notebook: nbformat.NotebookNode, marker: str) -> str:
    for cell in notebook.cells:
        for out in cell.get("outputs", []):
            for line in out.get("text", "").splitlines():
                if line.startswith(marker + " "):
                    return line[len(marker) + 1 :]
    raise AssertionError(f"no output line starting with {marker!r}")


def manifest(root: Path, page: str) -> dict:
    import json

    return json.loads((root / CACHE_DIR / page.replace("/", "__") / "manifest.json").read_text())


def notebooks(*pages: str) -> list[Notebook]:
    return [Notebook(page=p, source=Path(f"{p}.md")) for p in pages]


@pytest.fixture(scope="module")
def isolated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A book of three notebooks executed one after another by one worker."""
    root = mini_book(
        REPO,
        tmp_path_factory.mktemp("exec") / "book",
        {
            "chapters/polluter": POLLUTER,
            "chapters/sub/probe": PROBE,
            "chapters/importer": IMPORTER,
        },
    )
    runs = execute_all(
        root, notebooks("chapters/polluter", "chapters/sub/probe", "chapters/importer"), 1, print
    )
    assert [r.executed for r in runs] == [True, True, True]
    return root


def test_nothing_leaks_from_one_notebook_to_the_next(isolated: Path) -> None:
    pid, parent = map(int, printed(executed(isolated, "chapters/polluter"), "PID").split())
    state = ast.literal_eval(printed(executed(isolated, "chapters/sub/probe"), "STATE"))
    # The same warm parent forked both kernels: the probe ran in a new process.
    assert state["parent"] == parent
    assert state["pid"] != pid
    assert state["global"] is False
    assert state["median"] == 2
    assert state["module"] is False
    assert state["linewidth"] != 42.0
    assert state["environ"] is None
    assert state["path"] is False


def test_each_notebook_has_its_folder_and_environment(isolated: Path) -> None:
    state = ast.literal_eval(printed(executed(isolated, "chapters/sub/probe"), "STATE"))
    assert state["cwd"] == str(isolated / "chapters" / "sub")
    assert state["page"] == "chapters/sub/probe"
    assert state["pythonpath"] == str(isolated)
    assert state["data_dir"] == str(isolated / "data")
    assert state["results_file"] is True


def test_kernels_are_warm_but_import_no_analysis_module(isolated: Path) -> None:
    state = ast.literal_eval(printed(executed(isolated, "chapters/sub/probe"), "STATE"))
    assert state["warm"] is True
    tracker_only = {
        "analysis/__init__.py",
        "analysis/_lazy.py",
        "analysis/book/__init__.py",
        "analysis/book/tracking.py",
    }
    # The probe imports no analysis module of its own: only the tracker's are recorded.
    assert set(manifest(isolated, "chapters/sub/probe")["code_reads"]) == tracker_only
    importer = set(manifest(isolated, "chapters/importer")["code_reads"])
    assert {"analysis/stats/__init__.py", "analysis/stats/nnt.py"} <= importer
    assert not manifest(isolated, "chapters/sub/probe")["data_reads"]
    assert manifest(isolated, "chapters/importer")["data_reads"].keys() == {"data/studies.csv"}


TEMPLATE = notebook_text(
    "Template",
    ":tags: [parameters]\ndefinition = 'any'\nn = 1",
    "print('definition', definition, n)",
    "import pandas as pd\npd.DataFrame({'x': [1, 2], 'y': ['a', 'b']})",
    "from myst_nb import glue\nglue('answer', 42)\nglue('label', 'text', display=False)",
    "import matplotlib.pyplot as plt\nfig, ax = plt.subplots(figsize=(2, 2))\n"
    "_ = ax.plot([0, 1], [1, 0])",
)


def comparable(notebook: nbformat.NotebookNode) -> list[tuple]:
    """What rendering uses from each cell: type, source, tags, execution count and outputs."""
    out = []
    for cell in notebook.cells:
        outputs = [
            {k: v for k, v in o.items() if k != "execution_count"} for o in cell.get("outputs", [])
        ]
        out.append((
            cell.cell_type, cell.source, sorted(cell.metadata.get("tags", [])),
            cell.get("execution_count"), outputs,
        ))  # fmt: skip
    return out


def test_plain_text_reprs_lose_their_memory_address(isolated: Path) -> None:
    # A default repr holds an address that differs in every execution; the site serves the
    # executed notebooks, so it would differ from build to build.
    cell = executed(isolated, "chapters/importer").cells[2]
    assert cell.outputs[0]["data"]["text/plain"] == "<object>"


def test_the_executed_notebook_equals_papermills(tmp_path: Path) -> None:
    import papermill

    root = mini_book(REPO, tmp_path / "book", {"chapters/template": TEMPLATE})
    nb = Notebook("chapters/template", Path("chapters/template.md"), {"definition": "min2"})
    runs = execute_all(root, [nb], 1, print)
    assert runs[0].executed
    ours = executed(root, nb.page)

    source = tmp_path / "input.ipynb"
    nbformat.write(prepare_notebook(root, Notebook(nb.page, nb.source)), source)
    env = {"MPLBACKEND": "module://matplotlib_inline.backend_inline", "PYTHONPATH": str(root)}
    env["TRD_DATA_DIR"] = str(root / "data")  # papermill's kernel runs the tracker too
    for name in ("READS", "IMPORTS", "LISTINGS", "RESULTS"):
        env[f"TRD_{name}_FILE"] = str(tmp_path / f"papermill-{name.lower()}.txt")
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        theirs = papermill.execute_notebook(
            str(source), str(tmp_path / "papermill.ipynb"), parameters=nb.parameters,
            kernel_name="python3", cwd=str(root / "chapters"), progress_bar=False,
        )  # fmt: skip
    finally:
        for k, v in old.items():
            os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
    assert comparable(ours) == comparable(theirs)
    injected = [c for c in ours.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1 and 'definition = "min2"' in injected[0].source
    assert ours.metadata["papermill"]["parameters"] == {"definition": "min2"}
    # No timestamps or temporary paths: the same execution gives the same file.
    assert "start_time" not in ours.metadata["papermill"]
    assert all("execution" not in c.metadata for c in ours.cells)


def test_injected_parameters_are_hidden_like_the_parameters_cell(tmp_path: Path) -> None:
    """A template whose parameters cell is removed from the page gets its injected-parameters
    cell removed too (the explorer pages showed "# Parameters" and the values to readers)."""
    text = notebook_text("Hidden", ":tags: [parameters, remove-cell]\ndefinition = 'any'",
                         "print(definition)")  # fmt: skip
    root = mini_book(REPO, tmp_path / "book", {"chapters/hidden": text})
    shown = prepare_notebook(root, Notebook("chapters/hidden", Path("chapters/hidden.md"),
                                            {"definition": "min2"}))  # fmt: skip
    injected = [c for c in shown.cells if "injected-parameters" in c.metadata["tags"]]
    assert len(injected) == 1 and 'definition = "min2"' in injected[0].source
    assert "remove-cell" in injected[0].metadata["tags"]
    # Without parameters nothing is injected; a visible parameters cell stays visible.
    plain = prepare_notebook(root, Notebook("chapters/hidden", Path("chapters/hidden.md")))
    assert not [c for c in plain.cells if "injected-parameters" in c.metadata["tags"]]
    root2 = mini_book(REPO, tmp_path / "book2", {"chapters/template": TEMPLATE})
    shown2 = prepare_notebook(root2, Notebook("chapters/template", Path("chapters/template.md"),
                                              {"definition": "min2"}))  # fmt: skip
    tags = [c.metadata["tags"] for c in shown2.cells if "injected-parameters" in c.metadata["tags"]]
    assert tags == [["injected-parameters"]]


def test_a_failing_cell_names_the_notebook_cell_and_traceback(tmp_path: Path) -> None:
    text = notebook_text("Failing", "x = 1", "y = x / 0")
    root = mini_book(REPO, tmp_path / "book", {"chapters/failing": text})
    with pytest.raises(BuildError) as info:
        execute_all(root, notebooks("chapters/failing"), 1, print)
    assert info.value.summary == (
        "notebook chapters/failing.md, code cell 2 of the source: "
        "ZeroDivisionError: division by zero"
    )
    message = str(info.value)
    assert "y = x / 0" in message
    assert "Traceback" in message or "----> 1 y = x / 0" in message
    assert not list((root / CACHE_DIR).glob("nb-*"))


def wait_until_gone(pid: int, seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not Path(f"/proc/{pid}").exists():
            return True
        status = Path(f"/proc/{pid}/status").read_text(errors="replace")
        if "\nState:\tZ" in status:
            return True
        time.sleep(0.1)
    return False


def test_a_notebook_past_its_time_limit_fails_naming_the_cell(tmp_path: Path) -> None:
    pid_file = tmp_path / "kernel.pid"
    text = notebook_text(
        "Sleeper",
        f"import os\nopen({str(pid_file)!r}, 'w').write(str(os.getpid()))",
        "import time\ntime.sleep(60)",
    )
    root = mini_book(REPO, tmp_path / "book", {"chapters/sleeper": text})
    start = time.monotonic()
    with pytest.raises(BuildError) as info:
        execute_all(root, notebooks("chapters/sleeper"), 1, print, timeout=3)
    assert time.monotonic() - start < 30
    assert info.value.summary == (
        "notebook chapters/sleeper.md, code cell 2 of the source: "
        "timed out after 3 s (the limit per notebook)"
    )
    assert "time.sleep(60)" in str(info.value)
    assert wait_until_gone(int(pid_file.read_text())), "the kernel still runs"


def test_the_time_limit_comes_from_the_environment() -> None:
    assert timeout_from_env({}) == 300
    assert timeout_from_env({TIMEOUT_ENV: "12.5"}) == 12.5
    for bad in ("soon", "0", "-3"):
        with pytest.raises(BuildError, match=TIMEOUT_ENV):
            timeout_from_env({TIMEOUT_ENV: bad})
