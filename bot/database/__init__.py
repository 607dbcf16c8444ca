"""The incident store's database: connecting to it, migrating its schema, copying it.

SQLite in the state directory serves one replica; PostgreSQL serves two or
more (``state.database_url``). Alembic migrations in ``migrations/`` define
the schema; a PostgreSQL advisory lock keeps two replicas from migrating at
once.
"""
