"""An hnswlib graph held by a helper process, so that loading it never stalls this one.

hnswlib holds the GIL for the whole of ``load_index``: while a million photos' graph (2 GB)
loads, no other thread of the process runs for seconds, and a window whose index loads on a
worker thread freezes for as long (benchmarks/bench_scale.py, docs/scale.md). The app therefore
loads graph files into a helper process of their own and sends it the graph's calls through a
pipe; waiting on the pipe releases the GIL, so the window goes on while the graph loads. The
vector table (numpy) stays in this process: ids, exact scoring of an allowed set and the exact
fallback need no round trip, and a search still answers, exactly, if the helper dies.

:class:`ServedGraph` answers the part of ``hnswlib.Index``'s interface that
:class:`~photosense.vectors.index.HnswIndex` uses, so the index treats both alike. A filter is
passed as a set's ``__contains__`` (as ``HnswIndex`` does) and travels as an array of ids.
The pipe carries JSON frames and raw numeric arrays, never pickles.
"""

from __future__ import annotations

import contextlib
import json
import logging
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import threading
import weakref
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Protocol

import hnswlib
import numpy as np
import numpy.typing as npt

from photosense.arrays import Ids, Vectors

log = logging.getLogger(__name__)

STOP_TIMEOUT_S = 5.0
"""How long closing waits for the helper to finish before it is terminated."""

_METHODS = frozenset(
    {
        "add_items",
        "get_items",
        "mark_deleted",
        "resize_index",
        "save_index",
        "unmark_deleted",
    }
)
_ATTRIBUTES = frozenset({"element_count", "max_elements", "M"})


class GraphLost(RuntimeError):
    """The helper process holding a graph is gone (killed, out of memory, or closed)."""


class ServedGraph:
    """A graph file loaded by a helper process; its calls go through a pipe, one at a time.

    Creating one starts the helper and waits (GIL released) until the graph is loaded; a file
    hnswlib cannot read raises hnswlib's error here and leaves no helper behind.
    """

    def __init__(self, path: Path, dim: int) -> None:
        self.dim = dim
        self._ef = 10  # hnswlib's default; the index sets its own
        self._lock = threading.Lock()
        self._process, self._conn = _start(path, dim)
        self._finalizer = weakref.finalize(self, _stop, self._process, self._conn)
        try:
            self._receive()
        except BaseException:
            self.close()
            raise

    @property
    def pid(self) -> int | None:
        """The helper's process id."""
        return self._process.pid

    @property
    def alive(self) -> bool:
        return self._finalizer.alive and self._process.is_alive()

    def close(self) -> None:
        """Stop the helper (its graph is gone; unsaved changes with it)."""
        self._finalizer()

    # -- the hnswlib.Index interface HnswIndex uses ---------------------------------------

    def set_ef(self, ef: int) -> None:
        """Kept here and sent with each search (one round trip a search, not three)."""
        self._ef = ef

    @property
    def element_count(self) -> int:
        return int(self._call("element_count"))

    @property
    def max_elements(self) -> int:
        return int(self._call("max_elements"))

    @property
    def M(self) -> int:  # noqa: N802 - hnswlib's name
        return int(self._call("M"))

    def knn_query(
        self,
        data: Vectors,
        k: int = 1,
        num_threads: int = -1,
        filter: Any = None,  # noqa: A002 - hnswlib's name
    ) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.float32]]:
        allowed = None
        if filter is not None:
            wanted = getattr(filter, "__self__", None)
            if not isinstance(wanted, set | frozenset):
                raise TypeError("a served graph filters by a set's __contains__")
            allowed = np.fromiter(wanted, np.int64, count=len(wanted))
        labels, distances = self._call(
            "knn_query", data, k=k, num_threads=num_threads, ef=self._ef, allowed=allowed
        )
        return labels, distances

    def get_ids_list(self) -> Ids:
        ids: Ids = self._call("get_ids_list")
        return ids

    def add_items(self, *args: Any, **kwargs: Any) -> None:
        self._call("add_items", *args, **kwargs)

    def get_items(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("get_items", *args, **kwargs)

    def mark_deleted(self, label: int) -> None:
        self._call("mark_deleted", label)

    def unmark_deleted(self, label: int) -> None:
        self._call("unmark_deleted", label)

    def resize_index(self, size: int) -> None:
        self._call("resize_index", size)

    def save_index(self, path: str) -> None:
        self._call("save_index", path)

    # -- the pipe -------------------------------------------------------------------------

    def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            if not self._finalizer.alive:
                raise GraphLost("the index's helper process was closed")
            try:
                _put(self._conn, [name, list(args), kwargs])
            except (OSError, ValueError) as exc:
                raise self._lost(str(exc)) from exc
            return self._receive()

    def _receive(self) -> Any:
        try:
            status, value = _take(self._conn)
        except (EOFError, OSError) as exc:
            raise self._lost(type(exc).__name__) from exc
        if status == "error":
            raise _error(value)
        return value

    def _lost(self, why: str) -> GraphLost:
        """The helper is gone: reap it (so :attr:`alive` says so at once) and say why."""
        self._finalizer()
        code = self._process.exitcode
        return GraphLost(f"the index's helper process is gone ({why}, exit code {code})")


class _Helper(Protocol):
    """What :class:`ServedGraph` needs of its helper process (``multiprocessing``'s API)."""

    @property
    def pid(self) -> int | None: ...

    @property
    def exitcode(self) -> int | None: ...

    def is_alive(self) -> bool: ...

    def join(self, timeout: float | None = None) -> None: ...

    def terminate(self) -> None: ...


class _Command:
    """A helper started as ``python -m photosense.vectors.served``, seen as a _Helper."""

    def __init__(self, popen: subprocess.Popen[bytes]) -> None:
        self._popen = popen

    @property
    def pid(self) -> int | None:
        return self._popen.pid

    @property
    def exitcode(self) -> int | None:
        return self._popen.poll()

    def is_alive(self) -> bool:
        return self._popen.poll() is None

    def join(self, timeout: float | None = None) -> None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._popen.wait(timeout)

    def terminate(self) -> None:
        self._popen.terminate()


def _start(path: Path, dim: int) -> tuple[_Helper, Connection]:
    """Start a helper loading ``path``, and the pipe to it.

    Where it can, the helper is this Python running :data:`HELPER_MODULE` over a socket pair:
    it imports hnswlib and numpy only, and never the app's main module, which
    ``multiprocessing``'s spawn would run again in it (seconds of imports for the app, and
    a program without a ``__main__`` guard would start over). A frozen app (PyInstaller) and
    Windows, which have no such command or cannot pass the socket, use spawn (the frozen
    launcher calls ``freeze_support``). Never fork: Qt's and torch's threads do not survive it.
    """
    if getattr(sys, "frozen", False) or sys.platform == "win32" or not _COMMAND:
        context = multiprocessing.get_context("spawn")
        mine, theirs = context.Pipe()
        process = context.Process(
            target=_serve,
            args=(theirs, str(path), dim),
            name=f"photosense index {path.name}",
            daemon=True,
        )
        process.start()
        theirs.close()
        return process, mine
    ours, helpers = socket.socketpair()
    with ours, helpers:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p or os.getcwd() for p in sys.path)
        popen = subprocess.Popen(
            [sys.executable, "-m", HELPER_MODULE, str(helpers.fileno()), str(path), str(dim)],
            pass_fds=(helpers.fileno(),),
            stdin=subprocess.DEVNULL,
            env=env,
        )
        return _Command(popen), Connection(ours.detach())


HELPER_MODULE = "photosense.vectors.helper"
_COMMAND = True
"""Start helpers as a command where the platform allows (tests turn it off to try spawn)."""


def _stop(process: _Helper, conn: Connection) -> None:
    """Ask the helper to exit, then make sure it has."""
    with contextlib.suppress(OSError, ValueError):
        _put(conn, ["close", [], {}])
    process.join(STOP_TIMEOUT_S)
    if process.is_alive():
        log.warning("the index helper did not stop; terminating it")
        process.terminate()
        process.join(STOP_TIMEOUT_S)
    conn.close()


def _serve(conn: Connection, path: str, dim: int) -> None:
    """The helper's loop: load the graph, then answer calls until told to close or orphaned.

    Ctrl-C in the app's terminal reaches the helper too: it leaves stopping to the app."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    graph = hnswlib.Index(space="ip", dim=dim)
    try:
        graph.load_index(path, allow_replace_deleted=True)  # capacity is in the file
    except Exception as exc:
        _send(conn, ("error", _described(exc)))
        return
    if not _send(conn, ("ok", None)):
        return
    while True:
        try:
            name, args, kwargs = _take(conn)
        except (EOFError, OSError):
            return  # the app is gone
        if name == "close":
            return
        try:
            reply = ("ok", _answer(graph, name, args, kwargs))
        except Exception as exc:
            reply = ("error", _described(exc))
        if not _send(conn, reply):
            return


def _send(conn: Connection, reply: tuple[str, Any]) -> bool:
    """Send a reply; False when the app is gone."""
    try:
        _put(conn, list(reply))
    except OSError:
        return False
    return True


def _answer(graph: hnswlib.Index, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    if name == "knn_query":
        ef, allowed = kwargs.pop("ef"), kwargs.pop("allowed")
        if graph.ef != ef:
            graph.set_ef(ef)
        if allowed is not None:
            kwargs["filter"] = set(allowed.tolist()).__contains__
        return graph.knn_query(*args, **kwargs)
    if name == "get_ids_list":
        return np.asarray(graph.get_ids_list(), np.int64)
    if name in _ATTRIBUTES:
        return getattr(graph, name)
    if name in _METHODS:
        return getattr(graph, name)(*args, **kwargs)
    raise AttributeError(f"a served graph has no call {name!r}")


def main(argv: list[str]) -> None:
    """The helper started as a command: ``python -m photosense.vectors.helper FD PATH DIM``."""
    fd, path, dim = argv
    _serve(Connection(int(fd)), path, int(dim))


# -- the wire: JSON and raw arrays, no pickles ---------------------------------------------


def _put(conn: Connection, message: Any) -> None:
    """Send ``message`` (lists, dicts, str, numbers, None and numeric arrays) as one JSON
    frame followed by one raw frame per array."""
    arrays: list[npt.NDArray[Any]] = []

    def encode(value: Any) -> Any:
        if isinstance(value, np.ndarray):
            arrays.append(np.ascontiguousarray(value))
            return {"array": len(arrays) - 1, "dtype": value.dtype.str, "shape": value.shape}
        if isinstance(value, np.generic):
            return value.item()
        if isinstance(value, list | tuple):
            return [encode(v) for v in value]
        if isinstance(value, dict):
            return {"dict": {k: encode(v) for k, v in value.items()}}
        return value

    conn.send_bytes(json.dumps(encode(message)).encode())
    for array in arrays:
        conn.send_bytes(array.data.cast("B"))  # no copy


def _take(conn: Connection) -> Any:
    """Receive what :func:`_put` sent; arrays must be of a plain numeric dtype."""
    header = json.loads(conn.recv_bytes())

    def decode(value: Any) -> Any:
        if isinstance(value, list):
            return [decode(v) for v in value]
        if isinstance(value, dict) and "dict" in value:
            return {k: decode(v) for k, v in value["dict"].items()}
        if isinstance(value, dict):
            dtype = np.dtype(value["dtype"])
            if dtype.kind not in "biuf":
                raise ValueError(f"unexpected array type {dtype} on the graph's pipe")
            data = bytearray(conn.recv_bytes())  # writable, as hnswlib's callers expect
            return np.frombuffer(data, dtype).reshape(value["shape"])
        return value

    return decode(header)


_ERRORS: dict[str, type[Exception]] = {
    e.__name__: e for e in (RuntimeError, ValueError, TypeError, IndexError, KeyError, MemoryError)
}


def _described(exc: Exception) -> dict[str, str]:
    return {"type": type(exc).__name__, "message": str(exc)}


def _error(described: dict[str, str]) -> Exception:
    """The helper's exception, as the same built-in type where it is one (hnswlib raises
    RuntimeError), else a RuntimeError naming it."""
    kind = _ERRORS.get(described["type"])
    if kind is None:
        return RuntimeError(f"{described['type']}: {described['message']}")
    return kind(described["message"])
