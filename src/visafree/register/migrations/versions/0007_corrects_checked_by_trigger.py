"""On PostgreSQL, a crossing's `corrects` is checked by triggers instead of a foreign key
(issue 10, PostgreSQL ingest).

A foreign key's check is a trigger that PostgreSQL queues for every row inserted, and runs at
the end of the statement, even when the referencing column is NULL, as `corrects` is on every
ingested crossing (only an officer's correction has one). A bulk ingest paid that queue on every
row: without it the ingest is 1.044x faster (bench_register, eight fresh-process rounds each).
The same guarantee, kept by two triggers:

- a crossing inserted, or its `corrects` changed, to point at a crossing: that crossing must
  exist; it is locked FOR KEY SHARE to the end of the transaction, as a foreign key's check
  locks it, so it cannot be deleted meanwhile. The trigger fires only WHEN corrects IS NOT
  NULL, which PostgreSQL tests as the row is inserted: ingested rows queue nothing;
- a crossing deleted, or its id changed: refused while another crossing corrects it (the
  foreign key's NO ACTION), through the partial index on `corrects` (migration 0005).

Both raise foreign_key_violation (SQLSTATE 23503), as the foreign key did. READ COMMITTED, the
register's isolation level, makes them as safe under concurrency as the key: a deleting
transaction waits for the key-share lock of an inserting one, and its check's statement then
sees the committed correction. SQLite keeps its foreign key (the code's schema still declares
it, schema.py): its cost does not matter there, where ingest is one writer anyway.

Revision ID: 0007
Revises: 0006
"""
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

UPGRADE = """
ALTER TABLE crossings DROP CONSTRAINT crossings_corrects_fkey;

CREATE FUNCTION crossings_corrects_exists() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM 1 FROM crossings WHERE id = NEW.corrects FOR KEY SHARE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'crossings.corrects: no crossing %', NEW.corrects
      USING ERRCODE = 'foreign_key_violation', TABLE = 'crossings', COLUMN = 'corrects';
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER crossings_corrects_exists AFTER INSERT OR UPDATE OF corrects ON crossings
  FOR EACH ROW WHEN (NEW.corrects IS NOT NULL) EXECUTE FUNCTION crossings_corrects_exists();

CREATE FUNCTION crossings_corrected_kept() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND NEW.id = OLD.id THEN
    RETURN NEW;
  END IF;
  IF EXISTS (SELECT 1 FROM crossings WHERE corrects = OLD.id) THEN
    RAISE EXCEPTION 'crossings.corrects: crossing % is corrected by another', OLD.id
      USING ERRCODE = 'foreign_key_violation', TABLE = 'crossings', COLUMN = 'corrects';
  END IF;
  IF TG_OP = 'DELETE' THEN
    RETURN OLD;
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER crossings_corrected_kept BEFORE DELETE OR UPDATE OF id ON crossings
  FOR EACH ROW EXECUTE FUNCTION crossings_corrected_kept();
"""

DOWNGRADE = """
DROP TRIGGER crossings_corrected_kept ON crossings;
DROP FUNCTION crossings_corrected_kept();
DROP TRIGGER crossings_corrects_exists ON crossings;
DROP FUNCTION crossings_corrects_exists();
ALTER TABLE crossings ADD CONSTRAINT crossings_corrects_fkey FOREIGN KEY (corrects) REFERENCES crossings (id);
"""


def upgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute(UPGRADE)


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute(DOWNGRADE)
