"""What every command shares: exit codes, argument types, the library it opens and Ctrl-C.

The command modules import this (never :mod:`photosense.cli.app`, which imports them).
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from types import FrameType
from typing import TypeAlias

from photosense.library import Library
from photosense.progress import CancelToken

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
"""Where a command group adds its sub-parsers."""

Handler: TypeAlias = Callable[[argparse.Namespace], int]
"""What a command runs: the parsed arguments in, the exit status out."""

LibraryHandler: TypeAlias = Callable[[Library, argparse.Namespace], int]
"""A command that works on the open library."""


def date(text: str) -> datetime:
    """An argument type: an ISO date, with or without its time."""
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date: use YYYY-MM-DD or YYYY-MM-DDTHH:MM"
        ) from None


def positive(text: str) -> int:
    """An argument type: a whole number of at least one."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number")
    return value


def score(text: str) -> float:
    """An argument type: a similarity score, from -1 to 1 (cosine)."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not -1.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a score: scores are cosine similarities from -1 to 1 "
            "(`photosense search --json` shows them)"
        )
    return value


def open_library(args: argparse.Namespace) -> Library:
    """The library the common options name, with their model and device."""
    return Library.open(args.library, model=args.model, device=args.device)


def on_library(parser: argparse.ArgumentParser, handler: LibraryHandler) -> None:
    """Make ``handler`` the command of ``parser``, run with the library open."""

    def run(args: argparse.Namespace) -> int:
        with open_library(args) as library:
            return handler(library, args)

    parser.set_defaults(handler=run)


def without_library(parser: argparse.ArgumentParser, handler: Handler) -> None:
    """Make ``handler`` the command of ``parser``; it opens the library itself, if at all."""
    parser.set_defaults(handler=handler)


@contextmanager
def cancel_on_ctrl_c() -> Iterator[CancelToken]:
    """A cancel token that the first Ctrl-C sets (work stops at its next step, within a second
    or two); a second Ctrl-C interrupts at once. Committed work is kept either way."""
    cancel = CancelToken()
    previous = signal.getsignal(signal.SIGINT)

    def on_interrupt(_signum: int, _frame: FrameType | None) -> None:
        if cancel.cancelled:
            raise KeyboardInterrupt
        cancel.cancel()
        print(
            "\nphotosense: stopping, keeping what is done (Ctrl-C again to stop at once)",
            file=sys.stderr,
        )

    signal.signal(signal.SIGINT, on_interrupt)
    try:
        yield cancel
    finally:
        signal.signal(signal.SIGINT, previous)
