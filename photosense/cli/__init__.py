"""The ``photosense`` command line (the console script is ``photosense.cli:main``).

One module per command group, named like the library's sub-objects; :mod:`.app` builds the
parser and dispatches, :mod:`.render` prints, :mod:`.words` says what went wrong.
"""

from photosense.cli.app import build_parser, main
from photosense.cli.common import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_USAGE

__all__ = ["EXIT_ERROR", "EXIT_INTERRUPTED", "EXIT_USAGE", "build_parser", "main"]
