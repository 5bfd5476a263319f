"""Border register speed (issue 10, "Speed"): in one run, on SQLite and PostgreSQL,

- bulk ingest rows/s with 50,000 document links present,
- the desk decision's p50/p99 in-process, beside the engine's own time for the same histories
  (the backends in alternation, traveller by traveller, so the machine's load falls on both),
- the desk over HTTP (`visafree serve`'s app under uvicorn) with 1 and 8 concurrent clients,

and the issue's ratios: PostgreSQL desk p50 / SQLite desk p50 in-process (aim <= 2), p99 / p50
with 8 clients per backend (aim <= 5), PostgreSQL ingest rows/s / the baseline's (aim >= 5).
The baseline is the register's code before issue 10 (--baseline, a git revision: its
src/visafree is taken with `git archive` and run in a subprocess on the same log, the same
50,000 links and a scratch database of its own), measured in this run, so that both rates see
the machine's load of the moment; --reference RATE gives a fixed rate instead. Beside it, what
the PostgreSQL server does alone: one COPY of the same rows into an empty copy of the
crossings table, with its indexes (what the server's own work allows). The PostgreSQL ingest
rates are medians of --ingest-rounds runs of each, in alternation, each in a fresh process and
a scratch database of its own (as `visafree register ingest` runs: no round gains from a
process an earlier round warmed up).

    .venv/bin/python benchmarks/bench_register.py                    # 200,000 crossings
    .venv/bin/python benchmarks/bench_register.py --rows 1000000 --reference 34348

PostgreSQL runs in scratch databases created and dropped here (--pg-server). Durability, which
the output states beside the figures: a PostgreSQL commit returns once its WAL is flushed
(synchronous_commit and fsync as the server has them, on by default), and an ingest once all
its chunks' commits are (docs/register.md, "What a crash of the machine may lose"); SQLite
runs in WAL mode with synchronous=NORMAL as the register does, which is durable against a
crash of the process but may lose the last commits on a power loss or an OS crash. Travellers
get --stays stays each.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import create_engine, text

from visafree.engine import Passport, Presence, judge_entry
from visafree.regimes import builtin_regimes
from visafree.register import schema as s
from visafree.register.config import KeyMaterial
from visafree.register.db import make_engine, migrate
from visafree.register.ingest import ingest
from visafree.register.service import Document, Register

NOW = dt.datetime(2025, 6, 1, 12, tzinfo=dt.timezone.utc)
BASE = dt.date(2025, 1, 1)
DESK_DAY = dt.date(2025, 5, 20)
EXPIRES = dt.date(2032, 1, 1)
KEY = b"benchmark-key-" + b"x" * 32
LINKS = 50_000


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


def add_links(register: Register, count: int) -> None:
    """`count` links between documents of other people (renewed passports) already on file."""
    now = NOW
    rows = [dict(traveller_key=register.traveller_key("KAZ", f"L{i:08d}"), linked_key=register.traveller_key("KAZ", f"M{i:08d}"),
                 reason="renewed passport", withdraws=False, officer="bench", recorded_at=now) for i in range(count)]
    with register.engine.begin() as conn:
        for start in range(0, len(rows), 5000):
            conn.execute(s.document_links.insert(), rows[start:start + 5000])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_desk(url: str, clients: int, per_client: int, who: list[int]) -> list[float]:
    """Desk entries over HTTP against a uvicorn server of the app, `clients` at once."""
    import httpx

    env = dict(os.environ, VISAFREE_DATABASE_URL=url, VISAFREE_REGISTER_KEY=KEY.decode(), VISAFREE_REGISTER_COUNTRY="VNM")
    env.pop("VISAFREE_KEY_FILE", None)
    engine = make_engine(url)
    token = Register(engine, KEY, clock=lambda: NOW).create_token("officer", "bench", created_by="bench")
    engine.dispose()
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "uvicorn", "visafree.api:create_app", "--factory", "--port", str(port),
                               "--log-level", "warning"], env=env)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                httpx.get(base + "/api/v1/regimes", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        latencies: list[float] = []
        lock = threading.Lock()
        start = threading.Barrier(clients)

        def client(c: int) -> None:
            mine = []
            with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60) as http:
                # Warm-up, not timed: the server's first requests compile statements and fill caches.
                for _ in range(3):
                    http.post("/api/v1/register/status", json={"traveller_key": "0" * 64})
                start.wait()
                for i in range(per_client):
                    t = who[c * per_client + i]
                    body = {"passport": {"issuing_state": "KAZ", "document_number": f"B{t:08d}", "nationality": "KAZ",
                                         "expires": EXPIRES.isoformat()}, "date": DESK_DAY.isoformat(), "border_post": "HAN"}
                    began = time.perf_counter()
                    answer = http.post("/api/v1/register/entries", json=body)
                    mine.append(time.perf_counter() - began)
                    assert answer.status_code == 200, answer.text
            with lock:
                latencies.extend(mine)

        threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return latencies
    finally:
        server.terminate()
        server.wait(timeout=30)


@contextlib.contextmanager
def scratch_database(pg_server: str, prefix: str):
    """The URL of a PostgreSQL database created here and dropped on leaving, whatever happened."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(f"{pg_server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{pg_server}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def prepare(name: str, url: str, log: Path, chunk: int | None) -> dict:
    """A register on `url` with the links and the log ingested; the ingest's rows/s."""
    engine = make_engine(url)
    migrate(engine)
    with engine.begin() as conn:
        conn.execute(s.register_keys.insert().values(fingerprint=KeyMaterial(KEY).fingerprint, created_by="bench", created_at=NOW))
    register = Register(engine, KEY, clock=lambda: NOW)
    add_links(register, LINKS)
    started = time.perf_counter()
    summary = ingest(register, log, **({} if chunk is None else {"chunk_size": chunk}), report_unpaired=False)
    ingest_seconds = time.perf_counter() - started
    assert summary.stored == summary.read and summary.rejected == 0, summary
    result = {"backend": name, "url": url, "register": register, "rows": summary.read,
              "rows_per_s": summary.read / ingest_seconds}
    if name == "postgres":
        result["server_rows_per_s"] = server_copy_rate(register, log)
    return result


def server_copy_rate(register: Register, log: Path) -> float:
    """What PostgreSQL does alone: one COPY of the log's rows, as the ingest sends them (binary COPY),
    into an empty table like crossings with the same indexes. An ingest cannot beat this on one
    connection: it is the server's parsing and index upkeep, without any client work."""
    from visafree.register.fastpath import copy_binary, split
    from visafree.register.ingest import COLUMNS

    checked, _slow = split(register, pq.read_table(log), dt.date(2100, 1, 1))
    table = checked.table.take(checked.ready)
    data = copy_binary(table, "bench", NOW)
    with register.engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE bench_copy (LIKE crossings INCLUDING DEFAULTS INCLUDING INDEXES)")
    try:
        with register.engine.begin() as conn:
            with conn.connection.dbapi_connection.cursor() as cursor:
                started = time.perf_counter()
                with cursor.copy(f"COPY bench_copy ({', '.join(COLUMNS)}) FROM STDIN (FORMAT binary)") as copy:
                    copy.write(data)
        seconds = time.perf_counter() - started  # the commit included
    finally:
        with register.engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE bench_copy")
    return table.num_rows / seconds


# One ingest in a fresh process, as `visafree register ingest` runs: the same for this checkout
# and the baseline, so neither gains from a process already warmed by an earlier round.
INGEST_SCRIPT = r"""
import json, sys, time
src, url, log, chunk, key, links = sys.argv[1:7]
sys.path.insert(0, src)
import datetime as dt
import visafree
assert visafree.__file__.startswith(src), visafree.__file__  # the code under test, not another copy
from visafree.register import schema as s
from visafree.register.db import make_engine, migrate
from visafree.register.ingest import ingest
from visafree.register.service import Register
now = dt.datetime(2025, 6, 1, 12, tzinfo=dt.timezone.utc)
engine = make_engine(url)
migrate(engine)
try:  # a register since the guarded key (issue 10) knows its key, as `register init` records it
    from visafree.register.config import KeyMaterial
except ImportError:
    pass
else:
    with engine.begin() as conn:
        conn.execute(s.register_keys.insert().values(fingerprint=KeyMaterial(key.encode()).fingerprint,
                                                     created_by="bench", created_at=now))
register = Register(engine, key.encode(), clock=lambda: now)
rows = [dict(traveller_key=register.traveller_key("KAZ", f"L{i:08d}"), linked_key=register.traveller_key("KAZ", f"M{i:08d}"),
             reason="renewed passport", withdraws=False, officer="bench", recorded_at=now) for i in range(int(links))]
with engine.begin() as conn:
    for start in range(0, len(rows), 5000):
        conn.execute(s.document_links.insert(), rows[start:start + 5000])
started = time.perf_counter()
summary = ingest(register, log, **({} if chunk == "default" else {"chunk_size": int(chunk)}), report_unpaired=False)
seconds = time.perf_counter() - started
assert summary.stored == summary.read and summary.rejected == 0, summary
print(json.dumps({"rows": summary.read, "rows_per_s": summary.read / seconds}))
"""


def baseline_source(revision: str, tmp: str) -> Path:
    """The src directory of `revision` (before issue 10), taken with `git archive`."""
    repo = Path(__file__).resolve().parent.parent
    target = Path(tmp) / "baseline"
    target.mkdir()
    archive = subprocess.run(["git", "-C", str(repo), "archive", revision, "src/visafree"], check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    return target / "src"


def fresh_process_ingest(src: Path, pg_server: str, log: Path, chunk: int | str, tmp: str) -> float:
    """PostgreSQL ingest rows/s of the code in `src`, in a process and a scratch database of its
    own, on the same log and links."""
    with scratch_database(pg_server, "visafree_bench_round") as url:
        done = subprocess.run([sys.executable, "-c", INGEST_SCRIPT, str(src), url, str(log), str(chunk),
                               KEY.decode(), str(LINKS)], capture_output=True, text=True, cwd=tmp,
                              env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    if done.returncode != 0:
        sys.exit(f"the ingest of {src} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])["rows_per_s"]


def durability(r: dict) -> str:
    """What a commit of this backend survives, read from the database itself."""
    with r["register"].engine.connect() as conn:
        if r["backend"] == "postgres":
            sync = conn.exec_driver_sql("SHOW synchronous_commit").scalar()
            fsync = conn.exec_driver_sql("SHOW fsync").scalar()
            durable = sync != "off" and fsync == "on"
            return (f"synchronous_commit={sync}, fsync={fsync}: " +
                    ("a commit returns once its WAL is on disk (survives a power loss); an ingest's chunks "
                     "commit without waiting, and the ingest returns after one synchronous commit has "
                     "flushed them all (db.wal_barrier)" if durable
                     else "NOT durable: recent commits can be lost"))
        mode = conn.exec_driver_sql("PRAGMA journal_mode").scalar()
        sync = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}.get(conn.exec_driver_sql("PRAGMA synchronous").scalar())
        return (f"journal_mode={mode}, synchronous={sync}: survives a crash of the process; "
                "the last commits may be lost on a power loss or an OS crash (no fsync per commit)")


def desk_in_process(prepared: list[dict], chosen: list[int], stays: int) -> None:
    """The same desk entries on every backend, in alternation (traveller by traveller, the
    backends' order switching each time), so that a load on this shared machine falls on all
    alike and the ratio between them holds; beside them, the engine alone on the same history."""
    regime = builtin_regimes()["vn-kz"]
    for r in prepared:
        r["desk"] = []
    engine_only = []
    for i, t in enumerate(chosen):
        document = Document("KAZ", f"B{t:08d}", "KAZ", "ordinary", EXPIRES)
        for r in (prepared if i % 2 == 0 else prepared[::-1]):
            begin = time.perf_counter()
            r["register"].record_entry(document, DESK_DAY, officer="bench", border_post="HAN")
            r["desk"].append(time.perf_counter() - begin)
        prior = Presence([(e.toordinal(), x.toordinal()) for e, x in stays_of(t, stays)])
        begin = time.perf_counter()
        judge_entry(regime, "KAZ", "VNM", Passport("ordinary", EXPIRES), prior, DESK_DAY)
        engine_only.append(time.perf_counter() - begin)
    for r in prepared:
        r["desk_p50"], r["desk_p99"] = 1000 * percentile(r["desk"], .5), 1000 * percentile(r["desk"], .99)
        r["engine_p50_us"], r["engine_p99_us"] = 1e6 * percentile(engine_only, .5), 1e6 * percentile(engine_only, .99)
        r["engine_mean_us"] = 1e6 * statistics.fmean(engine_only)
        r["register"].engine.dispose()


def desk_http(r: dict, rest: list[int], http_requests: int) -> None:
    """HTTP: travellers not decided yet, by document number in the log (B<t>): 1 client, then 8."""
    assert len(rest) >= 2 * http_requests, "--rows too small for --http-requests"
    one = http_desk(r["url"], 1, http_requests, rest[:http_requests])
    eight = http_desk(r["url"], 8, max(1, http_requests // 8), rest[http_requests:])
    ms = lambda v, q: 1000 * percentile(v, q)  # noqa: E731
    r.update(http1_p50=ms(one, .5), http1_p99=ms(one, .99), http8_p50=ms(eight, .5), http8_p99=ms(eight, .99))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=200_000, help="crossings to ingest (default 200,000)")
    parser.add_argument("--stays", type=int, default=2, help="stays per traveller (default 2)")
    parser.add_argument("--samples", type=int, default=500, help="in-process desk decisions to time (default 500)")
    parser.add_argument("--http-requests", type=int, default=400, help="HTTP desk entries per client count (default 400)")
    parser.add_argument("--chunk-size", type=int, default=None,
                        help="rows per ingest transaction, for this checkout and the baseline alike (default: each "
                             "its own default, as `visafree register ingest` runs it: 10,000 here, 2,000 before)")
    parser.add_argument("--baseline", default="ee6a4da^",
                        help="git revision whose ingest is the baseline, measured in this run (default ee6a4da^: "
                             "the register before issue 10)")
    parser.add_argument("--reference", type=float, default=None,
                        help="a fixed PostgreSQL ingest rows/s to compare with instead of measuring --baseline "
                             "(main before issue 10 on this benchmark, 100,000 rows, measured once: 34,348)")
    parser.add_argument("--ingest-rounds", type=int, default=5,
                        help="PostgreSQL ingests of this checkout and of the baseline, in alternation, whose medians "
                             "are compared (default 5: one ingest varies by a fifth on a shared machine, and the "
                             "median of 3 moved the ratio by a tenth from run to run)")
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--pg-server", default=os.environ.get("VISAFREE_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432"))
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-register-") as tmp:
        log = Path(tmp) / "crossings.parquet"
        travellers = write_log(log, args.rows, args.stays)
        print(f"{args.rows:,} crossings, {travellers:,} travellers x {args.stays} stays, {LINKS:,} links present; "
              f"{args.samples} in-process and {args.http_requests} HTTP desk decisions per setting; ingest chunks: "
              + (f"{args.chunk_size:,} rows for both" if args.chunk_size else "each version's default"), flush=True)
        backends = args.backends.split(",")
        unknown = [b for b in backends if b not in ("sqlite", "postgres")]
        if unknown:
            sys.exit(f"--backends: unknown backend {unknown[0]!r}")
        results: dict[str, dict] = {}
        with contextlib.ExitStack() as databases:
            for backend in backends:
                if backend == "sqlite":
                    url = f"sqlite:///{tmp}/register.sqlite"
                else:
                    url = databases.enter_context(scratch_database(args.pg_server, "visafree_bench"))
                results[backend] = prepare(backend, url, log, args.chunk_size)
                results[backend]["durability"] = durability(results[backend])
            baseline = None
            if "postgres" in results:
                # Rounds in alternation (ours, the baseline's, ...), so both see the same load,
                # each in a fresh process (INGEST_SCRIPT).
                here = Path(__file__).resolve().parent.parent / "src"
                theirs_src = baseline_source(args.baseline, tmp) if args.reference is None else None
                chunk = args.chunk_size or "default"
                ours, theirs = [], []
                for _round in range(max(1, args.ingest_rounds)):
                    ours.append(fresh_process_ingest(here, args.pg_server, log, chunk, tmp))
                    if theirs_src is not None:
                        theirs.append(fresh_process_ingest(theirs_src, args.pg_server, log, chunk, tmp))
                results["postgres"]["ingest_rounds"] = ours
                results["postgres"]["rows_per_s"] = statistics.median(ours)
                if theirs:
                    revision = subprocess.run(["git", "-C", str(here.parent), "rev-parse", "--short", args.baseline],
                                              check=True, capture_output=True, text=True).stdout.strip()
                    baseline = {"rows_per_s": statistics.median(theirs), "rounds": theirs, "revision": revision}
            order = list(range(travellers))
            random.Random(7).shuffle(order)
            chosen, rest = order[:args.samples], order[args.samples:]
            desk_in_process(list(results.values()), chosen, args.stays)
            for r in results.values():
                desk_http(r, rest, args.http_requests)
        for backend, r in results.items():
            print(f"{backend:9} ingest {r['rows']:,} rows = {r['rows_per_s']:,.0f} rows/s | in-process desk p50 "
                  f"{r['desk_p50']:.2f} ms, p99 {r['desk_p99']:.2f} ms (engine alone p50 {r['engine_p50_us']:.1f} µs, "
                  f"p99 {r['engine_p99_us']:.1f} µs) | HTTP 1 client p50 {r['http1_p50']:.2f} ms, p99 {r['http1_p99']:.2f} ms"
                  f" | HTTP 8 clients p50 {r['http8_p50']:.2f} ms, p99 {r['http8_p99']:.2f} ms", flush=True)
        print("durability of a commit, as measured here:")
        for backend, r in results.items():
            print(f"  {backend}: {r['durability']}")
        print("ratios (aims from issue 10):")
        if "sqlite" in results and "postgres" in results:
            print(f"  PostgreSQL / SQLite desk p50 in-process: {results['postgres']['desk_p50'] / results['sqlite']['desk_p50']:.2f}x (aim <= 2)")
        for backend, r in results.items():
            print(f"  {backend}: HTTP 8 clients p99 / p50: {r['http8_p99'] / r['http8_p50']:.2f}x (aim <= 5)")
        if "postgres" in results:
            pg = results["postgres"]
            print(f"  PostgreSQL ingest rounds, this checkout: {', '.join(f'{r:,.0f}' for r in pg['ingest_rounds'])} rows/s"
                  + (f"; baseline: {', '.join(f'{r:,.0f}' for r in baseline['rounds'])} rows/s" if baseline else ""))
            if baseline is not None:
                reference = baseline["rows_per_s"]
                what = (f"the baseline (revision {baseline['revision']}, measured in this run, median of "
                        f"{len(baseline['rounds'])}) {reference:,.0f} rows/s")
            else:
                reference = args.reference
                what = f"the fixed reference {reference:,.0f} rows/s (--reference)"
            print(f"  PostgreSQL ingest (median of {len(pg['ingest_rounds'])}) {pg['rows_per_s']:,.0f} rows/s / {what}: {pg['rows_per_s'] / reference:.2f}x "
                  f"(aim >= 5, i.e. {5 * reference:,.0f} rows/s)")
            print(f"  PostgreSQL alone, one COPY on one connection of the same rows into an empty copy of the table: "
                  f"{pg['server_rows_per_s']:,.0f} rows/s = {pg['server_rows_per_s'] / reference:.2f}x the baseline; "
                  f"the ingest reaches {pg['rows_per_s'] / pg['server_rows_per_s']:.2f}x of it")


if __name__ == "__main__":
    main()
