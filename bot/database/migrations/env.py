"""Alembic's entry point: migrate over the connection that ``bot.database.migrate`` opened and locked."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("the incident store is migrated by `k8s-chatops db upgrade`, not by the alembic command")

context.configure(
    connection=connection,
    target_metadata=None,
    # SQLite alters a table by copying it; Alembic's batch mode does that for the few changes that need it.
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
