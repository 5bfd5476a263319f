"""The one-pass forecast equals, day by day, separate engine calls and the day-by-day reference.

For every start date: the longest stay equals `judge_entry`'s latest exit (and its rule), and the
earliest start of an n-day trip is the first date whose longest stay is n or more, as
`earliest_entry` says. For every day: days used equals a fresh count of the window (R4) in the
reference model, and on the reference date equals `check`'s days_used.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from visafree.engine import (ENTRY_REASONS, InputError, Presence, Question, Stay, Visa, check, earliest_entry, forecast,
                             judge_entry)
from visafree.engine.check import _validate, _validate_planned, counted_presence, counted_spans
from visafree.regimes import builtin_regimes

from .reference import Reference, days_between
from .test_properties import NEW_YEAR, PROFILE, note_question, period_regimes, questions

ONE = dt.timedelta(days=1)


def presence_of(q: Question) -> Presence:
    """History and planned trips as one presence of the days the window counts (their bases),
    through the engine's own validation."""
    rules = q.regime.rules_in_force(q.on)
    entries, lasts, order = _validate(q)
    presence, _ = counted_presence(q, rules, entries, lasts, order)
    planned = _validate_planned(q, lasts[-1] if lasts else None)
    return presence.extended(counted_spans(q, rules, planned)) if planned else presence


def expected_from_judge(q: Question, presence: Presence, day: dt.date) -> tuple[int, str | None]:
    rules = q.regime.rules_in_force(q.on)
    verdict = judge_entry(q.regime, q.nationality, q.destination, q.passport, presence, day, rules=rules)
    if verdict.latest_exit is None:
        blocking = [r for r in verdict.reasons if r in (*ENTRY_REASONS, "window_limit", "period_limit")]
        return 0, blocking[0] if blocking else None
    return (verdict.latest_exit - day).days + 1, verdict.limited_by


def assert_forecast_agrees(q: Question, days: int, reference_starts: int) -> None:
    try:
        check(q)
    except InputError:
        return  # refused by check, refused alike by forecast (below)
    f = forecast(q, days)
    presence = presence_of(q)
    rules = q.regime.rules_in_force(q.on)
    assert len(f.longest_stay) == len(f.limited_by) == days

    # Each start date, as judge_entry answers it.
    for i in range(days):
        day = q.on + i * ONE
        assert (f.longest_stay[i], f.limited_by[i]) == expected_from_judge(q, presence, day), day

    # The earliest start of an n-day trip, as earliest_entry answers it (when within the horizon);
    # earliest_entry reads the recorded stays only, so the forecast without the planned trips.
    history = replace(q, planned=())
    f_history, history_presence = forecast(history, days), presence_of(history)
    for n in {1, 2, 5, rules.window_max_days or 3, rules.per_stay_max_days or 4}:
        found = next((i for i in range(days) if f_history.longest_stay[i] >= n), None)
        want = earliest_entry(q.regime, q.nationality, q.destination, q.passport, history_presence, q.on, n, rules)
        if found is not None:
            assert want.date == q.on + found * ONE, n
        else:
            assert want.date is None or want.date >= q.on + days * ONE, n

    ref = Reference(q)
    all_days = set(ref.present) | {d for p in q.planned if ref.counted(p.basis) for d in days_between(p.entry, p.exit)}
    if f.days_used is None:
        assert rules.window_days is None
    else:
        assert f.used_from == q.on - (rules.window_days - 1) * ONE
        assert len(f.days_used) == rules.window_days - 1 + days
        assert f.days_used[rules.window_days - 1] == check(q).days_used + sum(
            1 for d in all_days - ref.present if d <= q.on)  # planned trips start on or after `on`
        for i, used in enumerate(f.days_used):
            assert used == ref.window_count(all_days, f.used_from + i * ONE)
    # The reference model's verdict on a few start dates (it is slow: a day-by-day walk).
    for i in range(0, days, max(1, days // reference_starts)):
        day = q.on + i * ONE
        verdict = ref.judge({d for d in all_days if d < day}, day, None, q.passport)
        want = 0 if verdict.latest_exit is None else (verdict.latest_exit - day).days + 1
        assert f.longest_stay[i] == want, day


@settings(max_examples=400, **PROFILE)
@given(questions(), st.integers(1, 60))
def test_forecast_equals_separate_calls(q, days):
    note_question(q)
    assert_forecast_agrees(q, days, reference_starts=6)


@settings(max_examples=40, **PROFILE)
@given(questions().filter(lambda q: q.regime.id != "small"))
def test_twelve_months_of_the_builtin_regimes(q):
    note_question(q)
    assert_forecast_agrees(q, 365, reference_starts=3)


def test_forecast_of_the_readme_journey():
    """The Kazakh tourist of the README: back from three trips, on 10 June, 72 days used."""
    regime = builtin_regimes()["vn-kz"]
    stays = (Stay(dt.date(2025, 1, 10), dt.date(2025, 1, 24)), Stay(dt.date(2025, 3, 1), dt.date(2025, 3, 28)),
             Stay(dt.date(2025, 5, 2), dt.date(2025, 5, 30)))
    q = Question(regime, "KAZ", "VNM", dt.date(2025, 6, 10), stays)
    f = forecast(q)
    assert f.days_used[179] == 72 == check(q).days_used
    assert len(f.longest_stay) == 365
    # 18 days left: entering today allows 18 days, the window sets it (R4).
    assert (f.longest_stay[0], f.limited_by[0]) == (18, "window_limit")
    # From 9 July the January days leave the window: a start then allows the full 30 days (R3).
    july_9 = (dt.date(2025, 7, 9) - q.on).days
    assert (f.longest_stay[july_9], f.limited_by[july_9]) == (30, "per_stay_limit")
    # The earliest start of a 21-day trip (21 June 2025, as the README says) is the first
    # date that allows 21 days.
    assert next(i for i, n in enumerate(f.longest_stay) if n >= 21) == 11
    assert_forecast_agrees(q, 365, reference_starts=8)


@pytest.mark.parametrize("basis, field", [
    (Visa(dt.date(2025, 8, 1), dt.date(2025, 7, 1)), "planned[0].basis.valid_until"),
    (Visa(dt.date(2025, 7, 1), dt.date(2025, 8, 1), entries="triple"), "planned[0].basis.entries"),
    (Visa(dt.date(2025, 7, 1), dt.date(2025, 8, 1), duration_days=0), "planned[0].basis.duration_days"),
])
def test_a_planned_trips_bad_basis_is_refused_as_check_refuses_it(basis, field):
    """docs/basis.md: the forecast refuses what check() refuses in a planned trip, by the same field."""
    q = Question(builtin_regimes()["vn-kz"], "KAZ", "VNM", dt.date(2025, 6, 10),
                 planned=(Stay(dt.date(2025, 7, 1), dt.date(2025, 7, 5), basis),))
    for ask in (check, forecast):
        with pytest.raises(InputError) as refused:
            ask(q)
        assert refused.value.field == field, ask


def test_forecast_needs_a_regime():
    with pytest.raises(InputError):
        forecast(Question(None, "KAZ", "VNM", dt.date(2025, 1, 1)))


@settings(max_examples=150, **PROFILE)
@given(questions(period_regimes(), NEW_YEAR), st.integers(1, 60))
def test_forecast_with_a_fixed_period_equals_separate_calls(q, days):
    """A fixed period (a calendar year, a period from the first entry) limits each start date as
    judge_entry and the reference model say: the Belarusian who used 85 of 90 days of 2025 may
    start a stay of 5 days, not 30."""
    note_question(q)
    assert_forecast_agrees(q, days, reference_starts=6)


def test_forecast_of_a_calendar_year_limit():
    regime = builtin_regimes()["vnm-blr"]
    stays = (Stay(dt.date(2025, 2, 1), dt.date(2025, 3, 2)), Stay(dt.date(2025, 4, 1), dt.date(2025, 4, 30)),
             Stay(dt.date(2025, 6, 1), dt.date(2025, 6, 25)))  # 30 + 30 + 25 = 85 days of 2025
    f = forecast(Question(regime, "BLR", "VNM", dt.date(2025, 7, 1), stays))
    assert (f.longest_stay[0], f.limited_by[0]) == (5, "period_limit")
    new_year = (dt.date(2026, 1, 1) - dt.date(2025, 7, 1)).days
    assert f.longest_stay[new_year] == 30  # a new calendar year: the per-stay limit again
