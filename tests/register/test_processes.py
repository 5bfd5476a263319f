"""Crash safety and concurrency with real processes, on both backends."""

import csv
import datetime as dt
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine, func, select

from visafree.engine import Passport, Presence, judge_entry
from visafree.register import schema as s
from visafree.regimes import builtin_regimes

WORKER = Path(__file__).with_name("desk_worker.py")
CLI = [sys.executable, "-c", "from visafree.cli import main; main()"]


def crossings_count(url) -> tuple[int, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            total = conn.execute(select(func.count()).select_from(s.crossings)).scalar()
            distinct = conn.execute(select(func.count(s.crossings.c.event_id.distinct()))).scalar()
    finally:
        engine.dispose()
    return total, distinct


def test_ingest_killed_part_way_then_rerun_stores_every_row_once(register, register_env, register_url, tmp_path):
    rows = 20_000
    path = tmp_path / "big.csv"
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["event_id", "issuing_state", "document_number", "nationality", "direction", "time", "border_post"])
        for i in range(rows):
            day = dt.date(2024, 6, 1) + dt.timedelta(days=(i // 1000) * 3 + (i % 2))
            writer.writerow([f"e{i}", "KAZ", f"K{i // 2 % 1000:07d}", "KAZ", "entry" if i % 2 == 0 else "exit", day.isoformat(), "HAN"])
    command = CLI + ["register", "ingest", str(path), "--no-progress", "--chunk-size", "250"]
    process = subprocess.Popen(command, env=register_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    stored = 0
    while time.monotonic() < deadline:
        stored, _ = crossings_count(register_url)
        if stored >= 1000:
            break
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    killed_at, _ = crossings_count(register_url)
    assert 0 < killed_at < rows, f"the kill should land part-way (stored {killed_at} of {rows})"
    # Only whole travellers are ever committed: each has all 20 of its crossings or none.
    engine = create_engine(register_url)
    with engine.connect() as conn:
        per_traveller = conn.execute(select(func.count()).select_from(s.crossings).group_by(s.crossings.c.traveller_key)).scalars().all()
    engine.dispose()
    assert set(per_traveller) == {20}

    done = subprocess.run(command + ["--json"], env=register_env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["read"] == rows and summary["rejected"] == 0
    assert summary["duplicates"] == killed_at and summary["stored"] == rows - killed_at
    assert crossings_count(register_url) == (rows, rows)


def run_posts(register_env, mode, posts=4, travellers=12, rounds=3):
    procs = [subprocess.Popen([sys.executable, str(WORKER), f"post{p}", mode, str(travellers), str(rounds)],
                              env=register_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for p in range(posts)]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err
        results.append(json.loads(out))
    return results


def test_posts_racing_to_admit_the_same_travellers(register, register_env, register_url):
    results = run_posts(register_env, "race", posts=4, travellers=15)
    assert sum(r["admitted"] for r in results) == 15
    assert sum(r["already_in_country"] for r in results) == 3 * 15
    with register.engine.connect() as conn:
        per_traveller = conn.execute(select(s.crossings.c.traveller_key, func.count()).group_by(s.crossings.c.traveller_key)).all()
    assert len(per_traveller) == 15 and all(n == 1 for _, n in per_traveller)


def test_posts_sharing_events_lose_and_duplicate_nothing(register, register_env, register_url):
    travellers, rounds = 10, 3
    results = run_posts(register_env, "shared", posts=4, travellers=travellers, rounds=rounds)
    entries = travellers * rounds
    assert sum(r["admitted"] for r in results) == entries  # each entry decided exactly once
    assert sum(r["repeated"] for r in results) == 3 * entries
    assert crossings_count(register_url) == (2 * entries, 2 * entries)
    # Decisions saw a consistent history: each equals the engine's verdict on the stays before it.
    regime = builtin_regimes()["vn-kz"]
    with register.engine.connect() as conn:
        rows = conn.execute(select(s.crossings.c.traveller_key, s.crossings.c.direction, s.crossings.c.local_date,
                                   s.decisions.c.permitted_until)
                            .select_from(s.crossings.outerjoin(s.decisions, s.decisions.c.crossing_id == s.crossings.c.id))
                            .order_by(s.crossings.c.traveller_key, s.crossings.c.local_date)).all()
    by_traveller = {}
    for row in rows:
        by_traveller.setdefault(row.traveller_key, []).append(row)
    for crossings in by_traveller.values():
        assert [c.direction for c in crossings] == ["entry", "exit"] * rounds
        prior = []
        for entry, exit_ in zip(crossings[::2], crossings[1::2]):
            verdict = judge_entry(regime, "KAZ", "VNM", Passport("ordinary", dt.date(2032, 1, 1)), Presence(prior), entry.local_date)
            assert entry.permitted_until == verdict.latest_exit
            prior.append((entry.local_date.toordinal(), exit_.local_date.toordinal()))


def test_linked_documents_from_four_processes_never_deadlock(register, register_env):
    # Issue 10: 227 DeadlockDetected in 320 operations when the own key was locked before the
    # group. Now each operation locks its whole sorted group in one statement, or retries.
    results = run_posts(register_env, "links", posts=4, travellers=12, rounds=80)
    assert sum(sum(r.values()) for r in results) == 320
    assert sum(r["links"] for r in results) > 0 and sum(r["entries"] for r in results) > 0
    with register.engine.connect() as conn:
        links = conn.execute(select(func.count()).select_from(s.document_links)).scalar()
    assert links == sum(r["links"] for r in results)
