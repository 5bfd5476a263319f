"""Border register speed: bulk ingest rate and the desk decision's latency, on SQLite and
PostgreSQL, each beside the engine's own time for the same histories.

    .venv/bin/python benchmarks/bench_register.py                 # 1,000,000 crossings
    .venv/bin/python benchmarks/bench_register.py --rows 100000   # scaled down

Each traveller gets --stays stays (an entry and an exit each), so the register holds
rows / (2 * stays) travellers. The desk part then records a new entry for --samples random
travellers and times each call (history read + engine + insert of crossing, decision and
audit row in one transaction), next to judge_entry alone on the same prior stays.
PostgreSQL runs in a scratch database created and dropped here (--pg-server).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import create_engine, text

from visafree.engine import Passport, Presence, judge_entry
from visafree.regimes import builtin_regimes
from visafree.register.db import make_engine, migrate
from visafree.register.ingest import ingest
from visafree.register.service import Document, Register

NOW = dt.datetime(2025, 6, 1, 12, tzinfo=dt.timezone.utc)
BASE = dt.date(2025, 1, 1)
DESK_DAY = dt.date(2025, 5, 20)
EXPIRES = dt.date(2032, 1, 1)
KEY = b"benchmark-key-" + b"x" * 32


def stays_of(t: int, stays: int) -> list[tuple[dt.date, dt.date]]:
    out = []
    for k in range(stays):
        entry = BASE + dt.timedelta(days=(t % 30) + 35 * k)
        out.append((entry, entry + dt.timedelta(days=t % 25)))
    return out


def write_log(path: Path, rows: int, stays: int) -> int:
    travellers = rows // (2 * stays)
    columns = {name: [] for name in ("event_id", "issuing_state", "document_number", "nationality", "direction",
                                     "time", "border_post", "passport_expires")}
    for t in range(travellers):
        for k, (entry, exit_) in enumerate(stays_of(t, stays)):
            for direction, day in (("entry", entry), ("exit", exit_)):
                columns["event_id"].append(f"b{t}-{k}-{direction}")
                columns["issuing_state"].append("KAZ")
                columns["document_number"].append(f"B{t:08d}")
                columns["nationality"].append("KAZ")
                columns["direction"].append(direction)
                columns["time"].append(dt.datetime.combine(day, dt.time(10, 30)))
                columns["border_post"].append("HAN")
                columns["passport_expires"].append(EXPIRES)
    pq.write_table(pa.table(columns), path)
    return travellers


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def run_backend(name: str, url: str, log: Path, travellers: int, stays: int, samples: int, chunk: int) -> dict:
    engine = make_engine(url)
    migrate(engine)
    register = Register(engine, KEY, clock=lambda: NOW)
    started = time.perf_counter()
    summary = ingest(register, log, chunk_size=chunk, report_unpaired=False)
    ingest_seconds = time.perf_counter() - started
    assert summary.stored == summary.read and summary.rejected == 0, summary

    regime = builtin_regimes()["vn-kz"]
    chosen = random.Random(7).sample(range(travellers), min(samples, travellers))
    desk, engine_only = [], []
    for t in chosen:
        document = Document("KAZ", f"B{t:08d}", "KAZ", "ordinary", EXPIRES)
        begin = time.perf_counter()
        register.record_entry(document, DESK_DAY, officer="bench", border_post="HAN")
        desk.append(time.perf_counter() - begin)
        prior = Presence([(e.toordinal(), x.toordinal()) for e, x in stays_of(t, stays)])
        begin = time.perf_counter()
        judge_entry(regime, "KAZ", "VNM", Passport("ordinary", EXPIRES), prior, DESK_DAY)
        engine_only.append(time.perf_counter() - begin)
    engine.dispose()
    return {
        "backend": name, "rows": summary.read, "ingest_s": ingest_seconds, "rows_per_s": summary.read / ingest_seconds,
        "desk_p50_ms": 1000 * percentile(desk, 0.50), "desk_p99_ms": 1000 * percentile(desk, 0.99),
        "engine_p50_us": 1e6 * percentile(engine_only, 0.50), "engine_p99_us": 1e6 * percentile(engine_only, 0.99),
        "engine_mean_us": 1e6 * statistics.fmean(engine_only), "samples": len(desk),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000, help="crossings to ingest (default 1,000,000)")
    parser.add_argument("--stays", type=int, default=2, help="stays per traveller (default 2)")
    parser.add_argument("--samples", type=int, default=1000, help="desk decisions to time (default 1000)")
    parser.add_argument("--chunk-size", type=int, default=5000)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--pg-server", default=os.environ.get("VISAFREE_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432"))
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-register-") as tmp:
        log = Path(tmp) / "crossings.parquet"
        began = time.perf_counter()
        travellers = write_log(log, args.rows, args.stays)
        print(f"{args.rows:,} crossings, {travellers:,} travellers x {args.stays} stays "
              f"(log written in {time.perf_counter() - began:.1f}s); {args.samples} desk decisions timed", flush=True)
        results = []
        for backend in args.backends.split(","):
            if backend == "sqlite":
                results.append(run_backend("sqlite", f"sqlite:///{tmp}/register.sqlite", log, travellers, args.stays,
                                           args.samples, args.chunk_size))
            elif backend == "postgres":
                name = f"visafree_bench_{uuid.uuid4().hex[:8]}"
                admin = create_engine(f"{args.pg_server}/postgres", isolation_level="AUTOCOMMIT")
                with admin.connect() as conn:
                    conn.execute(text(f'CREATE DATABASE "{name}"'))
                try:
                    results.append(run_backend("postgres", f"{args.pg_server}/{name}", log, travellers, args.stays,
                                               args.samples, args.chunk_size))
                finally:
                    with admin.connect() as conn:
                        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                    admin.dispose()
            else:
                sys.exit(f"--backends: unknown backend {backend!r}")
            r = results[-1]
            print(f"{r['backend']:9} ingest {r['rows']:,} rows in {r['ingest_s']:.1f}s = {r['rows_per_s']:,.0f} rows/s | "
                  f"desk decision p50 {r['desk_p50_ms']:.2f} ms, p99 {r['desk_p99_ms']:.2f} ms | "
                  f"engine alone p50 {r['engine_p50_us']:.1f} µs, p99 {r['engine_p99_us']:.1f} µs", flush=True)


if __name__ == "__main__":
    main()
