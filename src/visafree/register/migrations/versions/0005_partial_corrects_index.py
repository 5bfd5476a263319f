"""The index on crossings.corrects holds only the corrections (issue 10, PostgreSQL ingest).

Almost every crossing corrects nothing: its `corrects` is NULL, and a full index kept one entry
per crossing that no query ever looks up (every query on the column either compares it with a
value or asks for IS NOT NULL, which both PostgreSQL and SQLite match to the partial index's
predicate). A bulk ingest paid for that entry on every row: the partial index leaves one index
fewer to keep up per ingested row. Rows and answers are unchanged.

Revision ID: 0005
Revises: 0004
"""
from alembic import op
import sqlalchemy as sa

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_crossings_corrects", table_name="crossings")
    op.create_index("ix_crossings_corrects", "crossings", ["corrects"],
                    postgresql_where=sa.text("corrects IS NOT NULL"), sqlite_where=sa.text("corrects IS NOT NULL"))


def downgrade() -> None:
    op.drop_index("ix_crossings_corrects", table_name="crossings")
    op.create_index("ix_crossings_corrects", "crossings", ["corrects"])
