"""Data quality: unpaired, duplicated and out-of-order crossings are reported and counted,
and every crossing read ends up in a stay or in the data-quality output."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import duckdb
import pyarrow as pa

from visafree.batch import duck

from .conftest import ON, read_rows
from .test_property import events_of

D = dt.timedelta(days=1)


def table(rows: list[tuple]) -> pa.Table:
    """rows: (event_id, traveller, direction, day offset, time, regime)."""
    cols = {"event_id": [], "traveller_id": [], "nationality": [], "destination": [], "border_post": [],
            "direction": [], "local_date": [], "local_time": [], "regime": []}
    for event_id, tid, direction, offset, time, regime in rows:
        cols["event_id"].append(event_id)
        cols["traveller_id"].append(tid)
        cols["nationality"].append("KAZ")
        cols["destination"].append("VNM")
        cols["border_post"].append("CXR")
        cols["direction"].append(direction)
        cols["local_date"].append(ON + offset * D)
        cols["local_time"].append(time)
        cols["regime"].append(regime)
    return pa.table(cols)


def run(rows):
    result, con = duck.run_arrow(table(rows), ON)
    dq = duck.fetch_dicts(con, "SELECT event_id, problem, kept FROM vf_dq ORDER BY event_id")
    stays = duck.fetch_dicts(con, "SELECT traveller_id, entry, exit FROM vf_stays ORDER BY traveller_id, entry")
    return result, dq, stays


def test_each_problem_is_reported_with_its_event():
    result, dq, stays = run([
        # traveller 1: a duplicate entry (recorded twice, same time) and a normal exit
        (10, 1, "entry", -50, "10:00", "vn-kz"), (11, 1, "entry", -50, "10:00", "vn-kz"),
        (12, 1, "exit", -40, "08:00", "vn-kz"),
        # traveller 2: an exit with no entry before it, then a normal stay
        (20, 2, "exit", -60, "09:00", "vn-kz"), (21, 2, "entry", -30, "09:00", "vn-kz"),
        (22, 2, "exit", -20, "09:00", "vn-kz"),
        # traveller 3: two entries in a row; the second pairs with the exit
        (30, 3, "entry", -90, "09:00", "vn-kz"), (31, 3, "entry", -70, "09:00", "vn-kz"),
        (32, 3, "exit", -65, "09:00", "vn-kz"),
        # traveller 4: the exit was recorded (lower event_id) before the entry: out of order,
        # paired anyway after sorting by date
        (40, 4, "exit", -10, "12:00", "vn-kz"), (41, 4, "entry", -15, "12:00", "vn-kz"),
        # traveller 5: a crossing after the reference date, an unknown regime, a bad direction
        (50, 5, "entry", -5, "12:00", "vn-kz"), (51, 5, "exit", 3, "12:00", "vn-kz"),
        (52, 5, "entry", -100, "12:00", "no-such-regime"), (53, 5, "sideways", -100, "12:00", "vn-kz"),
    ])
    problems = {(r["event_id"], r["problem"]) for r in dq}
    assert problems == {
        (11, "duplicate"), (20, "exit_without_entry"), (30, "entry_without_exit"),
        (40, "out_of_order"), (51, "after_reference_date"), (52, "unknown_regime"), (53, "invalid_event"),
    }
    assert [r["kept"] for r in dq if r["problem"] == "out_of_order"] == [True]
    assert result.data_quality == {"duplicate": 1, "exit_without_entry": 1, "entry_without_exit": 1,
                                   "out_of_order": 1, "after_reference_date": 1, "unknown_regime": 1,
                                   "invalid_event": 1}
    got = {(s["traveller_id"], s["entry"], s["exit"]) for s in stays}
    assert got == {
        (1, ON - 50 * D, ON - 40 * D), (2, ON - 30 * D, ON - 20 * D), (3, ON - 70 * D, ON - 65 * D),
        (4, ON - 15 * D, ON - 10 * D), (5, ON - 5 * D, None),  # exit after `on`: still there
    }
    # read = paired into stays + set aside: 15 = 2*4 closed + 1 open + 6 dropped
    assert result.counts["events_read"] == 15
    assert (result.counts["closed_stays"], result.counts["open_stays"], result.counts["events_dropped"]) == (4, 1, 6)
    assert result.identity_holds


def test_same_day_exit_and_reentry_without_times_follows_recording_order():
    result, dq, stays = run([
        (1, 7, "entry", -40, None, "vn-kz"), (2, 7, "exit", -20, None, "vn-kz"),
        (3, 7, "entry", -20, None, "vn-kz"), (4, 7, "exit", -10, None, "vn-kz"),
    ])
    assert dq == []
    assert [(s["entry"], s["exit"]) for s in stays] == [(ON - 40 * D, ON - 20 * D), (ON - 20 * D, ON - 10 * D)]


def test_a_border_run_on_one_day_without_times_is_three_crossings_not_a_duplicate():
    # Issue 10, item 8: exit, entry, exit on one day in recording order (a border run).
    result, dq, stays = run([
        (1, 8, "entry", -40, None, "vn-kz"), (2, 8, "exit", -20, None, "vn-kz"),
        (3, 8, "entry", -20, None, "vn-kz"), (4, 8, "exit", -20, None, "vn-kz"),
        # and a real copy: the same exit recorded twice with nothing between
        (5, 9, "entry", -40, None, "vn-kz"), (6, 9, "exit", -30, None, "vn-kz"), (7, 9, "exit", -30, None, "vn-kz"),
    ])
    assert [(r["event_id"], r["problem"]) for r in dq] == [(7, "duplicate")]
    assert [(s["traveller_id"], s["entry"], s["exit"]) for s in stays] == [
        (8, ON - 40 * D, ON - 20 * D), (8, ON - 20 * D, ON - 20 * D), (9, ON - 40 * D, ON - 30 * D)]
    assert result.identity_holds


def test_generated_problems_are_all_found(population, duck_report):
    """The generator's injected problems, traveller by traveller, are the ones reported."""
    injected = Counter(population.injected)
    dq = duck_report.data_quality
    assert dq.get("duplicate", 0) == injected["duplicate"] > 0
    assert dq.get("exit_without_entry", 0) == injected["missing_entry"] > 0
    assert dq.get("entry_without_exit", 0) == injected["missing_exit"] > 0
    assert dq.get("out_of_order", 0) == injected["swap"] > 0
    con = duckdb.connect()
    truth = dict(con.execute(
        f"SELECT traveller_id, min(injected) FROM read_parquet('{population.out_dir}/*.parquet') "
        "WHERE injected <> 'none' GROUP BY 1").fetchall())
    expect = {"duplicate": "duplicate", "missing_entry": "exit_without_entry",
              "missing_exit": "entry_without_exit", "swap": "out_of_order"}
    reported = read_rows(f"{duck_report.out_dir}/data_quality.parquet")
    assert {(r["traveller_id"], r["problem"]) for r in reported} == {(t, expect[k]) for t, k in truth.items()}


def test_count_identity_on_generated_population(population, duck_report):
    c = duck_report.counts
    assert c["events_read"] == population.rows
    assert c["events_read"] == 2 * c["closed_stays"] + c["open_stays"] + c["events_dropped"]
    assert duck_report.identity_holds


def test_pairing_matches_a_plain_python_pairing(population, duck_report):
    """An independent pairing, a loop over each traveller's sorted, de-duplicated events."""
    con = duckdb.connect()
    rows = con.execute(
        f"SELECT traveller_id, regime, direction, local_date, local_time, event_id "
        f"FROM read_parquet('{population.out_dir}/*.parquet') ORDER BY traveller_id").fetchall()
    by: dict = {}
    for tid, regime, direction, day, time, eid in rows:
        by.setdefault(tid, []).append((day, time, eid, direction))
    expected = set()
    for tid, evs in by.items():
        # A duplicate repeats the event just before it (same direction, day, time) in recording
        # order; the first recorded copy is kept (issue 10, item 8).
        ordered = sorted(evs, key=lambda e: (e[0], e[1] is not None, e[1] or dt.time.min, e[2]))
        clean = [e for i, e in enumerate(ordered)
                 if i == 0 or (ordered[i - 1][0], ordered[i - 1][1], ordered[i - 1][3]) != (e[0], e[1], e[3])]
        open_entry = None
        for day, _time, _eid, direction in clean:
            if direction == "entry":
                open_entry = day
            elif open_entry is not None:
                expected.add((tid, open_entry, day))
                open_entry = None
        if open_entry is not None:
            expected.add((tid, open_entry, None))
    got = {(s["traveller_id"], s["entry"], s["exit"]) for s in read_rows(f"{duck_report.out_dir}/stays.parquet")}
    assert got == expected


def test_csv_input_without_regime_column(tmp_path):
    """A CSV log without `regime`: the regime covering nationality and destination is used."""
    events = events_of([{"pair": ("vn-kz", "KAZ", "VNM"), "start": -100, "trips": [(35, 10), (5, 0)],
                         "timed": True}])
    csv = tmp_path / "log.csv"
    cols = [c for c in events.column_names if c != "regime"]
    with csv.open("w") as fh:
        fh.write(",".join(cols) + "\n")
        for row in events.select(cols).to_pylist():
            fh.write(",".join("" if row[c] is None else str(row[c]) for c in cols) + "\n")
    result = duck.run([csv], tmp_path / "out", ON, threads=1)
    stays = read_rows(f"{tmp_path}/out/stays.parquet")
    assert result.identity_holds and result.counts["events_dropped"] == 0
    # the output's row order is not specified: in date order
    assert [(s["regime"], s["days"], s["violation_rule"]) for s in sorted(stays, key=lambda s: s["entry"])] == \
        [("vn-kz", 36, "per_stay_limit"), ("vn-kz", 6, None)]
