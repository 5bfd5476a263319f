"""Fixtures for the register: one suite on SQLite and on PostgreSQL.

PostgreSQL tests get a database of their own per xdist worker (created at session start,
dropped at the end) and a truncated schema per test, so the two workers never see each
other's rows. If the server is down these tests fail with a message saying so; they are
never skipped, since CI starts the server.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid

import pytest

pytest.importorskip("sqlalchemy", reason="the register extra is not installed")

from sqlalchemy import create_engine, text  # noqa: E402

from visafree.register.db import make_engine, migrate  # noqa: E402
from visafree.register.service import Register  # noqa: E402

PG_SERVER = os.environ.get("VISAFREE_TEST_PG_SERVER", "postgresql+psycopg://postgres@127.0.0.1:5432")
TEST_KEY = b"k" * 32 + b"-register-tests"
# The register's "now": mid-2025, so every crossing in the tests is in the past.
NOW = dt.datetime(2025, 6, 1, 12, 0, tzinfo=dt.timezone.utc)
TABLES = ("register_keys", "audit_log", "token_revocations", "tokens", "document_links", "stay_changes", "decisions", "crossings")


def record_test_key(engine) -> None:
    """What `register init` does: the register accepts TEST_KEY (subprocesses check it)."""
    from visafree.register import schema as s
    from visafree.register.config import KeyMaterial
    from visafree.register.keys import stored_fingerprint

    with engine.begin() as conn:
        if stored_fingerprint(conn) is None:
            conn.execute(s.register_keys.insert().values(fingerprint=KeyMaterial(TEST_KEY).fingerprint, created_by="test",
                                                         created_at=NOW))


@pytest.fixture(scope="session")
def pg_url(worker_id):
    name = f"visafree_register_{worker_id}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - any failure here means the server is not usable
        pytest.fail(f"PostgreSQL at {PG_SERVER} is not usable ({type(exc).__name__}: {exc}); "
                    "start it (./run test does) — postgres tests are not skipped", pytrace=False)
    url = f"{PG_SERVER}/{name}"
    engine = make_engine(url)
    migrate(engine)
    engine.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def register_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'register.sqlite'}"
    url = request.getfixturevalue("pg_url")
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
    engine.dispose()
    return url


@pytest.fixture
def make_register(register_url):
    engines = []

    def build(clock=lambda: NOW, **options) -> Register:
        engine = make_engine(register_url)
        migrate(engine)
        record_test_key(engine)
        engines.append(engine)
        return Register(engine, TEST_KEY, clock=clock, **options)

    yield build
    for engine in engines:
        engine.dispose()


@pytest.fixture
def register(make_register) -> Register:
    return make_register()


@pytest.fixture
def register_env(register_url, tmp_path):
    """Environment for a subprocess or the CLI pointing at the same register (initialised)."""
    engine = make_engine(register_url)
    migrate(engine)
    record_test_key(engine)
    engine.dispose()
    env = dict(os.environ)
    env.update(VISAFREE_DATABASE_URL=register_url, VISAFREE_REGISTER_KEY=TEST_KEY.decode(),
               VISAFREE_REGISTER_COUNTRY="VNM")
    env.pop("VISAFREE_KEY_FILE", None)
    return env
