"""Issue 10, item 2: the guarded key. A changed, deleted, unreadable or misplaced key is
refused by every command with a message naming the fix, and nothing is written; a new key
comes only from `init` on an empty register or from an audited `rotate-key`."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from visafree.cli import app
from visafree.register import schema as s

ENTRY = ["register", "entry", "--post", "HAN", "--date", "2025-03-01", "--issuing-state", "KAZ", "--document",
         "N7777777", "--expires", "2032-01-01"]
NOW = dt.datetime(2025, 6, 1, tzinfo=dt.timezone.utc)


@pytest.fixture
def workplace(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("VISAFREE_DATABASE_URL", "VISAFREE_REGISTER_KEY", "VISAFREE_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
    runner = CliRunner()
    done = runner.invoke(app, ["register", "init"])
    assert done.exit_code == 0, done.output
    done = runner.invoke(app, ENTRY)
    assert done.exit_code == 0, done.output
    return tmp_path, runner


def snapshot(root: Path) -> dict[str, str]:
    """Every file under root with a digest of its bytes; the database by its content (every
    row of every table), since SQLite's WAL checkpoints move bytes without changing a row."""
    out = {}
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.name.endswith(("-shm", "-wal", ".migrate.lock")):
            continue
        if path.suffix == ".sqlite":
            with sqlite3.connect(path) as conn:
                data = "\n".join(conn.iterdump()).encode()
            conn.close()
        else:
            data = path.read_bytes()
        out[str(path.relative_to(root))] = hashlib.sha256(data).hexdigest()
    return out


def refused(runner, root, expected: str):
    before = snapshot(root)
    for command in (ENTRY, ["register", "overstayers", "--on", "2025-05-01"], ["register", "init"]):
        done = runner.invoke(app, command)
        assert done.exit_code == 2, (command, done.output)
        assert expected in done.output, done.output
        assert "Traceback" not in done.output
    assert snapshot(root) == before  # nothing written, no new key, no new file


def test_a_changed_key_is_refused(workplace):
    root, runner = workplace
    key = root / "var" / "register.key"
    text = key.read_text()
    key.write_text(("0" if text[0] != "0" else "1") + text[1:])
    refused(runner, root, "not the key this register was created with")


def test_a_deleted_key_is_refused_and_not_made_anew(workplace):
    root, runner = workplace
    (root / "var" / "register.key").unlink()
    refused(runner, root, "restore the key file from your backup")
    assert not (root / "var" / "register.key").exists()


def test_an_unreadable_key_is_refused(workplace):
    root, runner = workplace
    key = root / "var" / "register.key"
    key.write_bytes(b"\xff\xfe\x00garbage" * 8)
    os.chmod(key, 0o600)
    refused(runner, root, "not a register key file")


def test_a_directory_in_place_of_the_key_is_refused(workplace):
    root, runner = workplace
    key = root / "var" / "register.key"
    key.unlink()
    key.mkdir()
    refused(runner, root, "is a directory, not a key file")


def test_the_server_refuses_to_start_on_a_wrong_key(workplace):
    root, _runner = workplace
    key = root / "var" / "register.key"
    key.write_text("f" * 64 + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("VISAFREE_")}
    done = subprocess.run([sys.executable, "-c", "from visafree.cli import main; main()", "serve", "--port", "0"],
                          cwd=root, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "not the key this register was created with" in done.stderr and "rotate-key" in done.stderr
    assert "Traceback" not in done.stderr


def test_init_on_a_register_with_data_never_makes_a_new_key(workplace):
    root, runner = workplace
    (root / "var" / "register.key").unlink()
    done = runner.invoke(app, ["register", "init"])
    assert done.exit_code == 2 and "restore the key file from your backup" in done.output
    assert not (root / "var" / "register.key").exists()


def test_rotation_rekeys_every_pseudonym_in_one_audited_step(workplace):
    from visafree.register import open_register

    root, runner = workplace
    key = root / "var" / "register.key"
    old_text = key.read_text().strip()
    before = open_register()
    old_key = before.traveller_key("KAZ", "N7777777")
    before.engine.dispose()
    assert runner.invoke(app, ["register", "rotate-key"]).exit_code == 2  # asks for --yes
    done = runner.invoke(app, ["register", "rotate-key", "--yes"])
    assert done.exit_code == 0, done.output
    new_text = key.read_text().strip()
    assert new_text != old_text and old_text.split(":")[0] == new_text.split(":")[0]
    assert len(new_text.splitlines()) == 1 and not (root / "var" / "register.key.new").exists()
    assert oct(key.stat().st_mode & 0o777) == "0o600"

    after = open_register()
    new_key = after.traveller_key("KAZ", "N7777777")
    assert new_key != old_key
    with after.engine.connect() as conn:
        assert conn.execute(select(s.crossings.c.traveller_key)).scalars().all() == [new_key]
        assert conn.execute(select(s.decisions.c.traveller_key)).scalars().all() == [new_key]
        actions = conn.execute(select(s.audit_log.c.action, s.audit_log.c.detail)).all()
        assert old_key not in {k for k in conn.execute(select(s.audit_log.c.traveller_key)).scalars()}
    assert any(a == "key_rotate" and "1 pseudonyms re-keyed" in d for a, d in actions)
    # The same passport finds its history under the new key: already in the country.
    done = runner.invoke(app, ENTRY[:5] + ["2025-03-05"] + ENTRY[6:])
    assert done.exit_code == 2 and "already in the country since 2025-03-01" in done.output
    after.engine.dispose()
    # The old key is refused from now on.
    key.write_text(old_text + "\n")
    done = runner.invoke(app, ENTRY)
    assert done.exit_code == 2 and "not the key this register was created with" in done.output


def test_rotation_rekeys_crossings_and_links_on_either_backend(register_url, tmp_path):
    """The rotation's set-based re-keying (a scratch table of old -> new, compared with every
    key column) on SQLite and PostgreSQL (whose key columns have the "C" collation, 0006):
    afterwards a linked document's history is found under the new keys, through the link."""
    from visafree.register.config import RegisterConfig
    from visafree.register.db import make_engine, migrate
    from visafree.register.keys import init_key, rotate_key
    from visafree.register.service import Document, Register

    env = {"VISAFREE_DATABASE_URL": register_url, "VISAFREE_KEY_FILE": str(tmp_path / "register.key")}
    config = RegisterConfig.from_env(env)
    engine = make_engine(register_url)
    try:
        migrate(engine)
        key, _ = init_key(engine, config, env, actor="t")
        old = Register(engine, key, clock=lambda: NOW)
        first, renewed = (Document("KAZ", number, "KAZ", "ordinary", dt.date(2032, 1, 1)) for number in ("N1", "N2"))
        old.record_entry(first, dt.date(2025, 3, 1), officer="o", border_post="HAN")
        old.link_documents(old.key_of(first), old.key_of(renewed), reason="renewed passport", officer="o")
        assert rotate_key(engine, config, env, actor="t")[1] == 2
        new = Register(engine, config.load_key(env), clock=lambda: NOW)
        assert new.key_of(renewed) != old.key_of(renewed)
        history = new.history(new.key_of(renewed), actor="t", on=dt.date(2025, 3, 2))
        assert [(c["date"], c["document"]) for c in history.crossings] == [(dt.date(2025, 3, 1), new.key_of(first)[:12])]
        with engine.connect() as conn:
            assert set(conn.execute(select(s.document_links.c.traveller_key, s.document_links.c.linked_key)).one()) \
                == {new.key_of(first), new.key_of(renewed)}
    finally:
        engine.dispose()


def test_a_rotated_keys_pseudonym_is_the_feistel_permutation_of_the_hmac():
    """The pseudonyms stored by a rotated register stay what they were: HMAC-SHA256 under the
    inner key, then 4 Feistel rounds whose function is HMAC-SHA256 under the outer key of the
    round's number and one half, cut to 16 bytes (written out here the plain way, one-shot HMACs
    and byte-wise XOR); a rotation's re-keying undoes the permutation exactly."""
    from visafree.register.config import KeyMaterial

    def reference(inner: bytes, outer: bytes, message: bytes) -> str:
        block = hmac.new(inner, message, hashlib.sha256).digest()
        left, right = block[:16], block[16:]
        for number in range(4):
            step = hmac.new(outer, bytes([number]) + right, hashlib.sha256).digest()[:16]
            left, right = right, bytes(a ^ b for a, b in zip(left, step))
        return (left + right).hex()

    first = KeyMaterial(b"k" * 32, bytes(range(32)))
    second = KeyMaterial(b"k" * 32, bytes(range(32, 64)))
    plain = KeyMaterial(b"k" * 32)
    messages = [f"KAZ\x1fN{i:07d}".encode() for i in range(20)] + ["VNM\x1fÄ".encode(), b""]
    assert first.pseudonyms(messages) == [reference(b"k" * 32, bytes(range(32)), m) for m in messages]
    for message in messages:
        assert first.rekey(second, first.pseudonym(message)) == second.pseudonym(message)
        assert first.rekey(plain, first.pseudonym(message)) == plain.pseudonym(message)


@pytest.mark.parametrize("rotated", [False, True], ids=["first key", "after a rotation"])
def test_bulk_pseudonyms_are_the_one_by_one_pseudonyms(rotated, tmp_path):
    """The bulk ingest's pseudonyms (Register.traveller_keys, on documents as the vectorised
    checks join them) are those the desk makes one by one, before and after a rotation (whose
    outer permutation they must apply too)."""
    from visafree.register.config import KeyMaterial
    from visafree.register.db import make_engine
    from visafree.register.service import Register

    key = KeyMaterial(b"k" * 32, os.urandom(32) if rotated else None)
    register = Register(make_engine(f"sqlite:///{tmp_path / 'r.sqlite'}"), key)
    documents = [("KAZ", f"N{i:07d}") for i in range(50)] + [("VNM", "Ä"), ("", "")]
    bulk = register.traveller_keys([f"{state}\x1f{number}" for state, number in documents])
    assert bulk == [register.traveller_key(state, number) for state, number in documents]
    if not rotated:  # RFC 2104's HMAC-SHA256 of the document, as the standard library makes it
        assert bulk[0] == hmac.new(b"k" * 32, "KAZ\x1fN0000000".encode(), hashlib.sha256).hexdigest()
    assert len(set(bulk)) == len(documents)
