"""The register's database connections (db.py)."""

import pytest
from sqlalchemy import text

from visafree.register import db
from visafree.register.service import Document

from .helpers import D


def _kill_other_backends(engine) -> int:
    with engine.connect() as admin:
        admin = admin.execution_options(isolation_level="AUTOCOMMIT")
        return admin.execute(text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                  "WHERE datname = current_database() AND pid <> pg_backend_pid()")).scalar()


@pytest.mark.parametrize("idle", [True, False])
def test_a_pooled_connection_the_server_dropped(make_register, monkeypatch, idle):
    """PostgreSQL: a pooled connection whose server process is gone (a restart, a failover).
    One idle longer than IDLE_PING_SECONDS is pinged, found dead and replaced: the desk never
    notices. One used moments ago is not pinged (the round trip is saved): its transaction fails
    with a database error (the API's 409 "try again") and the next call gets a new connection."""
    register = make_register()
    if register.engine.dialect.name != "postgresql":
        assert register.engine.dialect.name == "sqlite"  # a file: no server to lose
        return
    document = Document("KAZ", "N0000001", "KAZ", "ordinary", D(2032, 1, 1))
    register.record_entry(document, D(2025, 3, 1), officer="o", border_post="HAN")  # a connection in the pool
    monkeypatch.setattr(db, "IDLE_PING_SECONDS", 0.0 if idle else 3600.0)
    killer = db.make_engine(str(register.engine.url.render_as_string(hide_password=False)))
    assert _kill_other_backends(killer) >= 1
    killer.dispose()
    if idle:
        register.record_exit(document, D(2025, 3, 5), officer="o", border_post="HAN")
    else:
        from sqlalchemy.exc import DBAPIError

        with pytest.raises(DBAPIError) as failed:
            register.record_exit(document, D(2025, 3, 5), officer="o", border_post="HAN")
        assert failed.value.connection_invalidated
        register.record_exit(document, D(2025, 3, 5), officer="o", border_post="HAN")
    crossings = register.history(register.key_of(document), actor="t").crossings
    assert [c["direction"] for c in crossings] == ["entry", "exit"]  # the exit stored once
