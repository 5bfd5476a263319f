"""Entries record the basis of the stay they open (issue 13): visa-free (NULL), a visa with its
kind, dates, entries and duration, a residence permit with its valid-until date, or a long-stay
visa. Existing rows stay visa-free, as they were judged.

Revision ID: 0003
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("crossings") as batch:
        batch.add_column(sa.Column("stay_basis", sa.String(16)))
        batch.add_column(sa.Column("visa_kind", sa.String(16)))
        batch.add_column(sa.Column("basis_valid_from", sa.Date))
        batch.add_column(sa.Column("basis_valid_until", sa.Date))
        batch.add_column(sa.Column("visa_entries", sa.String(8)))
        batch.add_column(sa.Column("visa_duration_days", sa.Integer))
        batch.create_check_constraint(
            "ck_crossings_stay_basis",
            "stay_basis IS NULL OR stay_basis IN ('visa', 'residence_permit', 'long_stay_visa')")


def downgrade() -> None:
    with op.batch_alter_table("crossings") as batch:
        batch.drop_constraint("ck_crossings_stay_basis", type_="check")
        for name in ("visa_duration_days", "visa_entries", "basis_valid_until", "basis_valid_from", "visa_kind",
                     "stay_basis"):
            batch.drop_column(name)
