"""Finding photo files on disk, decoding them and reading their metadata (no Qt, no torch)."""
