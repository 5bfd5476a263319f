"""The fixed-period rule kind (engine/periods.py, issue 9): strict loading, the periods' ends,
the chain of first-entry periods, and the answers that differ from a rolling window.

The day-by-day agreement with the reference model is in test_properties.py; the regimes' own
texts are in cases/vnm-blr.toml, kaz-bra.toml and kaz-ukr.toml.
"""

from __future__ import annotations

import datetime as dt

import pytest

from visafree.engine import PERIOD_LIMIT, Question, RegimeError, Stay, check, judge_entry, parse_regime
from visafree.engine.periods import CALENDAR_YEAR, FIRST_ENTRY, FixedPeriod, period_end, periods, stay_breach
from visafree.engine.presence import Presence

D = dt.date


def regime(**parameters):
    def param(value):
        return {"rule": "R", "values": [{"since": D(2020, 1, 1), "value": value, "source": "test"}]}
    return parse_regime({
        "id": "t", "title": "t", "source": "test",
        "in_force": [{"since": D(2020, 1, 1), "source": "test"}],
        "coverage": [{"nationality": ["AAA"], "destination": ["BBB"], "rule": "R"}],
        "rules": {"R": {"title": "t", "citation": "c"}},
        "parameters": {name: param(value) for name, value in parameters.items()},
    })


def presence(*spans):
    return Presence((a.toordinal(), b.toordinal()) for a, b in spans)


# -- loading is strict ------------------------------------------------------------------------

@pytest.mark.parametrize("parameters, message", [
    ({"period_anchor": "calendar_year"}, "period_anchor and period_max_days go together"),
    ({"period_max_days": 30}, "period_anchor and period_max_days go together"),
    ({"period_anchor": "calendar_year", "period_max_days": 90, "period_length": 12},
     "a calendar year has its own length"),
    ({"period_anchor": "calendar_year", "period_max_days": 90, "period_unit": "months"},
     "a calendar year has its own length"),
    ({"period_anchor": "first_entry", "period_max_days": 30}, "period_length is required"),
    ({"period_anchor": "first_entry", "period_max_days": 180, "period_length": 180},
     "must be less than the period's 180 days"),
    ({"period_anchor": "calendar_year", "period_max_days": 365}, "must be less than the period's 365 days"),
    ({"period_anchor": "first_entry", "period_max_days": 28, "period_length": 1, "period_unit": "months"},
     "must be less than the period's 28 days"),
])
def test_bad_fixed_period_parameters_fail_loading_naming_them(parameters, message):
    with pytest.raises(RegimeError, match=message):
        regime(**parameters)


@pytest.mark.parametrize("name, value", [("period_anchor", "rolling"), ("period_unit", "weeks"),
                                         ("period_length", 0), ("period_max_days", -1),
                                         ("period_max_days", True)])
def test_a_bad_value_is_refused(name, value):
    parameters = {"period_anchor": "first_entry", "period_length": 10, "period_max_days": 5, name: value}
    with pytest.raises(RegimeError, match=f"parameters.{name}"):
        regime(**parameters)


def test_a_fixed_period_alone_is_a_regime_that_limits_something():
    rules = regime(period_anchor="calendar_year", period_max_days=90).rules_in_force(D(2025, 1, 1))
    assert rules.period == FixedPeriod(CALENDAR_YEAR, 0, "days", 90, "R")
    assert rules.per_stay_max_days is None and rules.window_days is None


# -- the periods ------------------------------------------------------------------------------

def test_a_year_from_the_first_entry_ends_the_day_before_the_same_date_a_year_later():
    year = FixedPeriod(FIRST_ENTRY, 12, "months", 30)
    assert period_end(year, D(2025, 3, 10).toordinal()) == D(2026, 3, 9).toordinal()
    # 29 February: "the same date" a year later is clamped to 28 February, as R2's months
    assert period_end(year, D(2024, 2, 29).toordinal()) == D(2025, 2, 27).toordinal()
    assert period_end(FixedPeriod(FIRST_ENTRY, 180, "days", 90), D(2024, 1, 10).toordinal()) == \
        D(2024, 7, 7).toordinal()
    assert period_end(FixedPeriod(CALENDAR_YEAR, 0, "days", 90), D(2024, 2, 29).toordinal()) == \
        D(2024, 12, 31).toordinal()


def test_first_entry_periods_form_a_chain_from_the_first_day_of_presence_after_each_end():
    p = FixedPeriod(FIRST_ENTRY, 10, "days", 5)
    days = presence((D(2025, 1, 1), D(2025, 1, 3)), (D(2025, 1, 8), D(2025, 1, 14)), (D(2025, 2, 1), D(2025, 2, 1)))
    got = [(dt.date.fromordinal(a), dt.date.fromordinal(b)) for a, b in periods(p, days)]
    # the stay of 8-14 January runs past the first period's end (10 January): the second
    # period starts the day after, 11 January, not on a later entry
    assert got == [(D(2025, 1, 1), D(2025, 1, 10)), (D(2025, 1, 11), D(2025, 1, 20)), (D(2025, 2, 1), D(2025, 2, 10))]


def test_calendar_years_are_those_that_hold_presence():
    p = FixedPeriod(CALENDAR_YEAR, 0, "days", 5)
    days = presence((D(2023, 12, 30), D(2024, 1, 2)), (D(2026, 5, 1), D(2026, 5, 1)))
    assert [dt.date.fromordinal(a).year for a, _ in periods(p, days)] == [2023, 2024, 2026]


def test_a_stay_that_outlasts_its_period_breaks_on_day_m_plus_one_of_the_next():
    p = FixedPeriod(CALENDAR_YEAR, 0, "days", 10)
    prior = presence((D(2025, 3, 1), D(2025, 3, 5)))  # 5 of 10 used in 2025
    first, a, b = stay_breach(p, prior, D(2025, 12, 29).toordinal())
    # 29-31 December fit (8 days in 2025), 1-10 January 2026 fit (10), 11 January is day 11
    assert (dt.date.fromordinal(first), dt.date.fromordinal(a), dt.date.fromordinal(b)) == \
        (D(2026, 1, 11), D(2026, 1, 1), D(2026, 12, 31))


# -- answers --------------------------------------------------------------------------------

def test_a_fixed_period_differs_from_a_rolling_window_of_the_same_numbers():
    """90 in 180 from the first entry lets a traveller who used 90 days from 10 January come
    back on 8 July for 90 more; a rolling 90-in-180 window would not (RULES.md §2, R4)."""
    stays = (Stay(D(2024, 1, 10), D(2024, 3, 9)), Stay(D(2024, 5, 1), D(2024, 5, 30)))
    trip = (Stay(D(2024, 7, 8), D(2024, 10, 5)),)
    fixed = regime(period_anchor="first_entry", period_length=180, period_max_days=90)
    rolling = regime(window_days=180, window_max_days=90)
    on = D(2024, 6, 1)
    assert check(Question(fixed, "AAA", "BBB", on, stays, planned=trip)).planned[0].ok
    assert not check(Question(rolling, "AAA", "BBB", on, stays, planned=trip)).planned[0].ok


def test_the_explanation_names_the_period_and_its_days():
    fixed = regime(period_anchor="calendar_year", period_max_days=20, per_stay_max_days=30)
    answer = check(Question(fixed, "AAA", "BBB", D(2025, 6, 30), (Stay(D(2025, 6, 1), D(2025, 6, 25)),)))
    texts = [n.text for n in answer.explanation]
    assert "Calendar year 2025-01-01 to 2025-12-31 (R): 25 days of presence up to 2025-06-30, 0 of 20 days left." in texts
    assert ("Overstay from 2025-06-21: 21 days of presence in the fixed period from 2025-01-01 to 2025-12-31, "
            "more than 20 (R); 5 days of overstay in this run.") in texts
    assert [(v.date, v.code, v.days) for v in answer.violations] == [(D(2025, 6, 21), PERIOD_LIMIT, 5)]


def test_entry_refused_and_latest_exit_say_which_period():
    fixed = regime(period_anchor="first_entry", period_length=30, period_max_days=10)
    prior = presence((D(2025, 1, 1), D(2025, 1, 10)))
    refused = judge_entry(fixed, "AAA", "BBB", None, prior, D(2025, 1, 20))
    assert refused.reasons == (PERIOD_LIMIT,) and refused.latest_exit is None
    assert refused.notes[-1].text == ("Entering on 2025-01-20 is not allowed: the fixed period from 2025-01-01 to "
                                      "2025-01-30 would hold 11 days of presence, more than 10 (R).")
    later = judge_entry(fixed, "AAA", "BBB", None, prior, D(2025, 1, 31))
    assert (later.latest_exit, later.limited_by) == (D(2025, 2, 9), PERIOD_LIMIT)
    assert later.notes[-1].text == ("Leave by 2025-02-09: one more day would make 11 days of presence in the fixed "
                                    "period from 2025-01-31 to 2025-03-01, more than 10 (R).")


def test_an_earliest_start_that_is_not_the_first_day_that_fits_a_shorter_trip():
    """Not monotone: with 10 days a calendar year, a 15-day trip fits only across 1 January."""
    fixed = regime(period_anchor="calendar_year", period_max_days=10)
    answer = check(Question(fixed, "AAA", "BBB", D(2025, 6, 1), (), trip_days=15))
    assert answer.earliest_entry.date == D(2025, 12, 22)  # 10 days in 2025, 5 in 2026
    too_long = check(Question(fixed, "AAA", "BBB", D(2025, 6, 1), (), trip_days=21))
    assert (too_long.earliest_entry.date, too_long.earliest_entry.reasons) == (None, (PERIOD_LIMIT,))
