"""Bulk ingest: every row stored, duplicate or rejected, on both backends."""

import csv
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import func, select

from visafree.register import schema as s
from visafree.register.ingest import IngestError, ingest

from .helpers import D

HEADER = ["event_id", "issuing_state", "document_number", "nationality", "direction", "time", "border_post",
          "passport_type", "passport_expires"]


def rows(n_travellers=5, trips=2):
    out = []
    for t in range(n_travellers):
        for trip in range(trips):
            month = 1 + 2 * trip
            out.append([f"t{t}-{trip}-in", "KAZ", f"DOC{t:05d}", "KAZ", "entry", f"2025-{month:02d}-0{1 + t % 5}T08:00",
                        "HAN", "ordinary", "2031-01-01"])
            out.append([f"t{t}-{trip}-out", "KAZ", f"DOC{t:05d}", "KAZ", "exit", f"2025-{month:02d}-2{t % 5}T20:00",
                        "SGN", "ordinary", "2031-01-01"])
    return out


def write_csv(path, data, header=HEADER):
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(data)
    return path


def write_log(path, fmt, data, header=HEADER):
    """The rows as a log of the format `fmt` (csv, jsonl or parquet)."""
    if fmt == "csv":
        return write_csv(path, data, header)
    records = [dict(zip(header, r)) for r in data]
    if fmt == "jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    else:
        pq.write_table(pa.table({h: [r[h] for r in records] for h in header}), path)
    return path


def count(register):
    with register.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(s.crossings)).scalar()


def read_rejects(summary):
    with open(summary.rejects_file, encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_each_format_ingests_and_a_second_run_changes_nothing(register, tmp_path, fmt):
    path = write_log(tmp_path / f"log.{fmt}", fmt, rows())
    first = ingest(register, path, chunk_size=7)
    assert (first.read, first.stored, first.duplicates, first.rejected) == (20, 20, 0, 0)
    assert first.unpaired == {}
    second = ingest(register, path, chunk_size=7)
    assert (second.read, second.stored, second.duplicates, second.rejected) == (20, 0, 20, 0)
    assert count(register) == 20


def test_parquet_with_typed_columns(register, tmp_path):
    import datetime as dt
    path = tmp_path / "typed.parquet"
    pq.write_table(pa.table({
        "event_id": ["a", "b"], "issuing_state": ["KAZ", "KAZ"], "document_number": ["X1", "X1"],
        "nationality": ["KAZ", "KAZ"], "direction": ["entry", "exit"],
        "time": [dt.datetime(2025, 3, 1, 23, 55), dt.datetime(2025, 3, 2, 0, 5)], "border_post": ["HAN", "HAN"],
        "passport_expires": [dt.date(2031, 1, 1), dt.date(2031, 1, 1)],
    }), path)
    summary = ingest(register, path)
    assert summary.stored == 2
    key = register.traveller_key("KAZ", "X1")
    history = register.history(key, actor="t", on=D(2025, 3, 3))
    assert [(x["entry"], x["exit"]) for x in history.stays] == [(D(2025, 3, 1), D(2025, 3, 2))]  # two days


def test_bad_rows_are_rejected_with_line_and_reason(register, tmp_path):
    good = rows(1, 1)
    bad = [
        ["b1", "XYZ", "D1", "KAZ", "entry", "2025-03-01T10:00", "HAN", "ordinary", ""],
        ["b2", "KAZ", "D2", "KAZ", "entry", "2025-02-30T10:00", "HAN", "ordinary", ""],
        ["b3", "KAZ", "D3", "KAZ", "entry", "2026-01-01T10:00", "HAN", "ordinary", ""],
        ["b4", "KAZ", "D4", "KAZ", "sideways", "2025-03-01T10:00", "HAN", "ordinary", ""],
        ["b5", "KAZ", "D5", "KAZ", "entry", "2025-03-01T10:00", "HAN", "ordinary", "2031-13-01"],
        ["b6", "KAZ", "", "KAZ", "entry", "2025-03-01T10:00", "HAN", "ordinary", ""],
        ["b7", "KAZ", "SECRET99", "KAZ", "entry", "2025-03-01T10:00", "HAN", "tourist", ""],
    ]
    path = write_csv(tmp_path / "mixed.csv", good + bad + [good[0]])
    summary = ingest(register, path)
    assert (summary.read, summary.stored, summary.duplicates, summary.rejected) == (10, 2, 1, 7)
    rejects = read_rejects(summary)
    assert [(r["line"], r["event_id"], r["field"]) for r in rejects] == [
        ("4", "b1", "issuing_state"), ("5", "b2", "time"), ("6", "b3", "time"), ("7", "b4", "direction"),
        ("8", "b5", "passport_expires"), ("9", "b6", "document_number"), ("10", "b7", "passport_type")]
    assert "in the future" in rejects[2]["reason"] and "not a real" in rejects[1]["reason"]
    assert "SECRET99" not in open(summary.rejects_file, encoding="utf-8").read()


def test_wrong_encoding_and_truncated_csv(register, tmp_path):
    path = tmp_path / "latin1.csv"
    write_csv(path, rows(1, 1))
    with open(path, "ab") as handle:
        handle.write("b1,KAZ,D1,KAZ,entry,2025-03-01T10:00,Đà Nẵng,ordinary,\n".encode("cp1258", errors="replace").replace(b"?", b"\xd0"))
        handle.write(b"b2,KAZ,D2,KAZ,entry,2025-03-01T10:00,HAN,ordin")  # cut off mid-row
    summary = ingest(register, path)
    assert (summary.read, summary.stored, summary.rejected) == (4, 2, 2)
    rejects = read_rejects(summary)
    assert [(r["line"], r["field"]) for r in rejects] == [("4", "encoding"), ("5", "fields")]
    assert "truncated" in rejects[1]["reason"]


def test_truncated_jsonl_line_is_rejected(register, tmp_path):
    path = tmp_path / "log.jsonl"
    lines = [json.dumps(dict(zip(HEADER, r))) for r in rows(1, 1)]
    path.write_text(lines[0] + "\n" + lines[1][:30], encoding="utf-8")
    summary = ingest(register, path)
    assert (summary.read, summary.stored, summary.rejected) == (2, 1, 1)
    assert "truncated" in read_rejects(summary)[0]["reason"]


def test_truncated_parquet_is_a_clear_error_and_stores_nothing(register, tmp_path):
    path = tmp_path / "log.parquet"
    pq.write_table(pa.table({h: [r[i] for r in rows()] for i, h in enumerate(HEADER)}), path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(IngestError, match="not a complete Parquet file"):
        ingest(register, path)
    assert count(register) == 0


def test_missing_columns_and_unknown_format(register, tmp_path):
    path = write_csv(tmp_path / "short.csv", [], header=["event_id", "time"])
    with pytest.raises(IngestError, match="lacks the column"):
        ingest(register, path)
    other = tmp_path / "log.xml"
    other.write_text("<x/>")
    with pytest.raises(IngestError, match="--format"):
        ingest(register, other)


def test_unpaired_events_are_kept_and_reported(register, tmp_path):
    data = [
        ["u1", "KAZ", "U1", "KAZ", "entry", "2025-03-01", "HAN", "ordinary", "2031-01-01"],
        ["u2", "KAZ", "U1", "KAZ", "entry", "2025-03-10", "HAN", "ordinary", "2031-01-01"],
        ["u3", "KAZ", "U2", "KAZ", "exit", "2025-03-05", "HAN", "ordinary", "2031-01-01"],
    ]
    summary = ingest(register, write_csv(tmp_path / "u.csv", data))
    assert summary.stored == 3
    assert summary.unpaired == {"entry_without_exit": 1, "exit_without_entry": 1}
    status = register.status(register.traveller_key("KAZ", "U1"), D(2025, 3, 12), actor="t")
    assert status.in_country and status.entry == D(2025, 3, 10) and status.unpaired == ("entry_without_exit",)


def test_ingested_entries_get_the_engines_permitted_end(register, tmp_path):
    data = [["i1", "KAZ", "I1", "KAZ", "entry", "2025-04-01", "HAN", "ordinary", "2031-01-01"]]
    ingest(register, write_csv(tmp_path / "i.csv", data))
    found = register.overstayers(D(2025, 5, 5), actor="t")
    assert [(o.permitted_end, o.days_past_end, o.basis) for o in found] == [(D(2025, 4, 30), 5, "engine")]


def test_cli_ingest_prints_the_balance(register_env, tmp_path):
    import subprocess
    import sys
    path = write_csv(tmp_path / "c.csv", rows(2, 1) + [["bad", "KAZ", "Z", "KAZ", "entry", "x", "HAN", "ordinary", ""]])
    done = subprocess.run([sys.executable, "-c", "from visafree.cli import main; main()", "register", "ingest", str(path),
                           "--no-progress"], env=register_env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "read 5 = stored 4 + duplicates 0 + rejected 1" in done.stdout


def test_parquet_column_path_stores_what_the_row_path_stores(make_register, register_url, tmp_path, monkeypatch):
    """PostgreSQL stores good Parquet rows column by column (fastpath.py); mixed with bad rows,
    repeated event ids and a traveller with one bad row, the result is the row path's, row for row."""
    from visafree.register import ingest as ingest_module

    import datetime as dt

    columns = {c: [] for c in ("event_id", "issuing_state", "document_number", "nationality", "direction", "time",
                               "border_post", "passport_expires")}

    def add(event_id, state, number, direction, moment, post="HAN"):
        for name, value in zip(columns, (event_id, state, number, "KAZ", direction, moment, post, D(2031, 1, 1))):
            columns[name].append(value)

    for t in range(30):
        add(f"p{t}-in", "KAZ", f"P{t:05d}", "entry", dt.datetime(2025, 1, 1 + t, 23, 55))
        add(f"p{t}-out", "KAZ", f"P{t:05d}", "exit", dt.datetime(2025, 2, 1 + t % 20, 0, 5))
    add("old-in", "KAZ", "P00099", "entry", dt.datetime(1969, 12, 31, 23, 30))  # before 1970: the day is floored
    add("old-out", "KAZ", "P00099", "exit", dt.datetime(1970, 1, 1, 0, 10), "Хоргос")  # a name beyond ASCII
    add("bad-state", "XKZ", "P00001", "entry", dt.datetime(2025, 3, 1))  # makes traveller P00001 take the row path
    add("p2-in", "KAZ", "P00002", "entry", dt.datetime(2025, 1, 3, 23, 55))  # repeated id, same content: duplicate
    add("p3-in", "KAZ", "P00003", "exit", dt.datetime(2025, 1, 9))  # repeated id, other content: conflict
    add("nul", "KAZ", "P00004", "entry", dt.datetime(2025, 3, 1), "H\x00N")
    add("future", "KAZ", "P00005", "entry", dt.datetime(2025, 7, 1))
    path = tmp_path / "mixed.parquet"
    pq.write_table(pa.table(columns), path)

    results = []
    for fast in (True, False):
        register = make_register()
        with register.engine.begin() as conn:
            conn.execute(s.crossings.delete())
        if not fast:
            monkeypatch.setattr(ingest_module, "_parquet_split", lambda *a: (None, None))
        summary = ingest(register, path, rejects=tmp_path / f"r{fast}.csv")
        again = ingest(register, path, rejects=tmp_path / f"again{fast}.csv")
        with register.engine.connect() as conn:
            rows = sorted(tuple(r) for r in conn.execute(select(*[c for c in s.crossings.c if c.name not in ("id", "recorded_at")])))
        rejects = sorted(open(tmp_path / f"r{fast}.csv").read().splitlines())
        results.append(((summary.read, summary.stored, summary.duplicates, summary.rejected),
                        (again.stored, again.duplicates, again.rejected), rows, rejects))
    assert results[0] == results[1]
    assert results[0][0] == (67, 62, 1, 4)


def test_an_event_id_taken_by_another_writer_mid_chunk_is_a_conflict(make_register, tmp_path):
    """Another traveller's crossing with one of the file's event ids, committed while the ingest
    stores its chunk: that row goes to the rejects as a conflict and the rest are stored. On
    PostgreSQL the chunk's COPY is made to wait on that other transaction's row (the case its
    savepoint is for); on SQLite the ingest waits for the write lock."""
    import threading
    import time

    from sqlalchemy import text

    import datetime as dt

    register = make_register()
    columns = {c: [] for c in ("event_id", "issuing_state", "document_number", "nationality", "direction", "time",
                               "border_post", "passport_expires")}
    for t in range(20):
        for event_id, direction, day in ((f"w{t}-in", "entry", 1 + t), (f"w{t}-out", "exit", 2 + t)):
            for name, value in zip(columns, (event_id, "KAZ", f"W{t:05d}", "KAZ", direction,
                                             dt.datetime(2025, 3, day, 12), "HAN", D(2031, 1, 1))):
                columns[name].append(value)
    path = tmp_path / "log.parquet"
    pq.write_table(pa.table(columns), path)

    other = register.engine.connect()
    other_tx = other.begin()
    other.execute(s.crossings.insert().values(
        event_id="w7-in", traveller_key="f" * 64, issuing_state="KAZ", nationality="KAZ", passport_type="ordinary",
        direction="entry", destination="VNM", border_post="SGN", local_date=D(2025, 3, 3), source="desk",
        withdraws=False, recorded_by="officer", recorded_at=dt.datetime(2025, 3, 3, tzinfo=dt.timezone.utc)))
    result = {}
    worker = threading.Thread(target=lambda: result.update(summary=ingest(register, path, chunk_size=1000)))
    worker.start()
    if register.engine.dialect.name == "postgresql":
        deadline = time.monotonic() + 30
        with register.engine.connect() as probe:
            while time.monotonic() < deadline:
                waiting = probe.execute(text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                             "AND query LIKE 'COPY crossings%'")).scalar()
                probe.rollback()
                if waiting:
                    break
                time.sleep(0.05)
            else:
                pytest.fail("the ingest's COPY never waited on the other transaction")
    else:
        time.sleep(0.5)
    other_tx.commit()
    other.close()
    worker.join(60)
    summary = result["summary"]
    assert (summary.read, summary.stored, summary.duplicates, summary.rejected) == (40, 39, 0, 1)
    assert [(r["event_id"], r["field"]) for r in read_rejects(summary)] == [("w7-in", "event_id")]
    assert "event_id_conflict" in read_rejects(summary)[0]["reason"]
    assert count(register) == 40


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_a_chunk_of_thousands_of_travellers_fits_postgresqls_lock_table(register, tmp_path, fmt):
    """A daily log holds one crossing per traveller. Four writers' chunks of 10,000 of them once
    took 40,000 advisory locks at once, over PostgreSQL's shared lock table (64 x 100 entries by
    default): "out of shared memory", a traceback. The locks are on buckets of the key space
    (db.lock_ids): at most 4,096 whatever the chunk, and the writers' chunks never share one."""
    n = 40_000
    data = [[f"d{t}", "KAZ", f"D{t:07d}", "KAZ", "entry", "2025-03-01T08:00", "HAN", "ordinary", "2031-01-01"]
            for t in range(n)]
    path = tmp_path / f"daily.{fmt}"
    if fmt == "csv":
        write_csv(path, data)
    else:
        pq.write_table(pa.table({h: [r[i] for r in data] for i, h in enumerate(HEADER)}), path)
    summary = ingest(register, path, chunk_size=10_000, writers=4, report_unpaired=False)
    assert (summary.read, summary.stored, summary.rejected) == (n, n, 0)
    assert count(register) == n


def test_lock_buckets_keep_the_global_order_and_chunks_never_share_one(make_register, tmp_path):
    """The lock ids are few, ascending, one per bucket; the fast path's chunks hold whole
    buckets, each bucket in one chunk only, every row once; in ascending order, or for several
    writers in as many interleaved runs, each ascending."""
    import datetime as dt

    from visafree.register.db import LOCK_BUCKETS, lock_bucket, lock_ids
    from visafree.register.fastpath import chunks, split

    register = make_register()
    keys = [register.traveller_key("KAZ", f"N{i:07d}") for i in range(20_000)]
    ids = lock_ids(keys)
    assert ids == sorted(set(ids)) and len(ids) <= LOCK_BUCKETS
    assert lock_ids(keys[:1]) == lock_ids([keys[0], keys[0]]) and len(lock_ids(keys[:1])) == 1

    travellers = 3_000
    table = pa.table({
        "event_id": [f"e{t}-{k}" for t in range(travellers) for k in range(2)],
        "issuing_state": ["KAZ"] * (2 * travellers), "nationality": ["KAZ"] * (2 * travellers),
        "document_number": [f"N{t:07d}" for t in range(travellers) for _k in range(2)],
        "direction": ["entry", "exit"] * travellers, "border_post": ["HAN"] * (2 * travellers),
        "time": [dt.datetime(2025, 3, 1 + k, 8) for _t in range(travellers) for k in range(2)],
    })
    fast, slow = split(register, table, dt.date(2100, 1, 1))
    if fast is None:  # this register's destination has several zones: the row path takes all
        pytest.skip("no vectorised path for this register")
    assert slow == []
    in_order = chunks(fast, 500)
    seen, last = [], -1
    for rows in in_order:
        buckets = set(fast.table["bucket"].take(rows).to_pylist())
        assert min(buckets) > last  # ascending, disjoint
        last = max(buckets)
        seen.extend(rows.to_pylist())
        keys_of_chunk = fast.table["traveller_key"].take(rows).to_pylist()
        assert {lock_bucket(k) for k in keys_of_chunk} == buckets
        assert keys_of_chunk == [register.traveller_key("KAZ", n) for n in table["document_number"].take(rows).to_pylist()]
    assert sorted(seen) == list(range(table.num_rows)) == fast.ready.to_pylist()
    assert len(in_order) == 12
    # Two writers: chunks 0, 6, 1, 7... (the ones stored at once far apart); three: 0, 4, 8, 1...
    for apart, expected in ((2, [0, 6, 1, 7, 2, 8, 3, 9, 4, 10, 5, 11]), (3, [0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11])):
        assert [c.to_pylist() for c in chunks(fast, 500, apart)] == [in_order[i].to_pylist() for i in expected]


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_an_ingest_returns_once_every_chunk_it_stored_is_on_disk(register, tmp_path, monkeypatch, fmt):
    """PostgreSQL: an ingest's chunks commit without waiting for the disk (db.chunk_transaction),
    and the ingest returns only after db.wal_barrier has flushed the WAL past every chunk's
    commit: what its summary counts as stored survives a crash of the machine. SQLite: each
    commit as its journal makes it; the barrier has nothing to do."""
    import contextlib

    import visafree.register.ingest as ingest_module
    from sqlalchemy import text

    from visafree.register import db

    postgres = register.engine.dialect.name == "postgresql"
    committed, flushed = [], []
    real_chunk, real_barrier = db.chunk_transaction, db.wal_barrier

    @contextlib.contextmanager
    def chunk(engine, keys=()):
        with real_chunk(engine, keys) as conn:
            if postgres:
                assert conn.exec_driver_sql("SHOW synchronous_commit").scalar() == "off"
            yield conn
        if postgres:  # after the commit: the WAL's end is past the commit record
            with engine.connect() as other:
                committed.append(other.exec_driver_sql("SELECT pg_current_wal_insert_lsn()::text").scalar())

    def barrier(engine):
        real_barrier(engine)
        if postgres:
            with engine.connect() as conn:
                assert conn.exec_driver_sql("SHOW synchronous_commit").scalar() == "on"  # SET LOCAL ended
                flushed.append(conn.execute(text("SELECT bool_and(pg_current_wal_flush_lsn() >= lsn::pg_lsn) "
                                                 "FROM unnest(CAST(:lsns AS text[])) AS t(lsn)"),
                                            {"lsns": committed}).scalar())

    monkeypatch.setattr(ingest_module, "chunk_transaction", chunk)
    monkeypatch.setattr(ingest_module, "wal_barrier", barrier)
    data = rows(n_travellers=40)
    path = tmp_path / f"log.{fmt}"
    if fmt == "csv":
        write_csv(path, data)
    else:
        pq.write_table(pa.table({h: [r[i] for r in data] for i, h in enumerate(HEADER)}), path)
    summary = ingest(register, path, chunk_size=20)
    assert summary.stored == len(data) == count(register)
    if postgres:
        assert len(committed) >= 3 and flushed == [True]


def test_the_column_checks_forbid_the_characters_the_row_checks_forbid():
    """fastpath's vectorised checks clear printable ASCII by a byte test and send only the other
    values through the regular expression, and take a document number's form without one: for
    any text, in a column of one chunk or several, the answer is validate.py's (the row path's)."""
    import re

    from hypothesis import given, settings, strategies as st

    from visafree.register import validate
    from visafree.register.fastpath import _no_forbidden, _number_form_ok

    alphabet = st.one_of(st.characters(codec="utf-8"), st.sampled_from("\x00\t\x1f\x7f\x85\x9f\u2028\u2029\ufeffAZ09 ßı"))
    values = st.lists(st.one_of(st.none(), st.text(alphabet, max_size=25)), max_size=40)

    @settings(max_examples=300, deadline=None)
    @given(values, st.integers(0, 40))
    def check(values, cut):
        column = pa.chunked_array([values[:cut], values[cut:]], pa.string())
        assert _no_forbidden(column).to_pylist() == [v is None or validate.bad_character(v) is None for v in values]
        numbers = [v.upper() if v is not None else None for v in values]
        expected = [None if v is None else bool(re.fullmatch("[A-Z0-9]{1,20}", v)) for v in numbers]
        assert _number_form_ok(pa.chunked_array([numbers], pa.string())).to_pylist() == expected

    check()


def test_the_binary_copy_of_a_chunk_reads_back_as_its_values(make_register):
    """fastpath.copy_binary writes PostgreSQL's binary COPY format itself, column by column: every
    value the checks let through (any Unicode text, dates before and after 2000, times to the
    microsecond, NULLs) is what the server reads back. SQLite takes the row path: nothing to do."""
    import datetime as dt

    from hypothesis import HealthCheck, given, settings, strategies as st

    from visafree.register.fastpath import copy_binary
    from visafree.register.ingest import COLUMNS

    register = make_register()
    if register.engine.dialect.name != "postgresql":
        assert register.engine.dialect.name == "sqlite"
        return
    text_ = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=0, max_size=70)
    dates = st.dates(dt.date(1900, 1, 1), dt.date(2199, 12, 31))
    row = st.tuples(text_, text_.map(lambda t: t[:64]), dates | st.none(), dates,
                    st.times() | st.none())
    at = dt.datetime(2025, 6, 1, 12, 30, 15, 123456, tzinfo=dt.timezone.utc)
    names = ", ".join(COLUMNS)

    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(row, min_size=1, max_size=30), st.text(st.characters(blacklist_categories=("Cs", "Cc")),
                                                          min_size=1, max_size=20))
    def round_trip(values, recorded_by):
        n = len(values)
        table = pa.table({
            "event_id": [f"{i}:{v[0]}" for i, v in enumerate(values)], "traveller_key": [v[1] for v in values],
            "issuing_state": ["KAZ"] * n, "nationality": ["VNM"] * n, "passport_type": ["ordinary"] * n,
            "passport_expires": pa.array([v[2] for v in values], pa.date32()), "direction": ["entry", "exit"] * (n // 2) + ["entry"] * (n % 2),
            "destination": ["VNM"] * n, "border_post": [v[0][:64] for v in values],
            "local_date": pa.array([v[3] for v in values], pa.date32()),
            "local_time": pa.array([v[4] for v in values], pa.time64("us")),
        })
        with register.engine.begin() as conn:
            raw = conn.connection.dbapi_connection
            with raw.cursor() as cursor:
                cursor.execute(f"CREATE TEMP TABLE copied ON COMMIT DROP AS SELECT {names} FROM crossings WITH NO DATA")
                with cursor.copy(f"COPY copied ({names}) FROM STDIN (FORMAT binary)") as copy:
                    copy.write(copy_binary(table.slice(0), recorded_by, at))
                cursor.execute(f"SELECT {names} FROM copied")
                back = cursor.fetchall()
        expected = [tuple(r[c] for c in table.column_names) + ("ingest", False, recorded_by, at) for r in table.to_pylist()]
        assert back == expected

    round_trip()


# -- an entry's basis (issue 13), in a batch log's columns --------------------------------------

BASIS_HEADER = HEADER + ["basis", "valid_from", "valid_until", "visa_entries", "visa_duration_days", "visa_kind"]


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_an_entrys_basis_in_the_log_counts_as_the_desks_would(register, tmp_path, fmt):
    """docs/basis.md: a visa holder's stay ends with the visa, a permit holder's with the permit,
    not after the 30 visa-free days (R2); an exit's basis columns are not read."""
    def row(event_id, number, direction, day, *basis):
        return [event_id, "KAZ", number, "KAZ", direction, f"2025-{day}T08:00", "HAN", "ordinary", "2031-01-01",
                *(list(basis) + [""] * (6 - len(basis)))]

    data = [row("free-in", "F0000001", "entry", "01-01"),
            row("visa-in", "V0000001", "entry", "01-01", "visa", "2025-01-01", "2025-03-31", "single", "", "e_visa"),
            row("permit-in", "P0000001", "entry", "01-01", "Residence_Permit ", "", "2025-12-31"),
            row("short-in", "S0000001", "entry", "01-01", "visa", "2025-01-01", "2025-12-31", "", "45", ""),
            row("short-out", "S0000001", "exit", "01-10", "nonsense")]
    summary = ingest(register, write_log(tmp_path / f"log.{fmt}", fmt, data, BASIS_HEADER))
    assert (summary.read, summary.stored, summary.rejected) == (5, 5, 0), read_rejects(summary)
    with register.engine.connect() as conn:
        stored = {r.event_id: r for r in conn.execute(select(s.crossings))}
    assert (stored["visa-in"].stay_basis, stored["visa-in"].basis_valid_until, stored["visa-in"].visa_entries,
            stored["visa-in"].visa_kind) == ("visa", D(2025, 3, 31), "single", "e_visa")
    assert (stored["permit-in"].stay_basis, stored["permit-in"].basis_valid_until) == ("residence_permit", D(2025, 12, 31))
    assert (stored["short-in"].visa_duration_days, stored["short-in"].visa_entries, stored["short-in"].visa_kind) \
        == (45, "multiple", "short_stay")  # the defaults, as at the desk
    assert stored["free-in"].stay_basis is None and stored["short-out"].stay_basis is None

    def listed(on):
        return {o.stay_basis: o.permitted_end for o in register.overstayers(on, actor="t")}

    assert listed(D(2025, 3, 15)) == {"visa_free": D(2025, 1, 30)}
    assert listed(D(2025, 4, 10)) == {"visa_free": D(2025, 1, 30), "visa": D(2025, 3, 31)}


def test_a_bad_basis_is_rejected_by_its_column_and_nothing_else_is_lost(register, tmp_path):
    def row(event_id, number, *basis):
        return [event_id, "KAZ", number, "KAZ", "entry", "2025-01-01T08:00", "HAN", "ordinary", "2031-01-01",
                *(list(basis) + [""] * (6 - len(basis)))]

    data = [row("b1", "N1", "tourist"),
            row("b2", "N2", "visa", "", "2025-03-31"),
            row("b3", "N3", "visa", "2025-03-31", "2025-01-01"),
            row("b4", "N4", "visa", "2025-01-01", "2025-03-31", "triple"),
            row("b5", "N5", "visa", "2025-01-01", "2025-03-31", "", "0"),
            row("b6", "N6", "visa", "2025-01-01", "2025-03-31", "", "ten"),
            row("b7", "N7", "visa", "2025-01-01", "2025-03-31", "", "", "golden"),
            row("b8", "N8", "residence_permit"),
            row("b9", "N9", "visa", "2025-02-30", "2025-03-31"),
            row("b10", "N10", "long_stay_visa")]
    summary = ingest(register, write_csv(tmp_path / "log.csv", data, BASIS_HEADER))
    assert (summary.read, summary.stored, summary.duplicates, summary.rejected) == (10, 1, 0, 9)
    assert {r["event_id"]: r["field"] for r in read_rejects(summary)} == {
        "b1": "basis", "b2": "valid_from", "b3": "valid_until", "b4": "visa_entries", "b5": "visa_duration_days",
        "b6": "visa_duration_days", "b7": "visa_kind", "b8": "valid_until", "b9": "valid_from"}


def test_the_same_event_with_another_basis_is_a_conflict(register, tmp_path):
    """A visa-free entry and the same event id on a visa are two different crossings."""
    first = [["e1", "KAZ", "N1", "KAZ", "entry", "2025-01-01T08:00", "HAN", "ordinary", "2031-01-01"] + [""] * 6]
    again = [first[0][:9] + ["visa", "2025-01-01", "2025-03-31", "", "", ""]]
    assert ingest(register, write_csv(tmp_path / "a.csv", first, BASIS_HEADER)).stored == 1
    summary = ingest(register, write_csv(tmp_path / "b.csv", again, BASIS_HEADER))
    assert (summary.stored, summary.duplicates, summary.rejected) == (0, 0, 1)
    assert "event_id_conflict" in read_rejects(summary)[0]["reason"]
    assert ingest(register, tmp_path / "a.csv").duplicates == 1


def test_parquet_with_bases_stores_by_columns_what_the_row_path_stores(make_register, tmp_path, monkeypatch):
    """A log with a basis column: its visa-free rows take the column-by-column path on
    PostgreSQL, a visa's or a permit's entry (and its traveller) the row path, and the result
    is the row path's alone, row for row; re-run, the same event ids are duplicates."""
    import datetime as dt

    from visafree.register import ingest as ingest_module

    header = BASIS_HEADER
    data = []
    for t in range(40):
        basis = [["", None, None], ["visa_free", None, None], [" VISA ", D(2025, 1, 1), D(2025, 6, 30)],
                 ["residence_permit", None, D(2026, 1, 1)], ["visa", None, D(2025, 6, 30)]][t % 5]
        data.append([f"q{t}-in", "KAZ", f"Q{t:05d}", "KAZ", "entry", dt.datetime(2025, 1, 1 + t % 28, 9), "HAN",
                     "ordinary", D(2031, 1, 1), basis[0], basis[1], basis[2], None, None, None])
        data.append([f"q{t}-out", "KAZ", f"Q{t:05d}", "KAZ", "exit", dt.datetime(2025, 3, 1 + t % 28, 9), "HAN",
                     "ordinary", D(2031, 1, 1), "visa" if t % 7 == 0 else None, None, None, None, None, None])
    path = write_log(tmp_path / "bases.parquet", "parquet", data, header)
    visa_free = {r[2] for r in data} - {r[2] for r in data if (r[9] or "").strip().lower() not in ("", "visa_free")}
    results, split = [], []
    for fast in (True, False):
        register = make_register()
        with register.engine.begin() as conn:
            conn.execute(s.crossings.delete())
        if fast:
            real = ingest_module._parquet_split
            monkeypatch.setattr(ingest_module, "_parquet_split", lambda *a: split.append(real(*a)) or split[-1])
        else:
            monkeypatch.setattr(ingest_module, "_parquet_split", lambda *a: (None, None))
        summary = ingest(register, path, rejects=tmp_path / f"r{fast}.csv")
        again = ingest(register, path, rejects=tmp_path / f"again{fast}.csv")
        with register.engine.connect() as conn:
            rows_ = sorted(tuple(r) for r in conn.execute(select(*[c for c in s.crossings.c if c.name not in ("id", "recorded_at")])))
        results.append(((summary.read, summary.stored, summary.rejected), (again.duplicates, again.rejected), rows_,
                        sorted(open(tmp_path / f"r{fast}.csv").read().splitlines())))
    assert results[0] == results[1]
    assert results[0][0] == (80, 72, 8) and results[0][1] == (72, 8)  # a visa without valid_from: 8 rejected
    if split:  # PostgreSQL: the visa-free travellers' rows went column by column, the others by row
        assert split[0][0].rows == 2 * len(visa_free) > 0


def test_the_final_flush_is_never_claimed_without_its_lock_record(make_register, tmp_path):
    """db.wal_barrier flushes by committing a key-share lock on the key's fingerprint row: on a
    PostgreSQL register without one (never through the CLI or the server, which refuse to start
    so) the ingest says it cannot vouch for the disk instead of returning as if it could."""
    register = make_register()
    with register.engine.begin() as conn:
        conn.execute(s.register_keys.delete())
    path = write_csv(tmp_path / "log.csv", rows(2, 1))
    if register.engine.dialect.name == "postgresql":
        with pytest.raises(RuntimeError, match="no key fingerprint"):
            ingest(register, path)
    else:
        assert ingest(register, path).stored == 4
