"""Issue 10, item 1: ingest racing the desk. Thousands of travellers' older crossings are
ingested while several desk processes admit the same travellers; afterwards no decision
contradicts the history it saw, no decision saw half a traveller's ingested history, every
overstayer is listed (the ends are the engine's on the whole history, not the stored desk
end), and `review` lists exactly the decisions whose basis changed. On SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import datetime as dt
import json
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import select

from visafree.engine import Passport
from visafree.register import schema as s
from visafree.register.timeline import Crossing, pair

WORKER = Path(__file__).with_name("desk_worker.py")
CLI = [sys.executable, "-c", "from visafree.cli import main; main()"]
DESK_DAY = dt.date(2025, 5, 25)
TRAVELLERS = 1500
# Three closed stays, 80 days in the 180 days before the desk day (vn-kz: 90/180, 30 a stay).
STAYS = [(dt.date(2025, 1, 1), dt.date(2025, 1, 20)), (dt.date(2025, 2, 10), dt.date(2025, 3, 11)),
         (dt.date(2025, 4, 1), dt.date(2025, 4, 30))]


def write_time_sorted_log(path: Path) -> None:
    events = []
    for t in range(TRAVELLERS):
        for k, (entry, exit_) in enumerate(STAYS):
            events.append((entry, f"r{t}-{k}-in", t, "entry"))
            events.append((exit_, f"r{t}-{k}-out", t, "exit"))
    events.sort()
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["event_id", "issuing_state", "document_number", "nationality", "direction", "time",
                         "border_post", "passport_expires"])
        for day, event_id, t, direction in events:
            writer.writerow([event_id, "KAZ", f"R{t:06d}", "KAZ", direction, day.isoformat(), "HAN", "2032-01-01"])


def wait_for_first_ingested(register, ingest: subprocess.Popen, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and ingest.poll() is None:
        with register.engine.connect() as conn:
            if conn.execute(select(s.crossings.c.id).where(s.crossings.c.source == "ingest").limit(1)).first():
                return
        time.sleep(0.01)


def test_ingest_racing_desks_gives_consistent_decisions_overstayers_and_review(register, register_env, tmp_path):
    log = tmp_path / "older.csv"
    write_time_sorted_log(log)
    # The desks start deciding once the ingest has committed its first travellers (it reads and
    # checks the whole file first), so that the race is real however loaded the machine is: some
    # desks decide before a traveller's crossings are in, some after.
    start = tmp_path / "start"
    desk_env = {**register_env, "VISAFREE_TEST_START_FILE": str(start)}
    desks = [subprocess.Popen([sys.executable, str(WORKER), f"desk{p}", "desk-day", str(TRAVELLERS), "0"],
                              env=desk_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for p in range(3)]
    ingest = subprocess.Popen(CLI + ["register", "ingest", str(log), "--no-progress", "--chunk-size", "120", "--json"],
                              env=register_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for_first_ingested(register, ingest)
    start.touch()
    outputs = []
    for proc in [ingest, *desks]:
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
        outputs.append(json.loads(out))
    summary = outputs[0]
    assert (summary["read"], summary["stored"], summary["rejected"]) == (6 * TRAVELLERS, 6 * TRAVELLERS, 0)
    assert sum(o["decided"] for o in outputs[1:]) == TRAVELLERS

    c, d = s.crossings, s.decisions
    with register.engine.connect() as conn:
        rows = conn.execute(select(c.c.id, c.c.event_id, c.c.traveller_key, c.c.direction, c.c.local_date, c.c.local_time,
                                   c.c.nationality, c.c.passport_type, c.c.passport_expires, c.c.destination,
                                   c.c.border_post, c.c.source)).all()
        decisions = conn.execute(select(d.c.id, d.c.traveller_key, d.c.outcome, d.c.permitted_until, d.c.regime,
                                        d.c.basis, d.c.crossing_id)).all()
    ingested: dict[str, set[int]] = {}
    by_id = {}
    for row in rows:
        by_id[row.id] = row
        if row.source == "ingest":
            ingested.setdefault(row.traveller_key, set()).add(row.id)
    assert len(ingested) == TRAVELLERS and all(len(v) == 6 for v in ingested.values())
    assert len(decisions) == TRAVELLERS  # one desk won per traveller, the others found them in the country

    saw_all, saw_none = set(), set()
    for decision in decisions:
        seen = {int(i) for i in decision.basis.split(",") if i}
        # Never half a traveller's ingested history: all six crossings or none.
        assert seen in (set(), ingested[decision.traveller_key]), decision
        (saw_all if seen else saw_none).add(decision.id)
        # The decision is the engine's on exactly the history it saw.
        stays = pair([Crossing(**{k: getattr(by_id[i], k) for k in Crossing.__dataclass_fields__
                                  if k in by_id[i]._fields}) for i in sorted(seen)])
        regime, verdict = register.judge("KAZ", "VNM", Passport("ordinary", dt.date(2032, 1, 1)), "ordinary", stays, DESK_DAY)
        assert (decision.outcome, decision.permitted_until, decision.regime) == ("admit", verdict.latest_exit, regime.id)
    # The race really raced: some desks decided before a traveller's crossings were in, some after.
    assert saw_all and saw_none, (len(saw_all), len(saw_none))

    # Every overstayer is listed: the end is the engine's on the whole history (80 days used: 10 left).
    on = DESK_DAY + dt.timedelta(days=15)
    listed = {o.traveller_key for o in register.overstayers(on, actor="test")}
    assert listed == set(ingested)
    assert {o.permitted_end for o in register.overstayers(on, actor="test")} == {DESK_DAY + dt.timedelta(days=9)}

    # The review holds exactly the decisions whose basis changed: those that saw nothing.
    review = register.review(actor="test")
    assert {x.decision_id for x in review} == saw_none
    assert all((x.desk_end, x.now_end, x.crossings_seen, x.crossings_now) ==
               (DESK_DAY + dt.timedelta(days=29), DESK_DAY + dt.timedelta(days=9), 0, 6) for x in review)
