"""Released estimates of the living review and what changed between releases.

A *release* freezes the key pooled estimates of one version of the trial database
(``data/version.yml``) in ``data/history/<version>.json``:

* :func:`snapshot` computes the key estimates (main analysis model) from a loaded database;
* :func:`record_release` writes the snapshot of ``data/`` as a release file, refusing to
  overwrite a release of the same version whose content differs (bump ``version`` instead);
* :func:`load_releases` reads every release, oldest first;
* :func:`compare` lists what changed between two snapshots: trials with data added or removed,
  estimates that moved, and conclusions whose 95% CI now includes or excludes the null;
* :func:`movement_table`, :func:`data_changes_table` and :func:`whats_new_text` say the same in
  words a reader understands (trial names, estimate labels), from :func:`compare` and from the
  changelog of the data (``data/changelog.csv``: what was added, corrected and screened in
  each version).
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
from analysis.evidence.paths import data_version
from analysis.evidence.validation import release_problems
from analysis.review.catalogue import ANALYSES, COMPUTED, MODALITIES, estimate, modality_id
from analysis.review.records import Estimate
from analysis.review.text import count_text, fmt_number, join_words, study_label

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
    the data files), ``trials`` (sorted ids of the trials with data in any key estimate),
    ``studies`` (sorted ids of every trial in ``studies.csv``) and ``estimates`` (id ->
    estimate, ci_low, ci_high on the display scale, k, participants, studies) for
    :data:`KEY_ESTIMATES` and every therapy (``symptoms.smd.modality.<CODE>``,
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
        "studies": sorted(str(s) for s in trials.studies["study_id"]),
        "estimates": estimates,
    }


def _comparable(snap: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in snap.items() if k != "recorded"}


def record_release(data_dir: str | os.PathLike[str] | None = None) -> Path:
    """Write ``<data>/history/<version>.json`` with the snapshot of the database.

    Idempotent when the file already holds the same snapshot. A release is never overwritten:
    the data are first checked with :func:`analysis.evidence.validation.release_problems`
    (``ValueError`` when the version is older than a recorded release, ``FileExistsError`` when
    this version was recorded from other data), and ``FileExistsError`` is also raised when the
    recorded release of this version holds different estimates: bump ``version`` in
    ``version.yml``.
    """
    root = find_data_dir(data_dir)
    trials = load_trials(root)
    for problem in release_problems(root, str(trials.version.get("version", "")),
                                    data_version(root)):  # fmt: skip
        error = ValueError if "older" in problem.rule else FileExistsError
        raise error(f"{root / 'version.yml'}: {problem.rule}")
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


# --------------------------------------------------------------------------- in words
def estimate_label(result_id: str, entry: dict[str, Any] | None = None) -> str:
    """A reader's label for an estimate id (the catalogue's label, else the recorded one)."""
    if result_id in ANALYSES or result_id in COMPUTED:
        from analysis.review.catalogue import label

        return label(result_id)
    return str((entry or {}).get("label") or result_id)


def entry_text(entry: dict[str, Any] | None) -> str:
    """``"SMD −0.57 (95% CI −0.84 to −0.29; 12 comparisons)"`` or ``"no trial data"``."""
    if not entry or entry.get("estimate") is None:
        return "no trial data"
    k = int(entry.get("k") or 0)
    return (
        f"{entry['measure']} {fmt_number(entry['estimate'])} (95% CI "
        f"{fmt_number(entry['ci_low'])} to {fmt_number(entry['ci_high'])}; "
        f"{count_text(k, 'comparison')})"
    )


def _null_words(entry: dict[str, Any] | None) -> str:
    if crosses_null(entry) is None:
        return ""
    none = "no difference" if entry.get("measure") not in ("RR", "OR") else "no difference (1)"
    return "includes " + none if crosses_null(entry) else "excludes " + none


def movement_table(
    old: dict[str, Any], new: dict[str, Any], *, new_name: str | None = None,
    keys: tuple[str, ...] | None = None,
) -> pd.DataFrame:  # fmt: skip
    """How each estimate moved from snapshot ``old`` to ``new``, in words.

    One row per estimate of :func:`compare` (or only ``keys``): ``Estimate`` (its label),
    ``Version <old>``, ``Version <new>`` (or ``new_name``) as texts of :func:`entry_text`,
    ``Change`` (``unchanged``, ``moved by +0.03``, ``new estimate``, ``no longer estimable``)
    and ``95% CI`` (whether it includes no difference, and whether that changed).
    """
    frame = compare(old, new)
    frame = frame.loc[~frame["change"].isin(["trial added", "trial removed"])]
    o_est, n_est = old.get("estimates", {}), new.get("estimates", {})
    a_name = f"Version {old.get('version', '?')}"
    b_name = new_name or f"Version {new.get('version', '?')}"
    rows = []
    for rid, change, shift in zip(frame["item"], frame["change"], frame["shift"], strict=True):
        if keys is not None and rid not in keys:
            continue
        a, b = o_est.get(rid), n_est.get(rid)
        has_a = bool(a and a.get("estimate") is not None)
        has_b = bool(b and b.get("estimate") is not None)
        if change == "no change" or (not has_a and not has_b):
            how = "unchanged"
        elif not has_a:
            how = "new estimate"
        elif not has_b:
            how = "no longer estimable"
        else:
            sign = "+" if shift > 0 else ""
            how = f"moved by {sign}{fmt_number(shift)}" if fmt_number(abs(shift)) != "0.00" else (
                "moved by less than 0.005")
            if a.get("k") != b.get("k"):
                how += f" ({count_text(int(a.get('k') or 0), 'comparison')} before, "
                how += f"{int(b.get('k') or 0)} now)"
        ci = _null_words(b) if has_b else ""
        if has_a and has_b and crosses_null(a) != crosses_null(b):
            ci = "now " + ci
        elif has_a and has_b:
            ci = "still " + ci
        rows.append({"Estimate": estimate_label(rid, b or a), a_name: entry_text(a),
                     b_name: entry_text(b), "Change": how, "95% CI": ci or "—"})  # fmt: skip
    return pd.DataFrame(rows, columns=["Estimate", a_name, b_name, "Change", "95% CI"])


def record_label(trials: Trials, record_id: str) -> str:
    """A reader's name for a trial or screened study: ``Mantani 2017 (FLATT)`` for a trial of
    ``studies.csv``; for another screened record, the start of its citation
    (``Bagherzadeh Ledari 2018``, ``NCT04015206``)."""
    s = trials.studies.set_index("study_id")
    if record_id in s.index:
        name = s.loc[record_id, "trial_name"]
        return study_label(record_id) + (f" ({name})" if isinstance(name, str) and name else "")
    scr = trials.screening.set_index("record_id") if len(trials.screening) else None
    if scr is not None and record_id in scr.index:
        return str(scr.loc[record_id, "citation"]).split(". ")[0].split(" (")[0]
    return study_label(record_id)


#: Order and reader wording of the kinds of change in ``changelog.csv``.
CHANGE_KINDS: dict[str, str] = {
    "trial added": "Trial added",
    "correction": "Correction",
    "data added": "Data added",
    "reclassification": "Reclassified",
    "screening": "Screening",
}


def data_changes_table(trials: Trials, version: str | None = None) -> pd.DataFrame:
    """The changelog of the data (``changelog.csv``) for readers: ``Version``, ``Trial or
    study`` (names, not ids), ``Change`` and ``What changed``; newest version first, then by
    kind of change (additions, corrections, data, reclassifications, screening)."""
    ch = trials.changes
    if version is not None:
        ch = ch.loc[ch["version"] == version]
    cols = ["Version", "Trial or study", "Change", "What changed"]
    if not len(ch):
        return pd.DataFrame(columns=cols)
    order = {k: i for i, k in enumerate(CHANGE_KINDS)}
    ch = ch.assign(_v=[_semver(v) for v in ch["version"]], _k=ch["change"].map(order))
    ch = ch.sort_values(["_v", "_k", "line"], ascending=[False, True, True])
    return pd.DataFrame({
        "Version": ch["version"].to_numpy(),
        "Trial or study": [record_label(trials, r) if isinstance(r, str) and r else "—"
                           for r in ch["record_id"]],
        "Change": [CHANGE_KINDS[c] for c in ch["change"]],
        "What changed": ch["description"].to_numpy(),
    }).reset_index(drop=True)  # fmt: skip


def previous_release(releases: list[dict[str, Any]], version: str) -> dict[str, Any] | None:
    """The latest recorded release older than ``version`` (``None`` if there is none)."""
    older = [r for r in releases if _semver(r["version"]) < _semver(version)]
    return older[-1] if older else None


def is_recorded(releases: list[dict[str, Any]], current: dict[str, Any]) -> bool:
    """Whether ``current`` (a :func:`snapshot`) is a recorded release: same version and same
    data."""
    key = (current.get("version"), current.get("data_version"))
    return any((r["version"], r.get("data_version")) == key for r in releases)


def current_name(releases: list[dict[str, Any]], current: dict[str, Any]) -> str:
    """``"Version 1.1.0"`` when the current data are that release, else ``"Version 1.1.0
    (current data, not yet released)"``."""
    name = f"Version {current.get('version', '?')}"
    return name if is_recorded(releases, current) else f"{name} (current data, not yet released)"


#: The headline estimates named in the "what's new" sentence.
HEADLINE: tuple[str, ...] = ("symptoms.smd.overall", "dropout.rr.overall")


def whats_new_text(trials: Trials, releases: list[dict[str, Any]],
                   current: dict[str, Any]) -> str:  # fmt: skip
    """One paragraph for the landing page: what the current data version added, corrected and
    screened (from ``changelog.csv``) and how the headline estimates moved since the previous
    release (from :func:`compare`)."""
    version = str(current.get("version", ""))
    ch = trials.changes.loc[trials.changes["version"] == version] if len(trials.changes) else None
    parts = []
    if ch is not None and len(ch):
        def names(kind: str) -> list[str]:
            ids = ch.loc[ch["change"] == kind, "record_id"].dropna()
            return list(dict.fromkeys(record_label(trials, r) for r in ids if r))

        for kind, verb in (("trial added", "adds"), ("correction", "corrects data of"),
                           ("data added", "adds data for"), ("screening", "screens"),
                           ("reclassification", "reclassifies")):  # fmt: skip
            who = names(kind)
            if who:
                parts.append(f"{verb} {_and(who)}")
    text = f"Version {version} " + (_and(parts) if parts else "changes no trial data") + "."
    base = [r for r in releases if _semver(r["version"]) < _semver(version)] if version else []
    if base:
        prev = base[-1]
        moves, redefined = [], False
        for rid in HEADLINE:
            a = prev.get("estimates", {}).get(rid)
            b = current.get("estimates", {}).get(rid)
            if a is None and b is None:
                continue
            what = estimate_label(rid, b or a).split(": ", 1)[-1]
            # The recorded label names the analysis (comparison, model): a new label means the
            # estimate is now computed differently, not only from different data.
            redefined |= bool(a and b and a.get("label") != b.get("label"))
            if _short(a) == _short(b):
                moves.append(f"the pooled estimate for {what} is unchanged at {_short(b)}")
            else:
                moves.append(f"the pooled estimate for {what} moved from {_short(a)} to "
                             f"{_short(b)}")  # fmt: skip
        if moves:
            text += f" Since version {prev['version']}, " + _and(moves) + "."
        if redefined:
            text += (" These estimates are not computed as they were in version "
                     f"{prev['version']}: the analysis itself changed (see the protocol), so a "
                     "shift is not only the effect of new data.")
    return text


def _short(entry: dict[str, Any] | None) -> str:
    if not entry or entry.get("estimate") is None:
        return "no estimate"
    return (f"{entry['measure']} {fmt_number(entry['estimate'])} "
            f"({fmt_number(entry['ci_low'])} to {fmt_number(entry['ci_high'])})")  # fmt: skip


def _and(items: list[str]) -> str:
    """The non-empty ``items`` joined with :func:`~analysis.review.text.join_words`."""
    return join_words(i for i in items if i)
