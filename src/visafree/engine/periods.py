"""Fixed periods (issue 9): at most N days of presence in a period that does not roll.

A regime may limit the days of presence in a period of its own, not in a rolling window (R4).
Two anchors, as the texts write them:

- ``calendar_year``: 1 January to 31 December ("не должна превышать 90 дней в календарном году",
  vnm-blr);
- ``first_entry``: a period of L days (or L calendar months) that starts on the first day of
  presence, the day of the first entry, and holds the days before the same date L days (months)
  later; the next period starts on the first day of presence after it ends ("на протяжении ста
  восьмидесяти (180) дней со дня первого пересечения государственной границы", kaz-ukr; "for one
  year (1) from the date of first entry", kaz-bra).

A day d of presence breaks the rule when the days of presence in its period, up to and including
d, exceed N. Days are counted as everywhere else (RULES.md §2): entry and exit days count, a day
shared by an exit and a re-entry once. The anchoring is each regime's own text, cited in its file.

Everything here is pure and works on day ordinals and a Presence; counting is Presence's binary
search, so the cost is O(periods x log runs), never a walk over days, except in `first_fit`
(earliest entry), where the answer is not monotone in the start day (see there).
"""

from __future__ import annotations

import calendar
import datetime as dt
from bisect import bisect_left, bisect_right
from typing import NamedTuple

from .explain import Note, note
from .presence import Presence, first_true

CALENDAR_YEAR = "calendar_year"
FIRST_ENTRY = "first_entry"
ANCHORS = (CALENDAR_YEAR, FIRST_ENTRY)
DAYS = "days"
MONTHS = "months"
UNITS = (DAYS, MONTHS)

_MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


class FixedPeriod(NamedTuple):
    """The rule's parameters on one day (regime.RuleSet.period)."""

    anchor: str  # calendar_year | first_entry
    length: int  # first_entry: the period's length in `unit`; calendar_year: 0 (not used)
    unit: str  # days | months
    max_days: int  # most days of presence in one period
    rule: str = ""  # the regime's rule id, for explanations


def shortest_days(anchor: str, length: int, unit: str) -> int:
    """The fewest days a period can have (a limit of that many days or more limits nothing)."""
    if anchor == CALENDAR_YEAR:
        return 365
    return length if unit == DAYS else 28 * length if length < 12 else 365 * (length // 12)


def _add_months(day: dt.date, months: int) -> dt.date:
    # Calendar months clamped to the month's end, as check.add_months (R2); a copy, because
    # check imports this module.
    year, month = divmod(day.year * 12 + day.month - 1 + months, 12)
    last = 29 if month == 1 and calendar.isleap(year) else _MONTH_DAYS[month]
    return dt.date(year, month + 1, min(day.day, last))


def period_end(period: FixedPeriod, start: int) -> int:
    """The last day of the period that starts on `start` (a 1 January, for a calendar year)."""
    if period.anchor == CALENDAR_YEAR:
        return dt.date(dt.date.fromordinal(start).year, 12, 31).toordinal()
    if period.unit == DAYS:
        return start + period.length - 1
    # "one year from the date of first entry": the days before the same date a year later.
    return _add_months(dt.date.fromordinal(start), period.length).toordinal() - 1


def _year_of(day: int) -> tuple[int, int]:
    year = dt.date.fromordinal(day).year
    return dt.date(year, 1, 1).toordinal(), dt.date(year, 12, 31).toordinal()


def _next_present(presence: Presence, day: int) -> int | None:
    """The first day of presence on or after `day`, if any."""
    starts, ends = presence.starts, presence.ends
    i = bisect_right(starts, day) - 1
    if i >= 0 and ends[i] >= day:
        return day
    return starts[i + 1] if i + 1 < len(starts) else None


def _nth_present(presence: Presence, first: int, k: int) -> int:
    """The k-th day of presence on or after `first` (k >= 1; the caller knows it exists)."""
    target = presence.up_to(first - 1) + k
    found = first_true(first, presence.ends[-1], lambda d: presence.up_to(d) >= target)
    assert found is not None
    return found


def periods(period: FixedPeriod, presence: Presence, before: int | None = None) -> list[tuple[int, int]]:
    """The periods that hold days of presence, in date order, as (first day, last day); with
    `before`, only those that start before that day. First-entry periods form a chain: each
    starts on the first day of presence after the previous one ends."""
    if not presence.starts:
        return []
    last = presence.ends[-1] if before is None else min(presence.ends[-1], before - 1)
    found: list[tuple[int, int]] = []
    if period.anchor == CALENDAR_YEAR:
        year = dt.date.fromordinal(presence.starts[0]).year
        while dt.date(year, 1, 1).toordinal() <= last:
            a, b = dt.date(year, 1, 1).toordinal(), dt.date(year, 12, 31).toordinal()
            if presence.count(a, b):
                found.append((a, b))
            year += 1
        return found
    start: int | None = presence.starts[0]
    while start is not None and start <= last:
        end = period_end(period, start)
        found.append((start, end))
        start = _next_present(presence, end + 1)
    return found


def period_of(period: FixedPeriod, presence: Presence, day: int) -> tuple[int, int] | None:
    """The period that holds `day`, read from the days of presence before it; None for a
    first-entry rule when no period runs on `day` (the next entry starts one)."""
    if period.anchor == CALENDAR_YEAR:
        return _year_of(day)
    return _held(periods(period, presence, before=day + 1), day)


def _held(chain: list[tuple[int, int]], day: int) -> tuple[int, int] | None:
    """The period of a first-entry chain that holds `day`. A chain period that starts on `day`
    itself is the one a stay entering that day would start, so the chain may be built from
    presence that goes on past `day`: its periods up to `day` do not depend on later days."""
    i = bisect_right(chain, day, key=_first_day) - 1
    return chain[i] if i >= 0 and chain[i][1] >= day else None


def _first_day(span: tuple[int, int]) -> int:
    return span[0]


def history_breaches(period: FixedPeriod, presence: Presence, entries: list[int], lasts: list[int],
                     limited: list[bool] | None = None) -> tuple[list[tuple[int, int, int]], dict[int, int]]:
    """Days in breach of the rule in the recorded stays (in date order).

    In a period with more than N days of presence, the days from its (N + 1)-th day of presence
    to its end are in breach. Returns the runs of consecutive days in breach as (first, last,
    position of the stay the run starts in), and the first day in breach of each stay that has
    one, by position. With `limited` (by position: the stays the rule limits, as the window's
    window_bases, docs/basis.md) only those stays' days are in breach.
    """
    segments: list[tuple[int, int]] = []
    starts, ends = presence.starts, presence.ends
    for a, b in periods(period, presence):
        if presence.count(a, b) <= period.max_days:
            continue
        first = _nth_present(presence, a, period.max_days + 1)
        # The runs of presence within [first, b]: a new run begins after each gap, and the
        # period's end cuts the last one (the next period counts afresh from its day 1).
        for run in range(bisect_right(starts, first) - 1, len(starts)):
            if starts[run] > b:
                break
            lo, hi = max(first, starts[run]), min(ends[run], b)
            if lo <= hi:
                segments.append((lo, hi))
    if limited is not None:
        spans = Presence((entries[p], lasts[p]) for p in range(len(entries)) if limited[p])
        segments = [(max(lo, s), min(hi, e)) for lo, hi in segments for s, e in zip(spans.starts, spans.ends)
                    if max(lo, s) <= min(hi, e)]
    runs: list[tuple[int, int, int]] = []
    first_of: dict[int, int] = {}
    for lo, hi in segments:
        runs.append((lo, hi, bisect_right(entries, lo) - 1))
        # the stays present on a day of [lo, hi] (stays are in date order, so are their ends)
        for position in range(bisect_left(lasts, lo), bisect_right(entries, hi)):
            if position not in first_of and (limited is None or limited[position]):
                first_of[position] = max(lo, entries[position])
    return runs, first_of


def stay_overstays(violations: list[tuple[int, int, str, int]], entries: list[int], lasts: list[int],
                   per_stay_code: str) -> dict[int, int]:
    """The days in breach of each stay, by position, when a fixed period is among the rules: its
    days in breach end with the period, not with the stay. The window's and the period's days
    in breach are days of presence (a day shared by two stays is in breach in both); R3's belong
    to their own stay."""
    shared = Presence((a, b) for a, b, code, _ in violations if code != per_stay_code)
    own = {position: a for a, _b, code, position in violations if code == per_stay_code}
    found: dict[int, int] = {}
    for position in range(len(entries)):
        entry, last = entries[position], lasts[position]
        days = shared.count(entry, last)
        if position in own:
            first = own[position]
            days += last - first + 1 - shared.count(first, last)
        if days:
            found[position] = days
    return found


def stay_breach(period: FixedPeriod, prior: Presence, entry: int,
                chain: list[tuple[int, int]] | None = None) -> tuple[int, int, int]:
    """For a stay from `entry` on that goes on, on top of the days of `prior` before `entry`:
    (its first day in breach, and the first and last day of that day's period).

    In the period that holds `entry` (or a new one from `entry`, for a first-entry rule when none
    runs) the stay has N minus the days already used; if it outlasts that period, the next one
    starts the day after (the traveller is present) and the stay breaks on its day N + 1, which
    lies within it because N is less than the shortest period (regime.py checks).
    """
    if period.anchor == FIRST_ENTRY and chain is not None:  # periods(period, prior), already built
        held = _held(chain, entry)
    else:
        held = period_of(period, prior, entry)
    if held is None:
        a, b = entry, period_end(period, entry)
    else:
        a, b = held
    room = period.max_days - prior.count(a, entry - 1)
    first = entry + max(room, 0)
    if first <= b:
        return first, a, b
    a = b + 1
    return a + period.max_days, a, period_end(period, a)


def first_fit(period: FixedPeriod, presence: Presence, lo: int, hi: int, trip_days: int) -> int | None:
    """The first start s in [lo, hi] whose trip of `trip_days` keeps to the rule.

    Not a binary search: the answer is not monotone in s. With 90 days a calendar year, a
    100-day trip fits from 3 October (the days split over two years) but not from 1 January.
    The search walks start days, each judged in O(log n), and ends within a period and a half
    (the caller's `hi`)."""
    chain = periods(period, presence) if period.anchor == FIRST_ENTRY else None
    s = lo
    while s <= hi:
        first, _a, _b = stay_breach(period, presence, s, chain)
        if first >= s + trip_days:
            return s
        s += 1
    return None


def horizon(period: FixedPeriod, presence: Presence, on: int) -> int:
    """A day by which every start day's answer repeats: past it, no recorded day shares a
    period with a trip (calendar year: the year after `on`'s ends; first entry: the last
    period that holds recorded days ends), so the search for an earliest start may stop."""
    if period.anchor == CALENDAR_YEAR:
        return dt.date(dt.date.fromordinal(on).year + 1, 12, 31).toordinal()
    chain = periods(period, presence)
    return max(on, chain[-1][1] if chain else on) + 1


def impossible(period: FixedPeriod, trip_days: int) -> bool:
    """No start allows the trip: at most N days in each of the two periods it can touch (a trip
    that touches three holds a whole period, more than N)."""
    return trip_days > 2 * period.max_days


# ---------------------------------------------------------------------------------------------
# Explanations


def summary_note(period: FixedPeriod, presence: Presence, on: int) -> Note:
    """The period that holds the reference date, and what is left of it."""
    held = period_of(period, presence, on)
    if held is None:
        return note("period_none", period.rule, date=dt.date.fromordinal(on), max=period.max_days)
    a, b = held
    used = presence.count(a, on)
    return note("period_calendar_year" if period.anchor == CALENDAR_YEAR else "period_first_entry", period.rule,
                start=dt.date.fromordinal(a), end=dt.date.fromordinal(b), on=dt.date.fromordinal(on),
                used=used, remaining=max(0, period.max_days - used), max=period.max_days)


def violation_note(period: FixedPeriod, presence: Presence, first: int, last: int) -> Note:
    held = period_of(period, presence, first)
    a, b = held if held is not None else (first, first)
    return note("violation_period", period.rule, date=dt.date.fromordinal(first), count=presence.count(a, first),
                start=dt.date.fromordinal(a), end=dt.date.fromordinal(b), max=period.max_days,
                days=last - first + 1)


def breach_note(code: str, period: FixedPeriod, prior: Presence, entry: int, day: int, a: int, b: int) -> Note:
    """Leave by / entry refused: `day` is the first day in breach of a stay from `entry`."""
    # The days before the entry in the same period, and the stay's own up to `day`.
    over = (prior.count(a, entry - 1) if a <= entry else 0) + day - max(a, entry) + 1
    date = dt.date.fromordinal(day - 1 if code == "latest_exit_period" else day)
    return note(code, period.rule, date=date, over=over, max=period.max_days,
                start=dt.date.fromordinal(a), end=dt.date.fromordinal(b))
