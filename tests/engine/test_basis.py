"""Bases of stay in the engine (docs/basis.md): what the regime's data decides, not code; the
issue 11 fix; a regime file that contradicts itself is refused."""

from __future__ import annotations

import copy
import datetime as dt
import tomllib
from pathlib import Path

import pytest

from visafree.engine import (
    PASSPORT_VALIDITY, Passport, Question, RegimeError, ResidencePermit, Stay, Visa, check, parse_regime,
)
from visafree.regimes import builtin_regimes

REGIMES = builtin_regimes()
VN_KZ = Path(__file__).parents[2] / "src" / "visafree" / "regimes" / "vnm" / "vn-kz.toml"
D = dt.date


def vn_kz_data() -> dict:
    return tomllib.loads(VN_KZ.read_text(encoding="utf-8"))


def with_parameter(name: str, value) -> dict:
    data = copy.deepcopy(vn_kz_data())
    data["parameters"][name] = {"rule": "R4", "values": [{"since": D(2024, 5, 25), "value": value, "source": "test"}]}
    return data


def test_which_bases_count_is_the_regimes_data():
    """The same history under the same rules but for counted_bases: a permit's 60 days count
    only where the regime says so (RULES.md §2 is the default)."""
    stays = (Stay(D(2025, 1, 1), D(2025, 3, 1), ResidencePermit(D(2025, 12, 31))), Stay(D(2025, 4, 1)))
    default = check(Question(REGIMES["vn-kz"], "KAZ", "VNM", D(2025, 4, 10), stays))
    counting = parse_regime(with_parameter("counted_bases", ["visa_free", "visa", "residence_permit"]))
    counted = check(Question(counting, "KAZ", "VNM", D(2025, 4, 10), stays))
    assert (default.days_used, counted.days_used) == (10, 70)  # 1-10 April; and 1 Jan-1 Mar (60) too
    assert default.current_stay.latest_exit == D(2025, 4, 30)  # R3
    assert counted.current_stay.latest_exit == D(2025, 4, 30)  # 60 + 30 = 90: R3 and R4 agree
    assert counted.current_stay.limited_by == "window_limit"  # on a tie the window is named


def test_whether_the_window_limits_a_visa_is_the_regimes_data():
    visa = Visa(D(2025, 1, 1), D(2025, 12, 31))
    stays = (Stay(D(2025, 1, 1), D(2025, 4, 30), visa),)  # 120 days on a visa
    vn_kz = check(Question(REGIMES["vn-kz"], "KAZ", "VNM", D(2025, 5, 1), stays))
    limiting = parse_regime(with_parameter("window_bases", ["visa_free", "visa"]))
    limited = check(Question(limiting, "KAZ", "VNM", D(2025, 5, 1), stays))
    assert vn_kz.overstay_days == 0 and vn_kz.days_used == 120
    assert limited.overstay_days == 30 and limited.violations[0].basis == "visa"
    assert limited.violations[0].date == D(2025, 4, 1)  # the 91st day


@pytest.mark.parametrize("name, value", [
    ("counted_bases", ["visa"]),  # a visa-free day always counts
    ("counted_bases", ["visa_free", "golden"]),
    ("window_bases", ["visa_free", "residence_permit"]),  # limits days the window does not count
])
def test_a_regime_file_that_contradicts_itself_is_refused(name, value):
    with pytest.raises(RegimeError, match=name):
        parse_regime(with_parameter(name, value))


def test_entries_count_per_visa_and_two_equal_visas_are_one():
    single = Visa(D(2025, 1, 1), D(2025, 6, 30), "single")
    other = Visa(D(2025, 1, 1), D(2025, 6, 30), "single", "e_visa")  # another visa: its own entry
    stays = (Stay(D(2025, 1, 5), D(2025, 1, 10), single), Stay(D(2025, 2, 5), D(2025, 2, 10), other),
             Stay(D(2025, 3, 5), D(2025, 3, 8), Visa(D(2025, 1, 1), D(2025, 6, 30), "single")))
    answer = check(Question(REGIMES["vn-kz"], "KAZ", "VNM", D(2025, 4, 1), stays))
    assert [s.violation_rule for s in answer.stays] == [None, None, "visa_entries"]
    assert answer.overstay_days == 4


def test_in_the_country_with_a_passport_short_at_entry_the_latest_exit_follows_the_stay_rules():
    """Issue 11: 88 days into the window, passport valid to 2027-05-01 but entered on a date it
    was short for (vn-kz wants 6 months from entry): the date the traveller needs is still given."""
    stays = (Stay(D(2025, 2, 1), D(2025, 3, 2)), Stay(D(2025, 4, 1), D(2025, 4, 30)), Stay(D(2026, 11, 2)))
    on = D(2026, 11, 30)
    question = Question(REGIMES["vn-kz"], "VNM", "KAZ", on, stays, Passport("ordinary", D(2027, 5, 1)))
    answer = check(question)
    assert answer.current_stay.entry_problems == (PASSPORT_VALIDITY,)
    assert (answer.current_stay.latest_exit, answer.current_stay.limited_by) == (D(2026, 12, 1), "per_stay_limit")
    codes = [n.code for n in answer.explanation]
    assert "passport_short" in codes and "entry_passport_problem" in codes and "latest_exit_per_stay" in codes
    # With a passport valid long enough the answer is the same, without the problem.
    fine = check(Question(REGIMES["vn-kz"], "VNM", "KAZ", on, stays, Passport("ordinary", D(2027, 6, 1))))
    assert fine.current_stay.latest_exit == answer.current_stay.latest_exit and fine.current_stay.entry_problems == ()
