"""tagging: tag origin, per-photo tagging state

Revision ID: 0002_tagging
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_tagging"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tags", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("origin", sa.String(length=16), server_default="user", nullable=False)
        )

    op.create_table(
        "photo_tagging",
        sa.Column("photo_id", sa.Integer(), nullable=False),
        sa.Column("model_id", sa.String(length=200), nullable=True),
        sa.Column("state_key", sa.String(length=64), nullable=True),
        sa.Column("keywords_read", sa.Boolean(), nullable=False),
        sa.Column("tagged_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["photo_id"],
            ["photos.id"],
            name=op.f("fk_photo_tagging_photo_id_photos"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("photo_id", name=op.f("pk_photo_tagging")),
    )
    with op.batch_alter_table("photo_tagging", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_photo_tagging_state_key"), ["state_key"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("photo_tagging", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_photo_tagging_state_key"))

    op.drop_table("photo_tagging")
    with op.batch_alter_table("tags", schema=None) as batch_op:
        batch_op.drop_column("origin")
