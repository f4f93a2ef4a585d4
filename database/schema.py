"""The tables, in SQLAlchemy Core; ``migrations/versions`` creates and changes them (never ``create_all``).

Times are seconds since the epoch (UTC), the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, DateTime, Float, ForeignKey, Index, Integer, MetaData, String, Table, Text

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_name)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# -- index state ------------------------------------------------------------------
# One row per committed generation: inserting generation N+1 is the commit point of a sync
# (the primary key refuses a second N+1). Rows never change; old ones are pruned.
index_manifests = Table(
    "index_manifests",
    metadata,
    Column("generation", Integer, primary_key=True, autoincrement=False),
    Column("committed_at", Float, nullable=False),
    Column("body", JSON, nullable=False),  # the manifest: collection, embedding, chunking, documents
)

# What a running (or killed) sync may have written to Chroma and not committed; at most one row.
sync_journal = Table(
    "sync_journal",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("collection", String(255), nullable=False),
    Column("hashes", JSON, nullable=False),
    Column("started_at", Float, nullable=False),
)

sync_reports = Table(
    "sync_reports",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("finished_at", Float, nullable=False),
    Column("report", JSON, nullable=False),
)

# Leases of named locks (SQLite; PostgreSQL uses advisory locks instead).
lock_leases = Table(
    "lock_leases",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("owner", String(255), nullable=False),  # host:pid:random token
    Column("acquired_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
)

# -- the web app's records --------------------------------------------------------------
feedback = Table(
    "feedback",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("kind", String(20), nullable=False),  # "abstention" or "feedback"
    Column("at", Float, nullable=False),
    Column("user_name", String(64), nullable=True),
    Column("question", Text, nullable=False),
    Column("standalone", Text, nullable=False),
    Column("answer", Text, nullable=False),
    Column("passages", JSON, nullable=False),
    Column("citations", JSON, nullable=False),
    Column("reason", String(40), nullable=False),
    Column("comment", Text, nullable=False),
    Column("liked", Boolean(create_constraint=True, name="liked_bool"), nullable=True),
    Column("diagnosis", Text, nullable=False, server_default=""),  # where an unanswered question was lost, for the admins
    Index("ix_feedback_at", "at"),
)

users = Table(
    "users",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("password_hash", String(255), nullable=True),  # Argon2id; NULL: the account cannot log in
    Column("admin", Boolean(create_constraint=True, name="admin_bool"), nullable=False),
    Column("legacy_sha256", String(64), nullable=True),  # imported old salted SHA-256 digest (refused)
    Column("problem", Text, nullable=True),  # why an imported account is refused (French, for the admins)
    Column("updated_at", Float, nullable=False),
)

login_sessions = Table(
    "login_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),  # SHA-256 of the cookie's token, never the token
    Column("user_name", String(64), ForeignKey("users.name", ondelete="CASCADE"), nullable=False),
    Column("password_stamp", String(64), nullable=False),  # a new password ends the session
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
    Index("ix_login_sessions_user_name", "user_name"),
)

# Failed logins, shared by every copy of the app (a name or an address locked out everywhere).
login_failures = Table(
    "login_failures",
    metadata,
    Column("key", String(200), primary_key=True),  # "user:<name, casefolded>" or "address:<ip>"
    Column("failures", JSON, nullable=False),  # times of the failures within the window
    Column("locked_until", Float, nullable=False),
    Column("last_failure", Float, nullable=False),
)

# -- migrations of older data folders -----------------------------------------------------
imports = Table(
    "imports",
    metadata,
    Column("name", String(100), primary_key=True),  # what was imported: "index-files", "feedback-files", "users-file"
    Column("source", Text, nullable=False),
    Column("imported_at", Float, nullable=False),
    Column("detail", JSON, nullable=False),
)

# -- saved conversations (web layer) ------------------------------------------------
# Every query names the owner (database/conversations.py): nobody reads another person's.
conversations = Table(
    "conversations",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("user_name", String(128), nullable=False, index=True),
    Column("title", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

conversation_turns = Table(
    "conversation_turns",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("conversation_id", String(32), ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("position", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("payload", JSON, nullable=False),
)
