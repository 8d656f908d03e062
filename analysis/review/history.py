"""Released estimates of the living review and what changed between releases.

A *release* freezes the key pooled estimates of one version of the trial database
(``data/version.yml``) in ``data/history/<version>.json``:

* :func:`snapshot` computes the key estimates (main analysis model) from a loaded database;
* :func:`record_release` writes the snapshot of ``data/`` as a release file, refusing to
  overwrite a release of the same version whose content differs (bump ``version`` instead);
* :func:`load_releases` reads every release, oldest first;
* :func:`compare` lists what changed between two snapshots: trials with data added or removed,
  estimates that moved, and conclusions whose 95% CI now includes or excludes the null.
"""

from __future__ import annotations

import json
import math
import os
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.evidence.loading import Trials, find_data_dir, load_trials
from analysis.review.catalogue import MODALITIES, estimate, modality_id
from analysis.review.records import Estimate
from analysis.review.text import fmt_number

HISTORY_DIR = "history"

#: Key estimates of a release (catalogued ids, :mod:`analysis.review.catalogue`), plus every
#: therapy of :data:`analysis.review.catalogue.MODALITIES` with symptom data.
KEY_ESTIMATES: tuple[str, ...] = (
    "symptoms.smd.overall",
    "symptoms.smd.all_controls",
    "symptoms.md.bdi",
    "remission.rr.overall",
    "response.rr.overall",
    "response.or.overall",
    "dropout.rr.overall",
)


def _semver(version: str) -> tuple[int, ...]:
    """``"1.10.2"`` -> ``(1, 10, 2)`` (raises ValueError on anything else)."""
    parts = str(version).strip().split(".")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        raise ValueError(f"version {version!r} is not a semantic version MAJOR.MINOR.PATCH")
    return tuple(int(p) for p in parts)


def _entry(est: Estimate) -> dict[str, Any]:
    keep = ("id", "label", "measure", "estimate", "ci_low", "ci_high", "k", "participants",
            "studies", "method", "hksj")  # fmt: skip
    rec = est.record()
    if rec is None:
        return {"id": est.result_id, "label": est.label, "measure": est.measure,
                "estimate": None, "ci_low": None, "ci_high": None, "k": 0, "participants": 0,
                "studies": []}  # fmt: skip
    return {k: rec[k] for k in keep}


def snapshot(trials: Trials) -> dict[str, Any]:
    """The key pooled estimates of a database (the catalogued analyses of the review).

    Returns a JSON-serialisable dict: ``version``, ``last_search``, ``data_version`` (hash of
    the data files), ``trials`` (sorted ids of the trials with data in any key estimate) and
    ``estimates`` (id -> estimate, ci_low, ci_high on the display scale, k, participants,
    studies) for :data:`KEY_ESTIMATES` and every therapy (``symptoms.smd.modality.<CODE>``,
    comparison-level classification) with symptom data.
    """
    estimates: dict[str, Any] = {}
    for rid in KEY_ESTIMATES:
        estimates[rid] = _entry(estimate(trials, rid))
    for code in MODALITIES:
        est = estimate(trials, modality_id(code))
        if est.has_data:
            estimates[est.result_id] = _entry(est)
    with_data = sorted({s for e in estimates.values() for s in e["studies"]})
    version = trials.version or {}
    try:
        dv = trials.data_version
    except FileNotFoundError:  # pragma: no cover - Trials built in memory
        dv = ""
    return {
        "version": str(version.get("version", "")),
        "last_search": str(version.get("last_search", "")),
        "data_version": dv,
        "trials": with_data,
        "estimates": estimates,
    }


def _comparable(snap: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in snap.items() if k != "recorded"}


def record_release(data_dir: str | os.PathLike[str] | None = None) -> Path:
    """Write ``<data>/history/<version>.json`` with the snapshot of the database.

    Idempotent when the file already holds the same snapshot. Raises ``FileExistsError`` when
    a release of this version exists with different content, and ``ValueError`` when the
    version is not newer than the latest release: bump ``version`` in ``version.yml``.
    """
    root = find_data_dir(data_dir)
    trials = load_trials(root)
    snap = snapshot(trials)
    version = snap["version"]
    _semver(version)
    folder = root / HISTORY_DIR
    path = folder / f"{version}.json"
    if path.is_file():
        old = json.loads(path.read_text(encoding="utf-8"))
        if _comparable(old) == _comparable(json.loads(json.dumps(snap))):
            return path
        raise FileExistsError(
            f"release {version} is already recorded in {path} with different estimates or data; "
            f"the data changed since that release: bump 'version' in {root / 'version.yml'} "
            "(patch = corrections, minor = new rows/trials) and run 'release' again"
        )
    existing = [p.stem for p in folder.glob("*.json")] if folder.is_dir() else []
    newer = [v for v in existing if _semver(v) > _semver(version)]
    if newer:
        raise ValueError(
            f"version {version} is older than the recorded release(s) {', '.join(sorted(newer))}: "
            f"bump 'version' in {root / 'version.yml'}"
        )
    folder.mkdir(parents=True, exist_ok=True)
    snap = {**snap, "recorded": date.today().isoformat()}
    path.write_text(json.dumps(snap, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def load_releases(data_dir: str | os.PathLike[str] | None = None) -> list[dict[str, Any]]:
    """Every ``history/*.json`` release, oldest version first (empty list if none)."""
    folder = find_data_dir(data_dir) / HISTORY_DIR
    files = sorted(folder.glob("*.json"), key=lambda p: _semver(p.stem)) if folder.is_dir() else []
    return [json.loads(p.read_text(encoding="utf-8")) for p in files]


def _null(measure: str) -> float:
    return 1.0 if measure in ("RR", "OR") else 0.0


def crosses_null(entry: dict[str, Any] | None) -> bool | None:
    """Whether the 95% CI of an estimate includes the null (None without an estimate)."""
    if not entry or entry.get("ci_low") is None or entry.get("ci_high") is None:
        return None
    null = _null(entry.get("measure", ""))
    return bool(entry["ci_low"] <= null <= entry["ci_high"])


def _text(entry: dict[str, Any] | None) -> str:
    if not entry or entry.get("estimate") is None:
        return "no trial data"
    return (
        f"{entry['measure']} {fmt_number(entry['estimate'])} "
        f"[{fmt_number(entry['ci_low'])}, {fmt_number(entry['ci_high'])}]; k = {entry['k']}"
    )


def compare(old: dict[str, Any], new: dict[str, Any]) -> pd.DataFrame:
    """What changed from snapshot ``old`` to ``new``, one row per change.

    Columns: ``item`` (estimate id or study id), ``change`` (``trial added``, ``trial removed``,
    ``estimate`` or ``no change``), ``before``, ``after`` (texts), ``shift`` (new − old point
    estimate on the display scale; NaN when either is missing) and ``null`` (``now includes
    the null``, ``no longer includes the null``, ``unchanged`` or ``—``).
    Estimates whose numbers and k are unchanged appear with ``change = "no change"`` so that a
    comparison of identical snapshots still lists every key estimate.
    """
    rows: list[dict[str, Any]] = []
    old_t, new_t = set(old.get("trials", [])), set(new.get("trials", []))
    for sid in sorted(new_t - old_t):
        rows.append(
            {
                "item": sid,
                "change": "trial added",
                "before": "—",
                "after": "with data",
                "shift": math.nan,
                "null": "—",
            }
        )
    for sid in sorted(old_t - new_t):
        rows.append(
            {
                "item": sid,
                "change": "trial removed",
                "before": "with data",
                "after": "—",
                "shift": math.nan,
                "null": "—",
            }
        )
    o_est, n_est = old.get("estimates", {}), new.get("estimates", {})
    for rid in list(dict.fromkeys([*o_est, *n_est])):
        a, b = o_est.get(rid), n_est.get(rid)
        ea = None if a is None else a.get("estimate")
        eb = None if b is None else b.get("estimate")
        shift = eb - ea if ea is not None and eb is not None else math.nan
        same = (
            a is not None
            and b is not None
            and a.get("k") == b.get("k")
            and all(a.get(c) == b.get(c) for c in ("estimate", "ci_low", "ci_high"))
        )
        ca, cb = crosses_null(a), crosses_null(b)
        if ca is None or cb is None:
            null = "—"
        elif ca == cb:
            null = "unchanged"
        else:
            null = "now includes the null" if cb else "no longer includes the null"
        rows.append(
            {
                "item": rid,
                "change": "no change" if same else "estimate",
                "before": _text(a),
                "after": _text(b),
                "shift": shift,
                "null": null,
            }
        )
    return pd.DataFrame(rows, columns=["item", "change", "before", "after", "shift", "null"])


def release_table(releases: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per recorded release: version, dates, data hash, trials with data and the number
    of comparisons in the main SMD analysis."""
    rows = []
    for rel in releases:
        smd = rel["estimates"].get("symptoms.smd.overall", {})
        rows.append({
            "Version": rel["version"],
            "Recorded": rel.get("recorded", ""),
            "Last search": rel["last_search"],
            "Data hash": rel["data_version"],
            "Trials with data": len(rel["trials"]),
            "Comparisons in the SMD analysis": smd.get("k", 0),
        })  # fmt: skip
    return pd.DataFrame(rows)


def changes_table(frame: pd.DataFrame) -> pd.DataFrame:
    """:func:`compare`'s output for readers: formatted shift and plain column names."""
    out = frame.assign(shift=["—" if pd.isna(s) else fmt_number(s) for s in frame["shift"]])
    out.columns = ["Item", "Change", "Before", "After", "Shift", "95% CI and the null"]
    return out.reset_index(drop=True)


def release_changes(releases: list[dict[str, Any]]) -> list[tuple[str, str, pd.DataFrame]]:
    """For each pair of consecutive releases: old version, new version and the changed rows of
    :func:`changes_table` (empty when nothing changed)."""
    out = []
    for old, new in zip(releases[:-1], releases[1:], strict=True):
        changed = compare(old, new)
        changed = changed.loc[changed["change"] != "no change"]
        out.append((old["version"], new["version"], changes_table(changed)))
    return out


def since_last_release(releases: list[dict[str, Any]], current: dict[str, Any]) -> pd.DataFrame:
    """:func:`changes_table` from the latest release (or from nothing) to ``current``."""
    base = releases[-1] if releases else {"trials": [], "estimates": {}}
    return changes_table(compare(base, current))
