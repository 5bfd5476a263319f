"""Issue 10, items 4 and 5: nothing personal where it should not be, and conflicts are conflicts."""

from __future__ import annotations

import csv
import os
import stat
import threading

import pytest
from sqlalchemy import select, text

from visafree.register import schema as s
from visafree.register.export import overstayers_csv
from visafree.register.ingest import ingest
from visafree.register.service import Document, RegisterError

from .helpers import D, kaz


def test_rejects_never_hold_a_document_number_whatever_the_header_order(register, tmp_path):
    path = tmp_path / "odd.csv"
    path.write_text("document_number,event_id,issuing_state,nationality,direction,time,border_post\n"
                    "N9988776\n"  # a short row: its first field is a document number
                    "N9988775,ev-2,KAZ,KAZ,entry,2025-02-30,HAN\n"  # a bad date, the header in its own order
                    "N9988774,N9988774-x,KAZ,KAZ,sideways,2025-02-01,HAN\n")  # the event id holds the number
    summary = ingest(register, path)
    assert (summary.read, summary.rejected) == (3, 3)
    content = open(summary.rejects_file, encoding="utf-8").read()
    for number in ("N9988776", "N9988775", "N9988774"):
        assert number not in content
    rows = list(csv.DictReader(open(summary.rejects_file, encoding="utf-8")))
    assert [r["event_id"] for r in rows] == ["", "ev-2", ""] and [r["field"] for r in rows] == ["fields", "time", "direction"]
    assert stat.S_IMODE(os.stat(summary.rejects_file).st_mode) == 0o600


def test_an_old_world_readable_rejects_file_is_made_owner_only(register, tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("event_id,issuing_state,document_number,nationality,direction,time,border_post\nx,KAZ,N1,QQQ,entry,2025-02-01,HAN\n")
    rejects = tmp_path / "a.csv.rejects.csv"
    rejects.write_text("old")
    os.chmod(rejects, 0o644)
    ingest(register, path)
    assert stat.S_IMODE(os.stat(rejects).st_mode) == 0o600


def test_a_database_error_never_carries_the_sql_parameters(register):
    register.record_entry(kaz("P1"), D(2025, 3, 1), officer="o", border_post="HAN", event_id="dup-1")
    row = None
    with register.engine.connect() as conn:
        row = dict(conn.execute(select(s.crossings)).one()._mapping)
    row.pop("id")
    with pytest.raises(Exception) as caught:
        with register.engine.begin() as conn:
            conn.execute(s.crossings.insert(), row)  # the unique event id is taken
    message = str(caught.value)
    assert row["traveller_key"] not in message and "HAN" not in message and "2025-03-01" not in message
    assert "hidden due to hide_parameters" in message


def test_csv_exports_neutralise_formula_prefixes(register):
    from visafree.register.export import neutralise

    assert [neutralise(v) for v in ("\tx", "\rx", "x", 3)] == ["'\tx", "'\rx", "x", 3]
    for i, post in enumerate(["=HYPERLINK(\"http://x\",\"y\")", "+1", "-2", "@SUM(A1)", "plain"]):
        register.record_entry(kaz(f"F{i}"), D(2025, 3, 1), officer="o", border_post=post)
    found = register.overstayers(D(2025, 5, 1), actor="t")
    exported = list(csv.DictReader(overstayers_csv(found).splitlines()))
    posts = sorted(r["border_post"] for r in exported)
    assert posts == sorted(["'=HYPERLINK(\"http://x\",\"y\")", "'+1", "'-2", "'@SUM(A1)", "plain"])


def test_a_reused_event_id_with_other_content_is_a_conflict_in_the_rejects(register, tmp_path):
    header = "event_id,issuing_state,document_number,nationality,direction,time,border_post\n"
    first = tmp_path / "first.csv"
    first.write_text(header + "c1,KAZ,N1,KAZ,entry,2025-02-01,HAN\n")
    assert ingest(register, first).stored == 1
    again = tmp_path / "again.csv"
    again.write_text(header + "c1,KAZ,N1,KAZ,entry,2025-02-01,HAN\n"  # the same event: a duplicate
                     "c1,KAZ,N1,KAZ,exit,2025-02-09,HAN\n"  # the same id, another crossing: a conflict
                     "c2,KAZ,N2,KAZ,entry,2025-02-01,HAN\n"
                     "c2,KAZ,N2,KAZ,entry,2025-02-02,HAN\n")  # the same id twice in this file, other content
    summary = ingest(register, again)
    assert (summary.read, summary.stored, summary.duplicates, summary.rejected) == (4, 1, 1, 2)
    reasons = [r["reason"] for r in csv.DictReader(open(summary.rejects_file, encoding="utf-8"))]
    assert len(reasons) == 2 and all("event_id_conflict" in r for r in reasons)
    # At the desk: the same id for another date is refused by name, not returned as a repeat.
    register.record_entry(kaz("N3"), D(2025, 3, 1), officer="o", border_post="HAN", event_id="d1")
    with pytest.raises(RegisterError) as caught:
        register.record_entry(kaz("N3"), D(2025, 3, 2), officer="o", border_post="HAN", event_id="d1")
    assert caught.value.code == "event_id_conflict"


@pytest.mark.parametrize("attempt", range(3))
def test_two_travellers_taking_one_event_id_at_once_is_a_refusal_not_a_crash(register, attempt):
    barrier = threading.Barrier(2)
    outcomes = []

    def desk(number):
        barrier.wait()
        try:
            register.record_entry(kaz(number), D(2025, 3, 1), officer="o", border_post="HAN", event_id=f"same-{attempt}")
            outcomes.append("stored")
        except RegisterError as exc:
            outcomes.append(exc.code)

    threads = [threading.Thread(target=desk, args=(n,)) for n in (f"A{attempt}", f"B{attempt}")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["event_id_conflict", "stored"]


def test_the_desk_store_losing_the_event_id_race_is_a_refusal_and_the_connection_lives_on(register, monkeypatch):
    """The deterministic form of the race above on PostgreSQL's two-round-trip desk: the read did
    not see the event id (another traveller's crossing took it meanwhile), so the unique index
    refuses the pipelined INSERT; the answer is event_id_conflict, and the next entry works."""
    if register.engine.dialect.name != "postgresql":
        pytest.skip("the PostgreSQL desk's pipelined store")
    from visafree.register import service

    register.record_entry(kaz("R1"), D(2025, 3, 1), officer="o", border_post="HAN", event_id="raced")
    monkeypatch.setattr(service, "_PG_DESK_READ",
                        service._PG_DESK_READ.replace("WHERE c.event_id = %(event_id)s", "WHERE false"))
    with pytest.raises(RegisterError) as caught:
        register.record_entry(kaz("R2"), D(2025, 3, 1), officer="o", border_post="HAN", event_id="raced")
    assert caught.value.code == "event_id_conflict"
    monkeypatch.undo()
    assert register.record_entry(kaz("R2"), D(2025, 3, 1), officer="o", border_post="HAN").admitted
