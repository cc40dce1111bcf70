"""The root folders the user asked photosense to watch."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update

from photosense.store.base import Part, bump_all_models, under
from photosense.store.records import FolderRecord
from photosense.store.schema import Folder, Photo, Skipped


def _folder_record(folder: Folder) -> FolderRecord:
    return FolderRecord(folder.id, folder.path, folder.online, folder.last_scan_at)


def _inside(path: str, folder: str) -> bool:
    return path.startswith(folder.rstrip("/\\") + "/")


class Folders(Part):
    """Watched folders: adding one merges folders already inside it; removing one forgets
    its photos."""

    def all(self) -> list[FolderRecord]:
        """Every watched folder, by path."""
        with self._session() as session:
            return [
                _folder_record(f) for f in session.scalars(select(Folder).order_by(Folder.path))
            ]

    def add(self, path: str) -> FolderRecord:
        """Register ``path`` (idempotent). Folders already registered inside it are merged in; a
        path inside a registered folder is that folder's (it is watched already)."""
        with self._session() as session:
            folder = session.scalar(select(Folder).where(Folder.path == path))
            if folder is None:
                outer = [f for f in session.scalars(select(Folder)) if _inside(path, f.path)]
                folder = max(outer, key=lambda f: len(f.path), default=None)
            if folder is None:
                folder = Folder(path=path, added_at=datetime.now(), online=True)
                session.add(folder)
                session.flush()
                inner = session.scalars(select(Folder.id).where(under(Folder.path, path))).all()
                if inner:
                    for table in (Photo, Skipped):
                        session.execute(
                            update(table)
                            .where(table.folder_id.in_(inner))
                            .values(folder_id=folder.id)
                        )
                    session.execute(delete(Folder).where(Folder.id.in_(inner)))
            return _folder_record(folder)

    def remove(self, path: str) -> list[int]:
        """Forget a folder and everything indexed under it; returns the photo ids removed."""
        with self._session() as session:
            folder = session.scalar(select(Folder).where(Folder.path == path))
            if folder is None:
                return []
            ids = session.scalars(select(Photo.id).where(Photo.folder_id == folder.id)).all()
            bump_all_models(session)
            session.delete(folder)
            return list(ids)

    def mark(self, folder_id: int, *, online: bool, scanned: bool = False) -> None:
        """Record whether a folder is reachable, and (``scanned``) that it was just scanned."""
        values: dict[str, object] = {"online": online}
        if scanned:
            values["last_scan_at"] = datetime.now()
        with self._session() as session:
            session.execute(update(Folder).where(Folder.id == folder_id).values(**values))
