"""The outbox records when a post's last attempt left, before it leaves.

Revision ID: 0002
Revises: 0001

A post whose outcome is unknown (the bot died waiting for Slack's answer) is
looked for in Slack before it is sent again; ``attempted_at`` is when that
attempt started.
"""

from __future__ import annotations

import sqlalchemy as sa

from bot.database.migrations.columns import add_missing, drop_present

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    add_missing("outbox", sa.Column("attempted_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    drop_present("outbox", "attempted_at")
