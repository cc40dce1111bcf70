"""colours: each photo's dominant colours by name, with the share of the photo each covers

Revision ID: 0010_colours
Revises: 0009_places
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_colours"
down_revision = "0009_places"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "photo_colours",
        sa.Column("photo_id", sa.Integer(), nullable=False),
        sa.Column("colour", sa.String(length=16), nullable=False),
        sa.Column("share", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["photo_id"],
            ["photos.id"],
            name=op.f("fk_photo_colours_photo_id_photos"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("photo_id", "colour", name=op.f("pk_photo_colours")),
    )
    op.create_index(
        "ix_photo_colours_colour_share", "photo_colours", ["colour", "share"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_photo_colours_colour_share", table_name="photo_colours")
    op.drop_table("photo_colours")
