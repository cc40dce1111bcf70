"""vector_changes: each vector row records the model generation that wrote it

An index file built at generation g then catches up with the rows changed after g (and drops
the ids the store no longer has) instead of being rebuilt from every vector.

Revision ID: 0008_vector_changes
Revises: 0007_text
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_vector_changes"
down_revision = "0007_text"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Rows written before carry 0: an index file older than this migration is at a generation
    # >= 0 and so already holds them; the first index saved after it records its generation.
    with op.batch_alter_table("embeddings") as batch:
        batch.add_column(sa.Column("changed", sa.Integer(), nullable=False, server_default="0"))
    op.create_index(
        op.f("ix_embeddings_model_id_changed"), "embeddings", ["model_id", "changed"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_embeddings_model_id_changed"), table_name="embeddings")
    with op.batch_alter_table("embeddings") as batch:
        batch.drop_column("changed")
