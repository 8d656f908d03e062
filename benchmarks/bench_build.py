"""Build benchmark: clean build, no-op rebuild, and rebuild after one data value changes.

Run with ``make bench`` (or ``python benchmarks/bench_build.py``). Works on a temporary copy of
the repository and prints, for each scenario, the wall time and the number of notebooks
executed, then checks the targets: a no-op rebuild executes no notebook and takes at most a
tenth of a clean build; a one-value data change re-executes only notebooks that read data.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from analysis.book.sandbox import copy_repository, edit_csv_cell, run_build

REPO = Path(__file__).resolve().parents[1]


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="bench-build-") as tmp:
        root = copy_repository(REPO, Path(tmp) / "repo")
        rows = []
        clean = run_build(root)
        if clean.returncode != 0:
            print(clean.output[-4000:])
            return 1
        rows.append(("clean build", clean))
        noop = run_build(root)
        rows.append(("no-op rebuild", noop))
        # One value: the first arm-level mean of the first comparison in the overall SMD.
        from analysis.evidence import load_trials
        from analysis.review import meta_analysis

        ma = meta_analysis(load_trials(root / "data"))
        ids = ma.table.loc[ma.table["input"] == "arms", "outcome_ids"].iloc[0].split(";")
        import csv

        with (root / "data" / "outcomes.csv").open(newline="", encoding="utf-8") as fh:
            data = list(csv.DictReader(fh))
        index = next(i for i, r in enumerate(data) if r["outcome_id"] in ids and r["mean"])
        edit_csv_cell(root / "data" / "outcomes.csv", index, "mean",
                      f"{float(data[index]['mean']) - 1:g}")  # fmt: skip
        changed = run_build(root)
        rows.append(("one data value changed", changed))

        print(f"{'scenario':<26}{'seconds':>9}{'executed':>10}{'reused':>8}")
        for name, run in rows:
            rep = run.report
            print(f"{name:<26}{run.seconds:>9.1f}{rep.get('executed', -1):>10}"
                  f"{rep.get('reused', -1):>8}")  # fmt: skip
        cache = root / "_build" / ".cache"
        no_data = []
        for manifest in cache.glob("*/manifest.json"):
            if not json.loads(manifest.read_text())["data_reads"]:
                no_data.append(manifest.parent.name.replace("__", "/"))
        executed_without_data = sorted(set(changed.report["executed_pages"]) & set(no_data))
        ok_noop = noop.report["executed"] == 0 and noop.seconds <= clean.seconds / 10
        ok_change = not executed_without_data
        print(f"\nnotebooks that read no data (reused after the data change): {sorted(no_data)}")
        print(f"target no-op: 0 executed and <= 1/10 of clean ({clean.seconds / 10:.1f} s): "
              f"{'met' if ok_noop else 'NOT met'}")  # fmt: skip
        print(
            f"target one-value change re-executes only data-reading notebooks: "
            f"{'met' if ok_change else 'NOT met: ' + ', '.join(executed_without_data)}"
        )
        return 0 if ok_noop and ok_change else 1


if __name__ == "__main__":
    sys.exit(main())
