"""The search graph's helper process, as a command: ``python -m photosense.vectors.helper FD PATH
DIM`` serves the graph file PATH over the socket FD (see :mod:`photosense.vectors.served`)."""

import sys

from photosense.vectors.served import main

if __name__ == "__main__":
    main(sys.argv[1:])
