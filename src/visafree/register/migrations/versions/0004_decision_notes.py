"""Decisions keep the notes the desk gave as codes and parameters (issue 12): the engine's
explanation codes with their params, and the register's own (register/notes.py), as JSON, so
history, review and the API say them in the reader's language, never as stored English.

Rows decided before this revision had no stored notes (the desk's English lines were printed,
never kept): their column is NULL and they show their reasons (codes, translated) as before.
A value that is not a list of coded notes is shown as stored (register/notes.loads).

Revision ID: 0004
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("decisions") as batch:
        batch.add_column(sa.Column("notes", sa.Text))


def downgrade() -> None:
    with op.batch_alter_table("decisions") as batch:
        batch.drop_column("notes")
