"""Adding and dropping columns in revisions, tolerant of stores that already have them.

Builds between the last release and the first migration added new nullable
columns on their own at start-up; a store they wrote is stamped at the
baseline (its tables match) and may already hold some of the columns a later
revision adds. Those are left as they are.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


def _present(table: str) -> set[str]:
    return {column["name"] for column in sa.inspect(op.get_bind()).get_columns(table)}


def add_missing(table: str, *columns: sa.Column[object]) -> None:
    missing = [column for column in columns if column.name not in _present(table)]
    if missing:
        with op.batch_alter_table(table) as batch:
            for column in missing:
                batch.add_column(column)


def drop_present(table: str, *names: str) -> None:
    present = [name for name in names if name in _present(table)]
    if present:
        with op.batch_alter_table(table) as batch:
            for name in present:
                batch.drop_column(name)
