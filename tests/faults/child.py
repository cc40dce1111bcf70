"""The photosense command line in a child process, over fake models, with faults injected.

    python -m tests.faults.child [photosense arguments...]

Models: the default (and the starter) is the exact colour fake ``fake/colours-v1``; any other
``fake/NAME`` is a 12-d colour fake of that id (a second model to switch to); anything else is
unknown. The network is off (only AF_UNIX sockets work). Faults, from the environment:

``FAULT_KILL_AFTER_S``
    SIGKILL this process that many seconds after the command starts (imports excluded).
``FAULT_KILL_CALL`` = ``module:qualified.name`` (with ``FAULT_KILL_CALL_N``, default 1,
``FAULT_KILL_CALL_WHEN`` = ``before`` | ``after``, ``FAULT_KILL_CALL_MATCH``)
    SIGKILL at the Nth call of that function whose last positional argument ends with MATCH
    (when given), before the call runs or right after it returns.
``FAULT_COUNT_CALL`` = ``module:qualified.name``
    Count the calls of that function; the count goes into ``FAULT_REPORT`` as ``calls``.
``FAULT_EXACT_THRESHOLD``
    Vector count from which the search index is an HNSW graph (so small libraries use one).
``FAULT_SLOW_ENCODE_S``
    Sleep that long per encoded batch (stretches a run so kills land inside it).
``FAULT_REPORT``
    A file to write ``{"seconds", "code", "peak_rss_kib", "calls"}`` to at the end.

Everything else is the real command line: ``cli.main`` runs exactly as ``photosense`` does.
"""

from __future__ import annotations

import functools
import importlib
import json
import os
import resource
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest_socket

from photosense import cli
from photosense.errors import ModelError
from photosense.library import library
from photosense.models.fake import FAKE_MODEL_ID, FakeEncoder
from photosense.models.registry import STARTER_ID

OTHER_DIM = 12


def fake_models(spec: str, device: str = "auto") -> FakeEncoder:
    """The encoder factory the library uses in the child (``load_encoder``'s signature)."""
    slow = float(os.environ.get("FAULT_SLOW_ENCODE_S", "0"))
    if spec in ("auto", "starter", STARTER_ID, FAKE_MODEL_ID):
        encoder = FakeEncoder()
    elif spec.startswith("fake/"):
        encoder = FakeEncoder(spec, dim=OTHER_DIM)
    else:
        raise ModelError(f"Unknown model {spec!r} (the fault-test child knows only fakes)")
    if slow > 0:
        encode = encoder.encode_prepared

        def slowly(prepared: Any) -> Any:
            time.sleep(slow)
            return encode(prepared)

        encoder.encode_prepared = slowly  # type: ignore[method-assign]
    return encoder


def _kill_self() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _resolve(target: str) -> tuple[Any, str]:
    """(owner object, attribute name) of ``module:qualified.name``."""
    module_name, _, qualname = target.partition(":")
    owner: Any = importlib.import_module(module_name)
    *parents, name = qualname.split(".")
    for part in parents:
        owner = getattr(owner, part)
    return owner, name


def _arm_call_kill(target: str) -> None:
    owner, name = _resolve(target)
    original: Callable[..., Any] = getattr(owner, name)
    wanted = int(os.environ.get("FAULT_KILL_CALL_N", "1"))
    after = os.environ.get("FAULT_KILL_CALL_WHEN", "before") == "after"
    match = os.environ.get("FAULT_KILL_CALL_MATCH")
    calls = 0
    lock = threading.Lock()

    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        if match is None or (args and str(args[-1]).endswith(match)):
            with lock:
                calls += 1
                hit = calls == wanted
            if hit and not after:
                _kill_self()
            result = original(*args, **kwargs)
            if hit:
                _kill_self()
            return result
        return original(*args, **kwargs)

    setattr(owner, name, wrapper)


def _count_calls(target: str) -> list[int]:
    owner, name = _resolve(target)
    original: Callable[..., Any] = getattr(owner, name)
    count = [0]

    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        count[0] += 1
        return original(*args, **kwargs)

    setattr(owner, name, wrapper)
    return count


def main(argv: list[str]) -> int:
    pytest_socket.disable_socket(allow_unix_socket=True)
    library.load_encoder = fake_models  # type: ignore[assignment]
    threshold = os.environ.get("FAULT_EXACT_THRESHOLD")
    if threshold:
        from photosense.vectors import store

        store.EXACT_THRESHOLD = int(threshold)
    target = os.environ.get("FAULT_KILL_CALL")
    if target:
        _arm_call_kill(target)
    counted = os.environ.get("FAULT_COUNT_CALL")
    calls = _count_calls(counted) if counted else [0]
    delay = os.environ.get("FAULT_KILL_AFTER_S")
    if delay is not None:
        timer = threading.Timer(float(delay), _kill_self)
        timer.daemon = True
        timer.start()
    started = time.perf_counter()
    code = cli.main(argv)
    report = os.environ.get("FAULT_REPORT")
    if report:
        seconds = time.perf_counter() - started
        peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        with open(report, "w", encoding="utf-8") as file:
            json.dump(
                {"seconds": seconds, "code": code, "peak_rss_kib": peak_kib, "calls": calls[0]},
                file,
            )
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
