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
from analysis.review.records import result_record
from analysis.review.text import fmt_number

HISTORY_DIR = "history"
BDI_HIERARCHY = ["BDI-II", "BDI-I", "BDI"]

#: Key estimates: id -> (label, outcome, measure, extra meta_analysis arguments).
KEY_ESTIMATES: dict[str, tuple[str, str, str, dict[str, Any]]] = {
    "symptoms.smd.overall": ("Depressive symptoms, SMD", "depressive_symptoms", "SMD", {}),
    "symptoms.md.bdi": (
        "Depressive symptoms, BDI MD",
        "depressive_symptoms",
        "MD",
        {"hierarchy": BDI_HIERARCHY},
    ),
    "remission.rr.overall": ("Remission, RR", "remission", "RR", {}),
    "response.rr.overall": ("Response, RR", "response", "RR", {}),
    "dropout.rr.overall": ("Dropout, RR", "dropout", "RR", {}),
}


def _semver(version: str) -> tuple[int, ...]:
    """``"1.10.2"`` -> ``(1, 10, 2)`` (raises ValueError on anything else)."""
    parts = str(version).strip().split(".")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        raise ValueError(f"version {version!r} is not a semantic version MAJOR.MINOR.PATCH")
    return tuple(int(p) for p in parts)


def _entry(result_id: str, label: str, ma: Any) -> dict[str, Any]:
    if ma.result is None:
        return {
            "id": result_id,
            "label": label,
            "measure": ma.measure,
            "estimate": None,
            "ci_low": None,
            "ci_high": None,
            "k": 0,
            "participants": 0,
            "studies": [],
        }
    rec = result_record(
        result_id,
        ma.result,
        measure=ma.measure,
        label=label,
        outcome=ma.outcome,
        participants=ma.participants,
        studies=ma.studies,
    )
    keep = (
        "id",
        "label",
        "measure",
        "estimate",
        "ci_low",
        "ci_high",
        "k",
        "participants",
        "studies",
        "method",
        "hksj",
    )
    return {k: rec[k] for k in keep}


def snapshot(trials: Trials) -> dict[str, Any]:
    """The key pooled estimates of a database (main analysis: REML + Knapp–Hartung).

    Returns a JSON-serialisable dict: ``version``, ``last_search``, ``data_version`` (hash of
    the data files), ``trials`` (sorted ids of the trials with data in any key estimate) and
    ``estimates`` (id -> estimate, ci_low, ci_high on the display scale, k, participants,
    studies). Subgroups ``symptoms.smd.modality.<modality>`` are included for every modality
    with symptom data.
    """
    from analysis.review.analyses import meta_analysis, select_studies

    estimates: dict[str, Any] = {}
    for rid, (label, outcome, measure, extra) in KEY_ESTIMATES.items():
        estimates[rid] = _entry(rid, label, meta_analysis(trials, outcome, measure, **extra))
    modalities = sorted(set(select_studies(trials)["modality"].dropna()))
    for mod in modalities:
        ma = meta_analysis(
            trials, "depressive_symptoms", "SMD", where=lambda s, m=mod: s["modality"] == m
        )
        if ma.result is not None:
            rid = f"symptoms.smd.modality.{mod}"
            estimates[rid] = _entry(rid, f"Depressive symptoms, SMD, {mod}", ma)
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
