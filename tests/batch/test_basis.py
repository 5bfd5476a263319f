"""Bases of stay in the batch (docs/basis.md, issue 13): with a `basis` column (and the visa
columns), the DuckDB and Spark pipelines equal the engine on random populations of visa,
permit and visa-free stays; unreadable bases are reported, never guessed at."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from visafree.batch import duck, oracle

from .conftest import ON, read_rows

PAIRS = [("vn-kz", "KAZ", "VNM"), ("vn-kz", "VNM", "KAZ"), ("schengen", "USA", "FRA"), ("schengen", "KAZ", "FRA")]
COLUMNS = ("event_id", "traveller_id", "nationality", "destination", "border_post", "direction", "local_date",
           "local_time", "regime", "basis", "valid_from", "valid_until", "visa_entries", "visa_duration_days",
           "visa_kind")
SCHEMA = pa.schema([
    ("event_id", pa.int64()), ("traveller_id", pa.int64()), ("nationality", pa.string()),
    ("destination", pa.string()), ("border_post", pa.string()), ("direction", pa.string()),
    ("local_date", pa.date32()), ("local_time", pa.string()), ("regime", pa.string()), ("basis", pa.string()),
    ("valid_from", pa.date32()), ("valid_until", pa.date32()), ("visa_entries", pa.string()),
    ("visa_duration_days", pa.int64()), ("visa_kind", pa.string()),
])

# A visa: (valid_from, length of validity, entries, duration or None), days relative to ON.
visa = st.tuples(st.integers(-400, 0), st.integers(0, 200), st.sampled_from(["single", "double", "multiple"]),
                 st.one_of(st.none(), st.integers(1, 90)))
trip = st.tuples(st.integers(0, 60), st.integers(0, 70), st.integers(0, 5))  # (days - 1, gap, basis pick)
traveller = st.fixed_dictionaries({
    "pair": st.sampled_from(PAIRS),
    "start": st.integers(-420, 0),
    "trips": st.lists(trip, min_size=1, max_size=7),
    "visas": st.lists(visa, min_size=1, max_size=2),
    "permit_until": st.integers(-300, 30),
})


def basis_columns(t: dict, pick: int) -> tuple:
    """Most trips visa-free; others on one of the traveller's visas (shared: entries count), a
    residence permit or a long-stay visa."""
    if pick <= 1:
        return (None, None, None, None, None, None)
    if pick <= 3:
        since, length, entries, duration = t["visas"][(pick - 2) % len(t["visas"])]
        return ("visa", ON + dt.timedelta(days=since), ON + dt.timedelta(days=since + length), entries, duration, "short_stay")
    if pick == 4:
        return ("residence_permit", None, ON + dt.timedelta(days=t["permit_until"]), None, None, None)
    return ("long_stay_visa", None, None, None, None, None)


def events_of(travellers: list[dict]) -> pa.Table:
    cols = {c: [] for c in COLUMNS}
    for tid, t in enumerate(travellers):
        regime, nat, dest = t["pair"]
        day, seq, per_day = t["start"], 0, {}
        for dur, gap, pick in t["trips"]:
            entry, exit = day, day + dur
            if entry > 0:
                break
            basis = basis_columns(t, pick)
            for direction, d in (("entry", entry), ("exit", exit)):
                if d > 0:  # the log ends on the reference date: the stay is still open
                    break
                rank = per_day.get(d, 0)
                per_day[d] = rank + 1
                row = (tid * 1000 + seq, tid, nat, dest, "P1", direction, ON + dt.timedelta(days=d),
                       f"{6 + 3 * rank:02d}:00", regime, *(basis if direction == "entry" else (None,) * 6))
                for name, value in zip(COLUMNS, row):
                    cols[name].append(value)
                seq += 1
            day = exit + gap
    return pa.table(cols, schema=SCHEMA)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(traveller, min_size=1, max_size=6))
def test_duckdb_with_bases_equals_engine_on_random_populations(con, travellers):
    table = events_of(travellers)
    result, con = duck.run_arrow(table, ON, con=con)
    assert result.identity_holds
    assert result.counts["events_dropped"] == 0  # clean input: everything pairs
    stays = duck.fetch_dicts(con, "SELECT * FROM vf_stays")
    people = duck.fetch_dicts(con, "SELECT * FROM vf_travellers")
    assert oracle.differences(stays, people, ON) == []


def test_an_unreadable_basis_is_reported_with_its_reason(con):
    travellers = [{"pair": PAIRS[0], "start": -100, "trips": [(10, 5, 2)], "visas": [(-120, 60, "single", None)],
                   "permit_until": 0}]
    table = events_of(travellers)
    bad = table.to_pylist()
    bad[0]["valid_until"], bad[0]["valid_from"] = bad[0]["valid_from"], bad[0]["valid_until"]  # until before from
    bad += [dict(bad[1], event_id=90, direction="entry", basis="golden_visa", local_date=ON),
            dict(bad[1], event_id=91, direction="entry", basis="visa", valid_from=None, local_date=ON)]
    result, con = duck.run_arrow(pa.Table.from_pylist(bad, schema=SCHEMA), ON, con=con)
    assert result.identity_holds
    assert result.data_quality["invalid_basis"] == 3  # the swapped dates, the unknown basis, no valid_from
    assert result.data_quality["exit_without_entry"] == 1  # the exit of the entry refused


def test_without_a_basis_column_the_answers_are_the_visa_free_ones(con):
    """The same stays with and without the basis columns (all visa-free) give the same outputs."""
    travellers = [{"pair": p, "start": -300 + 40 * i, "trips": [(35, 3, 0), (60, 0, 1), (20, 10, 0)],
                   "visas": [(-400, 10, "single", None)], "permit_until": 0} for i, p in enumerate(PAIRS)]
    table = events_of(travellers)
    _, con = duck.run_arrow(table, ON, con=con)
    with_bases = duck.fetch_dicts(con, "SELECT * FROM vf_travellers ORDER BY traveller_id")
    _, con = duck.run_arrow(table.drop(["basis", "valid_from", "valid_until", "visa_entries", "visa_duration_days",
                                        "visa_kind"]), ON, con=con)
    without = duck.fetch_dicts(con, "SELECT * FROM vf_travellers ORDER BY traveller_id")
    assert [{k: v for k, v in r.items() if k != "current_basis"} for r in with_bases] == without
    assert any(r["overstay_days"] for r in without)  # the comparison covers overstays


@pytest.mark.spark
def test_spark_with_bases_equals_the_engine(spark_session, tmp_path, con):
    from visafree.batch import spark

    # A fixed population, seeded, in the shape of the strategy above, with every basis present.
    import random

    rng = random.Random(13)
    travellers = [{"pair": rng.choice(PAIRS), "start": rng.randint(-420, 0),
                   "trips": [(rng.randint(0, 60), rng.randint(0, 70), rng.randint(0, 5)) for _ in range(rng.randint(1, 7))],
                   "visas": [(rng.randint(-400, 0), rng.randint(0, 200), rng.choice(["single", "double", "multiple"]),
                              rng.choice([None, rng.randint(1, 90)])) for _ in range(rng.randint(1, 2))],
                   "permit_until": rng.randint(-300, 30)} for _ in range(40)]
    travellers.append({"pair": PAIRS[3], "start": -200, "trips": [(30, 0, 2), (40, 0, 3), (20, 5, 4), (10, 1, 5)],
                       "visas": [(-250, 120, "double", 45)], "permit_until": -60})
    table = events_of(travellers)
    import pyarrow.parquet as pq

    pq.write_table(table, tmp_path / "events.parquet")
    report = spark.run([tmp_path / "events.parquet"], tmp_path / "spark", ON, spark=spark_session)
    assert report.identity_holds
    stays = read_rows(f"{tmp_path}/spark/stays.parquet/*.parquet")
    people = read_rows(f"{tmp_path}/spark/travellers.parquet/*.parquet")
    assert {r["basis"] for r in stays} == {"visa_free", "visa", "residence_permit", "long_stay_visa"}
    assert oracle.differences(stays, people, ON) == []
    duck_result, con = duck.run_arrow(table, ON, con=con)
    assert report.counts == duck_result.counts


def test_the_csv_example_of_the_docs(tmp_path):
    """docs/batch.md's example, as CSV (no local_time column): the e-visa stay is no overstay and
    ends on its 90th day; the permit days are not counted."""
    csv = tmp_path / "crossings.csv"
    csv.write_text(
        "event_id,traveller_id,nationality,destination,direction,local_date,basis,valid_from,valid_until,"
        "visa_entries,visa_duration_days,visa_kind\n"
        "1,7,KAZ,VNM,entry,2025-03-01,visa,2025-02-20,2025-05-31,single,90,e_visa\n"
        "2,7,KAZ,VNM,exit,2025-05-29,,,,,,\n"
        "3,8,USA,FRA,entry,2024-09-01,residence_permit,,2025-02-28,,,\n"
        "4,8,USA,FRA,exit,2025-02-28,,,,,,\n"
        "5,8,USA,FRA,entry,2025-03-01,,,,,,\n")
    on = dt.date(2025, 5, 1)
    result = duck.run([csv], tmp_path / "out", on, memory_limit="512MB", threads=1)
    assert result.identity_holds and result.data_quality == {"after_reference_date": 1}
    people = {r["traveller_id"]: r for r in read_rows(f"{tmp_path}/out/travellers.parquet")}
    assert (people[7]["overstay_days"], people[7]["latest_exit"], people[7]["limited_by"]) == (0, dt.date(2025, 5, 29), "visa_duration")
    assert (people[8]["days_used"], people[8]["latest_exit"], people[8]["limited_by"]) == (62, dt.date(2025, 5, 29), "window_limit")
    stays = read_rows(f"{tmp_path}/out/stays.parquet")
    assert oracle.differences(stays, list(people.values()), on) == []
