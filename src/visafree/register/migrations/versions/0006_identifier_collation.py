"""Pseudonyms and event ids compare byte for byte on PostgreSQL (issue 10, PostgreSQL ingest).

They are identifiers, never words: 64 hexadecimal digits for a traveller's key, a source's
code for an event. Under the database's locale every comparison of them (each step of an index
look-up or insertion) went through the locale's collation; the "C" collation compares the
bytes, with the same answer for equality. A bulk ingest spends most of the server's time in
the indexes on `traveller_key` and `event_id`: this revision takes about a tenth off it
(bench_register: the server's CPU time for 200,000 rows). Every column that holds a key
changes at once, so that every comparison of keys, in one table or across two (links and
crossings, decisions and crossings), is a comparison of bytes.

SQLite compares text byte for byte already (its BINARY collation): nothing changes there.
The columns' indexes are rebuilt, so the upgrade of a large register takes a while, under a
lock on the tables (docs/register.md, "Upgrading").

Revision ID: 0006
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

#: (table, column, length, nullable): every column that holds a traveller's key or an event id.
COLUMNS = (
    ("crossings", "event_id", 128, False),
    ("crossings", "traveller_key", 64, False),
    ("decisions", "traveller_key", 64, False),
    ("stay_changes", "traveller_key", 64, False),
    ("document_links", "traveller_key", 64, False),
    ("document_links", "linked_key", 64, False),
    ("audit_log", "traveller_key", 64, True),
)


def _alter(collation: str | None) -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    for table, column, length, nullable in COLUMNS:
        op.alter_column(table, column, type_=sa.String(length, collation=collation),
                        existing_type=sa.String(length), existing_nullable=nullable)


def upgrade() -> None:
    _alter("C")


def downgrade() -> None:
    _alter("default")
