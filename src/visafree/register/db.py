"""Opening the register's database: SQLite in WAL mode or PostgreSQL (psycopg 3), migrated
with Alembic run from code, so an installed package needs no alembic.ini on disk."""

from __future__ import annotations

import collections
import contextlib
import fcntl
import os
import threading
import time
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.exc import DisconnectionError

from .config import sqlite_path

MIGRATIONS = Path(__file__).parent / "migrations"


def make_engine(url: str) -> Engine:
    path = sqlite_path(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            # Owner-only from the first byte: SQLite gives its -wal and -shm files the same mode.
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        # hide_parameters: an error's message (and so a log line) never carries the SQL
        # parameters, which hold traveller keys, dates and posts (issue 10, item 4).
        engine = create_engine(url, connect_args={"timeout": 60}, hide_parameters=True)
        _configure_sqlite(engine)
        return engine
    engine = create_engine(url, hide_parameters=True)
    _ping_when_idle(engine)
    return engine


#: A pooled PostgreSQL connection idle for longer than this is pinged before use.
IDLE_PING_SECONDS = 2.0


def _ping_when_idle(engine: Engine) -> None:
    """SQLAlchemy's pool_pre_ping, but only for a connection that has sat idle in the pool: the
    ping is a round trip (0.7 ms of a 6 ms desk decision, issue 10), and a connection checked in
    moments ago is alive. A dead one is replaced before use (DisconnectionError makes the pool
    take another); one that dies in those seconds fails its transaction, which the register API
    answers 409 "try again", and the pool then discards it."""

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection, record):
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection, record, _proxy):
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < IDLE_PING_SECONDS:
            return  # a new connection, or one in use moments ago
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:  # noqa: BLE001 - any failure of the ping means: not usable
            raise DisconnectionError("the pooled connection is gone") from exc


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy's "begin" event issue BEGIN itself, so writers can ask for IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        # A writer takes SQLite's write lock before it reads the history it decides on, so two
        # desks admitting the same traveller cannot both decide on the same stale history.
        mode = "IMMEDIATE" if conn.get_execution_options().get("register_write") else "DEFERRED"
        conn.exec_driver_sql(f"BEGIN {mode}")


class FairLock:
    """A lock handed over in arrival order. threading.Lock is not fair: under contention one
    thread can take it again and again while another waits, which is what a p99 measures."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._waiters: collections.deque[threading.Event] = collections.deque()
        self._held = False

    def __enter__(self) -> "FairLock":
        with self._guard:
            if not self._held:
                self._held = True
                return self
            turn = threading.Event()
            self._waiters.append(turn)
        turn.wait()  # the releasing thread hands the lock over: _held stays True
        return self

    def __exit__(self, *exc) -> None:
        with self._guard:
            if self._waiters:
                self._waiters.popleft().set()
            else:
                self._held = False


_writer_gates: dict[str, FairLock] = {}
_writer_gates_lock = threading.Lock()


def _writer_gate(engine: Engine):
    """SQLite allows one writer at a time. Threads of one process (the API server's pool) queue
    on a lock of their own, first come first served, instead of each polling the database
    file's lock in SQLite's busy handler (whose growing sleeps made the 8-client p99 tail)."""
    if engine.dialect.name != "sqlite":
        return contextlib.nullcontext()
    name = str(engine.url)
    with _writer_gates_lock:
        return _writer_gates.setdefault(name, FairLock())


@contextlib.contextmanager
def write_transaction(engine: Engine, lock_keys: tuple[str, ...] = ()):
    """A transaction that serialises with every other writer touching the same travellers.

    SQLite: BEGIN IMMEDIATE takes the database's one write lock before anything is read.
    PostgreSQL: transaction-level advisory locks on the travellers' buckets (lock_ids), all taken
    in one statement in one global order, so two writers never deadlock."""
    with _writer_gate(engine):
        with engine.connect() as conn:
            conn = conn.execution_options(register_write=True)
            with conn.begin():
                lock_travellers(conn, lock_keys)
                yield conn


@contextlib.contextmanager
def chunk_transaction(engine: Engine, lock_keys: tuple[str, ...] = ()):
    """write_transaction for one chunk of a bulk ingest. On PostgreSQL its commit does not wait
    for the WAL to reach the disk (synchronous_commit off, for this transaction only): a crash
    of the machine may lose the last chunks, as if they had rolled back, never half of one. The
    ingest ends with wal_barrier, so what its summary counts as stored is on disk; and a desk
    decision that saw a chunk commits after it in the WAL, so its own synchronous commit makes
    the chunk durable first: no decision outlives the history it was made on."""
    with write_transaction(engine, lock_keys) as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SET LOCAL synchronous_commit = off")
        yield conn


def wal_barrier(engine: Engine) -> None:
    """PostgreSQL: return once everything committed so far is on disk. A transaction that wrote
    to the WAL commits as synchronous_commit says (on, by default), and the flush of its commit
    covers every earlier record, the asynchronous commits included. The write is the smallest
    there is: a key-share lock on the fingerprint rows (a lock record in the WAL, the rows
    unchanged; rows only ever inserted, so nothing waits for it; an initialised register always
    has one, keys.py). SQLite: nothing to do (each commit is as durable as its journal mode
    makes it)."""
    if engine.dialect.name != "postgresql":
        return
    with engine.begin() as conn:
        if conn.exec_driver_sql("SELECT 1 FROM register_keys FOR KEY SHARE").first() is None:
            # No row, no lock record, no flush: never claim what was not done.
            raise RuntimeError("the register has no key fingerprint (run `visafree register init`): "
                               "cannot make sure the ingested chunks are on disk")


@contextlib.contextmanager
def read_transaction(engine: Engine):
    """One consistent snapshot for a read of several statements: SQLite's WAL read
    transaction; PostgreSQL REPEATABLE READ (READ COMMITTED would give each statement its own)."""
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            yield conn


@contextlib.contextmanager
def raw_errors(conn: Connection):
    """Statements sent on the raw psycopg connection (the desk's pipeline, the ingest's COPY)
    fail as SQLAlchemy's would: a DBAPIError (the API answers 409 "try again"), parameters
    hidden, and a connection the server dropped invalidated so the pool replaces it."""
    try:
        yield
    except Exception as exc:
        import psycopg
        from sqlalchemy.exc import DBAPIError

        if not isinstance(exc, psycopg.Error):
            raise
        invalidated = conn.dialect.is_disconnect(exc, conn.connection.dbapi_connection, None)
        if invalidated:
            conn.invalidate(exc)
        raise DBAPIError.instance(None, None, exc, psycopg.Error, hide_parameters=True, dialect=conn.dialect,
                                  connection_invalidated=invalidated) from exc


def lock_statement(keys) -> tuple[str, tuple]:
    """The one statement that takes the advisory locks of `keys`, in psycopg's form (SQL and
    parameters), for SQLAlchemy (lock_travellers) and the desk's raw pipeline alike: sorted key
    order (lock_ids), so no two writers deadlock. unnest of an array keeps the array's order."""
    ids = lock_ids(keys)
    if len(ids) == 1:
        return "SELECT pg_advisory_xact_lock(%s)", (ids[0],)
    # The array as its text form: an ingest chunk locks up to 4,096 buckets, and psycopg's list
    # adaptation costs more client time than the join (the server parses either).
    return ("SELECT count(pg_advisory_xact_lock(k)) FROM unnest(CAST(%s AS bigint[])) AS t(k)",
            ("{" + ",".join(map(str, ids)) + "}",))


def lock_travellers(conn: Connection, keys) -> None:
    """PostgreSQL: the travellers' locks held to the end of the transaction, taken in one global
    order in one round trip. (SQLite's BEGIN IMMEDIATE has already serialised all writers.)
    Re-locking a held key is a no-op."""
    if conn.dialect.name != "postgresql" or not keys:
        return
    conn.exec_driver_sql(*lock_statement(keys))


#: The advisory locks are on buckets of the key space, a traveller's bucket being the first 12
#: bits of its key (4,096 buckets; keys are HMAC digests, so evenly spread), not on each key:
#: an ingest transaction of 20,000 travellers took 20,000 locks, and a few writers at once
#: overflowed PostgreSQL's shared lock table (64 x max_connections entries by default: "out of
#: shared memory"). Ingest chunks end on a bucket's edge (`same_lock`), so chunks in flight
#: never share a lock and all of them together hold at most 4,096. Two travellers share a lock
#: once in 4,096 pairs: a desk may wait for another traveller's transaction, never for long.
#: (Processes of before this scheme lock other ids: upgrade every process of a register at once.)
_BUCKET_DIGITS = 3
LOCK_BUCKETS = 16 ** _BUCKET_DIGITS
#: The locks' ids start here ("visa" in ASCII, shifted), away from the small ids other users of
#: the database's advisory locks (and our migration lock, 7411) take.
_LOCK_SPACE = 0x76697361 << 32


def lock_bucket(key: str) -> int:
    return int(key[:_BUCKET_DIGITS], 16)


def same_lock(key: str, other: str) -> bool:
    """Whether two travellers share a lock (where an ingest chunk must not end)."""
    return lock_bucket(key) == lock_bucket(other)


def lock_ids(keys) -> list[int]:
    """The advisory lock ids of `keys` in the one global order (ascending, which is key order)."""
    return [_LOCK_SPACE + bucket for bucket in sorted({lock_bucket(key) for key in keys})]


def _alembic_config(conn: Connection):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = conn
    return config


def head_revision() -> str:
    from alembic.script import ScriptDirectory
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(config).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def migrate(engine: Engine) -> str:
    """Bring the schema to the newest revision; safe when several processes start at once."""
    head = head_revision()
    if current_revision(engine) == head:
        return head
    from alembic import command

    with _migration_lock(engine):
        with engine.begin() as conn:
            command.upgrade(_alembic_config(conn), "head")
    return head


@contextlib.contextmanager
def _migration_lock(engine: Engine):
    path = sqlite_path(str(engine.url))
    if path is not None:
        with open(f"{path}.migrate.lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield
        return
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(7411)"))
            conn.commit()
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(7411)"))
                conn.commit()
        return
    yield
