"""captions: which files' captions were read, and in what state

Revision ID: 0003_captions
Revises: 0002_tagging
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_captions"
down_revision = "0002_tagging"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "caption_reads",
        sa.Column("photo_id", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("read_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["photo_id"],
            ["photos.id"],
            name=op.f("fk_caption_reads_photo_id_photos"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("photo_id", name=op.f("pk_caption_reads")),
    )


def downgrade() -> None:
    op.drop_table("caption_reads")
