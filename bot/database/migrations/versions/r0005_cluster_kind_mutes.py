"""A kind of finding can be muted on one cluster, beside muting it on every cluster.

Revision ID: 0005
Revises: 0004

A fleet's team silences its own cluster's pending pods during its
maintenance without silencing them for the other nineteen clusters. A table
of its own leaves ``kind_mutes`` (the fleet-wide mutes) as it was.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cluster_kind_mutes",
        sa.Column("cluster", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("until", sa.DateTime(), nullable=False),
        sa.Column("by", sa.String(64), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("cluster", "kind"),
    )


def downgrade() -> None:
    op.drop_table("cluster_kind_mutes")
