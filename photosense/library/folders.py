"""Folders: adding, rescanning and forgetting photo folders (``photosense index``)."""

from __future__ import annotations

import builtins
import contextlib
import logging
import os
from collections.abc import Generator, Iterable

from photosense.cluster import Cluster, ClusterEmbedding
from photosense.embedding import EmbedStep
from photosense.errors import Cancelled, PhotosenseError, PlacesUnavailableError
from photosense.indexing import Indexer, IndexReport, check_roots, normalise_root
from photosense.library.analysis import Analysis
from photosense.library.captions import Captions
from photosense.library.models import Models
from photosense.library.places import Places
from photosense.library.runtime import ACTIVE_MODEL_KEY, ModelRuntime, older_starter
from photosense.library.tags import Tags
from photosense.models.encoder import Encoder
from photosense.models.registry import STARTER_ID
from photosense.progress import CancelToken, Progress
from photosense.store.records import FolderRecord, SkippedRecord

log = logging.getLogger(__name__)


class Folders:
    """Index folders: photos found, embedded, tagged and their captions read, in one run."""

    def __init__(
        self,
        runtime: ModelRuntime,
        models: Models,
        tags: Tags,
        captions: Captions,
        analysis: Analysis,
        places: Places | None = None,
    ) -> None:
        self._runtime = runtime
        self._store = runtime.store
        self._models = models
        self._tags = tags
        self._captions = captions
        self._analysis = analysis
        self._places = places or Places(runtime.store)

    def list(self) -> builtins.list[FolderRecord]:
        return self._store.folders.all()

    def skipped(self) -> builtins.list[SkippedRecord]:
        """Files that could not be used as photos, each with the reason."""
        return self._store.photos.skipped()

    def index(
        self,
        paths: Iterable[str | os.PathLike[str]] = (),
        cancel: CancelToken | None = None,
        *,
        workers: int | None = None,
        batch_size: int | None = None,
        cluster: str | None = None,
        cluster_workers: int | None = None,
    ) -> Generator[Progress, None, IndexReport]:
        """Index ``paths`` (or rescan every registered folder when none are given).

        New photos are added first, with no model needed, and can be browsed at once (see
        :class:`~photosense.progress.IndexProgress`); the model then embeds them, here or, given
        a ``cluster`` address, on that Ray cluster's workers (``cluster_workers`` of them;
        ``local`` starts one on this machine), whose vectors this library writes as they come.
        ``batch_size`` defaults to what suits the model's device (on a cluster: photos per
        worker batch). New photos are tagged as their batches commit, captions in new or
        changed files are read and photos with a GPS position are given their place (town,
        region, country) at the end, a pending model switch is carried on afterwards (on this
        machine), so new photos get its vectors too, and last the analyses that are on (faces,
        text) look at the photos they have not seen.
        """
        store = self._store
        known = [f.path for f in store.folders.all()]
        roots = check_roots([os.fspath(p) for p in paths], known) if paths else known
        if not roots:
            raise PhotosenseError("no folders to index yet: give one or more folders")
        # Before any work: a missing extra is said at once. It connects when there is
        # something to embed, and disconnects when the run ends, however it ends.
        nodes = None
        if cluster:
            nodes = Cluster(cluster, workers=cluster_workers, batch_size=batch_size)
        try:
            return (yield from self._index(roots, bool(paths), cancel, workers, batch_size, nodes))
        finally:
            if nodes is not None:
                nodes.close()

    def _index(
        self,
        roots: builtins.list[str],
        given: bool,
        cancel: CancelToken | None,
        workers: int | None,
        batch_size: int | None,
        nodes: Cluster | None,
    ) -> Generator[Progress, None, IndexReport]:
        runtime, store = self._runtime, self._store
        tagging = runtime.auto_tagging

        def load_encoder() -> Encoder:
            # Only once the photos are added: they are browsable before the model is loaded.
            encoder = runtime.encoder
            if store.settings.get(ACTIVE_MODEL_KEY) is None:
                store.settings.set(ACTIVE_MODEL_KEY, encoder.model_id)
            return encoder

        def prepare_tags() -> Generator[Progress, None, None]:
            yield Progress(0, None, "preparing tags")
            # Cancelled: the indexer sees the token next and stops; the tags embedded are kept.
            with contextlib.suppress(Cancelled):
                runtime.tagger.prepare(cancel)

        def on_cluster(encoder: Encoder) -> EmbedStep:
            assert nodes is not None
            loader = runtime.loader_elsewhere(encoder.model_id)
            return ClusterEmbedding(nodes, loader, encoder.model_id)

        indexer = Indexer(
            store,
            load_encoder,
            runtime.indexes,
            workers=workers,
            batch_size=batch_size,
            on_committed=self._tags.tag_committed if tagging else None,
            before_embedding=prepare_tags if tagging else None,
            embedding=None if nodes is None else on_cluster,
        )
        report = yield from runtime.stepwise(indexer.run(roots, cancel))
        if tagging and not report.cancelled:
            # Batches were tagged as they came, against a calibration that moved as the library
            # grew; this settles every photo on the final one (a no-op when nothing moved).
            yield from runtime.stepwise(runtime.tagger.tag(cancel=cancel))
        if not report.cancelled:
            # The graph grew batch by batch; its text-query links come now, from the tag
            # vocabulary the run embedded (a chunk of training queries a step: searches go on).
            yield from runtime.stepwise(runtime.link_queries(cancel))
            yield from self._captions.read_files(cancel)
            try:
                yield from self._places.locate(cancel)
            except PlacesUnavailableError as exc:  # the positions stay; the next run retries
                log.warning("photos were not given places: %s", exc)
            active = store.settings.get(ACTIVE_MODEL_KEY)
            encoder = runtime.encoder
            if encoder.model_id == STARTER_ID and older_starter(str(active)):
                state = self._models.progress()
                if not given or state.done >= state.total:  # every photo has a current vector
                    with runtime.lock:
                        runtime.activate(encoder)
            yield from self._models.continue_switch(cancel, workers, batch_size)
            if cancel is None or not cancel.cancelled:
                yield from runtime.prepare_queries()
            yield from self._analysis.run(cancel=cancel, workers=workers)
        return report

    def remove(self, path: str | os.PathLike[str]) -> int:
        """Forget a folder and what was indexed under it (the files are not touched)."""
        with self._runtime.lock:
            removed = self._store.folders.remove(normalise_root(path))
            self._runtime.indexes.remove_photos(removed)
            self._runtime.indexes.save_all()
            return len(removed)
