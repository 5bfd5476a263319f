"""Which regime answers a traveller (RULES.md §4): resolution and the most favourable answer.

Which regime applies follows from nationality, destination, passport type and date. Where
several cover a traveller, each is judged and the most favourable is the headline answer, the
others shown beside it; where none covers them, the answer is `no_regime`, never a count
under an unrelated regime. Pure like the rest of the engine: regimes and a question in, a
Resolution out. Every caller (CLI, API, page, register, batch) goes through `applicable`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Iterable, Sequence

from .basis import basis_code
from .check import Answer, EntryVerdict, Question, check, judge_entry
from .explain import Note, note
from .presence import Presence
from .regime import Regime

NO_REGIME = "no_regime"

#: Why a regime was chosen, in the order the ranking compares them.
WHY_REQUESTED = "requested"  # the caller named the regime
WHY_ONLY = "only"  # one regime applies
WHY_PLANNED = "planned"  # more planned trips allowed
WHY_LATEST_EXIT = "latest_exit"  # a later true latest exit (in the country, or entering on the reference date)
WHY_EARLIEST_ENTRY = "earliest_entry"  # an earlier start for the trip asked about
WHY_OVERSTAY = "overstay"  # fewer days in breach so far
WHY_EQUAL = "equal"  # the same answer in every respect compared: the first by id
WHY_NONE_IN_FORCE = "none_in_force"  # none applies on the day; judged under a related one


def applicable(regimes: Iterable[Regime], nationality: str, destination: str, day: dt.date,
               passport_type: str | None = None) -> tuple[Regime, ...]:
    """Every regime in force on `day` that covers nationality -> destination on that day (its
    dated coverage) and, when the passport type is known, accepts it; sorted by id."""
    found = []
    for regime in regimes:
        if regime.in_force_on(day) is None or regime.covers(nationality, destination, day) is None:
            continue
        if passport_type is not None and passport_type not in regime.rules_in_force(day).passport_types:
            continue
        found.append(regime)
    return tuple(sorted(found, key=lambda r: r.id))


def related(regimes: Iterable[Regime], nationality: str, destination: str) -> tuple[Regime, ...]:
    """Regimes about this traveller on some day or for some passport: what answers, with its
    reasons (not_in_force, passport_type, nationality), when none applies on the day."""
    return tuple(sorted((r for r in regimes if r.covers(nationality, destination) is not None), key=lambda r: r.id))


@dataclass(frozen=True, slots=True)
class Judged:
    """One regime's answer, and what the ranking compares."""

    regime: Regime
    answer: Answer
    entry_today: EntryVerdict | None  # entering on the reference date, when not in the country


@dataclass(frozen=True, slots=True)
class Resolution:
    requested: bool
    applicable: tuple[str, ...]  # ids of the regimes that apply on the reference date
    chosen: str | None  # None: no regime covers the traveller (NO_REGIME)
    why: str
    judged: tuple[Judged, ...]  # the chosen one first, then the others from most to least favourable
    question: Question
    notes: tuple[Note, ...] = ()

    @property
    def answer(self) -> Answer | None:
        return self.judged[0].answer if self.judged else None


def _judge(regime: Regime, question: Question, ranked: bool = True) -> Judged:
    answer = check(replace(question, regime=regime))
    today = None
    if ranked and not answer.in_country:  # what the ranking needs of a traveller not in the country
        rules = regime.rules_in_force(question.on)
        # the days the window counts (docs/basis.md: not those under a permit, where the regime says so)
        prior = Presence((s.entry.toordinal(), (s.exit or question.on).toordinal()) for s in question.stays
                         if basis_code(s.basis) in rules.counted_bases)
        today = judge_entry(regime, question.nationality, question.destination, question.passport, prior,
                            question.on, rules=rules)
    return Judged(regime, answer, today)


def _latest(j: Judged) -> int:
    if j.answer.current_stay is not None:
        latest = j.answer.current_stay.latest_exit
    else:
        latest = j.entry_today.latest_exit if j.entry_today is not None and j.entry_today.ok else None
    return latest.toordinal() if latest is not None else 0


def _ranking(j: Judged) -> tuple[tuple[str, int], ...]:
    """Larger is more favourable, component by component, each named by its WHY_ code."""
    planned = sum(1 for p in j.answer.planned or () if p.ok)
    earliest = j.answer.earliest_entry
    soonest = -(earliest.date.toordinal()) if earliest is not None and earliest.date is not None else -10**9
    return ((WHY_PLANNED, planned), (WHY_LATEST_EXIT, _latest(j)), (WHY_EARLIEST_ENTRY, soonest),
            (WHY_OVERSTAY, -j.answer.overstay_days))


def _why(best: Judged, runner_up: Judged) -> str:
    for (code, a), (_, b) in zip(_ranking(best), _ranking(runner_up)):
        if a != b:
            return code
    return WHY_EQUAL


def resolve(regimes: Sequence[Regime], question: Question, passport_type: str | None = None) -> Resolution:
    """Judge the question under every regime that applies and put the most favourable first.

    `question.regime` set: that regime answers, as asked (`requested`). The passport type is
    the question's passport's, else `passport_type` (a caller that knows it without an expiry).
    """
    if question.regime is not None:
        return Resolution(True, (question.regime.id,), question.regime.id, WHY_REQUESTED,
                          (_judge(question.regime, question, ranked=False),), question)
    kind = question.passport.type if question.passport is not None else passport_type
    found = applicable(regimes, question.nationality, question.destination, question.on, kind)
    ids = tuple(r.id for r in found)
    if not found:
        fallback = related(regimes, question.nationality, question.destination)
        if not fallback:
            return Resolution(False, (), None, NO_REGIME, (), question, (
                note(NO_REGIME, "", nationality=question.nationality, destination=question.destination,
                     date=question.on),))
        judged = _order([_judge(r, question) for r in fallback])
        return Resolution(False, (), judged[0].regime.id, WHY_NONE_IN_FORCE, judged, question, (
            note("resolution_none_in_force", "", regime=judged[0].regime.id, date=question.on),))
    judged = _order([_judge(r, question) for r in found])
    if len(judged) == 1:
        return Resolution(False, ids, ids[0], WHY_ONLY, judged, question, (note("resolution_only", "", regime=ids[0]),))
    why = _why(judged[0], judged[1])
    return Resolution(False, ids, judged[0].regime.id, why, judged, question, (
        note(f"resolution_{why}", "", applicable=list(ids), regime=judged[0].regime.id),))


def _order(judged: list[Judged]) -> tuple[Judged, ...]:
    # Most favourable first; equal answers keep the order by id (sorted() is stable).
    return tuple(sorted(judged, key=_ranking, reverse=True)) if len(judged) > 1 else tuple(judged)


def preference(regimes: Iterable[Regime], nationality: str, destination: str, day: dt.date,
               passport_type: str | None = None) -> Regime | None:
    """The regime to count under when there is no history to judge (the batch's choice per
    nationality -> destination): the one that lets a first stay last longest, then by id."""
    found = applicable(regimes, nationality, destination, day, passport_type)
    if not found:
        return None
    empty = Presence()

    def first_stay(regime: Regime) -> int:
        verdict = judge_entry(regime, nationality, destination, None, empty, day, rules=regime.rules_in_force(day))
        return verdict.latest_exit.toordinal() if verdict.latest_exit is not None else 0

    return max(found, key=first_stay)  # `found` is sorted by id: ties go to the first
