"""Alembic environment: migrations run on the connection ``Database.upgrade`` hands over, in its transaction."""

from __future__ import annotations

from alembic import context

from database.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through database.Database.upgrade(), which passes the connection")
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True, compare_type=True)
with context.begin_transaction():
    context.run_migrations()
