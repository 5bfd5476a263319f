"""The rules of RULES.md, computed exactly to the day without walking day by day.

Everything here is pure: plain values in, plain values out, the reference date `on` always an
argument. Cost per question is O(n log n) in the number of stays: the presence index answers
"how many days in [a, b]" by binary search; the first day in breach of R4 in each run of
presence is a closed formula over the days of absence before it (_window_breaches), and what
search over days remains is a binary search on a quantity that RULES.md makes monotone (shown
where it is used).

The code is typed Python that mypyc compiles (setup.py): plain loops over lists of ints, which
both CPython and mypyc run fast.
"""

from __future__ import annotations

import calendar
from bisect import bisect_left, bisect_right
import datetime as dt
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Sequence

from .basis import (
    LONG_STAY_VISA, PERMIT_VALIDITY, RESIDENCE_PERMIT, VISA, VISA_DURATION, VISA_ENTRIES, VISA_FREE, VISA_KINDS,
    VISA_NO_ENTRIES, VISA_VALIDITY, Basis, ResidencePermit, Visa, basis_code, visa_last_day,
)
from .explain import ERRORS, Note, error_text, note
from .presence import Presence, first_true
from .regime import Regime, RuleSet

# Reason and error codes of the check contract (v1).
NATIONALITY = "nationality"
PASSPORT_TYPE = "passport_type"
PASSPORT_VALIDITY = "passport_validity"
NOT_IN_FORCE = "not_in_force"
PER_STAY_LIMIT = "per_stay_limit"
WINDOW_LIMIT = "window_limit"

#: Reasons that forbid even the entry day, in the order an officer checks them.
ENTRY_REASONS = (NOT_IN_FORCE, NATIONALITY, PASSPORT_TYPE, PASSPORT_VALIDITY)
#: Problems of the passport at entry: for a traveller already in the country they are reported
#: apart, and the latest exit still follows the rules of stay (issue 11).
PASSPORT_REASONS = (PASSPORT_TYPE, PASSPORT_VALIDITY)


class InputError(ValueError):
    """Input the engine refuses to guess about. `code` is a v1 error code, `field` a JSON path."""

    def __init__(self, code: str, message: str, field: str | None = None,
                 template: str | None = None, params: dict[str, Any] | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        # The English template of `message` and its values, so that a shell can say the same in
        # the reader's language (gettext msgid = template); None for a message written whole.
        self.template = template
        self.params: dict[str, Any] = params or {}


def input_error(error_code: str, error_template: str, error_field: str | None, /, **params: Any) -> InputError:
    """An InputError whose English message is `template` (an ERRORS value) filled with `params`.

    The positional names are unlike any template's placeholder ({field}, {code}...): mypyc, which
    compiles the engine, does not honour `/`, so a placeholder named like one would collide."""
    return InputError(error_code, error_text(error_template, params), error_field, error_template, params)


@dataclass(frozen=True, slots=True)
class Stay:
    entry: dt.date
    exit: dt.date | None = None  # None: still in the country
    basis: Basis | None = None  # None: visa-free (docs/basis.md)


@dataclass(frozen=True, slots=True)
class Passport:
    type: str
    expires: dt.date
    issued: dt.date | None = None


@dataclass(frozen=True, slots=True)
class Question:
    regime: Regime | None  # None: resolve.resolve picks every regime that applies
    nationality: str
    destination: str
    on: dt.date
    stays: tuple[Stay, ...] = ()
    passport: Passport | None = None
    planned: tuple[Stay, ...] = ()
    trip_days: int | None = None


class Violation(NamedTuple):
    """A run of days in breach (a named tuple, like StayReport: a history may hold many)."""

    date: dt.date  # first day in breach
    rule: str  # the regime's rule id, e.g. "R3"
    code: str  # per_stay_limit | window_limit
    days: int  # days in breach in this run
    stay: int  # index of the stay (in the order given) the run starts in
    basis: str = VISA_FREE  # the basis the run breaks: visa_free (R3, R4), visa, residence_permit


@dataclass(frozen=True, slots=True)
class EntryVerdict:
    """What follows from entering on `entry` on top of prior presence."""

    entry: dt.date
    exit: dt.date | None
    ok: bool
    reasons: tuple[str, ...]
    latest_exit: dt.date | None
    limited_by: str | None  # reason code of the rule that sets latest_exit
    notes: tuple[Note, ...] = ()
    basis: str = VISA_FREE
    # A visa-free trip with an exit: the days of it the regime cannot cover (0: none) and the
    # first of them; None for a trip on a visa or a permit, or without an exit.
    visa_needed_days: int | None = None
    visa_needed_from: dt.date | None = None


@dataclass(frozen=True, slots=True)
class CurrentStay:
    entry: dt.date
    day: int
    latest_exit: dt.date | None
    limited_by: str | None
    basis: str = VISA_FREE
    # Passport problems of the entry (passport_type, passport_validity), reported apart: the
    # latest exit above still follows the rules of stay (issue 11).
    entry_problems: tuple[str, ...] = ()


class StayReport(NamedTuple):
    """One recorded stay as the batch layer reports it (proven equal there by differential tests).

    A named tuple rather than a frozen dataclass: there is one per stay, and a frozen
    dataclass's __init__ (one object.__setattr__ per field) showed in the 1,000-stay benchmark.
    """

    entry: dt.date
    exit: dt.date | None
    last_day: dt.date  # exit, or `on` for an open stay
    days: int
    first_violation: dt.date | None
    violation_rule: str | None  # reason code of the rule broken first
    overstay_days: int
    basis: str = VISA_FREE


@dataclass(frozen=True, slots=True)
class EarliestEntry:
    trip_days: int
    date: dt.date | None
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Answer:
    regime: str
    on: dt.date
    # None where the regime has no rolling window (a per-stay limit only).
    window_start: dt.date | None
    window_end: dt.date | None
    days_used: int | None
    days_remaining: int | None
    in_country: bool
    current_stay: CurrentStay | None
    overstay_days: int
    violations: tuple[Violation, ...]
    stays: tuple[StayReport, ...]
    planned: tuple[EntryVerdict, ...] | None
    earliest_entry: EarliestEntry | None
    passport_judged: bool
    entry_day_counts: bool
    explanation: tuple[Note, ...] = field(default=())


# ---------------------------------------------------------------------------------------------
# Days


def add_months(day: dt.date, months: int) -> dt.date:
    """Calendar months, clamped to the month's end (R2: 31 August + 6 months = 28/29 February)."""
    year, month = divmod(day.year * 12 + day.month - 1 + months, 12)
    last = 29 if month == 1 and calendar.isleap(year) else _MONTH_DAYS[month]
    return dt.date(year, month + 1, min(day.day, last))


_MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _last_day_with_validity(expires: dt.date, months: int) -> dt.date:
    """The last day d with add_months(d, months) <= expires (add_months is monotone in d;
    months may be negative)."""
    day = add_months(expires, -months)
    while add_months(day + dt.timedelta(days=1), months) <= expires:
        day += dt.timedelta(days=1)
    while add_months(day, months) > expires:
        day -= dt.timedelta(days=1)
    return day


def _day_number(rules: RuleSet, entry: int, day: int) -> int:
    # R3 and its convention (RULES.md §2): entry day is day 1, or day 0 under the other reading.
    return day - entry + 1 if rules.entry_day_counts else day - entry


def _per_stay_last(rules: RuleSet, entry: int) -> int | None:
    """Ordinal of the last day R3 allows in a stay that began on `entry`."""
    if rules.per_stay_max_days is None:
        return None
    return entry + rules.per_stay_max_days - (1 if rules.entry_day_counts else 0)


def _window_first(rules: RuleSet, day: int) -> int:
    # R4: the window looks back and includes the day judged: [d - 179, d]. Only called for a
    # regime that has a window.
    assert rules.window_days is not None
    return day - rules.window_days + 1


def _window(rules: RuleSet) -> tuple[int, int] | None:
    """(window days, most days in it), or None for a regime that limits each stay only."""
    if rules.window_days is None or rules.window_max_days is None:
        return None
    return rules.window_days, rules.window_max_days


# ---------------------------------------------------------------------------------------------
# Validation


def _validate(question: Question) -> tuple[list[int], list[int], Sequence[int]]:
    """Check the stays and return them in date order as three lists: entry ordinals, last-day
    ordinals (exit, or `on` for the open stay) and each one's index in the question.

    Histories almost always come in date order, so that case is proven in one pass; anything
    else (or any error) takes the slow path, which sorts and names the faulty stay.
    """
    stays = question.stays
    on = question.on.toordinal()
    entries: list[int] = []
    lasts: list[int] = []
    previous_last = -1
    open_allowed_at = len(stays) - 1  # only the last stay may still be going on
    for i, stay in enumerate(stays):
        entry = stay.entry.toordinal()
        exit_day = stay.exit
        if exit_day is None:
            if i != open_allowed_at:
                break
            last = on
        else:
            last = exit_day.toordinal()
        # each exit on or after its entry, each entry on or after the previous exit (RULES.md
        # §2: re-entry on the exit day is no overlap)
        if entry < previous_last or last < entry:
            break
        entries.append(entry)
        lasts.append(last)
        previous_last = last
    else:
        if previous_last <= on:  # and none after the reference date
            return entries, lasts, range(len(stays))  # the identity: already in date order
    return _validate_any_order(question, on)


def _validate_any_order(question: Question, on: int) -> tuple[list[int], list[int], list[int]]:
    on_day = question.on
    spans = []
    for i, stay in enumerate(question.stays):
        entry_day, exit_day = stay.entry, stay.exit
        if entry_day > on_day or (exit_day is not None and not entry_day <= exit_day <= on_day):
            _refuse_stay(question, i)
        spans.append((entry_day.toordinal(), on if exit_day is None else exit_day.toordinal(), i))
    open_stays = [i for i, s in enumerate(question.stays) if s.exit is None]
    if len(open_stays) > 1:
        raise input_error("multiple_open_stays", ERRORS["multiple_open_stays"], f"stays[{open_stays[1]}].exit",
                          field=f"stays[{open_stays[0]}]", other_field=f"stays[{open_stays[1]}]")
    spans.sort()
    _check_overlaps(spans, "stays", question.stays)
    return [e for e, _, _ in spans], [last for _, last, _ in spans], [i for _, _, i in spans]


def _refuse_stay(question: Question, i: int) -> None:
    stay = question.stays[i]
    if stay.exit is not None and stay.exit < stay.entry:
        raise input_error("exit_before_entry", ERRORS["exit_before_entry"], f"stays[{i}].exit",
                          field=f"stays[{i}]", exit=stay.exit, entry=stay.entry)
    if stay.entry > question.on:
        raise input_error("invalid_request", ERRORS["entry_after_on"], f"stays[{i}].entry",
                          field=f"stays[{i}]", entry=stay.entry, on=question.on)
    raise input_error("invalid_request", ERRORS["exit_after_on"], f"stays[{i}].exit",
                      field=f"stays[{i}]", exit=stay.exit, on=question.on)


def _check_overlaps(spans, name: str, items) -> None:
    # RULES.md §2: re-entry on the day of the previous exit is allowed; anything else overlaps.
    for (e1, l1, i1), (e2, _l2, i2) in zip(spans, spans[1:]):
        first_open = name == "stays" and items[i1].exit is None
        if e2 < l1 or first_open:
            other_exit = items[i1].exit
            raise input_error("overlapping_stays", ERRORS["overlap" if other_exit else "overlap_open"],
                              f"{name}[{i2}].entry", field=f"{name}[{i2}]", entry=items[i2].entry,
                              other_field=f"{name}[{i1}]", other_entry=items[i1].entry, other_exit=other_exit)


def _validate_bases(items: Sequence[Stay], name: str) -> bool:
    """Check the bases of stays or planned trips; True when any stay has one (docs/basis.md).
    The errors name the field, as `stays[1].basis.valid_until`."""
    any_basis = False
    for i, stay in enumerate(items):
        basis = stay.basis
        if basis is None:
            continue
        any_basis = True
        where = f"{name}[{i}].basis"
        if isinstance(basis, Visa):
            if basis.valid_until < basis.valid_from:
                raise input_error("invalid_request", ERRORS["visa_dates"], f"{where}.valid_until", field=f"{where}.valid_until",
                                  until=basis.valid_until, since=basis.valid_from)
            if basis.entries not in VISA_ENTRIES:
                raise input_error("invalid_request", ERRORS["choice"], f"{where}.entries", field=f"{where}.entries",
                                  allowed=list(VISA_ENTRIES), value=repr(basis.entries))
            if basis.kind not in VISA_KINDS:
                raise input_error("invalid_request", ERRORS["choice"], f"{where}.kind", field=f"{where}.kind",
                                  allowed=list(VISA_KINDS), value=repr(basis.kind))
            if basis.duration_days is not None and not 1 <= basis.duration_days <= 100_000:
                raise input_error("invalid_request", ERRORS["duration_days"], f"{where}.duration_days",
                                  field=f"{where}.duration_days")
        elif not isinstance(basis, ResidencePermit) and basis.code != LONG_STAY_VISA:
            raise input_error("invalid_request", ERRORS["basis_object"], where, field=where)
    return any_basis


def _same_visa_before(bases: Sequence[Basis | None], position: int) -> int:
    """How many of the stays before `position` (in date order) entered on the same visa."""
    visa = bases[position]
    return sum(1 for b in bases[:position] if b == visa) if isinstance(visa, Visa) else 0


def _validate_planned(question: Question, history_end: int | None) -> list[tuple[int, int, int]]:
    on = question.on.toordinal()
    spans = []
    for i, trip in enumerate(question.planned):
        if trip.exit is None:
            raise input_error("invalid_request", ERRORS["planned_no_exit"], f"planned[{i}].exit", field=f"planned[{i}]")
        if trip.exit < trip.entry:
            raise input_error("exit_before_entry", ERRORS["exit_before_entry"], f"planned[{i}].exit",
                              field=f"planned[{i}]", exit=trip.exit, entry=trip.entry)
        entry = trip.entry.toordinal()
        if entry < on:
            raise input_error("invalid_request", ERRORS["planned_before_on"], f"planned[{i}].entry",
                              field=f"planned[{i}]", entry=trip.entry, on=question.on)
        if history_end is not None and entry < history_end:
            raise input_error("overlapping_stays", ERRORS["planned_overlaps_stays"], f"planned[{i}].entry",
                              field=f"planned[{i}]", entry=trip.entry, end=dt.date.fromordinal(history_end))
        spans.append((entry, trip.exit.toordinal(), i))
    spans.sort()
    _check_overlaps(spans, "planned", question.planned)
    return spans


# ---------------------------------------------------------------------------------------------
# The rules


def _window_breaches(rules: RuleSet, presence: Presence) -> dict[int, int]:
    """The first day in breach of R4 of each presence run that has one, by run index.

    With P(x) the days of presence up to x and Abs(x) the days of absence from the first run's
    start to x (negative before it), P(x) + Abs(x) is x's distance from that start, so for a day
    d of run r (start s_r, A_r = Abs(s_r - 1) absences before it):

        P(d) - P(d - W) = W - A_r + Abs(d - W)       (W = window days, M = its maximum)

    and d breaks R4 when Abs(d - W) >= T_r = A_r - (W - M) + 1. Abs grows by one a day in the
    gaps between runs and not at all within them, so the first x with Abs(x) >= T_r lies in the
    gap after the last run q with A_q < T_r, at x = e_q + T_r - A_q (before the first run,
    x = s_0 - 1 + T_r, when no run qualifies). The run breaks R4 from max(x + W, s_r) on, if it
    lasts that long: a suffix of the run. A and T grow from run to run, so one forward sweep
    finds every q: O(runs), no walk over days.
    """
    window = _window(rules)
    if not presence.starts or window is None:
        return {}
    slack, limit = window[0] - window[1], window[1]
    starts, ends = presence.starts, presence.ends
    absent = presence.absences_before_runs()
    breaches = {}
    # q runs ahead of r, as absent[r] > absent[r] - slack; base = e_q - A_q, and
    # x + W = e_q + T_r - A_q + W = base + A_r + M + 1.
    q, base = -1, starts[0] - 1  # before the first run: x = s_0 - 1 + T_r
    for r, absent_before in enumerate(absent):
        while absent[q + 1] <= absent_before - slack:  # A_q < T_r
            q += 1
            base = ends[q] - absent[q]
        first = base + absent_before + limit + 1
        if first <= ends[r]:
            breaches[r] = max(first, starts[r])
    return breaches


def _stay_window_breach(rules: RuleSet, prior: Presence, entry: int) -> int:
    """The first day that breaks R4 in a stay from `entry` on that goes on, on top of the days
    of `prior` before `entry`: the reasoning of _window_breaches, for a run that starts on
    `entry` (every day from it on is present, which is all that reasoning needs) and with the
    run q found by bisection over the earlier runs. The stay alone breaks R4 on its day M + 1,
    so the answer is at most entry + M.
    """
    window = _window(rules)
    assert window is not None
    window_days, window_max = window
    slack = window_days - window_max
    starts, ends = prior.starts, prior.ends
    runs_before = bisect_left(starts, entry)
    if runs_before == 0:
        return entry + window_max
    origin = starts[0]
    threshold = (entry - origin - prior.up_to(entry - 1)) - slack + 1
    q = bisect_left(range(runs_before), threshold, key=prior.absent_before) - 1
    if q < 0:
        x = origin - 1 + threshold
    else:  # a run that reaches `entry` (an exit that day) is read only up to the day before
        x = min(ends[q], entry - 1) + threshold - prior.absent_before(q)
    return max(x + window_days, entry)


def judge_entry(
    regime: Regime,
    nationality: str,
    destination: str,
    passport: Passport | None,
    prior: Presence,
    entry: dt.date,
    exit: dt.date | None = None,
    rules: RuleSet | None = None,
    basis: Basis | None = None,
    entries_before: int = 0,
) -> EntryVerdict:
    """May the traveller enter on `entry` (and stay to `exit`), and until when?

    Only the days of `prior` before `entry` are read, so it may hold the whole history; a day
    shared by an exit and this entry (re-entry on one day) counts once, as part of this stay.
    `prior` holds the days the window counts (counted_bases). This is the desk decision of the
    border register and the verdict on each planned trip. A stay on a `basis` is judged by it
    (_judge_on_basis); `entries_before` is how many earlier stays entered on the same visa.
    """
    rules = rules or regime.rules_in_force(entry)
    if basis is not None:
        return _judge_on_basis(rules, prior, entry, exit, basis, entries_before)
    reasons: list[str] = []
    notes: list[Note] = []
    e = entry.toordinal()
    caps: list[tuple[int, str]] = []  # (last permitted day, the rule that sets it)
    passport_cap: int | None = None

    if regime.in_force_on(entry) is None:
        reasons.append(NOT_IN_FORCE)
        notes.append(note("not_in_force", "", regime=regime.id, date=entry))
    # Coverage is dated (a country added to a list later): judged on the day of entry.
    coverage = regime.covers(nationality, destination, entry)
    if coverage is None:
        reasons.append(NATIONALITY)
    if passport is not None:
        type_rule = rules.rule("passport_types")
        if passport.type not in rules.passport_types:
            reasons.append(PASSPORT_TYPE)
            notes.append(note("passport_type_no", type_rule, type=passport.type, allowed=sorted(rules.passport_types)))
        months = rules.passport_validity_months
        validity_rule = rules.rule("passport_validity_months")
        if months is not None:
            if rules.passport_validity_from == "entry":
                needed = add_months(entry, months)
                if passport.expires < needed:
                    reasons.append(PASSPORT_VALIDITY)
                    notes.append(note("passport_short", validity_rule, expires=passport.expires, needed=needed))
            else:
                last = _last_day_with_validity(passport.expires, months)
                if last < entry:
                    reasons.append(PASSPORT_VALIDITY)
                    notes.append(note("passport_short", validity_rule, expires=passport.expires, needed=add_months(entry, months)))
                else:
                    passport_cap = last.toordinal()
        if rules.passport_max_age_years is not None and passport.issued is not None:
            oldest = add_months(entry, -12 * rules.passport_max_age_years)
            if passport.issued < oldest:
                reasons.append(PASSPORT_VALIDITY)
                notes.append(note("passport_too_old", rules.rule("passport_max_age_years"), issued=passport.issued, needed=oldest))

    # R4 for a stay from e: days of presence in the window of day d, the stay's own days counted
    # once even where an exit of `prior` falls on e (re-entry on the exit day).
    window = _window(rules)
    limit = window[1] if window is not None else 0

    def window_count(d: int) -> int:
        return prior.count(_window_first(rules, d), e - 1) + min(d - e + 1, window[0] if window else 0)

    window_rule = rules.rule("window_max_days")
    if window is not None:
        breach = _stay_window_breach(rules, prior, e)
        if breach <= e:
            reasons.append(WINDOW_LIMIT)
            notes.append(
                note("entry_refused_window", window_rule, date=entry, over=window_count(e), max=limit,
                     start=dt.date.fromordinal(_window_first(rules, e)), end=entry)
            )
        else:
            caps.append((breach - 1, WINDOW_LIMIT))
    per_stay_last = _per_stay_last(rules, e)
    if per_stay_last is not None:
        caps.append((per_stay_last, PER_STAY_LIMIT))
    if passport_cap is not None:
        caps.append((passport_cap, PASSPORT_VALIDITY))

    blocked = any(r in reasons for r in (*ENTRY_REASONS, WINDOW_LIMIT))
    latest_exit = limited_by = None
    if not blocked and caps:
        # Ties go to the rule listed first: the window, then the per-stay limit, then the passport.
        latest, limited_by = min(caps, key=lambda c: c[0])
        latest_exit = dt.date.fromordinal(latest)
        notes.append(_latest_exit_note(rules, latest, limited_by, window_count))

    if exit is not None:
        x = exit.toordinal()
        if per_stay_last is not None and x > per_stay_last and PER_STAY_LIMIT not in reasons:
            reasons.append(PER_STAY_LIMIT)
            notes.append(
                note("planned_stay_too_long", rules.rule("per_stay_max_days"), entry=entry, exit=exit,
                     days=_day_number(rules, e, x), max=rules.per_stay_max_days)
            )
        if window is not None and WINDOW_LIMIT not in reasons and window_count(x) > limit:
            reasons.append(WINDOW_LIMIT)
        if PASSPORT_VALIDITY not in reasons and rules.passport_validity_from == "exit" and passport is not None:
            if rules.passport_validity_months is not None and add_months(exit, rules.passport_validity_months) > passport.expires:
                reasons.append(PASSPORT_VALIDITY)
        # "What visa would I need for this trip": the days the visa-free stay cannot cover, from
        # the day after the latest exit (every cap is the last day its rule allows), R5.
        x = exit.toordinal()
        visa_from: dt.date | None = None
        if latest_exit is None:
            visa_days, visa_from = x - e + 1, entry
        elif x > latest_exit.toordinal():
            visa_days, visa_from = x - latest_exit.toordinal(), latest_exit + dt.timedelta(days=1)
        else:
            visa_days = 0
        return EntryVerdict(entry, exit, not reasons, tuple(reasons), latest_exit, limited_by, tuple(notes),
                            VISA_FREE, visa_days, visa_from)
    return EntryVerdict(entry, exit, not reasons, tuple(reasons), latest_exit, limited_by, tuple(notes))


def _window_count(rules: RuleSet, prior: Presence, entry: int, day: int) -> int:
    """Days the window of `day` holds for a stay from `entry` present every day up to `day`."""
    window_days = rules.window_days if rules.window_days is not None else 0
    return prior.count(day - window_days + 1, entry - 1) + min(day - entry + 1, window_days)


def _judge_on_basis(rules: RuleSet, prior: Presence, entry: dt.date, exit: dt.date | None, basis: Basis,
                    entries_before: int) -> EntryVerdict:
    """A stay on a visa or a permit: judged by its basis, and by the window where the regime's
    window_bases says the window limits it (docs/basis.md). The regime's entry conditions
    (coverage, passport) are the visa-free ones and do not apply."""
    e = entry.toordinal()
    code = basis_code(basis)
    reasons: list[str] = []
    notes: list[Note] = []
    caps: list[tuple[int, str]] = []
    window = _window(rules)
    window_rule = rules.rule("window_max_days")
    if window is not None and code in rules.window_bases:
        breach = _stay_window_breach(rules, prior, e)
        if breach <= e:
            reasons.append(WINDOW_LIMIT)
            notes.append(note("entry_refused_window", window_rule, date=entry, over=_window_count(rules, prior, e, e),
                              max=window[1], start=dt.date.fromordinal(_window_first(rules, e)), end=entry))
        else:
            caps.append((breach - 1, WINDOW_LIMIT))
    if isinstance(basis, Visa):
        allowed = basis.max_entries
        if allowed is not None and entries_before >= allowed:
            reasons.append(VISA_NO_ENTRIES)
            notes.append(note("entry_refused_visa_entries", "", date=entry, entries=basis.entries, used=entries_before))
        if not basis.valid_from <= entry <= basis.valid_until:
            reasons.append(VISA_VALIDITY)
            notes.append(note("entry_refused_visa_validity", "", date=entry, valid_from=basis.valid_from,
                              valid_until=basis.valid_until))
        caps.append((basis.valid_until.toordinal(), VISA_VALIDITY))
        if basis.duration_days is not None:  # its duration alone: its dates are the cap above
            caps.append((e + basis.duration_days - (1 if rules.entry_day_counts else 0), VISA_DURATION))
    elif isinstance(basis, ResidencePermit):
        if basis.valid_until < entry:
            reasons.append(PERMIT_VALIDITY)
        caps.append((basis.valid_until.toordinal(), PERMIT_VALIDITY))
    latest_exit = limited_by = None
    if not reasons and caps:
        latest, limited_by = min(caps, key=lambda c: c[0])  # ties: the window, then the visa's dates
        latest_exit = dt.date.fromordinal(latest)
        if limited_by == WINDOW_LIMIT:
            notes.append(_latest_exit_note(rules, latest, limited_by,
                                           lambda d: _window_count(rules, prior, e, d)))
        elif limited_by == VISA_DURATION and isinstance(basis, Visa):
            notes.append(note("latest_exit_visa_duration", "", date=latest_exit, max=basis.duration_days))
        else:
            notes.append(note("latest_exit_basis", "", date=latest_exit, basis=code))
    if exit is not None:
        x = exit.toordinal()
        for last, reason in caps:
            if x > last and reason not in reasons:
                reasons.append(reason)
    return EntryVerdict(entry, exit, not reasons, tuple(reasons), latest_exit, limited_by, tuple(notes), code)


def _latest_exit_note(rules: RuleSet, latest: int, limited_by: str, window_count) -> Note:
    date = dt.date.fromordinal(latest)
    if limited_by == WINDOW_LIMIT:
        nxt = latest + 1
        return note(
            "latest_exit_window", rules.rule("window_max_days"), date=date, over=window_count(nxt),
            max=rules.window_max_days, start=dt.date.fromordinal(_window_first(rules, nxt)),
            end=dt.date.fromordinal(nxt),
        )
    if limited_by == PER_STAY_LIMIT:
        return note("latest_exit_per_stay", rules.rule("per_stay_max_days"), date=date, max=rules.per_stay_max_days)
    return note("latest_exit_passport", rules.rule("passport_validity_months"), date=date,
                months=rules.passport_validity_months)


def _assess_history(rules: RuleSet, entries: list[int], lasts: list[int], presence: Presence,
                    bases: Sequence[Basis | None] | None = None,
                    ) -> tuple[list[tuple[int, int, str, int]], dict[int, tuple[int, str]], int, dict[int, int]]:
    """Days in breach of R3 and R4 in the recorded stays (given in date order), and of the visas
    and permits of stays that have one (`bases`, by position; None: every stay visa-free).

    Returns the violations as (first, last, code, position) runs, sorted; the first day in
    breach and its code for each stay that has one, by position; the total days in breach; and,
    with bases, each stay's own days in breach by position (without bases a stay's breach runs
    from its first day in breach to its end, as R3 and R4 are suffixes; a visa's is not).
    """
    violations: list[tuple[int, int, str, int]] = []
    first_of: dict[int, tuple[int, str]] = {}
    own: dict[int, list[tuple[int, int]]] = {}
    run_ends = presence.ends
    limited = None if bases is None else [basis_code(b) in rules.window_bases for b in bases]
    for run, first in _window_breaches(rules, presence).items():
        # The run is reported under the stay its first day belongs to (the later one on a shared
        # day); every stay of the run still present on or after that day is in breach from it.
        run_end = run_ends[run]
        lo, hi = bisect_left(lasts, first), bisect_right(entries, run_end)
        if limited is None:
            violations.append((first, run_end, WINDOW_LIMIT, bisect_right(entries, first) - 1))
            for position in range(lo, hi):
                first_of[position] = (max(first, entries[position]), WINDOW_LIMIT)
            continue
        # With bases, only the days of stays the window limits break it (window_bases): the run's
        # suffix in breach is cut into segments of consecutive such stays.
        p = lo
        while p < hi:
            if not limited[p]:
                p += 1
                continue
            q = p
            while q + 1 < hi and limited[q + 1]:
                q += 1
            seg_first, seg_last = max(first, entries[p]), min(run_end, lasts[q])
            if seg_first <= seg_last:
                previous = violations[-1] if violations else None
                if previous is not None and previous[2] == WINDOW_LIMIT and previous[1] + 1 >= seg_first:
                    # days in breach go on across a stay the window does not limit that shares
                    # its only day with both neighbours: one run, as the days are consecutive
                    violations[-1] = (previous[0], seg_last, WINDOW_LIMIT, previous[3])
                else:
                    violations.append((seg_first, seg_last, WINDOW_LIMIT,
                                       max(p, min(q, bisect_right(entries, seg_first) - 1))))
                for position in range(p, q + 1):
                    first_of[position] = (max(seg_first, entries[position]), WINDOW_LIMIT)
                    own.setdefault(position, []).append((max(seg_first, entries[position]),
                                                         min(seg_last, lasts[position])))
            p = q + 1
    allowed = _per_stay_last(rules, 0)  # R3 as the last permitted day of a stay from day 0
    if allowed is not None:
        # R3: a visa-free stay breaks it from the day after its last permitted day to its end.
        for position in range(len(entries)):
            if bases is not None and bases[position] is not None:
                continue
            if lasts[position] - entries[position] > allowed:
                first = entries[position] + allowed + 1
                violations.append((first, lasts[position], PER_STAY_LIMIT, position))
                # on a tie the window is reported, as in judge_entry
                if position not in first_of or first < first_of[position][0]:
                    first_of[position] = (first, PER_STAY_LIMIT)
                if bases is not None:
                    own.setdefault(position, []).append((first, lasts[position]))
    days_of: dict[int, int] = {}
    if bases is not None:
        _assess_bases(rules, entries, lasts, bases, violations, first_of, own)
        days_of = {position: len(Presence(ranges)) for position, ranges in own.items()}
    total = len(Presence((a, b) for a, b, _, _ in violations)) if violations else 0
    return sorted(violations), first_of, total, days_of


def _assess_bases(rules: RuleSet, entries: list[int], lasts: list[int], bases: Sequence[Basis | None],
                  violations: list[tuple[int, int, str, int]], first_of: dict[int, tuple[int, str]],
                  own: dict[int, list[tuple[int, int]]]) -> None:
    """The days of stays on a visa or a permit that break it (docs/basis.md): an entry beyond
    the visa's entries breaks it on every day of the stay; otherwise the days before valid_from
    or after valid_until, and the days past its duration of stay (within its validity)."""
    used: dict[Visa, int] = {}
    for position, basis in enumerate(bases):
        if basis is None:
            continue
        e, last = entries[position], lasts[position]
        found: list[tuple[int, int, str]] = []
        if isinstance(basis, Visa):
            n = used.get(basis, 0) + 1
            used[basis] = n
            allowed = basis.max_entries
            if allowed is not None and n > allowed:
                found.append((e, last, VISA_NO_ENTRIES))
            else:
                since, until = basis.valid_from.toordinal(), basis.valid_until.toordinal()
                if e < since:
                    found.append((e, min(last, since - 1), VISA_VALIDITY))
                if last > until:
                    found.append((max(e, until + 1), last, VISA_VALIDITY))
                # past its duration, on the days within its validity (the others break that)
                longest = visa_last_day(basis, e, rules.entry_day_counts)
                if max(longest + 1, since) <= min(last, until):
                    found.append((max(longest + 1, since), min(last, until), VISA_DURATION))
        elif isinstance(basis, ResidencePermit):
            until = basis.valid_until.toordinal()
            if last > until:
                found.append((max(e, until + 1), last, PERMIT_VALIDITY))
        for first, end, code in found:
            violations.append((first, end, code, position))
            own.setdefault(position, []).append((first, end))
            if position not in first_of or first < first_of[position][0]:
                first_of[position] = (first, code)


def counted_presence(question: Question, rules: RuleSet, entries: list[int], lasts: list[int],
                     order: Sequence[int]) -> tuple[Presence, list[Basis | None] | None]:
    """The days the window counts, and each stay's basis in date order (None: no stay has one).

    Bases (docs/basis.md): the window counts the days of the stays whose basis the regime's
    counted_bases names (RULES.md §2: not those under a residence permit or long-stay visa).
    check() and forecast() count alike through this one function."""
    if not _validate_bases(question.stays, "stays"):
        return Presence.chronological(entries, lasts), None
    bases = [question.stays[i].basis for i in order]
    counted = [p for p in range(len(entries)) if basis_code(bases[p]) in rules.counted_bases]
    return Presence.chronological([entries[p] for p in counted], [lasts[p] for p in counted]), bases


def counted_spans(question: Question, rules: RuleSet, spans: list[tuple[int, int, int]]) -> list[tuple[int, int]]:
    """The planned trips' (entry, last day) that the window counts (a trip under a permit adds none)."""
    return [(e, last) for e, last, i in spans if basis_code(question.planned[i].basis) in rules.counted_bases]


def check(question: Question) -> Answer:
    """Answer the traveller's questions of the check contract (v1) for one reference date."""
    regime = question.regime
    if regime is None:
        raise InputError("invalid_request", "check() needs a regime; resolve() finds the ones that apply", "regime")
    rules = regime.rules_in_force(question.on)
    on = question.on.toordinal()
    entries, lasts, order = _validate(question)
    presence, bases = counted_presence(question, rules, entries, lasts, order)
    planned_spans = _validate_planned(question, lasts[-1] if lasts else None)
    _validate_bases(question.planned, "planned")
    if question.trip_days is not None and not (1 <= question.trip_days <= 100_000):
        raise input_error("invalid_request", ERRORS["trip_days"], "trip_days")

    explanation: list[Note] = []
    # Covered on the reference date (dated coverage); the rule cited is the one that covers the
    # traveller on some other day, if any, so that "not covered" names the list in question.
    coverage = regime.covers(question.nationality, question.destination, question.on)
    cited = coverage or regime.covers(question.nationality, question.destination)
    coverage_rule = cited.rule if cited else (regime.coverage[0].rule if regime.coverage else "")
    explanation.append(
        note("coverage_ok" if coverage else "coverage_no", coverage_rule, regime=regime.id,
             nationality=question.nationality, destination=question.destination)
    )
    if regime.in_force_on(question.on) is None:
        explanation.append(note("not_in_force", "", regime=regime.id, date=question.on))
    if rules.per_stay_max_days is not None:
        explanation.append(note("convention_entry_day" if rules.entry_day_counts else "convention_day_after",
                                rules.rule("per_stay_max_days")))

    # R4: the window ending on the reference date (a regime may have none: R3 kind only).
    window = _window(rules)
    window_rule = rules.rule("window_max_days")
    window_start: dt.date | None = None
    used: int | None = None
    remaining: int | None = None
    if window is not None:
        first = _window_first(rules, on)
        window_start = dt.date.fromordinal(first)
        used = presence.count(first, on)
        remaining = max(0, window[1] - used)
        explanation.append(
            note("window", window_rule, start=window_start, end=question.on,
                 window_days=window[0], used=used, remaining=remaining, max=window[1])
        )
        if bases is not None:
            left_out = Presence.chronological(entries, lasts).count(first, on) - used
            if left_out:
                explanation.append(note("days_not_counted", rules.rule("counted_bases"), days=left_out))
    else:
        explanation.append(note("no_window", rules.rule("per_stay_max_days"), max=rules.per_stay_max_days))

    if bases is not None:
        judged_by_basis = sum(1 for stay_basis in bases if stay_basis is not None)
        explanation.append(note("stays_on_basis", "", count=judged_by_basis))

    # R3, R4: days in breach so far.
    raw_violations, first_of, overstay, days_of = _assess_history(rules, entries, lasts, presence, bases)
    violations = []
    new_tuple, fromordinal = tuple.__new__, dt.date.fromordinal
    for a, b, code, position in raw_violations:
        basis = bases[position] if bases is not None else None
        on_basis = code not in (PER_STAY_LIMIT, WINDOW_LIMIT)
        rule = "" if on_basis else rules.rule("per_stay_max_days" if code == PER_STAY_LIMIT else "window_max_days")
        violations.append(new_tuple(Violation, (fromordinal(a), rule, code, b - a + 1, order[position], basis_code(basis))))
        if on_basis:
            stay = question.stays[order[position]]
            explanation.append(_basis_violation_note(rules, code, stay, a, b))
        elif code == PER_STAY_LIMIT:
            stay = question.stays[order[position]]
            explanation.append(
                note("violation_per_stay", rule, date=dt.date.fromordinal(a), day=_day_number(rules, stay.entry.toordinal(), a),
                     entry=stay.entry, max=rules.per_stay_max_days, days=b - a + 1)
            )
        else:
            explanation.append(
                note("violation_window", rule, date=dt.date.fromordinal(a),
                     count=presence.count(_window_first(rules, a), a), start=dt.date.fromordinal(_window_first(rules, a)),
                     end=dt.date.fromordinal(a), max=rules.window_max_days, days=b - a + 1)
            )

    # The current stay and its true latest exit (R3 and R4 applied day by day, R2 where it binds).
    current = None
    # Validation leaves the open stay, if any, last in date order.
    open_index = order[-1] if order and question.stays[order[-1]].exit is None else None
    if open_index is not None:
        entry, index = entries[-1], open_index
        open_stay = question.stays[index]
        # The open stay is the latest, so every other day of presence lies before its entry.
        verdict = judge_entry(regime, question.nationality, question.destination, question.passport,
                              presence, open_stay.entry, rules=rules, basis=open_stay.basis,
                              entries_before=_same_visa_before(bases, len(entries) - 1) if bases else 0)
        problems: tuple[str, ...] = ()
        notes_of_stay = list(verdict.notes)
        if open_stay.basis is None and verdict.reasons and all(r in PASSPORT_REASONS for r in verdict.reasons):
            # Issue 11: the traveller is in the country; the passport problem of the entry is
            # reported apart and the latest exit still follows the rules of stay (R3, R4).
            problems = verdict.reasons
            under_stay_rules = judge_entry(regime, question.nationality, question.destination, None,
                                           presence, open_stay.entry, rules=rules)
            notes_of_stay = [n for n in verdict.notes if n.code.startswith("passport")]
            notes_of_stay.append(note("entry_passport_problem", "", entry=open_stay.entry, reasons=list(problems)))
            notes_of_stay.extend(under_stay_rules.notes)
            verdict = under_stay_rules
        current = CurrentStay(open_stay.entry, _day_number(rules, entry, on),
                              verdict.latest_exit, verdict.limited_by, basis_code(open_stay.basis), problems)
        explanation.append(note("current_stay", rules.rule("per_stay_max_days", window_rule),
                                entry=current.entry, on=question.on, day=current.day))
        if open_stay.basis is not None:
            explanation.append(_basis_note(open_stay.basis, rules))
        explanation.extend(notes_of_stay)

    if question.passport is None:
        passport_rules = sorted({rules.rule(p) for p in ("passport_types", "passport_validity_months") if rules.rule(p)})
        explanation.append(note("passport_not_given", ", ".join(passport_rules), rules=passport_rules))
    elif rules.passport_validity_months is not None and rules.passport_validity_from == "entry" and open_index is not None:
        needed = add_months(question.stays[open_index].entry, rules.passport_validity_months)
        if question.passport.expires >= needed:
            explanation.append(note("passport_ok", rules.rule("passport_validity_months"), type=question.passport.type,
                                    expires=question.passport.expires, needed=needed))

    # Planned trips, in date order, each on top of history and the trips before it.
    planned = None
    if question.planned:
        verdicts: dict[int, EntryVerdict] = {}
        # judge_entry reads only the days before each entry: history and the earlier trips (the
        # days the window counts: a trip under a permit adds none).
        with_trips = presence if len(planned_spans) == 1 else presence.extended(
            counted_spans(question, rules, planned_spans))
        visas_before: list[Basis | None] = list(bases) if bases is not None else []
        for entry, last, index in planned_spans:
            trip = question.planned[index]
            visas_before.append(trip.basis)
            verdict = judge_entry(regime, question.nationality, question.destination, question.passport,
                                  with_trips, trip.entry, trip.exit, basis=trip.basis,
                                  entries_before=_same_visa_before(visas_before, len(visas_before) - 1))
            verdicts[index] = verdict
            if verdict.ok:
                explanation.append(note("planned_ok", "", entry=trip.entry, exit=trip.exit, latest=verdict.latest_exit))
            else:
                explanation.append(note("planned_no", "", entry=trip.entry, exit=trip.exit, reasons=list(verdict.reasons)))
                explanation.extend(n for n in verdict.notes if not n.code.startswith("latest_exit"))
                if verdict.visa_needed_days:
                    explanation.append(note("planned_visa_needed", "", days=verdict.visa_needed_days,
                                            date=verdict.visa_needed_from))
        planned = tuple(verdicts[i] for i in range(len(question.planned)))

    earliest = None
    if question.trip_days is not None:
        earliest = earliest_entry(regime, question.nationality, question.destination, question.passport,
                                  presence, question.on, question.trip_days, rules)
        if earliest.date is not None:
            # Still in the country and free to start now: only by a same-day exit and re-entry.
            same_day = open_index is not None and earliest.date == question.on
            explanation.append(note("earliest_same_day" if same_day else "earliest", "",
                                    trip_days=earliest.trip_days, date=earliest.date))
        else:
            explanation.append(note("earliest_none", "", trip_days=earliest.trip_days, reasons=list(earliest.reasons)))

    stay_reports = _stay_reports(question, entries, lasts, order, first_of, bases, days_of)
    return Answer(
        regime=regime.id, on=question.on,
        window_start=window_start, window_end=question.on if window is not None else None,
        days_used=used, days_remaining=remaining,
        in_country=open_index is not None, current_stay=current,
        overstay_days=overstay, violations=tuple(violations), stays=stay_reports,
        planned=planned, earliest_entry=earliest,
        passport_judged=question.passport is not None, entry_day_counts=rules.entry_day_counts,
        explanation=tuple(explanation),
    )


def _basis_note(basis: Basis, rules: RuleSet) -> Note:
    """What the current stay's basis is, and whether the window counts its days."""
    counted = basis.code in rules.counted_bases
    if isinstance(basis, Visa):
        return note("stay_on_visa", rules.rule("counted_bases"), kind=basis.kind, valid_from=basis.valid_from,
                    valid_until=basis.valid_until, entries=basis.entries)
    return note("stay_on_permit_counted" if counted else "stay_on_permit", rules.rule("counted_bases"), basis=basis.code)


def _basis_violation_note(rules: RuleSet, code: str, stay: Stay, first: int, last: int) -> Note:
    date, days = dt.date.fromordinal(first), last - first + 1
    basis = stay.basis
    if isinstance(basis, Visa):
        if code == VISA_NO_ENTRIES:
            return note("violation_visa_entries", "", date=date, entry=stay.entry, entries=basis.entries, days=days)
        if code == VISA_DURATION:
            return note("violation_visa_duration", "", date=date, entry=stay.entry, max=basis.duration_days, days=days)
        return note("violation_visa_validity", "", date=date, valid_from=basis.valid_from,
                    valid_until=basis.valid_until, days=days)
    until = basis.valid_until if isinstance(basis, ResidencePermit) else stay.entry
    return note("violation_permit", "", date=date, valid_until=until, days=days)


def _stay_reports(question: Question, entries: list[int], lasts: list[int], order: Sequence[int],
                  first_of: dict[int, tuple[int, str]], bases: Sequence[Basis | None] | None = None,
                  days_of: dict[int, int] | None = None) -> tuple[StayReport, ...]:
    """Each recorded stay's report, in the order the stays were given."""
    new = tuple.__new__  # StayReport's own __new__ is a Python call: this runs once per stay
    on_day = question.on
    stays = question.stays
    reports: list[Any] = [None] * len(stays)
    for position, index in enumerate(order):
        stay = stays[index]
        exit_day = stay.exit
        violation = first_of.get(position)
        last_day = on_day if exit_day is None else exit_day
        days = lasts[position] - entries[position] + 1
        basis = VISA_FREE if bases is None else basis_code(bases[position])
        if violation is None:
            reports[index] = new(StayReport, (stay.entry, exit_day, last_day, days, None, None, 0, basis))
        else:
            first, code = violation
            in_breach = days_of[position] if days_of else lasts[position] - first + 1
            reports[index] = new(StayReport, (stay.entry, exit_day, last_day, days, dt.date.fromordinal(first),
                                              code, in_breach, basis))
    return tuple(reports)


def earliest_entry(
    regime: Regime,
    nationality: str,
    destination: str,
    passport: Passport | None,
    presence: Presence,
    on: dt.date,
    trip_days: int,
    rules: RuleSet | None = None,
) -> EarliestEntry:
    """The earliest s >= on such that a trip [s, s + N - 1] complies with every rule.

    For s > on the recorded days all lie before s, so the window of the trip's last day,
    [s + N - 180, s - 1], only loses recorded days as s grows: compliance is monotone and a
    binary search finds the first s. s = on is judged on its own (re-entry on the exit day).
    """
    rules = rules or regime.rules_in_force(on)
    n = trip_days
    reasons: list[str] = []
    if regime.covers(nationality, destination) is None:
        reasons.append(NATIONALITY)
    if passport is not None and passport.type not in rules.passport_types:
        reasons.append(PASSPORT_TYPE)
    if rules.per_stay_max_days is not None and _day_number(rules, 0, n - 1) > rules.per_stay_max_days:
        reasons.append(PER_STAY_LIMIT)
    window = _window(rules)
    if window is not None and min(n, window[0]) > window[1]:
        reasons.append(WINDOW_LIMIT)
    if reasons:
        return EarliestEntry(n, None, tuple(reasons))

    o = on.toordinal()
    latest_start = None  # R2 caps the start date: later entries need a later expiry
    if passport is not None and rules.passport_validity_months is not None:
        last = _last_day_with_validity(passport.expires, rules.passport_validity_months).toordinal()
        latest_start = last if rules.passport_validity_from == "entry" else last - (n - 1)
    if passport is not None and rules.passport_max_age_years is not None and passport.issued is not None:
        # The last entry day s with add_months(s, -years) <= issued.
        too_old = _last_day_with_validity(passport.issued, -12 * rules.passport_max_age_years).toordinal()
        latest_start = too_old if latest_start is None else min(latest_start, too_old)

    def fits(s: int) -> bool:
        if window is None:  # only the per-stay limit, already judged above: any start fits
            return True
        return presence.count(s + n - window[0], s - 1) + min(n, window[0]) <= window[1]

    # Only days when the regime is in force and covers the traveller (dated coverage) can start a trip.
    open_periods = regime.open_periods(nationality, destination)
    for period in open_periods:
        lo = max(o, period.since.toordinal())
        until = period.until
        hi_candidates = [c for c in (until.toordinal() if until else None, latest_start) if c is not None]
        # Past on + window, no recorded day is in any trip's window: fits() is then always true.
        hi = min(hi_candidates + [max(lo, o + 1) + (window[0] if window else 0)])
        if lo > hi:
            continue
        if lo == o and fits(o):
            return EarliestEntry(n, on)
        found = first_true(max(lo, o + 1), hi, fits)
        if found is not None:
            return EarliestEntry(n, dt.date.fromordinal(found))
    if latest_start is not None and latest_start < o:
        return EarliestEntry(n, None, (PASSPORT_VALIDITY,))
    if all(p.period.until is not None and p.period.until < on for p in regime.in_force):
        return EarliestEntry(n, None, (NOT_IN_FORCE,))
    if all(p.until is not None and p.until < on for p in open_periods):
        return EarliestEntry(n, None, (NATIONALITY,))  # covered once, no longer (dated coverage)
    return EarliestEntry(n, None, (PASSPORT_VALIDITY,))
