"""The guarded key (issue 10): the register stores its key's fingerprint at `init`, every
command and the server compare the key they were given with it and refuse to start on a
mismatch, and a new key comes only from `init` on an empty register or from `rotate_key`,
which re-keys every stored pseudonym in one transaction and is written to the audit log."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from sqlalchemy import Engine, func, select, text, update

from . import schema as s
from .config import ConfigError, KeyMaterial, RegisterConfig, read_key_file, write_new_key_file
from .db import write_transaction

#: Tables whose rows carry traveller keys (and which make a register "not empty").
KEYED = ((s.crossings, ("traveller_key",)), (s.decisions, ("traveller_key",)), (s.stay_changes, ("traveller_key",)),
         (s.document_links, ("traveller_key", "linked_key")), (s.audit_log, ("traveller_key",)))


def stored_fingerprint(conn) -> str | None:
    t = s.register_keys
    return conn.execute(select(t.c.fingerprint).order_by(t.c.id.desc()).limit(1)).scalar()


def is_empty(conn) -> bool:
    for table in (s.crossings, s.document_links, s.stay_changes, s.tokens):
        if conn.execute(select(func.count()).select_from(select(table.c.id).limit(1).subquery())).scalar():
            return False
    return True


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def check_key(engine: Engine, material: KeyMaterial, config: RegisterConfig | None = None) -> None:
    """Refuse (ConfigError naming the fix) a key that is not the one this register was made with."""
    with engine.connect() as conn:
        expected = stored_fingerprint(conn)
    if expected is None:
        raise ConfigError("this register has no key fingerprint yet: run `visafree register init` once "
                          "(it records the key it will accept from then on)")
    if material.fingerprint == expected:
        return
    pending = Path(f"{config.key_file}.new") if config is not None and config.key_file else None
    if pending is not None and pending.is_file():
        try:
            if read_key_file(pending).fingerprint == expected:
                raise ConfigError(f"{config.key_file}: a key rotation was interrupted after the register was re-keyed; "
                                  f"the register's key is in {pending}: move it into place (mv {pending} {config.key_file})")
        except ConfigError as exc:
            if "rotation was interrupted" in str(exc):
                raise
    raise ConfigError(f"{material.source or 'the key'}: this is not the key this register was created with "
                      f"(fingerprint {material.fingerprint[:12]}…, the register expects {expected[:12]}…). "
                      "Restore the right key file from your backup; to change keys on purpose run "
                      "`visafree register rotate-key` with the current key")


def init_key(engine: Engine, config: RegisterConfig, env, *, actor: str) -> tuple[KeyMaterial, bool]:
    """`init`: create the key on an empty register, or record the fingerprint of the key a
    register made before fingerprints existed; afterwards only check it. Returns (key, new?)."""
    with engine.connect() as conn:
        expected = stored_fingerprint(conn)
        empty = is_empty(conn)
    if expected is not None:
        material = config.load_key(env)
        check_key(engine, material, config)
        return material, False
    key_missing = not config.key_from_env and not Path(config.key_file).exists()
    if key_missing and not empty:
        raise ConfigError(f"{config.key_file}: no key file, and this register already holds data: a new key would make "
                          "every traveller a stranger. Restore the key file from your backup, then run init again")
    material = config.load_key(env, create=empty)
    with write_transaction(engine) as conn:
        if stored_fingerprint(conn) is None:
            conn.execute(s.register_keys.insert().values(fingerprint=material.fingerprint, created_by=actor, created_at=_now()))
            conn.execute(s.audit_log.insert().values(at=_now(), actor=actor, action="key_init", traveller_key=None,
                                                     detail=f"fingerprint={material.fingerprint[:12]}"))
    check_key(engine, material, config)
    return material, key_missing


def rotate_key(engine: Engine, config: RegisterConfig, env, *, actor: str) -> tuple[str, int]:
    """Re-key every pseudonym in one transaction and replace the key file; returns the new
    fingerprint and how many distinct pseudonyms were re-keyed.

    The new key is written to KEY.new (0600) first; the database is re-keyed and the new
    fingerprint recorded in one transaction; then KEY.new replaces KEY. A crash in between
    leaves either the old state whole, or a re-keyed register whose key is in KEY.new, which
    every command then names. The old key is not kept in any file."""
    if config.key_from_env:
        raise ConfigError("rotate-key works on a key file: unset VISAFREE_REGISTER_KEY and set VISAFREE_KEY_FILE")
    old = config.load_key(env)
    check_key(engine, old, config)
    key_file = Path(config.key_file)
    pending = Path(f"{key_file}.new")
    new = KeyMaterial(old.inner, os.urandom(32), str(key_file))
    try:
        write_new_key_file(pending, new)
    except FileExistsError:
        raise ConfigError(f"{pending} exists: a rotation may have been interrupted; run any register command to see "
                          "which key the register accepts, then remove the stale file") from None
    try:
        with write_transaction(engine) as conn:
            if conn.dialect.name == "postgresql":
                # Every writer waits until the re-keying is committed (desks hold advisory locks
                # inside transactions on these tables, so they finish first or wait).
                conn.execute(text("LOCK TABLE crossings, decisions, stay_changes, document_links, audit_log "
                                  "IN EXCLUSIVE MODE"))
            keys: set[str] = set()
            for table, columns in KEYED:
                for column in columns:
                    keys.update(k for k in conn.execute(select(table.c[column]).distinct()).scalars() if k)
            mapping = {k: old.rekey(new, k) for k in keys}
            for table, columns in KEYED:
                for column in columns:
                    _remap(conn, table, column, mapping)
            # The links' audit details name the linked key: re-keyed too.
            a = s.audit_log
            for row in conn.execute(select(a.c.id, a.c.detail).where(a.c.action == "link")).all():
                if row.detail and row.detail.startswith("linked_key="):
                    linked = row.detail.split("=", 1)[1]
                    if linked in mapping:
                        conn.execute(update(a).where(a.c.id == row.id).values(detail=f"linked_key={mapping[linked]}"))
            conn.execute(s.register_keys.insert().values(fingerprint=new.fingerprint, created_by=actor, created_at=_now()))
            conn.execute(a.insert().values(at=_now(), actor=actor, action="key_rotate", traveller_key=None,
                                           detail=f"fingerprint {old.fingerprint[:12]} -> {new.fingerprint[:12]}; "
                                                  f"{len(mapping)} pseudonyms re-keyed"))
    except BaseException:
        pending.unlink(missing_ok=True)
        raise
    os.replace(pending, key_file)
    directory = os.open(key_file.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
    return new.fingerprint, len(mapping)


def _remap(conn, table, column: str, mapping: dict[str, str]) -> None:
    """old -> new for one column, set-based through a scratch table of the mapping (one
    UPDATE statement, so a new key equal to another's old key is not mapped twice)."""
    conn.execute(text("CREATE TEMP TABLE IF NOT EXISTS rekey_map (old VARCHAR(64) PRIMARY KEY, new VARCHAR(64) NOT NULL)"))
    conn.execute(text("DELETE FROM rekey_map"))
    items = [{"old": k, "new": v} for k, v in mapping.items()]
    for start in range(0, len(items), 5000):
        conn.execute(text("INSERT INTO rekey_map (old, new) VALUES (:old, :new)"), items[start:start + 5000])
    name = table.name
    conn.execute(text(f"UPDATE {name} SET {column} = (SELECT new FROM rekey_map WHERE old = {name}.{column}) "
                      f"WHERE {column} IN (SELECT old FROM rekey_map)"))
