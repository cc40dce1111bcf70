"""places: each photo's place in words, from its GPS position

Revision ID: 0009_places
Revises: 0008_vector_changes
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_places"
down_revision = "0008_vector_changes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "photo_places",
        sa.Column("photo_id", sa.Integer(), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=False),
        sa.Column("longitude", sa.Float(), nullable=False),
        sa.Column("city", sa.Text(), nullable=True),
        sa.Column("district", sa.Text(), nullable=True),
        sa.Column("region", sa.Text(), nullable=True),
        sa.Column("country", sa.Text(), nullable=True),
        sa.Column("country_code", sa.String(length=2), nullable=True),
        sa.Column("distance_km", sa.Float(), nullable=True),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["photo_id"],
            ["photos.id"],
            name=op.f("fk_photo_places_photo_id_photos"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("photo_id", name=op.f("pk_photo_places")),
    )
    op.create_index(op.f("ix_photo_places_country"), "photo_places", ["country"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_photo_places_country"), table_name="photo_places")
    op.drop_table("photo_places")
