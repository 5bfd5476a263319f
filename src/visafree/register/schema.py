"""The register's tables (SQLAlchemy Core). Every table is append-only for the application:
a correction is a new row whose `corrects` points at the row it replaces or withdraws, so the
record of what an officer saw and decided at the time is never lost.

Alembic's versions under `migrations/` create these tables; this module is what the code queries.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger, Boolean, CheckConstraint, Column, Date, DateTime, ForeignKey, Index, Integer,
    MetaData, String, Table, Text, Time, text,
)

metadata = MetaData()

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit identity.
Id = BigInteger().with_variant(Integer, "sqlite")
# Identifiers compared byte for byte (migration 0006): PostgreSQL's "C" collation, which its
# indexes compare fastest; SQLite's text is compared so already.
Key = String(64).with_variant(String(64, collation="C"), "postgresql")  # a traveller's pseudonym
EventId = String(128).with_variant(String(128, collation="C"), "postgresql")

crossings = Table(
    "crossings", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("event_id", EventId, nullable=False, unique=True),
    Column("traveller_key", Key, nullable=False),
    Column("issuing_state", String(3), nullable=False),
    Column("nationality", String(3), nullable=False),
    Column("passport_type", String(16), nullable=False),
    Column("passport_expires", Date),
    Column("direction", String(5), nullable=False),
    Column("destination", String(3), nullable=False),
    Column("border_post", String(64), nullable=False),
    Column("local_date", Date, nullable=False),
    Column("local_time", Time),
    Column("source", String(16), nullable=False),
    # A foreign key on SQLite; on PostgreSQL two triggers keep the same rule (migration 0007:
    # the key's check was queued for every ingested row, whose `corrects` is always NULL).
    Column("corrects", Id, ForeignKey("crossings.id")),
    Column("withdraws", Boolean, nullable=False, default=False),
    Column("note", Text),
    Column("recorded_by", String(128), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    # The basis of the stay an entry opens (issue 13, docs/basis.md): NULL is visa-free; a visa
    # carries its kind, dates, entries and duration, a residence permit its valid-until date.
    Column("stay_basis", String(16)),
    Column("visa_kind", String(16)),
    Column("basis_valid_from", Date),
    Column("basis_valid_until", Date),
    Column("visa_entries", String(8)),
    Column("visa_duration_days", Integer),
    CheckConstraint("direction IN ('entry', 'exit')", name="ck_crossings_direction"),
    CheckConstraint("stay_basis IS NULL OR stay_basis IN ('visa', 'residence_permit', 'long_stay_visa')",
                    name="ck_crossings_stay_basis"),
    Index("ix_crossings_traveller", "traveller_key", "local_date"),
    # Partial (migration 0005): only corrections have a `corrects`; an ingest keeps no entry per row.
    Index("ix_crossings_corrects", "corrects", postgresql_where=text("corrects IS NOT NULL"),
          sqlite_where=text("corrects IS NOT NULL")),
)

decisions = Table(
    "decisions", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("crossing_id", Id, ForeignKey("crossings.id"), nullable=False, unique=True),
    Column("traveller_key", Key, nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("permitted_until", Date),
    Column("reasons", String(200), nullable=False, default=""),
    Column("limited_by", String(32)),
    # The regime the decision used (issue 9); NULL for outcome no_regime, and for a stay on a
    # visa or a permit of a traveller no visa-free regime covers (issue 13: judged by its basis).
    Column("regime", String(64)),
    Column("officer", String(128), nullable=False),
    Column("decided_at", DateTime(timezone=True), nullable=False),
    # What the decision saw: the ids of the traveller's crossings it was judged on, in order
    # (no personal data), so a later review can show what changed since.
    Column("basis", Text),
    # The notes under the decision as codes and parameters (JSON; register/notes.py, issue 12),
    # said in the reader's language when shown. NULL on rows decided before migration 0004.
    Column("notes", Text),
    CheckConstraint("outcome IN ('admit', 'refuse', 'no_regime')", name="ck_decisions_outcome"),
)

# R7 extensions and R6 shortenings: an authority's decision on one stay's permitted end.
stay_changes = Table(
    "stay_changes", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("traveller_key", Key, nullable=False),
    Column("entry_crossing_id", Id, ForeignKey("crossings.id"), nullable=False),
    Column("kind", String(10), nullable=False),
    Column("rule", String(8), nullable=False),
    Column("new_end", Date, nullable=False),
    Column("legal_basis", Text, nullable=False),
    Column("corrects", Id, ForeignKey("stay_changes.id")),
    Column("withdraws", Boolean, nullable=False, default=False),
    Column("officer", String(128), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    CheckConstraint("kind IN ('extension', 'shortening')", name="ck_stay_changes_kind"),
    Index("ix_stay_changes_entry", "entry_crossing_id"),
)

# An officer's statement that two documents belong to one person (a renewed passport).
document_links = Table(
    "document_links", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("traveller_key", Key, nullable=False),
    Column("linked_key", Key, nullable=False),
    Column("reason", Text, nullable=False),
    Column("corrects", Id, ForeignKey("document_links.id")),
    Column("withdraws", Boolean, nullable=False, default=False),
    Column("officer", String(128), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Index("ix_document_links_traveller", "traveller_key"),
    Index("ix_document_links_linked", "linked_key"),
)

tokens = Table(
    "tokens", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("role", String(16), nullable=False),
    Column("label", String(128), nullable=False),
    Column("created_by", String(128), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    CheckConstraint("role IN ('officer', 'auditor', 'admin')", name="ck_tokens_role"),
)

token_revocations = Table(
    "token_revocations", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("token_id", Id, ForeignKey("tokens.id"), nullable=False),
    Column("revoked_by", String(128), nullable=False),
    Column("revoked_at", DateTime(timezone=True), nullable=False),
)

# The pseudonymisation key's fingerprint (never the key): every start compares the key it was
# given with the newest row, so a changed or lost key is refused instead of silently making
# every traveller a new one. A rotation adds a row (and an audit_log entry) in the same transaction.
register_keys = Table(
    "register_keys", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("fingerprint", String(64), nullable=False, unique=True),
    Column("created_by", String(128), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

audit_log = Table(
    "audit_log", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(128), nullable=False),
    Column("action", String(32), nullable=False),
    Column("traveller_key", Key),
    Column("detail", Text),
    Index("ix_audit_log_traveller", "traveller_key"),
)
