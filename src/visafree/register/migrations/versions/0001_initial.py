"""The first register: crossings, desk decisions, stay changes (R6/R7), document links,
tokens and the audit log.

Revision ID: 0001
Revises:
"""
from alembic import op
import sqlalchemy as sa

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer, "sqlite")
Stamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "crossings",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(128), nullable=False, unique=True),
        sa.Column("traveller_key", sa.String(64), nullable=False),
        sa.Column("issuing_state", sa.String(3), nullable=False),
        sa.Column("nationality", sa.String(3), nullable=False),
        sa.Column("passport_type", sa.String(16), nullable=False),
        sa.Column("passport_expires", sa.Date),
        sa.Column("direction", sa.String(5), nullable=False),
        sa.Column("destination", sa.String(3), nullable=False),
        sa.Column("border_post", sa.String(64), nullable=False),
        sa.Column("local_date", sa.Date, nullable=False),
        sa.Column("local_time", sa.Time),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("corrects", Id, sa.ForeignKey("crossings.id")),
        sa.Column("withdraws", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("note", sa.Text),
        sa.Column("recorded_by", sa.String(128), nullable=False),
        sa.Column("recorded_at", Stamp, nullable=False),
        sa.CheckConstraint("direction IN ('entry', 'exit')", name="ck_crossings_direction"),
    )
    op.create_index("ix_crossings_traveller", "crossings", ["traveller_key", "local_date"])
    op.create_index("ix_crossings_corrects", "crossings", ["corrects"])
    op.create_table(
        "decisions",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("crossing_id", Id, sa.ForeignKey("crossings.id"), nullable=False, unique=True),
        sa.Column("traveller_key", sa.String(64), nullable=False),
        sa.Column("outcome", sa.String(6), nullable=False),
        sa.Column("permitted_until", sa.Date),
        sa.Column("reasons", sa.String(200), nullable=False, server_default=""),
        sa.Column("limited_by", sa.String(32)),
        sa.Column("regime", sa.String(64), nullable=False),
        sa.Column("officer", sa.String(128), nullable=False),
        sa.Column("decided_at", Stamp, nullable=False),
        sa.CheckConstraint("outcome IN ('admit', 'refuse')", name="ck_decisions_outcome"),
    )
    op.create_table(
        "stay_changes",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("traveller_key", sa.String(64), nullable=False),
        sa.Column("entry_crossing_id", Id, sa.ForeignKey("crossings.id"), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("rule", sa.String(8), nullable=False),
        sa.Column("new_end", sa.Date, nullable=False),
        sa.Column("legal_basis", sa.Text, nullable=False),
        sa.Column("corrects", Id, sa.ForeignKey("stay_changes.id")),
        sa.Column("withdraws", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("officer", sa.String(128), nullable=False),
        sa.Column("recorded_at", Stamp, nullable=False),
        sa.CheckConstraint("kind IN ('extension', 'shortening')", name="ck_stay_changes_kind"),
    )
    op.create_index("ix_stay_changes_entry", "stay_changes", ["entry_crossing_id"])
    op.create_table(
        "document_links",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("traveller_key", sa.String(64), nullable=False),
        sa.Column("linked_key", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("corrects", Id, sa.ForeignKey("document_links.id")),
        sa.Column("withdraws", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("officer", sa.String(128), nullable=False),
        sa.Column("recorded_at", Stamp, nullable=False),
    )
    op.create_index("ix_document_links_traveller", "document_links", ["traveller_key"])
    op.create_index("ix_document_links_linked", "document_links", ["linked_key"])
    op.create_table(
        "tokens",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("label", sa.String(128), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("created_at", Stamp, nullable=False),
        sa.CheckConstraint("role IN ('officer', 'auditor', 'admin')", name="ck_tokens_role"),
    )
    op.create_table(
        "token_revocations",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("token_id", Id, sa.ForeignKey("tokens.id"), nullable=False),
        sa.Column("revoked_by", sa.String(128), nullable=False),
        sa.Column("revoked_at", Stamp, nullable=False),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("at", Stamp, nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("traveller_key", sa.String(64)),
        sa.Column("detail", sa.Text),
    )
    op.create_index("ix_audit_log_traveller", "audit_log", ["traveller_key"])


def downgrade() -> None:
    for table in ("audit_log", "token_revocations", "tokens", "document_links", "stay_changes", "decisions", "crossings"):
        op.drop_table(table)
