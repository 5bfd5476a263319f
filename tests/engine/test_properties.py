"""The engine agrees with the day-by-day reference model on random histories.

Small random regimes (windows of a few days, tiny limits, both counting conventions) reach
every edge of RULES.md §2 in a few thousand examples; the built-in regimes are checked too.
Run the long version with `pytest -m long`.
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from visafree.engine import LongStayVisa, Passport, Question, ResidencePermit, Stay, Visa, check, parse_regime
from visafree.regimes import builtin_regimes

from .reference import Reference

BASE = dt.date(2024, 6, 1)


def small_regime(window_days: int | None, window_max: int | None, per_stay: int | None, entry_day_counts: bool,
                 validity_months: int | None, validity_from: str, max_age: int | None, nationality_since=None,
                 counted_bases=None, window_bases=None):
    """A tiny regime; window_days None makes it per-stay only (the R3 kind alone), and
    nationality_since dates the covered nationality (dated coverage)."""
    def param(value, rule="R"):
        return {"rule": rule, "values": [{"since": dt.date(2000, 1, 1), "value": value, "source": "test"}]}

    parameters = {
        "entry_day_counts": param(entry_day_counts),
        "passport_types": param(["ordinary"]),
        "passport_validity_from": param(validity_from),
    }
    if window_days is not None:
        parameters["window_days"] = param(window_days)
        parameters["window_max_days"] = param(window_max)
    if per_stay is not None:
        parameters["per_stay_max_days"] = param(per_stay)
    if validity_months is not None:
        parameters["passport_validity_months"] = param(validity_months)
    if max_age is not None:
        parameters["passport_max_age_years"] = param(max_age)
    if counted_bases is not None:  # docs/basis.md: which bases the window counts, and limits
        parameters["counted_bases"] = param(counted_bases)
    if window_bases is not None:
        parameters["window_bases"] = param(window_bases)
    return parse_regime({
        "id": "small", "title": "small", "source": "test",
        "in_force": [{"since": dt.date(2024, 6, 10), "source": "test"}],
        "coverage": [{"nationality": ["AAA"] if nationality_since is None else [
            {"code": "AAA", "since": nationality_since, "source": "test"}], "destination": ["BBB"], "rule": "R"}],
        "rules": {"R": {"title": "t", "citation": "c"}},
        "parameters": parameters,
    })


@st.composite
def regimes(draw):
    if draw(st.integers(0, 4)) == 0:
        return builtin_regimes()[draw(st.sampled_from(["vn-kz", "schengen"]))]
    # A nationality covered only from a day near the start: dated coverage, judged per entry day.
    since = draw(st.one_of(st.none(), st.dates(dt.date(2024, 6, 1), dt.date(2024, 7, 15))))
    counted = draw(st.sampled_from([None, ["visa_free"], ["visa_free", "visa"], ["visa_free", "visa", "residence_permit"],
                                    ["visa_free", "visa", "residence_permit", "long_stay_visa"]]))
    limited = draw(st.sampled_from([None, ["visa_free"]] + ([["visa_free", "visa"]] if counted is None or "visa" in counted else [])))
    tail = (draw(st.booleans()), draw(st.one_of(st.none(), st.integers(1, 3))),
            draw(st.sampled_from(["entry", "exit"])), draw(st.one_of(st.none(), st.integers(1, 2))), since,
            counted, limited)
    if draw(st.integers(0, 3)) == 0:  # per-stay only: no window (a kind of regime of its own)
        return small_regime(None, None, draw(st.integers(1, 12)), *tail)
    window = draw(st.integers(2, 25))
    return small_regime(window, draw(st.integers(1, window - 1)), draw(st.one_of(st.none(), st.integers(1, 12))), *tail)


def coverage_of(regime):
    cov = regime.coverage[0]
    return sorted(cov.nationalities)[0], sorted(cov.destinations)[0]


@st.composite
def questions(draw):
    regime = draw(regimes())
    big = regime.id != "small"
    scale = 40 if big else 6
    nationality, destination = coverage_of(regime)
    if draw(st.integers(0, 9)) == 0:
        nationality = "ZZZ"  # not covered
    day = BASE + dt.timedelta(days=draw(st.integers(0, 20)))
    # A few visas and permits, shared between stays (two entries on one visa count against its
    # entries); most stays visa-free.
    def a_date():
        return BASE + dt.timedelta(days=draw(st.integers(0, 20 + 12 * scale)))

    visas = []
    for _ in range(draw(st.integers(0, 2))):
        since = a_date()
        visas.append(Visa(since, since + dt.timedelta(days=draw(st.integers(0, 4 * scale))),
                          draw(st.sampled_from(["single", "double", "multiple"])), "short_stay",
                          draw(st.one_of(st.none(), st.integers(1, 2 * scale)))))
    bases = [None, None, None, *visas, ResidencePermit(a_date()), LongStayVisa()]

    def a_basis():
        return draw(st.sampled_from(bases)) if draw(st.integers(0, 2)) == 0 else None

    stays = []
    for _ in range(draw(st.integers(0, 7))):
        length = draw(st.integers(0, scale))
        stays.append(Stay(day, day + dt.timedelta(days=length), a_basis()))
        day = day + dt.timedelta(days=length + draw(st.integers(0, scale)))  # gap 0: re-entry on the exit day
    if stays and draw(st.booleans()):
        stays[-1] = Stay(stays[-1].entry, None, stays[-1].basis)  # still in the country
        on = stays[-1].entry + dt.timedelta(days=draw(st.integers(0, scale * 2)))
    else:
        on = day + dt.timedelta(days=draw(st.integers(0, scale)))
    planned = []
    pday = on + dt.timedelta(days=draw(st.integers(0 if stays and stays[-1].exit is None else 0, scale)))
    for _ in range(draw(st.integers(0, 3))):
        length = draw(st.integers(0, scale * 2))
        planned.append(Stay(pday, pday + dt.timedelta(days=length), a_basis()))
        pday = pday + dt.timedelta(days=length + draw(st.integers(0, scale)))
    if len(planned) > 1 and draw(st.booleans()):
        planned.reverse()  # judged in date order whatever the order given
    passport = None
    if draw(st.booleans()):
        passport = Passport(
            draw(st.sampled_from(["ordinary", "ordinary", "diplomatic"])),
            on + dt.timedelta(days=draw(st.integers(-10, 400))),
            on - dt.timedelta(days=draw(st.integers(300, 1200))) if draw(st.booleans()) else None,
        )
    trip_days = draw(st.one_of(st.none(), st.integers(1, scale * 2)))
    # Stays must not run past the reference date.
    stays = [s for s in stays if s.entry <= on and (s.exit is None or s.exit <= on)]
    if planned and stays and stays[-1].exit is not None and planned and min(p.entry for p in planned) < stays[-1].exit:
        planned = []
    return Question(regime, nationality, destination, on, tuple(stays), passport, tuple(planned), trip_days)


def assert_agrees(q: Question) -> None:
    note_question(q)
    answer = check(q)
    ref = Reference(q)
    assert answer.days_used == ref.days_used()
    window_max = q.regime.rules_in_force(q.on).window_max_days
    assert answer.days_remaining == (None if window_max is None else max(0, window_max - ref.days_used()))
    assert answer.overstay_days == ref.overstay_days()
    assert {(v.date, v.code) for v in answer.violations} == ref.violation_starts()
    assert [(s.days, s.first_violation, s.violation_rule, s.overstay_days) for s in answer.stays] == ref.stay_reports()
    current = ref.current_stay()
    assert answer.in_country == (current is not None)
    if current is not None:
        assert (answer.current_stay.day, answer.current_stay.latest_exit) == current
    if q.planned:
        for got, want in zip(answer.planned, ref.planned()):
            assert (got.ok, set(got.reasons), got.latest_exit) == (want.ok, want.reasons, want.latest_exit), (got, want)
            if want.visa_needed is not None:
                assert (got.visa_needed_days, got.visa_needed_from) == want.visa_needed, (got, want)
    if q.trip_days is not None:
        assert answer.earliest_entry.date == ref.earliest()


def note_question(q: Question) -> None:
    rules = q.regime.rules_in_force(q.on)
    note(f"rules={rules} nationality={q.nationality} on={q.on} stays={q.stays} planned={q.planned} "
         f"passport={q.passport} trip_days={q.trip_days}")


PROFILE = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@settings(max_examples=2000, **PROFILE)
@given(questions())
def test_engine_agrees_with_day_by_day_model(q):
    assert_agrees(q)


@pytest.mark.long
@settings(max_examples=50_000, **PROFILE)
@given(questions())
def test_engine_agrees_with_day_by_day_model_long(q):
    assert_agrees(q)
