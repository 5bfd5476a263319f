"""A brute-force reference model of RULES.md that counts day by day.

Deliberately naive and independent of the engine: sets of dates, a loop over every day, the
window recounted from scratch for each day. It is slow (days x window) and obviously right,
which is what a reference model is for. Only the regime's parameter values are shared.

Each day has the basis of the stays it belongs to (docs/basis.md): a day is counted in the
window when a stay with a counted basis holds it (RULES.md §2), it can break the window when a
stay the window limits holds it, and a visa's days are judged against that visa day by day.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from visafree.engine import Passport, Question, ResidencePermit, Visa, add_months, basis_code
from visafree.engine.regime import RuleSet

ONE = dt.timedelta(days=1)


def days_between(first: dt.date, last: dt.date) -> list[dt.date]:
    out, d = [], first
    while d <= last:
        out.append(d)
        d += ONE
    return out


@dataclass
class ReferenceVerdict:
    ok: bool
    reasons: set[str]
    latest_exit: dt.date | None
    visa_needed: tuple[int, dt.date | None] | None = None  # a visa-free trip's days not covered


class Reference:
    def __init__(self, question: Question):
        self.q = question
        self.rules: RuleSet = question.regime.rules_in_force(question.on)
        self.stays = [(s.entry, s.exit or question.on) for s in question.stays]
        self.bases = [s.basis for s in question.stays]
        # the visas of the stays in date order: an entry on a visa counts against its entries
        self.visa_entries: dict[int, int] = {}
        seen: dict = {}
        for i in sorted(range(len(self.stays)), key=lambda i: self.stays[i]):
            if isinstance(self.bases[i], Visa):
                seen[self.bases[i]] = seen.get(self.bases[i], 0) + 1
                self.visa_entries[i] = seen[self.bases[i]]
        self.present = {d for i, (e, x) in enumerate(self.stays) if self.counted(self.bases[i]) for d in days_between(e, x)}
        self._ordinal_cache: dict = {}

    def counted(self, basis) -> bool:
        return basis_code(basis) in self.rules.counted_bases

    def limited(self, basis) -> bool:
        return basis_code(basis) in self.rules.window_bases

    def visa_last(self, visa: Visa, entry: dt.date) -> dt.date:
        last = visa.valid_until
        if visa.duration_days is not None:
            by_duration = entry + dt.timedelta(days=visa.duration_days - (1 if self.rules.entry_day_counts else 0))
            last = min(last, by_duration)
        return last

    def basis_days(self, i: int) -> dict[dt.date, str]:
        """The days of a recorded stay that break its visa or permit, day by day, with the code."""
        (entry, last), basis, out = self.stays[i], self.bases[i], {}
        if isinstance(basis, Visa):
            n, allowed = self.visa_entries[i], basis.max_entries
            for d in days_between(entry, last):
                if allowed is not None and n > allowed:
                    out[d] = "visa_entries"
                elif not basis.valid_from <= d <= basis.valid_until:
                    out[d] = "visa_validity"
                elif d > self.visa_last(basis, entry):
                    out[d] = "visa_duration"
        elif isinstance(basis, ResidencePermit):
            out = {d: "permit_validity" for d in days_between(entry, last) if d > basis.valid_until}
        return out

    # -- the two day rules, straight from RULES.md §2 ---------------------------------------
    def day_number(self, entry: dt.date, day: dt.date) -> int:
        k = (day - entry).days
        return k + 1 if self.rules.entry_day_counts else k

    def breaks_r3(self, entry: dt.date, day: dt.date) -> bool:
        limit = self.rules.per_stay_max_days
        return limit is not None and self.day_number(entry, day) > limit

    def ordinals(self, days: set[dt.date]) -> frozenset[int]:
        key = id(days)
        if self._ordinal_cache.get(key, (None,))[0] is not days:
            self._ordinal_cache[key] = (days, frozenset(d.toordinal() for d in days))
        return self._ordinal_cache[key][1]

    @property
    def has_window(self) -> bool:
        return self.rules.window_days is not None  # a per-stay-only regime has none

    @property
    def horizon(self) -> int:
        """Days far enough ahead that every limit has bitten (regimes always limit a stay)."""
        return self.rules.window_days or self.rules.per_stay_max_days or 1

    def window_count(self, present: set[dt.date], day: dt.date) -> int:
        days, last = self.ordinals(present), day.toordinal()
        return sum(1 for d in range(last - self.rules.window_days + 1, last + 1) if d in days)

    def breaks_r4(self, present: set[dt.date], day: dt.date) -> bool:
        return self.has_window and self.window_count(present, day) > self.rules.window_max_days

    # -- history --------------------------------------------------------------------------
    def r4_days(self) -> set[dt.date]:
        """Days in breach of the window: days of a stay the window limits (window_bases)."""
        if not hasattr(self, "_r4"):
            limited = {d for i, (e, x) in enumerate(self.stays) if self.limited(self.bases[i]) for d in days_between(e, x)}
            self._r4 = {d for d in limited if self.breaks_r4(self.present, d)}
        return self._r4

    def r3_days(self, i: int) -> set[dt.date]:
        if self.bases[i] is not None:  # R3 is the visa-free stay's limit
            return set()
        entry, last = self.stays[i]
        return {d for d in days_between(entry, last) if self.breaks_r3(entry, d)}

    def own_r4(self, i: int) -> set[dt.date]:
        if not self.limited(self.bases[i]):
            return set()
        return {d for d in days_between(*self.stays[i]) if d in self.r4_days()}

    def overstay_days(self) -> int:
        days = set(self.r4_days())
        for i in range(len(self.stays)):
            days |= self.r3_days(i) | set(self.basis_days(i))
        return len(days)

    def stay_reports(self) -> list[tuple[int, dt.date | None, str | None, int]]:
        out = []
        for i, (e, x) in enumerate(self.stays):
            own_r3, own_r4, own_basis = self.r3_days(i), self.own_r4(i), self.basis_days(i)
            every = own_r3 | own_r4 | set(own_basis)
            first = min(every) if every else None
            if first is None:
                code = None
            elif first in own_r4:
                code = "window_limit"
            elif first in own_r3:
                code = "per_stay_limit"
            else:
                code = own_basis[first]
            out.append(((x - e).days + 1, first, code, len(every)))
        return out

    def violation_starts(self) -> set[tuple[dt.date, str]]:
        """First day of each maximal run of consecutive days in breach, per rule (a visa's per stay)."""
        starts = set()
        r4 = self.r4_days()
        starts |= {(d, "window_limit") for d in r4 if d - ONE not in r4}
        for i, (e, x) in enumerate(self.stays):
            r3 = self.r3_days(i)
            if r3:
                starts.add((min(r3), "per_stay_limit"))
            own = self.basis_days(i)
            starts |= {(d, code) for d, code in own.items() if own.get(d - ONE) != code or d == e}
        return starts

    def days_used(self) -> int | None:
        return self.window_count(self.present, self.q.on) if self.has_window else None

    # -- entering on a day ------------------------------------------------------------------
    def entry_blockers(self, entry: dt.date, passport: Passport | None, exit: dt.date | None) -> set[str]:
        q, rules = self.q, self.rules
        reasons = set()
        if q.regime.in_force_on(entry) is None:
            reasons.add("not_in_force")
        if q.regime.covers(q.nationality, q.destination, entry) is None:  # coverage is dated
            reasons.add("nationality")
        if passport is not None:
            if passport.type not in rules.passport_types:
                reasons.add("passport_type")
            months = rules.passport_validity_months
            if months is not None:
                if rules.passport_validity_from == "entry" and passport.expires < add_months(entry, months):
                    reasons.add("passport_validity")
                if rules.passport_validity_from == "exit" and passport.expires < add_months(entry, months):
                    reasons.add("passport_validity")  # cannot even leave on the entry day
            if rules.passport_max_age_years is not None and passport.issued is not None:
                if passport.issued < add_months(entry, -12 * rules.passport_max_age_years):
                    reasons.add("passport_validity")
        return reasons

    def day_ok(self, prior: set[dt.date], entry: dt.date, day: dt.date, passport: Passport | None) -> tuple[bool, bool, bool]:
        """(R3 ok, R4 ok, passport-at-exit ok) for staying from entry through day."""
        # Counted over ordinals for speed; still one membership test per day of the window.
        prior_days, e, last = self.ordinals(prior), entry.toordinal(), day.toordinal()
        r3 = not self.breaks_r3(entry, day)
        r4 = True
        if self.has_window:
            in_window = sum(1 for d in range(last - self.rules.window_days + 1, last + 1) if d >= e or d in prior_days)
            r4 = in_window <= self.rules.window_max_days
        pp = True
        if passport is not None and self.rules.passport_validity_from == "exit" and self.rules.passport_validity_months:
            pp = add_months(day, self.rules.passport_validity_months) <= passport.expires
        return r3, r4, pp

    def judge(self, prior: set[dt.date], entry: dt.date, exit: dt.date | None, passport: Passport | None) -> ReferenceVerdict:
        reasons = self.entry_blockers(entry, passport, exit)
        _, r4_entry, _ = self.day_ok(prior, entry, entry, passport)
        if not r4_entry:
            reasons.add("window_limit")
        latest = None
        if not reasons:
            day = entry
            while day < entry + dt.timedelta(days=3 * self.horizon):  # regimes always limit a stay
                if not all(self.day_ok(prior, entry, day, passport)):
                    break
                latest = day
                day += ONE
        if exit is not None:
            for day in days_between(entry, exit):
                r3, r4, pp = self.day_ok(prior, entry, day, passport)
                if not r3:
                    reasons.add("per_stay_limit")
                if not r4:
                    reasons.add("window_limit")
                if not pp:
                    reasons.add("passport_validity")
        return ReferenceVerdict(not reasons, reasons, latest)

    def judge_basis(self, prior: set[dt.date], entry: dt.date, exit: dt.date | None, basis,
                    entries_before: int) -> ReferenceVerdict:
        """A stay on a visa or a permit, day by day (docs/basis.md)."""
        reasons = set()
        limited = self.limited(basis) and self.has_window

        def window_ok(day: dt.date) -> bool:
            return self.day_ok(prior, entry, day, None)[1]

        if limited and not window_ok(entry):
            reasons.add("window_limit")
        caps = []  # (predicate of a day allowed, reason)
        if isinstance(basis, Visa):
            if basis.max_entries is not None and entries_before >= basis.max_entries:
                reasons.add("visa_entries")
            if not basis.valid_from <= entry <= basis.valid_until:
                reasons.add("visa_validity")
            caps.append((lambda d: d <= basis.valid_until, "visa_validity"))
            if basis.duration_days is not None:
                caps.append((lambda d: self.day_number(entry, d) <= basis.duration_days, "visa_duration"))
        elif isinstance(basis, ResidencePermit):
            if basis.valid_until < entry:
                reasons.add("permit_validity")
            caps.append((lambda d: d <= basis.valid_until, "permit_validity"))
        if limited:
            caps.append((window_ok, "window_limit"))
        latest = None
        if not reasons and caps:
            day = entry
            while all(ok(day) for ok, _ in caps):
                latest = day
                day += ONE
        if exit is not None:
            for day in days_between(entry, exit):
                reasons |= {reason for ok, reason in caps if not ok(day)}
        return ReferenceVerdict(not reasons, reasons, latest)

    def visa_needed(self, verdict: ReferenceVerdict, entry: dt.date, exit: dt.date) -> tuple[int, dt.date | None]:
        """The days of a visa-free trip the regime cannot cover, and the first of them."""
        if verdict.latest_exit is None:
            return (exit - entry).days + 1, entry
        if exit > verdict.latest_exit:
            return (exit - verdict.latest_exit).days, verdict.latest_exit + ONE
        return 0, None

    def current_stay(self):
        open_index = [i for i, s in enumerate(self.q.stays) if s.exit is None]
        if not open_index:
            return None
        i = open_index[0]
        entry, basis = self.q.stays[i].entry, self.bases[i]
        prior = {d for d in self.present if d < entry}
        if basis is not None:
            verdict = self.judge_basis(prior, entry, None, basis, self.visa_entries.get(i, 1) - 1)
        else:
            verdict = self.judge(prior, entry, None, self.q.passport)
            if verdict.reasons and verdict.reasons <= {"passport_type", "passport_validity"}:
                # issue 11: in the country, the latest exit follows the rules of stay
                verdict = self.judge(prior, entry, None, None)
        return self.day_number(entry, self.q.on), verdict.latest_exit

    def planned(self) -> list[ReferenceVerdict]:
        # date order: by entry, then exit (a one-day trip before a longer one entering that day)
        order = sorted(range(len(self.q.planned)), key=lambda i: (self.q.planned[i].entry, self.q.planned[i].exit))
        prior = set(self.present)
        visas = [b for b in self.bases if isinstance(b, Visa)]
        verdicts = {}
        for i in order:
            trip = self.q.planned[i]
            before = {d for d in prior if d < trip.entry}
            if trip.basis is not None:
                verdict = self.judge_basis(before, trip.entry, trip.exit, trip.basis, visas.count(trip.basis))
                if isinstance(trip.basis, Visa):
                    visas.append(trip.basis)
            else:
                verdict = self.judge(before, trip.entry, trip.exit, self.q.passport)
                verdict.visa_needed = self.visa_needed(verdict, trip.entry, trip.exit)
            verdicts[i] = verdict
            if self.counted(trip.basis):
                prior |= set(days_between(trip.entry, trip.exit))
        return [verdicts[i] for i in range(len(self.q.planned))]

    def earliest(self) -> dt.date | None:
        n = self.q.trip_days
        # Past on + window every recorded day has left the window; 400 days covers the passports drawn.
        for offset in range(400 + 2 * self.horizon + n):
            start = self.q.on + dt.timedelta(days=offset)
            end = start + dt.timedelta(days=n - 1)
            prior = self.present if offset else {d for d in self.present if d < start}
            if self.entry_blockers(start, self.q.passport, end):
                continue
            if all(all(self.day_ok(prior, start, d, self.q.passport)) for d in days_between(start, end)):
                return start
        return None
