"""Which regime answers (RULES.md §4): every regime that covers the traveller is judged, the
most favourable is the headline answer, the others are shown beside it; none: `no_regime`.

These cases use small regimes written here, so that each situation (two regimes, a dated
nationality, a passport type only one accepts) is certain whatever the built-in data holds;
tests/regimes/test_resolution_table.py runs the same questions over the built-in regimes.
"""

from __future__ import annotations

import datetime as dt

import pytest

from visafree.contract import run_check
from visafree.engine import NO_REGIME, Passport, Question, Stay, applicable, parse_regime, preference, resolve

D = dt.date


def regime(regime_id, nationalities, per_stay=None, window=None, passport_types=("ordinary", "diplomatic", "service"),
           since=D(2023, 8, 15), until=None):
    def param(value, rule="R"):
        return {"rule": rule, "values": [{"since": since, "value": value, "source": "test"}]}

    parameters = {"passport_types": param(list(passport_types))}
    if per_stay:
        parameters["per_stay_max_days"] = param(per_stay)
    if window:
        parameters["window_days"], parameters["window_max_days"] = param(window[0]), param(window[1])
    force = {"since": since, "source": "test"}
    if until:
        force["until"] = until
    return parse_regime({
        "id": regime_id, "title": regime_id.title(), "source": "test", "in_force": [force],
        "coverage": [{"nationality": nationalities, "destination": ["VNM"], "rule": "R", "source": "test"}],
        "rules": {"R": {"title": "t", "citation": "c"}}, "parameters": parameters,
    })


# A unilateral exemption of 45 days a stay, and an agreement of 30 days and 90 in 180 for the
# same traveller, ordinary passports only; a nationality added to the unilateral list later.
UNILATERAL = regime("unilateral", ["DEU", {"code": "POL", "since": D(2025, 3, 1), "source": "test"}], per_stay=45)
AGREEMENT = regime("agreement", ["DEU", "KAZ"], per_stay=30, window=(180, 90), passport_types=("ordinary",))
REGIMES = [AGREEMENT, UNILATERAL]


def ask(nationality, on, stays=(), passport=None, planned=(), trip_days=None, chosen=None):
    return resolve(REGIMES, Question(chosen, nationality, "VNM", on, tuple(stays), passport, tuple(planned), trip_days))


@pytest.mark.parametrize("nationality, on, passport_type, expected", [
    ("DEU", D(2024, 1, 1), None, ("agreement", "unilateral")),
    ("DEU", D(2024, 1, 1), "diplomatic", ("unilateral",)),  # the agreement is for ordinary passports
    ("KAZ", D(2024, 1, 1), None, ("agreement",)),
    ("POL", D(2025, 2, 28), None, ()),  # listed from 1 March 2025 only
    ("POL", D(2025, 3, 1), None, ("unilateral",)),
    ("DEU", D(2023, 8, 14), None, ()),  # neither in force yet
    ("USA", D(2024, 1, 1), None, ()),
])
def test_applicable_follows_nationality_date_and_passport_type(nationality, on, passport_type, expected):
    assert tuple(r.id for r in applicable(REGIMES, nationality, "VNM", on, passport_type)) == expected


def test_in_the_country_the_later_latest_exit_wins():
    answer = ask("DEU", D(2024, 3, 10), [Stay(D(2024, 3, 1))])
    assert (answer.chosen, answer.why) == ("unilateral", "latest_exit")
    assert answer.answer.current_stay.latest_exit == D(2024, 4, 14)  # day 45 of the stay
    other = answer.judged[1]
    assert other.regime.id == "agreement" and other.answer.current_stay.latest_exit == D(2024, 3, 30)
    assert answer.notes[0].code == "resolution_latest_exit"


def test_not_in_the_country_entering_today_is_compared():
    answer = ask("DEU", D(2024, 6, 1))
    assert (answer.chosen, answer.why) == ("unilateral", "latest_exit")
    assert answer.judged[0].entry_today.latest_exit == D(2024, 7, 15)


def test_more_planned_trips_allowed_wins_first():
    # 40 days are over the agreement's 30 but within the unilateral 45.
    answer = ask("DEU", D(2024, 6, 1), planned=[Stay(D(2024, 7, 1), D(2024, 8, 9))])
    assert (answer.chosen, answer.why) == ("unilateral", "planned")
    assert [p.ok for p in answer.answer.planned] == [True]
    assert [p.ok for p in answer.judged[1].answer.planned] == [False]


def test_a_requested_regime_answers_as_asked_even_when_less_favourable():
    answer = ask("DEU", D(2024, 3, 10), [Stay(D(2024, 3, 1))], chosen=AGREEMENT)
    assert (answer.requested, answer.chosen, answer.why) == (True, "agreement", "requested")
    assert answer.answer.current_stay.latest_exit == D(2024, 3, 30)


def test_a_passport_type_only_one_regime_accepts_leaves_the_other_out():
    answer = ask("DEU", D(2024, 6, 1), passport=Passport("diplomatic", D(2030, 1, 1)))
    assert (answer.applicable, answer.chosen, answer.why) == (("unilateral",), "unilateral", "only")


def test_nobody_covered_is_no_regime_never_another_regime():
    answer = ask("USA", D(2024, 6, 1), [Stay(D(2024, 5, 1), D(2024, 5, 20))])
    assert (answer.chosen, answer.why, answer.judged, answer.answer) == (None, NO_REGIME, (), None)
    assert answer.notes[0].code == NO_REGIME
    assert dict(answer.notes[0].params) == {"nationality": "USA", "destination": "VNM", "date": D(2024, 6, 1)}


def test_covered_only_on_other_dates_is_answered_by_that_regime_with_its_reasons():
    answer = ask("POL", D(2025, 2, 1), planned=[Stay(D(2025, 2, 10), D(2025, 2, 20)), Stay(D(2025, 3, 10), D(2025, 3, 20))])
    assert (answer.applicable, answer.chosen, answer.why) == ((), "unilateral", "none_in_force")
    first, second = answer.answer.planned
    assert (first.ok, first.reasons) == (False, ("nationality",))  # before POL was listed
    assert second.ok  # from 1 March 2025 on


def test_preference_without_history_is_the_longest_first_stay():
    assert preference(REGIMES, "DEU", "VNM", D(2024, 6, 1)).id == "unilateral"
    assert preference(REGIMES, "KAZ", "VNM", D(2024, 6, 1)).id == "agreement"
    assert preference(REGIMES, "USA", "VNM", D(2024, 6, 1)) is None


def test_v1_contract_without_regime_carries_the_resolution():
    regimes = {r.id: r for r in REGIMES}
    body = run_check({"nationality": "DEU", "destination": "VNM", "on": "2024-03-10",
                      "stays": [{"entry": "2024-03-01", "exit": None}]}, regimes)
    assert body["status"] == "ok" and body["regime"] == "unilateral"
    assert body["resolution"]["applicable"] == ["agreement", "unilateral"]
    assert body["resolution"]["why"] == "latest_exit"
    assert body["resolution"]["alternatives"][0]["regime"] == "agreement"
    assert body["resolution"]["alternatives"][0]["latest_exit"] == "2024-03-30"
    assert body["days_used"] is None and body["window"] is None  # no window: per-stay only
    none = run_check({"nationality": "USA", "destination": "VNM", "on": "2024-03-10"}, regimes)
    assert none["status"] == NO_REGIME and none["regime"] is None
    assert none["explanation"][0]["code"] == NO_REGIME
