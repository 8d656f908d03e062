"""Applying the review protocol (``data/protocol.yml``): which trials, rows and model an analysis
uses, as the protocol states them.

The protocol is loaded and validated with the data (:mod:`analysis.evidence.protocol`,
``Trials.protocol``). This module turns it into selections: the kind of control of each trial,
the trials of a comparison, the instrument hierarchy, and the readers' texts and tables that
render it (the Protocol page and the Methods chapter glue them, so the text is the rule the code
applies).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pandas as pd

from analysis.evidence.protocol import Protocol, load_protocol

__all__ = [
    "comparison_mask",
    "control_type",
    "hierarchy",
    "protocol_of",
    "tokens",
]


def protocol_of(trials: Any) -> Protocol:
    """The protocol of a loaded database (``trials.protocol``; loaded from its data folder when
    the object carries none)."""
    proto = getattr(trials, "protocol", None)
    return proto if proto is not None else load_protocol(trials.data_dir)


def tokens(value: object) -> set[str]:
    """The ``;``-separated tokens of a cell (empty set for a missing value)."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return set()
    return {t.strip() for t in str(value).split(";") if t.strip()}


def control_type(studies: pd.DataFrame, proto: Protocol) -> pd.Series:
    """``"wait-list"`` for trials carrying the protocol's wait-list flag in
    ``doubtful_inclusion``, ``"usual care"`` otherwise (indexed like ``studies``)."""
    flag = proto.waitlist_flag
    wait = studies["doubtful_inclusion"].map(lambda v: flag in tokens(v)).astype(bool)
    return wait.map({True: "wait-list", False: "usual care"})


def comparison_mask(
    studies: pd.DataFrame, proto: Protocol, comparison: str, *, self_help: bool = False
) -> pd.Series:
    """Trials of ``studies`` in one comparison of the protocol (``"primary"`` or
    ``"all_controls"``): its design, its kinds of control, therapist-delivered formats (and the
    self-help formats with ``self_help``), never a trial flagged as never pooled."""
    comp = {"primary": proto.primary, "all_controls": proto.all_controls}[comparison]
    formats = set(proto.therapist_formats) | (set(proto.self_help_formats) if self_help else set())
    design = studies["design"].astype("string").eq(comp.design).fillna(False)
    control = control_type(studies, proto).isin(list(comp.controls))
    fmt = studies["format"].astype("string").isin(list(formats)).fillna(False)
    never = studies["doubtful_inclusion"].map(
        lambda v: bool(tokens(v) & set(proto.never_pooled_flags))).astype(bool)  # fmt: skip
    return (design & control & fmt & ~never).astype(bool)


def hierarchy(
    proto: Protocol, spec: str | Sequence[str] | None = None, *, any_instrument: bool = False
) -> tuple[str, ...]:
    """The instrument hierarchy of an analysis.

    ``None``: the protocol's established instruments, its first rater's scales first;
    ``"self_first"`` / ``"clinician_first"``: the same with that rater first; a list: those
    codes in that order (single-scale analyses). With ``any_instrument`` every other instrument
    code follows (the "any instrument" sensitivity analyses).
    """
    if spec is None or isinstance(spec, str):
        first = {None: None, "self_first": "self", "clinician_first": "clinician"}.get(spec, "?")
        if first == "?":
            raise ValueError("hierarchy must be None, 'self_first', 'clinician_first' or a list "
                             "of instrument codes")  # fmt: skip
        return proto.instrument_order(first, any_instrument=any_instrument)
    order = tuple(spec)
    if any_instrument:
        order += tuple(c for c in proto.instrument_order(any_instrument=True) if c not in order)
    return order
