"""The scheduler's jobs leave the store: they are derived from the configuration at start-up and kept in memory.

Revision ID: 0004
Revises: 0003

The last release kept APScheduler's jobs in the same database, in a table
APScheduler created itself (``apscheduler_jobs``). Two replicas would share
that job store, which APScheduler does not coordinate; the table goes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if sa.inspect(op.get_bind()).has_table("apscheduler_jobs"):
        op.drop_table("apscheduler_jobs")


def downgrade() -> None:
    pass  # APScheduler's job store creates its table again when a release that uses it starts
