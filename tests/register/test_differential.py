"""The desk is a thin shell: on any history it recorded, its decision is judge_entry's."""

import datetime as dt
import itertools

from hypothesis import HealthCheck, given, settings, strategies as st

from visafree.engine import Passport, Presence, judge_entry
from visafree.regimes import builtin_regimes

from .helpers import kaz

counter = itertools.count()
# At most 5 x (30 + 40) days from 2024-06-01: every date stays before the register's "now" (2025-06-01).
trips = st.lists(st.tuples(st.integers(0, 30), st.integers(0, 40)), min_size=1, max_size=5)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(trips=trips, expires_days=st.integers(100, 900))
def test_desk_decisions_equal_the_engine(register, trips, expires_days):
    regime = builtin_regimes()["vn-kz"]
    document = kaz(f"H{next(counter):07d}", expires=dt.date(2024, 6, 1) + dt.timedelta(days=expires_days))
    day, prior = dt.date(2024, 6, 1), []
    for gap, length in trips:
        day += dt.timedelta(days=gap)
        decision = register.record_entry(document, day, officer="o", border_post="HAN")
        expected = judge_entry(regime, "KAZ", "VNM", Passport("ordinary", document.expires), Presence(prior), day)
        assert (decision.admitted, decision.reasons, decision.permitted_until, decision.limited_by) == (
            expected.ok, expected.reasons, expected.latest_exit, expected.limited_by)
        if decision.admitted:
            exit_day = day + dt.timedelta(days=length)
            register.record_exit(document, exit_day, officer="o", border_post="HAN")
            prior.append((day.toordinal(), exit_day.toordinal()))
            day = exit_day
