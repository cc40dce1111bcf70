"""Entry point of the PyInstaller bundle: the ``photosense`` command, frozen."""

import multiprocessing
import sys

from photosense.cli import main

if __name__ == "__main__":
    multiprocessing.freeze_support()
    sys.exit(main())
