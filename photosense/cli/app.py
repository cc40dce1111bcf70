"""The ``photosense`` command line: a thin front end over :class:`photosense.library.Library`.

This package is the only place in the core that prints; errors from the core become one clear
line on stderr and a non-zero exit status. Here: the parser's skeleton, the options every
command takes, dispatch, and the desktop app when no command is given.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from photosense import __version__
from photosense.cli import (
    albums,
    captions,
    colours,
    duplicates,
    export,
    finetune,
    index,
    marks,
    models,
    people,
    places,
    render,
    search,
    status,
    tags,
    text,
)
from photosense.cli import eval as evaluate
from photosense.cli.common import EXIT_ERROR, EXIT_INTERRUPTED, Commands, Handler
from photosense.cli.words import describe
from photosense.errors import PhotosenseError
from photosense.library import choose_folder
from photosense.library.models import configure_cpu_threads

COMMAND_GROUPS = (
    index,
    search,
    status,
    evaluate,
    tags,
    albums,
    people,
    places,
    captions,
    marks,
    export,
    duplicates,
    text,
    colours,
    models,
    finetune,
)
"""The modules that register the commands, in the order ``photosense --help`` lists them."""


def _add_common_options(parser: argparse.ArgumentParser, *, defaults: bool) -> None:
    """The options every command takes, before or after its name.

    On the commands they default to "not given", so ``photosense eval DIR --model X`` and
    ``photosense --model X eval DIR`` mean the same and a command never resets them.
    """

    def default(value: object) -> object:
        return value if defaults else argparse.SUPPRESS

    parser.add_argument(
        "--library",
        type=Path,
        metavar="DIR",
        default=default(None),
        help="library folder (default: $PHOTOSENSE_HOME or the user data folder)",
    )
    parser.add_argument(
        "--model",
        default=default("auto"),
        help="model to use: auto (the library's active model, else the offline starter), "
        "starter, a catalogue id (`photosense models list`), imported/NAME, or ARCH/PRETRAINED",
    )
    parser.add_argument(
        "--device",
        default=default("auto"),
        choices=["auto", "cpu", "cuda", "mps"],
        help="compute device",
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", default=default(False), help="show log messages"
    )


def _share_common_options(commands: Commands) -> None:
    """Give every command and sub-command the common options."""
    for command in set(commands.choices.values()):
        _add_common_options(command, defaults=False)
        for action in command._actions:
            if isinstance(action, argparse._SubParsersAction):
                _share_common_options(action)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="photosense",
        description="Organise and search your photos by what is in them, on your own machine.",
    )
    parser.add_argument("--version", action="version", version=f"photosense {__version__}")
    _add_common_options(parser, defaults=True)
    parser.add_argument(
        "--screenshot",
        type=Path,
        metavar="PNG",
        help="render the window over --library to this PNG file and exit (works headless)",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for group in COMMAND_GROUPS:
        group.register(commands)
    _share_common_options(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; ``argv`` None runs this process's own (the console script)."""
    code = _main(argv)
    if argv is None and code == EXIT_INTERRUPTED:
        _exit_now(code)
    return code


def _exit_now(code: int) -> NoReturn:
    """Leave at once after Ctrl-C, once the library is closed and the output written: the
    interpreter's own teardown of a loaded model (its native thread pools) takes seconds."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if args.command is None:
        configure_cpu_threads()
        return _desktop(args)
    if args.screenshot is not None:
        parser.error("--screenshot renders the window: give it without a command")
    configure_cpu_threads()
    choose_folder(args.library)  # also for the commands that open no library: its models
    try:
        handler: Handler = args.handler
        return handler(args)
    except PhotosenseError as exc:
        render.print_error(describe(exc))
        return EXIT_ERROR
    except KeyboardInterrupt:
        render.print_error("interrupted")
        return EXIT_INTERRUPTED


def _desktop(args: argparse.Namespace) -> int:
    """No command: open the window, or render it to a PNG with ``--screenshot``.

    The GUI is imported here, by name, so the command line and the core never load Qt.
    """
    try:
        gui = importlib.import_module("photosense.gui.app")
    except ImportError as exc:
        render.print_error(
            f"the desktop app cannot start ({exc}); the commands work without it, "
            "see `photosense --help`"
        )
        return EXIT_ERROR
    try:
        if args.screenshot is not None:
            gui.render_screenshot(args.library, args.model, args.device, args.screenshot)
            return 0
        return int(gui.run_app(args.library, args.model, args.device))
    except PhotosenseError as exc:
        render.print_error(describe(exc))
        return EXIT_ERROR
