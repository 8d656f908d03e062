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

__all__ = ["FIRST_TRIAL_YEAR", "future_problem", "parse_iso_date", "today"]

#: First year in which a results paper of a trial in scope can have been published.
FIRST_TRIAL_YEAR = 1957

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


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
