"""What the window remembers between runs (its geometry, panes, search filters and sort), read
from and written to the user's QSettings; the widgets apply it, this module only stores it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from PySide6.QtCore import QByteArray, QSettings

from photosense.gui.search_bar import SearchQuery

SETTINGS_ORG = "photosense"
SETTINGS_APP = "photosense"


def default_settings() -> QSettings:
    """The user's settings store (organisation "photosense")."""
    return QSettings(SETTINGS_ORG, SETTINGS_APP)


@dataclass(frozen=True)
class SavedView:
    """The window's remembered state; a saved Qt state is None when there is none."""

    geometry: QByteArray | None
    state: QByteArray | None
    splitter: QByteArray | None
    caption_sidecar: bool
    show_detail: bool
    show_sidebar: bool
    query: SearchQuery  # the filters and sort only, never the text


def read_view(settings: QSettings) -> SavedView:
    """The state saved in ``settings`` (defaults for what is missing or unreadable)."""
    geometry = settings.value("window/geometry")
    return SavedView(
        geometry=geometry if isinstance(geometry, QByteArray) and not geometry.isEmpty() else None,
        state=_bytes(settings.value("window/state")),
        splitter=_bytes(settings.value("window/splitter")),
        caption_sidecar=_bool_setting(settings.value("detail/caption_sidecar", False), False),
        show_detail=_bool_setting(settings.value("view/detail"), True),
        show_sidebar=_bool_setting(settings.value("view/sidebar"), True),
        query=SearchQuery(
            after=_date_setting(settings.value("search/after")),
            before=_date_setting(settings.value("search/before")),
            min_score=_float_setting(settings.value("search/min_score")),
            sort=str(settings.value("search/sort", "score")),
        ),
    )


def write_view(settings: QSettings, view: SavedView) -> None:
    """Save ``view`` in ``settings`` and write them out."""
    settings.setValue("window/geometry", view.geometry)
    settings.setValue("window/state", view.state)
    settings.setValue("window/splitter", view.splitter)
    query = view.query
    settings.setValue("search/after", query.after.isoformat() if query.after else "")
    settings.setValue("search/before", query.before.isoformat() if query.before else "")
    settings.setValue("search/min_score", query.min_score if query.min_score else "")
    settings.setValue("search/sort", query.sort)
    settings.setValue("detail/caption_sidecar", view.caption_sidecar)
    settings.setValue("view/detail", view.show_detail)
    settings.setValue("view/sidebar", view.show_sidebar)
    settings.sync()


def _bytes(value: object) -> QByteArray | None:
    return value if isinstance(value, QByteArray) else None


def _bool_setting(value: object, default: bool) -> bool:
    """QSettings gives booleans back as strings from INI files."""
    if value is None or value == "":
        return default
    return str(value).lower() in ("true", "1")


def _date_setting(value: object) -> date | None:
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def _float_setting(value: object) -> float | None:
    try:
        number = float(str(value)) if value not in (None, "") else None
    except ValueError:
        return None
    return number if number else None
