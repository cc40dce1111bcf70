"""``python -m photosense.cli`` runs the command line."""

import sys

from photosense.cli import main

sys.exit(main())
