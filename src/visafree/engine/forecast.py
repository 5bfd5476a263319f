"""The calendar of a traveller's next months in one pass: days used on every day, and for every
future start date the longest stay it allows ("safe periods").

The same answers as asking `check` (days used in the window ending on a day) and `judge_entry`
(latest exit of an entry on a day) once per day, but computed together in O(stays + days):

- days used on day d (R4) is P(d) - P(d - W), with P the prefix count of days of presence over
  a dense array of the days concerned (the 180-day window, the horizon, and a window before it),
  kept as a count that slides along that array of 0/1 flags;
- an entry on s breaks R4 first on the day d >= s where
  P(s - 1) - P(d - W) + (d - s + 1) > M  (the days before s still in d's window, plus the stay).
  With h(j) = j - P(j), the days of absence before day j, this is h(d - W) > h(s - 1) - (W - M):
  h never falls, so neither does that first d as s grows, and one pointer that only moves
  forward finds it for every start date, no search at all (RULES.md §2, "Window limit");
- R3 (per-stay limit) is a constant length, R2 (passport) a cap or a last entry day, and the
  dated coverage and entry into force are runs of days marked once.

Like `earliest_entry`, the whole forecast uses the rules in force on the reference date; each
start date is judged on top of the recorded stays and the planned trips before it (the days
of presence before the entry, as `judge_entry` reads them). Pure: plain values in and out.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left, bisect_right
from dataclasses import dataclass

from .check import (
    ENTRY_REASONS, NATIONALITY, NOT_IN_FORCE, PASSPORT_TYPE, PASSPORT_VALIDITY, PER_STAY_LIMIT, PERIOD_LIMIT,
    WINDOW_LIMIT, InputError, Question, _last_day_with_validity, _validate, _validate_bases, _validate_planned, _window,
    counted_presence, counted_spans, judge_entry,
)
from .presence import Presence
from .regime import Period, RuleSet

#: Start dates judged by default: the next 12 months from the reference date.
HORIZON_DAYS = 365


@dataclass(frozen=True, slots=True)
class Forecast:
    """Day-by-day figures; lists are indexed by days from their first date."""

    regime: str
    on: dt.date
    #: Days used in the window ending on each day from `used_from` (the first day of the window
    #: ending on `on`) to the horizon's last day; None for a regime without a rolling window.
    used_from: dt.date | None
    days_used: tuple[int, ...] | None
    window_days: int | None
    window_max_days: int | None
    #: For each start date from `on`: the longest stay it allows (0: entry refused), and the
    #: reason code that sets that length or refuses the entry (None when nothing limits it).
    longest_stay: tuple[int, ...]
    limited_by: tuple[str | None, ...]


def _union_periods(periods: list[Period], first: int, last: int, out: list[int]) -> None:
    """Mark the days of `periods` within [first, last] in `out` (indexed from `first`)."""
    for period in periods:
        a = max(period.since.toordinal(), first)
        b = last if period.until is None else min(period.until.toordinal(), last)
        if a <= b:
            out[a - first:b - first + 1] = [1] * (b - a + 1)


def _presence_flags(presence: Presence, base: int, size: int) -> list[int]:
    """1 for each day of presence in [base, base + size), else 0 (indexed from base)."""
    present = [0] * size
    starts, ends = presence.starts, presence.ends
    for run in range(bisect_right(ends, base - 1), bisect_left(starts, base + size)):
        a, b = max(starts[run], base), min(ends[run], base + size - 1)
        present[a - base:b - base + 1] = [1] * (b - a + 1)
    return present


# The two sweeps below are plain loops over ints on purpose: compiled by mypyc they run as
# native code, where map/accumulate/compress over generic objects did not (issue 11). They read
# only 0/1 flags and keep their counts in locals: a list of counts up to a few hundred would box
# (allocate) most of them, since only ints up to 256 are shared objects.

def _days_used(present: list[int], first: int, width: int) -> list[int]:
    """Days of presence in the window ending on each index from `first` to the end."""
    used = 0
    for x in range(first - width + 1, first + 1):
        used += present[x]
    out = [used]
    for x in range(first + 1, len(present)):
        used += present[x] - present[x - width]
        out.append(used)
    return out


def _window_lengths(present: list[int], offset: int, days: int, width: int, most: int,
                    per_stay_days: int | None) -> tuple[list[int], list[str | None]]:
    """The longest stay from each start index offset + i under R4, capped by R3, and the rule
    that sets it (the window on a tie, as judge_entry names it).

    With h(j) the days of absence before index j, the stay from index s breaks R4 on day
    j + W - 1 for the first j with h(j) > h(s) - (W - M), so it lasts max(0, j - s + W - 1)
    days (0: refused). h(s) never falls as s grows, so neither does that j: one pointer that
    only moves forward finds them all. With fewer than W - M days of absence before s there is
    no such j and the entry is refused."""
    # The window allows at most W - 1 days (j <= s since M < W): a cap of W leaves it the reason.
    cap = width if per_stay_days is None else per_stay_days
    window_code, per_stay_code = WINDOW_LIMIT, PER_STAY_LIMIT  # module globals: read them once
    slack = width - most
    absent = 0  # h(s)
    for x in range(offset):
        absent += 1 - present[x]
    j = 0
    absent_j = 0  # h(j)
    longest: list[int] = []
    limited: list[str | None] = []
    for s in range(offset, offset + days):
        need = absent + 1 - slack
        length = 0
        if need > 0:
            while absent_j < need:
                absent_j += 1 - present[j]
                j += 1
            length = j - s + width - 1
        if length <= cap:
            longest.append(length if length > 0 else 0)
            limited.append(window_code)
        else:
            longest.append(cap)
            limited.append(per_stay_code)
        absent += 1 - present[s]
    return longest, limited


def forecast(question: Question, days: int = HORIZON_DAYS) -> Forecast:
    """The forecast for `days` start dates from `question.on` (planned trips count as presence)."""
    regime = question.regime
    if regime is None:
        raise InputError("invalid_request", "forecast() needs a regime; resolve() finds the ones that apply", "regime")
    if not 1 <= days <= 3660:
        raise InputError("invalid_request", "days: expected 1 to 3660", "days")
    rules = regime.rules_in_force(question.on)
    entries, lasts, order = _validate(question)
    presence, _bases = counted_presence(question, rules, entries, lasts, order)  # as check() counts
    planned = _validate_planned(question, lasts[-1] if lasts else None)
    _validate_bases(question.planned, "planned")  # as check() refuses them
    if planned:
        presence = presence.extended(counted_spans(question, rules, planned))

    o = question.on.toordinal()
    top = o + days - 1  # the last start date judged
    window = _window(rules)
    per_stay = rules.per_stay_max_days
    per_stay_days = None if per_stay is None else per_stay + (0 if rules.entry_day_counts else 1)

    # R2, R1 passport type: the last entry day, a cap on the last day, or no entry at all.
    passport = question.passport
    type_refused = passport is not None and passport.type not in rules.passport_types
    last_entry: int | None = None  # entries after it are refused (passport validity or age)
    last_day: int | None = None  # no stay goes past it (validity counted from the exit)
    if passport is not None and rules.passport_validity_months is not None:
        last = _last_day_with_validity(passport.expires, rules.passport_validity_months).toordinal()
        if rules.passport_validity_from == "entry":
            last_entry = last
        else:
            last_day = last
    if passport is not None and rules.passport_max_age_years is not None and passport.issued is not None:
        too_old = _last_day_with_validity(passport.issued, -12 * rules.passport_max_age_years).toordinal()
        last_entry = too_old if last_entry is None else min(last_entry, too_old)

    # Entry into force and dated coverage as runs of days over the start dates.
    # Lists of 0/1 rather than bytearrays: mypyc, which compiles the engine, iterates lists natively.
    in_force = [0] * days
    _union_periods([p.period for p in regime.in_force], o, top, in_force)
    covered = [0] * days
    for cov in regime.coverage:
        for n in cov.nationality_periods.get(question.nationality, ()):
            for d in cov.destination_periods.get(question.destination, ()):
                since = max(n.since, d.since)
                until = n.until if d.until is None else d.until if n.until is None else min(n.until, d.until)
                if until is None or since <= until:
                    _union_periods([Period(since, until)], o, top, covered)

    # The length each start allows and the rule that sets it; ties go to the rule listed first,
    # as in judge_entry: the window, the per-stay limit, the passport.
    longest: list[int]
    limited: list[str | None]
    used_from = None
    days_used = None
    if window is None:
        longest = [per_stay_days if per_stay_days is not None else 0] * days
        limited = [PER_STAY_LIMIT if per_stay_days is not None else None] * days
    else:
        width, most = window
        # Dense presence over [base, top]: one window before the first day of the window ending
        # on `on`, so that every window counted lies inside it.
        base = o - 2 * width
        present = _presence_flags(presence, base, top - base + 1)
        first_used = o - width + 1 - base  # index of the first day shown
        used_from = dt.date.fromordinal(base + first_used)
        days_used = tuple(_days_used(present, first_used, width))
        longest, limited = _window_lengths(present, o - base, days, width, most, per_stay_days)
    if last_day is not None:  # R2 counted from the exit: no stay past the passport's last day
        longest_any = max(longest, default=0)
        for i in range(max(0, last_day - o + 1 - longest_any), days):
            cap = last_day - o - i + 1  # entries after the last day are refused below
            if 0 < cap < longest[i]:
                longest[i], limited[i] = cap, PASSPORT_VALIDITY
    # Refusals of the entry itself, the last assigned first so that the one an officer checks
    # first (entry into force, nationality, passport type, validity) is the one that shows.
    refused_from = min((d for d in (last_entry, last_day) if d is not None), default=None)
    if refused_from is not None and refused_from - o + 1 < days:
        first = max(0, refused_from - o + 1)
        longest[first:] = [0] * (days - first)
        limited[first:] = [PASSPORT_VALIDITY] * (days - first)
    if type_refused:
        longest, limited = [0] * days, [PASSPORT_TYPE] * days
    elif rules.period is not None:
        # A fixed period (engine/periods.py) is not monotone in the start date and its periods
        # chain from the first entry: each start date is judged as judge_entry judges it (one
        # O(log n) call per date), not by the one-pass arithmetic above, which knows only R3/R4.
        _judge_each_start(question, rules, presence, o, days, longest, limited)
    for flags, code in ((covered, NATIONALITY), (in_force, NOT_IN_FORCE)):
        if flags.count(0):
            for i in range(days):
                if not flags[i]:
                    longest[i], limited[i] = 0, code

    return Forecast(
        regime=regime.id, on=question.on, used_from=used_from, days_used=days_used,
        window_days=window[0] if window else None, window_max_days=window[1] if window else None,
        longest_stay=tuple(longest), limited_by=tuple(limited),
    )


def _judge_each_start(question: Question, rules: RuleSet, presence: Presence, o: int, days: int,
                      longest: list[int], limited: list[str | None]) -> None:
    """longest[i], limited[i] for the start date o + i, from judge_entry (the rule an answer
    names when the entry day itself is refused: the first of the entry reasons, else the limit)."""
    regime = question.regime
    assert regime is not None
    for i in range(days):
        day = dt.date.fromordinal(o + i)
        verdict = judge_entry(regime, question.nationality, question.destination, question.passport, presence, day,
                              rules=rules)
        if verdict.latest_exit is None:
            blocking = [r for r in verdict.reasons if r in ENTRY_REASONS or r in (WINDOW_LIMIT, PERIOD_LIMIT)]
            longest[i], limited[i] = 0, blocking[0] if blocking else None
        else:
            longest[i], limited[i] = verdict.latest_exit.toordinal() - o - i + 1, verdict.limited_by
