"""The batch over the kinds of regime issue 9 brought: a per-stay-only regime (no rolling
window) and a crossing log without a regime column, resolved as every other caller resolves
(visafree.engine.preference). Equal to the engine, traveller by traveller."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from visafree.batch import duck, oracle
from visafree.engine import parse_regime
from visafree.regimes import builtin_regimes

from .conftest import ON

# A unilateral exemption of 15 days a stay, no window, for a nationality no built-in covers.
PER_STAY_ONLY = parse_regime({
    "id": "test-unilateral", "title": "test", "source": "test", "kind": "unilateral",
    "in_force": [{"since": dt.date(2020, 1, 1), "source": "test"}],
    "coverage": [{"nationality": ["ZZA"], "destination": ["VNM"], "rule": "R", "source": "test"}],
    "rules": {"R": {"title": "t", "citation": "c"}},
    "parameters": {"per_stay_max_days": {"rule": "R", "values": [
        {"since": dt.date(2020, 1, 1), "value": 15, "source": "test"}]}},
})
REGIMES = {**builtin_regimes(), PER_STAY_ONLY.id: PER_STAY_ONLY}

trip = st.tuples(st.integers(0, 25), st.integers(0, 20))  # (days - 1, gap to the next entry)


def events_of(trips: list[list[tuple[int, int]]], with_regime_column: bool) -> pa.Table:
    cols = {c: [] for c in ("event_id", "traveller_id", "nationality", "destination", "direction", "local_date",
                            "local_time")}
    event = 0
    for tid, own in enumerate(trips):
        day = -300
        for dur, gap in own:
            entry, exit = day, day + dur
            if entry > 0:
                break
            for direction, d in (("entry", entry), ("exit", exit)):
                if d > 0:
                    break
                cols["event_id"].append(event)
                cols["traveller_id"].append(tid)
                cols["nationality"].append("ZZA")
                cols["destination"].append("VNM")
                cols["direction"].append(direction)
                cols["local_date"].append(ON + dt.timedelta(days=d))
                cols["local_time"].append("06:00" if direction == "exit" else "09:00")
                event += 1
            day = exit + gap + 1
    table = pa.table(cols)
    if with_regime_column:
        table = table.append_column("regime", pa.array([PER_STAY_ONLY.id] * table.num_rows, pa.string()))
    return table



@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(trip, min_size=1, max_size=6), min_size=1, max_size=5), st.booleans())
def test_per_stay_only_regime_equals_the_engine(con, trips, with_regime_column):
    table = events_of(trips, with_regime_column)
    result, con = duck.run_arrow(table, ON, con=con, regimes=REGIMES)
    assert result.identity_holds
    stays = duck.fetch_dicts(con, "SELECT * FROM vf_stays")
    people = duck.fetch_dicts(con, "SELECT * FROM vf_travellers")
    assert {row["regime"] for row in stays} == {PER_STAY_ONLY.id}  # resolved without the column
    assert oracle.differences(stays, people, ON, regimes=REGIMES) == []
    assert all(row["days_used"] is None and row["days_remaining"] is None for row in people)
