"""photosense: a desktop photo organiser with local semantic search."""

__version__ = "0.1.0"
