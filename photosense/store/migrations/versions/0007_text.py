"""text in photos: the lines read in each photo and their full-text index

Revision ID: 0007_text
Revises: 0006_people
Create Date: 2026-12-06

``photo_text_fts`` is an FTS5 index over ``photo_text.text`` (external content, kept in step by
triggers): Porter stemming over unicode61 with diacritics removed, so "menus" finds "MENU" and
"cafe" finds "Café".
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_text"
down_revision = "0006_people"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "photo_text",
        sa.Column("photo_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.Column("limited", sa.String(length=8), nullable=True),
        sa.Column("read_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["photo_id"],
            ["photos.id"],
            name=op.f("fk_photo_text_photo_id_photos"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("photo_id", name=op.f("pk_photo_text")),
    )
    op.execute(
        "CREATE VIRTUAL TABLE photo_text_fts USING fts5(text, content='photo_text', "
        "content_rowid='photo_id', tokenize='porter unicode61 remove_diacritics 2')"
    )
    op.execute(
        "CREATE TRIGGER photo_text_ai AFTER INSERT ON photo_text BEGIN "
        "INSERT INTO photo_text_fts(rowid, text) VALUES (new.photo_id, new.text); END"
    )
    op.execute(
        "CREATE TRIGGER photo_text_ad AFTER DELETE ON photo_text BEGIN "
        "INSERT INTO photo_text_fts(photo_text_fts, rowid, text) "
        "VALUES ('delete', old.photo_id, old.text); END"
    )
    op.execute(
        "CREATE TRIGGER photo_text_au AFTER UPDATE ON photo_text BEGIN "
        "INSERT INTO photo_text_fts(photo_text_fts, rowid, text) "
        "VALUES ('delete', old.photo_id, old.text); "
        "INSERT INTO photo_text_fts(rowid, text) VALUES (new.photo_id, new.text); END"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS photo_text_ai")
    op.execute("DROP TRIGGER IF EXISTS photo_text_ad")
    op.execute("DROP TRIGGER IF EXISTS photo_text_au")
    op.execute("DROP TABLE IF EXISTS photo_text_fts")
    op.drop_table("photo_text")
