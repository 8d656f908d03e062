"""Build benchmark: how long each kind of change takes to rebuild, and how many notebooks run.

Run with ``make bench`` (or ``python benchmarks/bench_build.py``). In one temporary copy of the
repository it builds, in this order:

==========================  ==============================================================
clean build                 from nothing
no-op rebuild               nothing changed
one data value changed      one arm-level mean of the overall SMD in ``data/outcomes.csv``
edit build tooling          a comment appended to ``analysis/book/build.py``
edit the forest plot        a comment appended to the forest plot's module
edit pooling                a comment appended to ``analysis/stats/pooling.py``
==========================  ==============================================================

and prints the seconds and the number of notebooks executed for each. In the same run it
times as many bare papermill launches of an empty notebook as the clean build executed (as many
at a time as the build's workers): what executing the book would cost if every notebook were
empty, i.e. the fixed cost of a fresh kernel per notebook. The ratio
clean build / bare launches tells how much of a clean build is the analysis itself. It then checks
the targets: a no-op rebuild executes nothing and takes at most a tenth of a clean build; a data
change executes only notebooks that read data; an edit of a module executes exactly the
notebooks whose manifest records it (none for the build tooling); a clean build takes at most
:data:`MAX_RATIO` times the bare launches. The table is also written to
``_build/bench-build.json``. Exit status 1 when a build fails or a target is not met.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from analysis.book.sandbox import (
    BUILD_TOOLING,
    POOLING_MODULE,
    BuildRun,
    append_comment,
    copy_repository,
    edit_csv_cell,
    forest_module,
    pages_reading,
    read_manifests,
    run_build,
)

REPO = Path(__file__).resolve().parents[1]
OUTPUT = REPO / "_build" / "bench-build.json"
JOBS = 2
#: Target: a clean build costs at most this many times the bare launches of its notebooks.
MAX_RATIO = 3.0


#: One worker of :func:`bare_launches`: papermill imported once, then one launch after another.
_LAUNCHER = """
import sys
import papermill

empty, out, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
for _ in range(count):
    papermill.execute_notebook(empty, out, kernel_name="python3", progress_bar=False)
"""


def bare_launches(count: int, folder: Path, jobs: int = JOBS) -> float:
    """Seconds to execute an empty notebook ``count`` times with papermill, ``jobs`` at a time.

    Each launch starts a fresh ``python3`` kernel, executes nothing and shuts it down: the fixed
    cost a build pays per notebook when every notebook gets a new kernel, before any import or
    analysis. ``jobs`` worker processes share the launches (each imports papermill once).
    """
    import nbformat

    empty = folder / "empty.ipynb"
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}  # fmt: skip
    nbformat.write(notebook, empty)
    shares = [count // jobs + (1 if i < count % jobs else 0) for i in range(jobs)]
    start = time.perf_counter()
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", _LAUNCHER, str(empty), str(folder / f"out-{i}.ipynb"), str(n)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        for i, n in enumerate(shares)
        if n
    ]
    if any(w.wait() != 0 for w in workers):
        raise SystemExit("a bare papermill launch failed")
    return time.perf_counter() - start


def change_one_value(root: Path) -> None:
    """Lower the first arm-level mean that enters the overall SMD by one."""
    from analysis.evidence import load_trials
    from analysis.review import meta_analysis

    ma = meta_analysis(load_trials(root / "data"))
    ids = ma.table.loc[ma.table["input"] == "arms", "outcome_ids"].iloc[0].split(";")
    with (root / "data" / "outcomes.csv").open(newline="", encoding="utf-8") as fh:
        data = list(csv.DictReader(fh))
    index = next(i for i, r in enumerate(data) if r["outcome_id"] in ids and r["mean"])
    edit_csv_cell(root / "data" / "outcomes.csv", index, "mean",
                  f"{float(data[index]['mean']) - 1:g}")  # fmt: skip


def main() -> int:
    rows: list[dict] = []
    checks: list[tuple[str, bool, str]] = []
    with tempfile.TemporaryDirectory(prefix="bench-build-") as tmp:
        root = copy_repository(REPO, Path(tmp) / "repo")

        def case(name: str, edit: Callable[[], None] | None = None) -> BuildRun:
            if edit is not None:
                edit()
            run = run_build(root, jobs=JOBS)
            if run.returncode != 0:
                print(run.output[-4000:])
                raise SystemExit(f"the build failed in case {name!r}")
            rows.append({
                "case": name,
                "seconds": round(run.seconds, 2),
                "executed": run.report["executed"],
                "reused": run.report["reused"],
                "notebooks": run.report["notebooks"],
                "executed_pages": run.report["executed_pages"],
            })  # fmt: skip
            return run

        def expect_exactly(name: str, run: BuildRun, rel: Path, expected: set[str]) -> None:
            executed = set(run.report["executed_pages"])
            ok = executed == expected and (rel == BUILD_TOOLING or 0 < len(executed))
            checks.append((
                f"{name}: executes exactly the {len(expected)} notebook(s) that imported {rel}",
                ok,
                "" if ok else f"executed {sorted(executed)}, expected {sorted(expected)}",
            ))  # fmt: skip

        clean = case("clean build")
        bare_dir = Path(tmp) / "bare"
        bare_dir.mkdir()
        bare = bare_launches(clean.report["executed"], bare_dir)
        ratio = clean.seconds / bare
        checks.append((
            f"clean build <= {MAX_RATIO:g} x {clean.report['executed']} bare papermill launches",
            ratio <= MAX_RATIO,
            f"{clean.seconds:.1f} s / {bare:.1f} s = {ratio:.2f}",
        ))  # fmt: skip
        noop = case("no-op rebuild")
        checks.append((
            f"no-op rebuild: 0 executed and <= 1/10 of a clean build ({clean.seconds / 10:.1f} s)",
            noop.report["executed"] == 0 and noop.seconds <= clean.seconds / 10,
            f"{noop.report['executed']} executed in {noop.seconds:.1f} s",
        ))  # fmt: skip

        no_data = {page for page, m in read_manifests(root).items() if not m["data_reads"]}
        changed = case("one data value changed", lambda: change_one_value(root))
        wrong = sorted(set(changed.report["executed_pages"]) & no_data)
        checks.append((
            "one data value changed: executes only notebooks that read data",
            not wrong and changed.report["executed"] > 0,
            f"also executed {wrong}" if wrong else "",
        ))  # fmt: skip

        for name, rel in [
            ("edit build tooling", BUILD_TOOLING),
            ("edit the forest plot", forest_module(root)),
            ("edit pooling", POOLING_MODULE),
        ]:
            expected = pages_reading(root, rel)
            run = case(name, lambda rel=rel: append_comment(root / rel))
            expect_exactly(name, run, rel, expected)

    print(f"{'case':<26}{'seconds':>9}{'executed':>10}{'reused':>8}")
    for row in rows:
        print(f"{row['case']:<26}{row['seconds']:>9.1f}{row['executed']:>10}{row['reused']:>8}")
    print(
        f"{'bare papermill launches':<26}{bare:>9.1f}{clean.report['executed']:>10}"
        f"{'':>8}   (papermill, empty notebook, {JOBS} at a time)"
    )
    print(f"ratio clean build / bare launches: {ratio:.2f} (target <= {MAX_RATIO:g})")
    print()
    for text, ok, detail in checks:
        print(f"target {text}: {'met' if ok else 'NOT met'}{f' ({detail})' if detail else ''}")
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "cases": rows,
        "bare_launches": {"count": rows[0]["executed"], "seconds": round(bare, 2), "jobs": JOBS},
        "ratio_clean_to_bare": round(ratio, 2),
        "targets": [{"target": t, "met": ok} for t, ok, _ in checks],
    }
    OUTPUT.write_text(json.dumps(payload, indent=1))
    print(f"\nwrote {OUTPUT}")
    return 0 if all(ok for _, ok, _ in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
