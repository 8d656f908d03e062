"""Dates in the trial database: the review's clock, ISO dates and the plausibility bounds.

One function reads the clock (:func:`today`) and one decides whether a date is in the future
(:func:`future_problem`), so every rule that needs "not in the future" applies the same rule
(tests monkeypatch :func:`today`).

The earliest plausible year of a trial's results paper is :data:`FIRST_TRIAL_YEAR`: the review
includes trials in people whose depression did not respond to antidepressant medication
(``chapters/methods.md``, Population), and the first antidepressants (iproniazid and
imipramine) were reported in 1957, so no trial in scope can have been published before 1957.
The earliest trial in the database today is Moore 1997.
"""

from __future__ import annotations

import datetime as dt
import re

__all__ = [
    "FIRST_TRIAL_YEAR",
    "future_problem",
    "parse_iso_date",
    "parse_partial_date",
    "partial_date_key",
    "partial_date_problem",
    "today",
]

#: First year in which a results paper of a trial in scope can have been published.
FIRST_TRIAL_YEAR = 1957

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_PARTIAL_DATE = re.compile(r"^(\d{4})-(\d{2})(?:-(\d{2}))?$")


def today() -> dt.date:
    """The review's clock: the local calendar date (the only place that reads it)."""
    return dt.date.today()


def parse_iso_date(value: object) -> dt.date | None:
    """A calendar date from a ``datetime.date`` (not a ``datetime``) or a ``YYYY-MM-DD`` string;
    ``None`` for anything else, including impossible dates such as ``2024-02-30``."""
    if isinstance(value, dt.datetime):
        return None
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and _ISO_DATE.match(value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return None
    return None


def future_problem(day: dt.date, now: dt.date | None = None) -> str | None:
    """The broken rule when ``day`` lies after today (``now``, default :func:`today`), else None."""
    now = today() if now is None else now
    if day > now:
        return f"date must not be in the future (today is {now.isoformat()})"
    return None


def parse_partial_date(value: object) -> tuple[int, int, int | None] | None:
    """A date whose day may be unrecorded: ``"2026-12-05"`` -> ``(2026, 12, 5)``, ``"2026-12"``
    -> ``(2026, 12, None)``; ``None`` when not such a date or impossible (``2026-13``)."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return (value.year, value.month, value.day)
    m = _PARTIAL_DATE.match(value.strip()) if isinstance(value, str) else None
    if not m:
        return None
    year, month = int(m.group(1)), int(m.group(2))
    day = int(m.group(3)) if m.group(3) else None
    try:
        dt.date(year, month, day or 1)
    except ValueError:
        return None
    return (year, month, day)


def partial_date_key(value: object) -> tuple[int, int, int]:
    """Sort key of a (partial) date: a month without a day sorts after every day of it."""
    parsed = parse_partial_date(value)
    if parsed is None:
        raise ValueError(f"not a date: {value!r}")
    year, month, day = parsed
    return (year, month, 99 if day is None else day)


def partial_date_problem(value: object, now: dt.date | None = None) -> str | None:
    """The broken rule when a (partial) date lies after today, else None: a month is in the
    future when it starts after today's month (the same rule as :func:`future_problem`)."""
    parsed = parse_partial_date(value)
    if parsed is None:
        return None
    now = today() if now is None else now
    year, month, day = parsed
    if day is not None:
        return future_problem(dt.date(year, month, day), now)
    if (year, month) > (now.year, now.month):
        return f"date must not be in the future (today is {now.isoformat()})"
    return None
