"""Embedding on a Ray cluster: Ray Data actors hold the model, the vectors stream back here.

The indexer hands :class:`ClusterEmbedding` the photos that lack vectors; it runs them as one
Ray Data job (``map_batches`` over an actor pool: each actor loads the model once, on a GPU
where the cluster has them, and decodes its batches on its own cores with the same
:class:`~photosense.embedding.LocalEmbedding` as a run on one machine). The answers come back
to this process, where the indexer writes them as usual, so a worker that dies costs only a
retry of its batch (Ray restarts the actor), and a run that stops leaves the photos not yet
written for the next one.

The workers read the photos by their paths: a cluster's nodes must see them at the same path
(a shared drive mounted alike; on one machine this holds). Ray is an optional extra
(``photosense[cluster]``), imported only here and only when a run asks for a cluster.
"""

from __future__ import annotations

import logging
import math
import os
import socket
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from photosense.embedding import Embedded, EmbedRequest, LocalEmbedding
from photosense.errors import (
    ClusterError,
    ClusterFilesError,
    ClusterModelError,
    ClusterUnavailableError,
    ImageSkipped,
    PhotosenseError,
)
from photosense.media.scan import ScannedFile
from photosense.models.encoder import Encoder
from photosense.progress import CancelToken

log = logging.getLogger(__name__)

EXTRA = "photosense[cluster]"
RAY_REQUIREMENT = "ray[data]==2.60.0"
LOCAL = "local"
"""The address that starts a cluster on this machine for the run (one worker per core)."""
BATCH_SIZE = 64
"""Photos per Ray batch: one task of an actor, and one transaction when its answers return.
A batch whose worker dies is run again on a restarted one (Ray Data's actors restart and
retry without limit), so what a dead worker was doing is never lost, nor written twice."""
CPUS_PER_WORKER = 4
"""On a cluster without GPUs, one actor per this many cores (each decodes on as many threads)."""
CONNECT_TIMEOUT_S = 10.0
"""How long the head's port may take to answer before the address is reported unreachable."""
MAX_CPUS_PER_GPU_WORKER = 16
"""An actor on a GPU decodes on its share of the cores, up to this many: camera photos take
tens of ms of a core each to decode, so a GPU is starved long before its cores run out."""


def require_ray() -> None:
    """Raise :class:`ClusterUnavailableError` unless Ray Data can be imported."""
    try:
        import ray.data  # noqa: F401
    except ImportError as exc:
        raise ClusterUnavailableError(EXTRA, RAY_REQUIREMENT, str(exc)) from exc


class Cluster:
    """A connection to the Ray cluster at ``address`` (``local``: one started on this machine,
    ``auto``: the one this machine is a node of, ``HOST:PORT`` or ``ray://HOST:PORT``).

    It connects on first use, so a rescan with nothing to embed never waits for it, and
    disconnects on :meth:`close` (a local cluster stops then). ``workers`` is the number of
    actors (default: one per GPU, else one per ``CPUS_PER_WORKER`` cores).
    """

    def __init__(
        self, address: str, *, workers: int | None = None, batch_size: int | None = None
    ) -> None:
        require_ray()
        self.address = address
        self.workers = workers
        self.batch_size = batch_size or BATCH_SIZE
        self._connected = False
        self._owned = False

    def connect(self) -> None:
        """Join the cluster (or use the Ray session this process already has)."""
        if self._connected:
            return
        import ray
        from ray.data import DataContext

        if not ray.is_initialized():
            local = self.address == LOCAL
            problem = None if local else _unreachable(self.address)
            if problem is not None:  # Ray itself would retry for minutes
                raise ClusterError(self.address, problem, connecting=True)
            options: dict[str, Any] = {
                "address": None if local else self.address,
                "log_to_driver": False,  # the workers' logs stay in the cluster's log folder
                "logging_level": logging.WARNING,
            }
            if local:
                options["include_dashboard"] = False
                if self.workers:
                    options["num_cpus"] = max(self.workers, os.cpu_count() or 1)
            try:
                ray.init(**options)
            except Exception as exc:  # Ray raises ConnectionError, ValueError, RuntimeError…
                raise ClusterError(self.address, _reason(exc), connecting=True) from exc
            self._owned = True
        context = DataContext.get_current()
        context.enable_progress_bars = False  # the CLI and the GUI show progress themselves
        context.print_on_execution_start = False
        logging.getLogger("ray.data").setLevel(logging.ERROR)
        self._connected = True

    def close(self) -> None:
        """Disconnect (stopping a cluster this connection started)."""
        if self._connected and self._owned:
            import ray

            ray.shutdown()
        self._connected = self._owned = False

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def pool(self) -> tuple[int, float, float]:
        """How many actors, and the CPUs and GPUs each one asks for."""
        import ray

        resources = ray.cluster_resources()  # type: ignore[no-untyped-call]
        cpus = float(resources.get("CPU", 1.0))
        gpus = int(resources.get("GPU", 0))
        if gpus:
            workers = self.workers or gpus
            per_gpu = min(1.0, gpus / workers)
            return workers, max(1.0, min(MAX_CPUS_PER_GPU_WORKER, cpus // workers)), per_gpu
        workers = self.workers or max(1, int(cpus // CPUS_PER_WORKER))
        return workers, max(0.1, cpus / workers), 0.0


class ClusterEmbedding:
    """The embedding step of a run on a :class:`Cluster` (see the module docstring)."""

    def __init__(self, cluster: Cluster, load: Callable[[], Encoder], model_id: str) -> None:
        self.cluster = cluster
        self.load = load
        self._model_id = model_id

    @property
    def model_id(self) -> str:
        return self._model_id

    def embed(
        self, requests: Sequence[EmbedRequest], cancel: CancelToken
    ) -> Iterator[list[Embedded]]:
        """Yield the answers of each batch as it comes back; stop at the next one once
        ``cancel`` is set (the batches still on the cluster are dropped with the job)."""
        if not requests or cancel.cancelled:
            return
        cluster = self.cluster
        cluster.connect()
        import ray.data

        workers, cpus, gpus = cluster.pool()
        # Small runs still spread over every worker; big ones go in batches of the set size.
        size = max(1, min(cluster.batch_size, math.ceil(len(requests) / (2 * workers))))
        rows = [{"photo_id": r.photo_id, "path": str(r.file.path)} for r in requests]
        log.info(
            "embedding %d photos on %s with %d workers (%.1f CPUs, %.2f GPUs each)",
            len(rows),
            cluster.address,
            workers,
            cpus,
            gpus,
        )
        dataset = ray.data.from_items(
            rows, override_num_blocks=max(1, math.ceil(len(rows) / size))
        ).map_batches(
            _EmbedActor,
            fn_constructor_kwargs={
                "load": self.load,
                "model_id": self._model_id,
                "threads": max(1, round(cpus)),
            },
            batch_size=size,
            batch_format="numpy",
            compute=ray.data.ActorPoolStrategy(size=workers),
            num_cpus=cpus,
            num_gpus=gpus or None,
        )
        batches = dataset.iter_batches(batch_size=None, batch_format="numpy")
        try:
            for batch in batches:
                yield self._answers(batch)
                if cancel.cancelled:
                    break
        except PhotosenseError:
            raise
        except Exception as exc:  # Ray's errors: a lost node, an actor that keeps dying…
            raise ClusterError(cluster.address, _reason(exc)) from exc
        finally:
            close = getattr(batches, "close", None)
            if callable(close):
                close()

    def _answers(self, batch: dict[str, npt.NDArray[Any]]) -> list[Embedded]:
        """A batch from the cluster as answers, after checking the workers' model and files."""
        address = self.cluster.address
        answers = []
        for i, photo_id in enumerate(batch["photo_id"]):
            kind, reason = str(batch["kind"][i]), str(batch["reason"][i])
            if kind == _MODEL_FAILED:
                raise ClusterModelError(address, self._model_id, reason)
            if not kind:
                vector = np.array(batch["vector"][i], dtype=np.float32)
                answers.append(Embedded(int(photo_id), vector))
                continue
            path = str(batch["path"][i])
            if kind == "missing" and os.path.exists(path):
                raise ClusterFilesError(address, path)
            answers.append(Embedded(int(photo_id), None, ImageSkipped(kind, reason)))
        return answers


_MODEL_FAILED = "model"
"""The ``kind`` of every answer of an actor whose model failed to load (``reason`` says why)."""


class _EmbedActor:
    """A Ray Data actor: loads the model once, then embeds batches of paths.

    It never raises for what the driver must explain (a model it cannot load is reported in
    each answer), so Ray does not restart it in a loop; a photo it cannot read is a skip.
    """

    def __init__(self, load: Callable[[], Encoder], model_id: str, threads: int) -> None:
        self.problem = ""
        self.step: LocalEmbedding | None = None
        try:
            encoder = load()
            if encoder.model_id != model_id:
                self.problem = f"they loaded {encoder.model_id} instead"
                return
            prepare = getattr(encoder, "load", None)
            if callable(prepare):
                prepare()
            self.step = LocalEmbedding(encoder, workers=threads)
            self.dim = encoder.dim
        except Exception as exc:  # whatever the model's loader raises, the driver explains
            self.problem = _reason(exc)

    def __call__(self, batch: dict[str, npt.NDArray[Any]]) -> dict[str, npt.NDArray[Any]]:
        ids = [int(i) for i in batch["photo_id"]]
        paths = [str(p) for p in batch["path"]]
        count = len(ids)
        if self.step is None:
            return {
                "photo_id": np.asarray(ids, dtype=np.int64),
                "path": np.asarray(paths, dtype=object),
                "vector": np.zeros((count, 1), dtype=np.float32),
                "kind": np.asarray([_MODEL_FAILED] * count, dtype=object),
                "reason": np.asarray([self.problem] * count, dtype=object),
            }
        requests = [
            EmbedRequest(i, ScannedFile(Path(p), 0, 0)) for i, p in zip(ids, paths, strict=True)
        ]
        answers = {
            a.photo_id: a for chunk in self.step.embed(requests, CancelToken()) for a in chunk
        }
        vectors = np.zeros((count, self.dim), dtype=np.float32)
        kinds, reasons = [], []
        for row, photo_id in enumerate(ids):
            answer = answers[photo_id]
            if answer.vector is not None:
                vectors[row] = answer.vector
            problem = answer.skipped
            kinds.append("" if problem is None else problem.kind)
            reasons.append("" if problem is None else problem.reason)
        return {
            "photo_id": np.asarray(ids, dtype=np.int64),
            "path": np.asarray(paths, dtype=object),
            "vector": vectors,
            "kind": np.asarray(kinds, dtype=object),
            "reason": np.asarray(reasons, dtype=object),
        }


def _unreachable(address: str) -> str | None:
    """Why nothing answers at a ``HOST:PORT`` address (``ray://`` or not), or None if it does
    or the address has another form (``auto`` and the like, which Ray checks at once)."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        return None
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT_S):
            return None
    except OSError as exc:
        return f"nothing answers at {host}:{port} ({exc.strerror or exc})"


def _reason(exc: BaseException) -> str:
    """The last line of an error's text (Ray's carry the remote traceback before it)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[-1] if lines else type(exc).__name__
