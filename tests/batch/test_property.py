"""Property: on small random populations the DuckDB pipeline equals the engine, every time."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from visafree.batch import duck, oracle

from .conftest import ON

PAIRS = [("vn-kz", "KAZ", "VNM"), ("vn-kz", "VNM", "KAZ"), ("schengen", "USA", "FRA"), ("schengen", "GBR", "DEU"),
         # a fixed period of a calendar year (issue 9): 30 days a stay, 90 a calendar year
         ("vnm-blr", "BLR", "VNM")]

trip = st.tuples(st.integers(0, 40), st.integers(0, 70))  # (days - 1, gap to the next entry)
traveller = st.fixed_dictionaries({
    "pair": st.sampled_from(PAIRS),
    "start": st.integers(-420, 0),
    "trips": st.lists(trip, min_size=1, max_size=8),
    "timed": st.booleans(),  # without times, the recording order orders a day's crossings
})


def events_of(travellers: list[dict]) -> pa.Table:
    cols = {c: [] for c in ("event_id", "traveller_id", "nationality", "destination", "border_post",
                            "direction", "local_date", "local_time", "regime")}
    for tid, t in enumerate(travellers):
        regime, nat, dest = t["pair"]
        day, seq, per_day, seen = t["start"], 0, {}, set()
        for dur, gap in t["trips"]:
            entry, exit = day, day + dur
            if entry > 0:
                break
            # Without times, a second entry (or exit) on the same day is, by the duplicate rule
            # (same traveller, direction, day and time), a copy of the first: not clean input.
            if not t["timed"] and ({(entry, "entry"), (exit, "exit")} & seen):
                break
            seen |= {(entry, "entry"), (exit, "exit")}
            for direction, d in (("entry", entry), ("exit", exit)):
                if d > 0:  # the log ends on the reference date: the stay is still open
                    break
                rank = per_day.get(d, 0)
                per_day[d] = rank + 1
                cols["event_id"].append(tid * 1000 + seq)
                cols["traveller_id"].append(tid)
                cols["nationality"].append(nat)
                cols["destination"].append(dest)
                cols["border_post"].append("P1")
                cols["direction"].append(direction)
                cols["local_date"].append(ON + dt.timedelta(days=d))
                cols["local_time"].append(f"{6 + 3 * rank:02d}:00" if t["timed"] else None)
                cols["regime"].append(regime)
                seq += 1
            day = exit + gap
    return pa.table(cols, schema=pa.schema([
        ("event_id", pa.int64()), ("traveller_id", pa.int64()), ("nationality", pa.string()),
        ("destination", pa.string()), ("border_post", pa.string()), ("direction", pa.string()),
        ("local_date", pa.date32()), ("local_time", pa.string()), ("regime", pa.string()),
    ]))



@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(traveller, min_size=1, max_size=6))
def test_duckdb_equals_engine_on_random_populations(con, travellers):
    table = events_of(travellers)
    result, con = duck.run_arrow(table, ON, con=con)
    assert result.identity_holds
    assert result.counts["events_dropped"] == 0  # clean input: everything pairs
    stays = duck.fetch_dicts(con, "SELECT * FROM vf_stays")
    people = duck.fetch_dicts(con, "SELECT * FROM vf_travellers")
    assert oracle.differences(stays, people, ON) == []
