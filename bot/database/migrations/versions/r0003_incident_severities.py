"""Incidents remember the highest severity they reached and the highest the channel was told.

Revision ID: 0003
Revises: 0002

A rise past what the channel was told is broadcast from the thread; both are
empty for incidents opened before.
"""

from __future__ import annotations

import sqlalchemy as sa

from bot.database.migrations.columns import add_missing, drop_present

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    add_missing(
        "incidents",
        sa.Column("peak_severity", sa.String(16), nullable=True),
        sa.Column("announced_severity", sa.String(16), nullable=True),
    )


def downgrade() -> None:
    drop_present("incidents", "peak_severity", "announced_severity")
