"""Models: which model answers, switching, downloads, imports, devices (``photosense models``).

The functions at module level need no library (a download or an import serves every library on
this machine); :class:`Models` is one library's view: its active model, its switch, its vectors.
"""

from __future__ import annotations

import builtins
import logging
from collections.abc import Callable, Generator
from pathlib import Path

from photosense.errors import ModelError, ModelInUseError
from photosense.indexing import Indexer
from photosense.library.reading import query_notice
from photosense.library.records import (
    LibraryModel,
    ModelFallback,
    ModelSwitch,
    RemovedModel,
    SwitchReport,
)
from photosense.library.runtime import ACTIVE_MODEL_KEY, PENDING_MODEL_KEY, ModelRuntime
from photosense.models import inventory, local
from photosense.models.catalogue import Catalogue, load_catalogue
from photosense.models.device import DEVICE_CHOICES, batch_size_for, select_device
from photosense.models.device import configure_cpu_threads as configure_cpu_threads
from photosense.models.encoder import Encoder
from photosense.models.local import LocalModel
from photosense.models.registry import STARTER_ID, is_starter
from photosense.progress import CancelToken, Progress

log = logging.getLogger(__name__)

__all__ = [
    "DEVICE_CHOICES",
    "STARTER_ID",
    "Models",
    "catalogue",
    "check_device",
    "configure_cpu_threads",
    "import_file",
    "is_starter",
    "pull",
]


def catalogue() -> Catalogue:
    """The models photosense can download, and the one it recommends over the starter."""
    return load_catalogue()


def pull(
    spec: str,
    on_progress: Callable[[Progress], None] | None = None,
    cancel: CancelToken | None = None,
) -> str:
    """Download a catalogue (or any open_clip pretrained) model; returns its model id."""
    return inventory.pull(spec, on_progress, cancel)


def import_file(path: Path, arch: str | None = None, name: str | None = None) -> LocalModel:
    """Check a checkpoint file (safetensors, or a pickle-free torch file) and store it as
    ``imported/NAME`` with the models of the library this process works on (see
    :func:`photosense.library.choose_folder`); nothing is written unless the whole checkpoint
    fits ``arch``."""
    return local.import_checkpoint(path, arch, name)


def check_device(choice: str) -> str:
    """The device ``choice`` ("auto", "cuda", "mps", "cpu") runs on here; ``ModelError`` when
    it is not there."""
    return str(select_device(choice))


class Models:
    """One library's models: the one answering, a switch under way, their vectors here."""

    def __init__(self, runtime: ModelRuntime) -> None:
        self._runtime = runtime
        self._store = runtime.store

    @property
    def spec(self) -> str:
        """The model this library answers with: an explicit choice, else the active model."""
        return self._runtime.spec

    @property
    def fallback(self) -> ModelFallback | None:
        """Why the starter answers instead of the library's model (its files are missing)."""
        return self._runtime.fallback

    def reads(self, query: str) -> str | None:
        """A one-line notice when the answering model will not read ``query`` (another script,
        emoji, another language for an English-only model), naming a multilingual catalogue
        model; None when it reads it. Loads no model."""
        model_id = STARTER_ID if self.fallback is not None else self.spec
        known = _languages_of(model_id)
        if known is None:
            return None
        return query_notice(query, known[0], known[1], _multilingual())

    def current(self) -> Encoder:
        """The answering model, loaded now if it was not (seconds)."""
        return self._runtime.encoder

    def set_device(self, device: str) -> None:
        """Run models on ``device`` ("auto", "cpu", "cuda", "mps") from now on, without
        reopening: the loaded model is let go and loads there when next needed (a job already
        running finishes with the one it has). ``ModelError`` when the device is not there,
        before anything changes."""
        self._runtime.set_device(device)

    def use(
        self,
        spec: str,
        cancel: CancelToken | None = None,
        *,
        workers: int | None = None,
        batch_size: int | None = None,
    ) -> Generator[Progress, None, SwitchReport]:
        """Switch the library to ``spec``: re-embed every known folder with it, then activate it.

        The model loads first, so a missing download fails at once with how to get it. It is
        recorded as pending and every photo without its vector gets one; searches keep using
        the active model meanwhile. Cancelled or killed, the switch resumes where it stopped
        (call this again, or index). Choosing the active model drops a pending switch.
        """
        yield Progress(0, None, f"loading {spec}")
        encoder = self._runtime.load(spec)  # seconds: searches go on meanwhile
        with self._runtime.lock:
            self._store.vectors.ensure_model(
                encoder.model_id, encoder.dim
            )  # a dim clash fails here
            active = self._store.settings.get(ACTIVE_MODEL_KEY)
            if active is None or active == encoder.model_id:
                self._runtime.activate(encoder)
                return SwitchReport(encoder.model_id, True, None)
            self._store.settings.set(PENDING_MODEL_KEY, encoder.model_id)
        return (yield from self._switch(encoder, cancel, workers, batch_size))

    def _switch(
        self,
        encoder: Encoder,
        cancel: CancelToken | None,
        workers: int | None,
        batch_size: int | None,
    ) -> Generator[Progress, None, SwitchReport]:
        """Embed every known folder with the pending ``encoder``; activate it once complete."""
        runtime = self._runtime
        roots = [folder.path for folder in self._store.folders.all()]
        report = None
        if roots:
            size = batch_size or batch_size_for(encoder)
            indexer = Indexer(
                self._store, lambda: encoder, runtime.indexes, workers=workers, batch_size=size
            )
            report = yield from runtime.stepwise(indexer.run(roots, cancel))
            if report.cancelled:
                return SwitchReport(encoder.model_id, False, report)
        if runtime.auto_tagging:
            # Suggestions are per model: make the new model's before it answers, so photos do
            # not show "no tags" after the switch (decided tags are the user's and stay).
            tagged = yield from runtime.stepwise(runtime.tagger_for(encoder).tag(cancel=cancel))
            if tagged.cancelled:
                return SwitchReport(encoder.model_id, False, report)
        with runtime.lock:
            if self._store.settings.get(PENDING_MODEL_KEY) != encoder.model_id:
                return SwitchReport(encoder.model_id, False, report)  # superseded meanwhile
            runtime.activate(encoder)
        log.info("switched the library to %s", encoder.model_id)
        if cancel is None or not cancel.cancelled:
            yield from runtime.prepare_queries()  # the first search should not pay for it
        return SwitchReport(encoder.model_id, True, report)

    def continue_switch(
        self, cancel: CancelToken | None, workers: int | None, batch_size: int | None
    ) -> Generator[Progress, None, None]:
        """After indexing: carry on a pending switch (new photos need its vectors too)."""
        pending = self._store.settings.get(PENDING_MODEL_KEY)
        if not pending or self._runtime.requested != "auto":
            return
        try:
            encoder = self._runtime.load(str(pending))
        except ModelError as exc:
            log.warning("cannot carry on switching to %s: %s", pending, exc)
            return
        yield from self._switch(encoder, cancel, workers, batch_size)

    def progress(self) -> ModelSwitch:
        """The active model, the pending one, and how far the pending one has got."""
        active = str(self._store.settings.get(ACTIVE_MODEL_KEY) or STARTER_ID)
        pending_setting = self._store.settings.get(PENDING_MODEL_KEY)
        pending = str(pending_setting) if pending_setting else None
        vectors = {m_id: count for m_id, _, _, count in self._store.vectors.models()}
        photos, _ = self._store.photos.counts()
        return ModelSwitch(active, pending, vectors.get(pending or active, 0), photos)

    def list(self) -> builtins.list[LibraryModel]:
        """Every model on this machine plus any this library holds vectors of, marked."""
        state = self.progress()
        counts = {m_id: (dim, count) for m_id, dim, _, count in self._store.vectors.models()}
        infos = inventory.list_models()
        known = {info.model_id for info in infos}
        infos += [
            inventory.other_info(m_id, dim)
            for m_id, (dim, _) in counts.items()
            if m_id not in known
        ]
        return [
            LibraryModel(
                info,
                info.model_id == state.active,
                info.model_id == state.pending,
                counts.get(info.model_id, (0, 0))[1],
            )
            for info in infos
        ]

    def remove(self, spec: str, *, files: bool = True, vectors: bool = False) -> RemovedModel:
        """Delete a model's files and/or this library's vectors of it; never the active one.

        ``files`` removes a stored model's folder or a download from the Hugging Face cache;
        ``vectors`` forgets its vectors and index here (a later switch re-embeds).
        """
        state = self.progress()
        store = self._store
        known = spec in (state.active, state.pending) or store.vectors.dim(spec) is not None
        model_id = spec if known else inventory.model_id_of(spec)
        if model_id in (state.active, state.pending):
            raise ModelInUseError(model_id, "active" if model_id == state.active else "pending")
        freed = 0
        with self._runtime.lock:
            known_here = store.vectors.dim(model_id) is not None
            if files:
                try:
                    freed = inventory.remove_files(spec)
                except ModelError:
                    if not (vectors and known_here):
                        raise
            removed = 0
            if vectors and known_here:
                removed = store.vectors.delete_model(model_id)
                self._runtime.indexes.drop(model_id)
        return RemovedModel(model_id, freed, removed)


def _languages_of(model_id: str) -> tuple[str, tuple[str, ...]] | None:
    """(name, languages) of ``model_id`` without loading it: the starter, a catalogue entry, or
    a stored model's base (a fine-tuned model reads what its base reads); None if unknown."""
    if is_starter(model_id):
        return "The starter model", inventory.starter_info().languages
    entry = load_catalogue().get(model_id)
    if entry is not None:
        return entry.id, entry.languages
    stored = next((m for m in local.list_local() if m.id == model_id), None)
    if stored is not None and stored.base and stored.base != model_id:
        base = _languages_of(stored.base)
        return None if base is None else (model_id, base[1])
    return None


def _multilingual() -> str | None:
    """The catalogue model that reads most languages (its languages say "multilingual")."""
    entries = load_catalogue().entries
    return next((e.id for e in entries if e.languages[0].startswith("multilingual")), None)
