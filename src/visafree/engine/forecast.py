"""The calendar of a traveller's next months in one pass: days used on every day, and for every
future start date the longest stay it allows ("safe periods").

The same answers as asking `check` (days used in the window ending on a day) and `judge_entry`
(latest exit of an entry on a day) once per day, but computed together in O(stays + days):

- days used on day d (R4) is P(d) - P(d - W), with P the prefix count of days of presence over
  a dense array of the days concerned (the 180-day window, the horizon, and a window before it);
- an entry on s breaks R4 first on the day d >= s where
  P(s - 1) - P(d - W) + (d - s + 1) > M  (the days before s still in d's window, plus the stay).
  With h(j) = j - P(j), the days of absence before day j, this is h(d - W) > h(s - 1) - (W - M):
  the first such d comes from the position of the (h(s - 1) - (W - M) + 1)-th day of absence,
  looked up in a list, no search at all (RULES.md §2, "Window limit");
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
from itertools import accumulate, compress, repeat
from operator import add, not_, sub

from .check import (
    ENTRY_REASONS, NATIONALITY, NOT_IN_FORCE, PASSPORT_TYPE, PASSPORT_VALIDITY, PER_STAY_LIMIT, PERIOD_LIMIT,
    WINDOW_LIMIT, InputError, Question, _last_day_with_validity, _validate, _validate_planned, _window,
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

    used_from = None
    days_used = None
    window_length: list[int] | None = None
    if window is not None:
        width, most = window
        slack = width - most
        # Dense presence over [base, top]: one window before the first day of the window ending
        # on `on`, so that every count needed is a difference of two prefix sums.
        base = o - 2 * width
        size = top - base + 1
        present = [0] * size
        starts, ends = presence.starts, presence.ends
        for run in range(max(0, bisect_right(ends, base - 1)), bisect_left(starts, top + 1)):
            a, b = max(starts[run], base), min(ends[run], top)
            present[a - base:b - base + 1] = [1] * (b - a + 1)
        prefix = [0, *accumulate(present)]  # prefix[i]: days of presence in [base, base + i)
        first_used = o - width + 1 - base  # index of the first day shown
        # map(sub, ...) over slices: the per-day arithmetic runs in C, not in a Python loop.
        days_used = tuple(map(sub, prefix[first_used + 1:size + 1], prefix[first_used + 1 - width:size + 1 - width]))
        used_from = dt.date.fromordinal(base + first_used)
        # absence[k]: the first index j with h(j) = j - prefix[j] = k (h rises by one after each
        # day of absence), so the first j with h(j) > threshold is absence[threshold + 1].
        absence = [0]
        absence += compress(range(1, size + 1), map(not_, present))
        offset = o - base
        # The stay from index s breaks R4 on day base + j + W - 1 with j = absence[h(s) - (W - M) + 1]
        # (never before the entry day itself): it lasts max(0, j - s + W - 1) days, 0 = refused.
        w1 = width - 1
        starts_range = range(offset, offset + days)
        absent_before = map(sub, starts_range, prefix[offset:offset + days])  # h(s)
        firsts = [absence[need] if need > 0 else 0 for need in map(add, absent_before, repeat(1 - slack, days))]
        window_length = [x if x > 0 else 0 for x in map(sub, firsts, range(offset - w1, offset - w1 + days))]

    # The length each start allows and the rule that sets it; ties go to the rule listed first,
    # as in judge_entry: the window, the per-stay limit, the passport.
    longest: list[int]
    limited: list[str | None]
    if window_length is None:
        longest = [per_stay_days if per_stay_days is not None else 0] * days
        limited = [PER_STAY_LIMIT if per_stay_days is not None else None] * days
    elif per_stay_days is None:
        longest, limited = window_length, [WINDOW_LIMIT] * days
    else:
        p = per_stay_days
        longest = [w if w <= p else p for w in window_length]
        limited = [WINDOW_LIMIT if w <= p else PER_STAY_LIMIT for w in window_length]
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
