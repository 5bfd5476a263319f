"""A traveller's crossings turned into stays, and each stay's permitted end.

This is bookkeeping only: pairing entries with exits and applying recorded decisions. Whether
a day is allowed is always the engine's answer (`judge_entry`); the register never counts a
window or a per-stay limit itself.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from visafree.engine import NO_REGIME, Basis, LongStayVisa, Presence, ResidencePermit, Visa

ENTRY_WITHOUT_EXIT = "entry_without_exit"
EXIT_WITHOUT_ENTRY = "exit_without_entry"


@dataclass
class Crossing:
    id: int
    event_id: str
    traveller_key: str
    direction: str
    local_date: dt.date
    local_time: dt.time | None
    nationality: str
    passport_type: str
    passport_expires: dt.date | None
    destination: str
    border_post: str
    source: str
    outcome: str | None = None  # desk decision: admit / refuse; None for an ingested crossing
    permitted_until: dt.date | None = None
    reasons: str = ""
    regime: str | None = None
    # The basis of the stay an entry opens (issue 13); stay_basis None: visa-free.
    stay_basis: str | None = None
    visa_kind: str | None = None
    basis_valid_from: dt.date | None = None
    basis_valid_until: dt.date | None = None
    visa_entries: str | None = None
    visa_duration_days: int | None = None

    @property
    def basis(self) -> Basis | None:
        """The engine's value for the stay's basis (docs/basis.md); None: visa-free."""
        return basis_from_columns(self.stay_basis, self.visa_kind, self.basis_valid_from, self.basis_valid_until,
                                  self.visa_entries, self.visa_duration_days)


def basis_from_columns(code, kind, valid_from, valid_until, entries, duration_days) -> Basis | None:
    if code == "visa":
        return Visa(valid_from, valid_until, entries or "multiple", kind or "short_stay", duration_days)
    if code == "residence_permit":
        return ResidencePermit(valid_until)
    if code == "long_stay_visa":
        return LongStayVisa()
    return None


def basis_columns(basis: Basis | None) -> dict:
    """The crossing's columns for a basis (schema.crossings, migration 0003)."""
    columns = dict(stay_basis=None, visa_kind=None, basis_valid_from=None, basis_valid_until=None,
                   visa_entries=None, visa_duration_days=None)
    if isinstance(basis, Visa):
        columns.update(stay_basis="visa", visa_kind=basis.kind, basis_valid_from=basis.valid_from,
                       basis_valid_until=basis.valid_until, visa_entries=basis.entries,
                       visa_duration_days=basis.duration_days)
    elif isinstance(basis, ResidencePermit):
        columns.update(stay_basis="residence_permit", basis_valid_until=basis.valid_until)
    elif isinstance(basis, LongStayVisa):
        columns.update(stay_basis="long_stay_visa")
    return columns


@dataclass
class StayChange:
    id: int
    entry_crossing_id: int
    kind: str
    rule: str
    new_end: dt.date
    legal_basis: str
    officer: str
    recorded_at: dt.datetime


@dataclass
class RegisterStay:
    entry: Crossing | None
    exit: Crossing | None
    unpaired: str | None = None
    computed_end: dt.date | None = None  # the engine's latest_exit when the stay began
    computed_by: str | None = None  # "desk" decision, or "engine" for an ingested entry
    limited_by: str | None = None
    changes: list[StayChange] = field(default_factory=list)
    regime: str | None = None  # the regime judged under; None: no regime covers (no_regime)
    desk_end: dt.date | None = None  # the end the desk decided at entry, on the history it saw then

    @property
    def basis(self) -> Basis | None:
        return self.entry.basis if self.entry is not None else None

    @property
    def first_day(self) -> dt.date:
        return (self.entry or self.exit).local_date

    @property
    def last_known_day(self) -> dt.date | None:
        """The exit day; for an entry whose exit is missing, only its entry day is proven."""
        if self.exit is not None:
            return self.exit.local_date
        if self.unpaired == ENTRY_WITHOUT_EXIT:
            return self.entry.local_date
        return None  # still in the country

    @property
    def is_open(self) -> bool:
        return self.exit is None and self.unpaired is None

    @property
    def permitted_end(self) -> dt.date | None:
        # R6/R7: the newest officer's decision on this stay overrides the computed allowance.
        return self.changes[-1].new_end if self.changes else self.computed_end


def order_key(crossing: Crossing):
    return (crossing.local_date, crossing.local_time or dt.time.min, crossing.id)


def pair(crossings: list[Crossing]) -> list[RegisterStay]:
    """Stays from crossings in time order; refused entries are not stays (nobody came in).

    Unpaired events are kept as stays of their own and flagged, never dropped: an entry
    followed by another entry (its exit is missing) and an exit with no entry before it.
    """
    stays: list[RegisterStay] = []
    current: RegisterStay | None = None
    for crossing in sorted(crossings, key=order_key):
        if crossing.direction == "entry":
            if crossing.outcome == "refuse":
                continue
            if current is not None:
                current.unpaired = ENTRY_WITHOUT_EXIT
                stays.append(current)
            current = RegisterStay(entry=crossing, exit=None)
        elif current is not None:
            current.exit = crossing
            stays.append(current)
            current = None
        else:
            stays.append(RegisterStay(entry=None, exit=crossing, unpaired=EXIT_WITHOUT_ENTRY))
    if current is not None:
        stays.append(current)
    return stays


def presence_before(stays: list[RegisterStay], upto: int | None = None) -> Presence:
    """Days of presence of stays[:upto] as the engine's Presence (closed ordinal ranges)."""
    ranges = []
    for stay in stays[:upto]:
        last = stay.last_known_day
        if last is None:
            raise ValueError("an open stay cannot be prior presence")
        ranges.append((stay.first_day.toordinal(), last.toordinal()))
    return Presence(ranges)


def fill_permitted_ends(stays: list[RegisterStay], judge, changes: list[StayChange]) -> None:
    """Each stay's permitted end: the engine's verdict on the whole current history before it
    (issue 10: never the stored desk end, which may have been decided before older crossings
    arrived), then the officers' extensions and shortenings. The desk's end is kept beside it
    (`desk_end`); `computed_by` is "desk" where the two agree, "engine" where they do not or
    the entry was ingested.

    `judge(entry, prior_stays)` is the engine's resolution, (regime, verdict) or (None, None)
    when no regime covers the traveller: such a stay has no permitted end the register knows.
    """
    by_entry: dict[int, list[StayChange]] = {}
    for change in sorted(changes, key=lambda c: c.id):
        by_entry.setdefault(change.entry_crossing_id, []).append(change)
    for index, stay in enumerate(stays):
        entry = stay.entry
        if entry is None:
            continue
        stay.changes = by_entry.get(entry.id, [])
        if entry.outcome == "admit":
            stay.desk_end = entry.permitted_until
        if entry.outcome == NO_REGIME:
            stay.computed_by = NO_REGIME
            continue
        regime, verdict = judge(entry, stays[:index])  # a stay on a visa or permit: judged by its basis
        if regime is None:
            stay.computed_by = NO_REGIME
            continue
        stay.regime = regime.id
        stay.computed_end, stay.limited_by = verdict.latest_exit, verdict.limited_by
        if not verdict.ok:
            # Entered although the rules forbade even the first day: permitted end is the day before.
            stay.computed_end = entry.local_date - dt.timedelta(days=1)
            stay.limited_by = ",".join(verdict.reasons)
        agrees = entry.outcome == "admit" and stay.computed_end == stay.desk_end
        stay.computed_by = "desk" if agrees else "engine"
