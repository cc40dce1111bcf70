"""ratings: a photo's stars (0-5) and its rotation as metadata (the file untouched)

Revision ID: 0005_ratings
Revises: 0004_analyses
Create Date: 2026-12-10
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_ratings"
down_revision = "0004_analyses"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("photos") as batch:
        batch.add_column(sa.Column("rating", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("rotation", sa.Integer(), nullable=False, server_default="0"))
    op.create_index(op.f("ix_photos_rating"), "photos", ["rating"])


def downgrade() -> None:
    op.drop_index(op.f("ix_photos_rating"), table_name="photos")
    with op.batch_alter_table("photos") as batch:
        batch.drop_column("rotation")
        batch.drop_column("rating")
