"""The SQLite schema: photos, their metadata, vectors per model, albums, captions and tags.

SQLite is the source of truth; vector index files are caches rebuilt from the ``embeddings``
table. Changes to this file need a migration in ``photosense/store/migrations/versions``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Folder(Base):
    """A root folder the user asked photosense to watch."""

    __tablename__ = "folders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    path: Mapped[str] = mapped_column(Text, unique=True)
    added_at: Mapped[datetime] = mapped_column(DateTime)
    last_scan_at: Mapped[datetime | None] = mapped_column(DateTime)
    online: Mapped[bool] = mapped_column(Boolean, default=True)


class Photo(Base):
    """One image file. Its identity is its path plus (size, mtime); its content hash lets a
    moved or renamed file keep its row (and so its vectors, tags, captions and albums)."""

    __tablename__ = "photos"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    folder_id: Mapped[int] = mapped_column(ForeignKey("folders.id", ondelete="CASCADE"), index=True)
    path: Mapped[str] = mapped_column(Text, unique=True)
    size: Mapped[int] = mapped_column(Integer)
    mtime_ns: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    format: Mapped[str | None] = mapped_column(String(16))
    # When the photo was taken: EXIF DateTimeOriginal when present (``taken_at_exif`` true),
    # else the file's modification time, so date filters and sorting cover every photo.
    taken_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    taken_at_exif: Mapped[bool] = mapped_column(Boolean, default=False)
    camera_make: Mapped[str | None] = mapped_column(Text)
    camera_model: Mapped[str | None] = mapped_column(Text)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    indexed_at: Mapped[datetime] = mapped_column(DateTime)
    # The user's stars (0 unrated, 5 a favourite) and quarter turns clockwise applied on top of
    # the file's own EXIF orientation: both kept here and in the XMP sidecar, never in the file.
    rating: Mapped[int] = mapped_column(Integer, default=0, server_default="0", index=True)
    rotation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    embeddings: Mapped[list[Embedding]] = relationship(
        back_populates="photo", cascade="all, delete-orphan", passive_deletes=True
    )


class Skipped(Base):
    """A file that could not be indexed, with a reason the user can act on.

    Kept with the file's (size, mtime) so an unchanged bad file is not retried on every scan.
    """

    __tablename__ = "skipped"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    folder_id: Mapped[int] = mapped_column(ForeignKey("folders.id", ondelete="CASCADE"), index=True)
    path: Mapped[str] = mapped_column(Text, unique=True)
    size: Mapped[int | None] = mapped_column(Integer)
    mtime_ns: Mapped[int | None] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime)


class Model(Base):
    """A model that has produced vectors in this library (or was derived by fine-tuning)."""

    __tablename__ = "models"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    dim: Mapped[int] = mapped_column(Integer)
    base_id: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    # Bumped on every committed change to this model's vectors; index files record the
    # generation they were built from, so a stale index is detected and rebuilt.
    generation: Mapped[int] = mapped_column(Integer, default=0)
    info: Mapped[dict[str, object] | None] = mapped_column(JSON)


class Embedding(Base):
    """One photo's vector under one model (float32 or float16 bytes, little-endian)."""

    __tablename__ = "embeddings"

    photo_id: Mapped[int] = mapped_column(
        ForeignKey("photos.id", ondelete="CASCADE"), primary_key=True
    )
    model_id: Mapped[str] = mapped_column(
        ForeignKey("models.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    dim: Mapped[int] = mapped_column(Integer)
    dtype: Mapped[str] = mapped_column(String(8))
    vector: Mapped[bytes] = mapped_column(LargeBinary)
    # The model generation that wrote this row: an index built at generation g catches up
    # with the rows changed after g instead of being rebuilt.
    changed: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    photo: Mapped[Photo] = relationship(back_populates="embeddings")

    __table_args__ = (Index(None, "model_id", "changed"),)


class Album(Base):
    __tablename__ = "albums"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(Text, unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class AlbumPhoto(Base):
    __tablename__ = "album_photos"

    album_id: Mapped[int] = mapped_column(
        ForeignKey("albums.id", ondelete="CASCADE"), primary_key=True
    )
    photo_id: Mapped[int] = mapped_column(
        ForeignKey("photos.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0)


class Caption(Base):
    """A photo's caption: written by the user, or imported (file metadata, sidecar, CSV)."""

    __tablename__ = "captions"

    photo_id: Mapped[int] = mapped_column(
        ForeignKey("photos.id", ondelete="CASCADE"), primary_key=True
    )
    text: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(16))
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class CaptionRead(Base):
    """Per photo: the fingerprint of its file and sidecars when the captions in them were last
    read, so reading captions only looks again at photos whose files changed since."""

    __tablename__ = "caption_reads"

    photo_id: Mapped[int] = mapped_column(
        ForeignKey("photos.id", ondelete="CASCADE"), primary_key=True
    )
    fingerprint: Mapped[str] = mapped_column(String(64))
    read_at: Mapped[datetime] = mapped_column(DateTime)


class Analysis(Base):
    """Per photo and kind of analysis (faces, text): the version (model and settings) and the
    file content it was analysed in, so an analysis only runs again on a changed file or a new
    version. ``failure`` says why a photo could not be analysed (it is not retried until then)."""

    __tablename__ = "analyses"

    photo_id: Mapped[int] = mapped_column(
        ForeignKey("photos.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    version: Mapped[str] = mapped_column(String(100))
    fingerprint: Mapped[str] = mapped_column(String(64))
    found: Mapped[int] = mapped_column(Integer, default=0)
    failure: Mapped[str | None] = mapped_column(Text)
    analysed_at: Mapped[datetime] = mapped_column(DateTime)


class Tag(Base):
    """A tag of the vocabulary; ``prompts`` overrides the default prompt ensemble.

    ``enabled`` tags are suggested automatically; ``origin`` says where the tag came from
    (``vocabulary``: the shipped default list, ``user``: added by hand, ``imported``: a keyword
    read from a file, which is not suggested until given prompts).
    """

    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(Text, unique=True)
    prompts: Mapped[list[str] | None] = mapped_column(JSON)
    threshold_offset: Mapped[float] = mapped_column(Float, default=0.0)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    origin: Mapped[str] = mapped_column(String(16), default="user", server_default="user")


class PhotoTag(Base):
    """A tag on a photo: source auto/user/imported, state suggested/accepted/rejected."""

    __tablename__ = "photo_tags"
    __table_args__ = (UniqueConstraint("photo_id", "tag_id"), Index(None, "tag_id", "state"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    photo_id: Mapped[int] = mapped_column(ForeignKey("photos.id", ondelete="CASCADE"), index=True)
    tag_id: Mapped[int] = mapped_column(ForeignKey("tags.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))
    score: Mapped[float | None] = mapped_column(Float)
    model_id: Mapped[str | None] = mapped_column(String(200))


class PhotoTagging(Base):
    """Per photo: the tagging state its auto-tags were computed under, and whether its file's
    own keywords were read, so ``photosense tag`` only redoes what is out of date."""

    __tablename__ = "photo_tagging"

    photo_id: Mapped[int] = mapped_column(
        ForeignKey("photos.id", ondelete="CASCADE"), primary_key=True
    )
    model_id: Mapped[str | None] = mapped_column(String(200))
    state_key: Mapped[str | None] = mapped_column(String(64), index=True)
    keywords_read: Mapped[bool] = mapped_column(Boolean, default=False)
    tagged_at: Mapped[datetime | None] = mapped_column(DateTime)


class Setting(Base):
    """Library-wide settings (the active model, tagging parameters…) as JSON values."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[object] = mapped_column(JSON)


class Person(Base):
    """A person: a group of faces, named by the user or not yet; ``hidden`` people stay out of
    the People page and the search filter (their faces are kept)."""

    __tablename__ = "people"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str | None] = mapped_column(Text, unique=True)
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class Face(Base):
    """A face found in a photo: its box (fractions of the upright photo), the detector's score,
    its descriptor under ``model_id``, and its person. ``locked`` means the user put it there
    (named, merged, moved, or read from a name in the photo's XMP), so no re-cluster moves it."""

    __tablename__ = "faces"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    photo_id: Mapped[int] = mapped_column(ForeignKey("photos.id", ondelete="CASCADE"), index=True)
    x: Mapped[float] = mapped_column(Float)
    y: Mapped[float] = mapped_column(Float)
    w: Mapped[float] = mapped_column(Float)
    h: Mapped[float] = mapped_column(Float)
    score: Mapped[float] = mapped_column(Float)
    model_id: Mapped[str] = mapped_column(String(64))
    vector: Mapped[bytes] = mapped_column(LargeBinary)
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="SET NULL"), index=True
    )
    locked: Mapped[bool] = mapped_column(Boolean, default=False)


class FaceRejection(Base):
    """The user took this face out of this person: no clustering puts it back there."""

    __tablename__ = "face_rejections"

    face_id: Mapped[int] = mapped_column(
        ForeignKey("faces.id", ondelete="CASCADE"), primary_key=True
    )
    person_id: Mapped[int] = mapped_column(
        ForeignKey("people.id", ondelete="CASCADE"), primary_key=True
    )


class PhotoPlace(Base):
    """Where a photo was taken, in words: the nearest town to its GPS position, with the
    position and the data it was located with (so a moved position or new data locates it
    again). A row with no country means no town was near enough."""

    __tablename__ = "photo_places"

    photo_id: Mapped[int] = mapped_column(
        ForeignKey("photos.id", ondelete="CASCADE"), primary_key=True
    )
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    city: Mapped[str | None] = mapped_column(Text)
    district: Mapped[str | None] = mapped_column(Text)
    region: Mapped[str | None] = mapped_column(Text)
    country: Mapped[str | None] = mapped_column(Text, index=True)
    country_code: Mapped[str | None] = mapped_column(String(2))
    distance_km: Mapped[float | None] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(64))


class PhotoText(Base):
    """The text read in a photo: its lines (text, confidence, box as fractions of the upright
    photo) and all of it joined, which the ``photo_text_fts`` full-text index mirrors."""

    __tablename__ = "photo_text"

    photo_id: Mapped[int] = mapped_column(
        ForeignKey("photos.id", ondelete="CASCADE"), primary_key=True
    )
    text: Mapped[str] = mapped_column(Text)
    lines: Mapped[list[dict[str, object]]] = mapped_column(JSON)
    # Why reading stopped before the end ("lines": too many boxes, "time": its time limit).
    limited: Mapped[str | None] = mapped_column(String(8))
    read_at: Mapped[datetime] = mapped_column(DateTime)


class PhotoColour(Base):
    """One of a photo's dominant colours, by name ("red", "grey", "black and white"), with the
    share of the photo it covers (1 for "black and white")."""

    __tablename__ = "photo_colours"
    __table_args__ = (Index("ix_photo_colours_colour_share", "colour", "share"),)

    photo_id: Mapped[int] = mapped_column(
        ForeignKey("photos.id", ondelete="CASCADE"), primary_key=True
    )
    colour: Mapped[str] = mapped_column(String(16), primary_key=True)
    share: Mapped[float] = mapped_column(Float)


FTS_TABLES = ("photo_text_fts",)
"""SQLite FTS5 tables (and their shadow tables) the migrations create beside the declared
schema: SQLAlchemy cannot declare them."""
