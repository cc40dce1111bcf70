"""The embedding step of indexing: photos in, vectors of one model out.

The indexer asks an :class:`EmbedStep` for the vectors of the photos that lack them and writes
what comes back itself, in its own transactions: the step never touches the store. Two steps
exist: :class:`LocalEmbedding` (decoding threads and the encoder in this process) and the
cluster's (:mod:`photosense.cluster`, Ray Data actors that run a :class:`LocalEmbedding` each).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from photosense.arrays import Vectors
from photosense.errors import ImageSkipped
from photosense.media.decode import decode_photo
from photosense.media.parallel import in_order
from photosense.media.scan import ScannedFile
from photosense.models.device import batch_size_for
from photosense.models.encoder import Encoder
from photosense.progress import CancelToken

log = logging.getLogger(__name__)

FILE_TIMEOUT_S = 120.0
"""A file whose reading and decoding takes longer is skipped (``timeout``) and the run goes on.

The slowest real photo measured (a 33-megapixel 10-bit HEIF) takes a few seconds; only a hung
decoder or a stalled drive comes near this.
"""


@dataclass(frozen=True)
class EmbedRequest:
    """A photo to embed: its id in the library and its file."""

    photo_id: int
    file: ScannedFile


@dataclass(frozen=True)
class Embedded:
    """A photo's vector (float32, L2-normalised), or why it has none."""

    photo_id: int
    vector: Vectors | None = None
    skipped: ImageSkipped | None = None


class EmbedStep(Protocol):
    """Turns photos into vectors of one model.

    ``embed`` yields the results in chunks, each one answer per photo it covers, in any order;
    the indexer commits between chunks. Once ``cancel`` is set it stops soon, leaving photos
    unanswered (the next run takes them). A photo may be answered twice (a retried batch on a
    cluster): the indexer keeps the first answer.
    """

    @property
    def model_id(self) -> str: ...

    def embed(
        self, requests: Sequence[EmbedRequest], cancel: CancelToken
    ) -> Iterator[list[Embedded]]: ...


def timed_out(file: ScannedFile, timeout_s: float) -> ImageSkipped:
    """The skip of a file whose reading took longer than ``timeout_s``."""
    log.warning("%s took over %.0f s to read; skipped", file.path, timeout_s)
    return ImageSkipped(
        "timeout",
        f"reading and decoding this file took over {timeout_s:.0f} s, so it was skipped: "
        "it may be damaged, or on a slow or failing drive. It is tried again when it changes",
    )


@dataclass
class _Prepared:
    request: EmbedRequest
    tensor: Any = None
    skipped: ImageSkipped | None = None


class LocalEmbedding:
    """Decodes photos on ``workers`` threads and encodes them in batches on the calling thread.

    A chunk is one encoded batch plus the photos skipped meanwhile. Once cancelled, the photos
    read but not encoded are left for the next run; the batch being encoded finishes.
    """

    def __init__(
        self,
        encoder: Encoder,
        *,
        workers: int,
        batch_size: int | None = None,
        timeout_s: float = FILE_TIMEOUT_S,
    ) -> None:
        self.encoder = encoder
        self.workers = workers
        self.batch_size = batch_size or batch_size_for(encoder)
        self.timeout_s = timeout_s

    @property
    def model_id(self) -> str:
        return self.encoder.model_id

    def embed(
        self, requests: Sequence[EmbedRequest], cancel: CancelToken
    ) -> Iterator[list[Embedded]]:
        batch_size = self.batch_size
        pending: list[_Prepared] = []
        chunk: list[Embedded] = []
        prepared_in_order = in_order(
            requests,
            self._prepare,
            cancel,
            workers=self.workers,
            window=self.workers * 2 + batch_size,
            timeout_s=self.timeout_s,
        )
        for request, prepared in prepared_in_order:
            if prepared is None:
                skipped = timed_out(request.file, self.timeout_s)
                chunk.append(Embedded(request.photo_id, None, skipped))
            elif prepared.tensor is None:
                chunk.append(Embedded(request.photo_id, None, prepared.skipped))
            else:
                pending.append(prepared)
            if len(pending) >= batch_size or len(chunk) >= 8 * batch_size:
                yield chunk + self._encode(pending)
                chunk, pending = [], []
        if cancel.cancelled:
            pending = []  # read but not encoded: the next run takes them
        if pending or chunk:
            yield chunk + self._encode(pending)

    def _encode(self, pending: Sequence[_Prepared]) -> list[Embedded]:
        if not pending:
            return []
        vectors = self.encoder.encode_prepared([p.tensor for p in pending])
        return [
            Embedded(p.request.photo_id, vector) for p, vector in zip(pending, vectors, strict=True)
        ]

    def _prepare(self, request: EmbedRequest) -> _Prepared:
        """Worker thread: decode a photo and turn it into the encoder's input."""
        prepared = _Prepared(request)
        path = request.file.path
        try:
            decoded = decode_photo(path, min_side=self.encoder.image_size)
            prepared.tensor = self.encoder.prepare_image(decoded.image)
        except ImageSkipped as exc:
            prepared.skipped = exc
        except Exception as exc:  # a model's preprocessing must not stop the run
            log.exception("unexpected failure preparing %s", path)
            prepared.skipped = ImageSkipped("unreadable", f"could not be prepared: {exc}")
        return prepared
