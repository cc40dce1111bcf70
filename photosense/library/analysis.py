"""Analyses beyond the model's vector (faces, text, colours): which run, and running them.

Each kind of analysis registers a factory in :data:`FACTORIES`; the library builds its analyser
on first use (its model loads then, not when the library opens). Every kind can be switched off
in the library's settings; ``photosense index`` runs the kinds that are on after the photos are
indexed, and :meth:`Analysis.run` runs them alone over an existing library (resumable: each run
picks up the photos not yet analysed in their present content).
"""

from __future__ import annotations

import builtins
import threading
from collections.abc import Callable, Generator, Iterable, Mapping
from typing import Any

from photosense.analysis.base import Analyser
from photosense.analysis.colours import KIND as COLOURS
from photosense.analysis.colours import ColoursAnalyser
from photosense.analysis.faces import FacesAnalyser
from photosense.analysis.runner import AnalysisReport, analyse
from photosense.analysis.text import KIND as TEXT
from photosense.analysis.text import TextAnalyser
from photosense.progress import CancelToken, Progress
from photosense.store.records import AnalysisCounts
from photosense.store.repository import Store

AnalyserFactory = Callable[[Store], Analyser[Any]]
FollowStep = Callable[[CancelToken | None], Generator[Progress, None, object]]

FACTORIES: dict[str, AnalyserFactory] = {"faces": FacesAnalyser}
"""Kind ("faces", "text", "colours") -> the factory of its analyser over a library's store."""
FACTORIES[TEXT] = TextAnalyser
FACTORIES[COLOURS] = ColoursAnalyser


def enabled_key(kind: str) -> str:
    """The library setting that switches ``kind`` on or off."""
    return f"analysis.{kind}.enabled"


class Analysis:
    """The analyses a library runs, each on unless switched off."""

    def __init__(self, store: Store, factories: Mapping[str, AnalyserFactory] | None = None):
        self._store = store
        self._factories = dict(FACTORIES if factories is None else factories)
        self._built: dict[str, Analyser[Any]] = {}
        self._lock = threading.Lock()
        self._followers: dict[str, builtins.list[FollowStep]] = {}

    def follow(self, kind: str, step: FollowStep) -> None:
        """Run ``step`` after each run that analysed photos of ``kind`` (people group the new
        faces), in the same run, so its progress shows and it is cancelled with it."""
        self._followers.setdefault(kind, []).append(step)

    def kinds(self) -> builtins.list[str]:
        """Every kind of analysis this library knows, on or off."""
        return sorted(self._factories)

    def enabled(self, kind: str) -> bool:
        self._check(kind)
        return bool(self._store.settings.get(enabled_key(kind), True))

    def set_enabled(self, kind: str, on: bool) -> None:
        """Switch ``kind`` on or off for this library (what it found is kept either way)."""
        self._check(kind)
        self._store.settings.set(enabled_key(kind), bool(on))

    def analyser(self, kind: str) -> Analyser[Any]:
        """The analyser of ``kind``, built on first use."""
        self._check(kind)
        with self._lock:
            if kind not in self._built:
                self._built[kind] = self._factories[kind](self._store)
            return self._built[kind]

    def counts(self, kind: str) -> AnalysisCounts:
        """How far ``kind`` got over the library (no model is loaded to tell)."""
        return self._store.analyses.counts(kind, self.analyser(kind).version)

    def run(
        self,
        kinds: Iterable[str] | None = None,
        cancel: CancelToken | None = None,
        *,
        workers: int | None = None,
    ) -> Generator[Progress, None, AnalysisReport]:
        """Run ``kinds`` (default: every kind that is on) over the photos they have not seen."""
        chosen = [k for k in self.kinds() if self.enabled(k)] if kinds is None else list(kinds)
        analysers = [self.analyser(kind) for kind in chosen]
        if not analysers:
            return AnalysisReport()
        report = yield from analyse(self._store, analysers, cancel, workers=workers)
        for kind in chosen:
            if report.analysed.get(kind) and not report.cancelled:
                for step in self._followers.get(kind, []):
                    yield from step(cancel)
        return report

    def _check(self, kind: str) -> None:
        if kind not in self._factories:
            raise KeyError(f"no analysis called {kind!r}; known: {', '.join(self.kinds())}")
