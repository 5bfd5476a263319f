"""Decisions record the regime they used or no_regime (issue 9) and what they saw (issue 10);
the key's fingerprint is kept so a changed key is refused (issue 10).

Revision ID: 0002
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer, "sqlite")
Stamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("decisions") as batch:
        batch.drop_constraint("ck_decisions_outcome", type_="check")
        batch.alter_column("regime", existing_type=sa.String(64), nullable=True)
        batch.alter_column("outcome", existing_type=sa.String(6), type_=sa.String(16), existing_nullable=False)
        batch.add_column(sa.Column("basis", sa.Text))
        batch.create_check_constraint("ck_decisions_outcome", "outcome IN ('admit', 'refuse', 'no_regime')")
    op.create_table(
        "register_keys",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("fingerprint", sa.String(64), nullable=False, unique=True),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("created_at", Stamp, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("register_keys")
    with op.batch_alter_table("decisions") as batch:
        batch.drop_constraint("ck_decisions_outcome", type_="check")
        batch.drop_column("basis")
        batch.alter_column("regime", existing_type=sa.String(64), nullable=False)
        batch.create_check_constraint("ck_decisions_outcome", "outcome IN ('admit', 'refuse')")
