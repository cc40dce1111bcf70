"""Places in the window: the sidebar's Places section (countries, then their towns, with photo
counts), refreshed as the library changes, and the line under the search field that says how
the last search read its dates and places."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject

from photosense.gui.jobs import Job, Lane
from photosense.gui.sidebar import SidebarEntry
from photosense.library import LibraryStatus, PlaceCount, country_filter, place_label

if TYPE_CHECKING:
    from photosense.gui.window import MainWindow


def place_entries(counts: Sequence[PlaceCount]) -> list[SidebarEntry]:
    """Countries (most photos first), each with its towns (most photos first)."""
    towns: dict[str, list[SidebarEntry]] = {}
    for entry in counts:
        place = entry.place
        if not place.country or not place.city:
            continue
        label = place_label(place)
        region = place.district or place.region
        name = place.city if not region or region == place.city else f"{place.city} ({region})"
        value = ", ".join(p or "" for p in (place.city, region, place.country))
        tip = f"{label}: {entry.count:,} photos"
        towns.setdefault(place.country, []).append(SidebarEntry(name, entry.count, tip, value))
    countries = []
    for country, children in towns.items():
        total = sum(child.count for child in children)
        children.sort(key=lambda c: (-c.count, c.name.casefold()))
        tip = f"{country}: {total:,} photos in {len(children):,} places"
        countries.append(
            SidebarEntry(country, total, tip, country_filter(country), tuple(children))
        )
    return sorted(countries, key=lambda c: (-c.count, c.name.casefold()))


class PlacesController(QObject):
    """Keeps the sidebar's places and the search's reading line up to date."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self._loading = False
        self._photos: int | None = None  # the photo count the places were last listed for
        window.overview_changed.connect(self._on_overview)
        window.indexing.ended.connect(self.refresh)  # new photos were given their places
        window.grid_changed.connect(self.show_reading)

    def _on_overview(self, overview: LibraryStatus) -> None:
        """Places change only with the photos (indexing, a folder removed): not on a rating
        or a turn, so those do not queue a job before the grid's own refresh."""
        if overview.photos != self._photos:
            self._photos = overview.photos
            self.refresh()

    def refresh(self, *_args: object) -> Job | None:
        """Reload the places and their counts in the background (once at a time)."""
        if self._loading:
            return None
        self._loading = True
        window = self.window
        job = Job.call(window.library.places.list, name="places", lane=Lane.READ)
        job.signals.finished.connect(self._on_places)
        job.signals.done.connect(lambda: setattr(self, "_loading", False))
        return window.runner.start(job)

    def _on_places(self, counts: list[PlaceCount]) -> None:
        sidebar = self.window.sidebar
        sidebar.set_places(place_entries(counts))
        sidebar.show_scope(self.window.search_scope.sidebar_scope())
        current = sidebar.tree.currentItem()
        parent = current.parent() if current is not None else None
        if parent is not None and parent is not sidebar.places_section:
            parent.setExpanded(True)  # a town is selected: show it

    def show_reading(self) -> None:
        """Say how the search shown read its text (nothing when browsing)."""
        scope = self.window.search_scope
        query = scope.query
        searching = bool(query.text) and scope.similar_to is None
        reading = scope.reading if searching else None
        self.window.search_bar.reading.show_reading(reading, literal=searching and query.literal)
