"""Coverage-guided fuzzing of photosense's readers with atheris (libFuzzer for Python).

    python -m tests.fuzz.fuzz TARGET [CORPUS_DIR] [libFuzzer options]

TARGET is ``image`` (decoding, metadata, embedded keywords and captions), ``sidecar`` (XMP
sidecars read and updated) or ``captions`` (caption CSVs read and imported); see
``targets.py``. An empty CORPUS_DIR is seeded first. For example, ten minutes of images::

    python -m tests.fuzz.fuzz image /tmp/corpus-image -max_total_time=600 -rss_limit_mb=4096

A crash is saved as ``crash-*`` (``-artifact_prefix=DIR/`` says where); once fixed, copy it
into ``tests/fuzz/regressions/TARGET/`` so that the suite keeps it fixed. atheris is not a
dependency of photosense: ``pip install atheris`` (wheels for CPython 3.11 on Linux and macOS).
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path


def main(argv: list[str]) -> None:
    try:
        import atheris
    except ImportError:
        sys.exit("atheris is not installed: pip install atheris")
    if not argv or argv[0] not in ("image", "sidecar", "captions"):
        sys.exit(__doc__)
    target, options = argv[0], argv[1:]
    corpus = next((Path(o) for o in options if not o.startswith("-")), None)
    if corpus is not None:  # the targets' files go beside the corpus (libFuzzer leaves them)
        os.environ.setdefault("PHOTOSENSE_FUZZ_SCRATCH", str(corpus.absolute().parent))
    # Heavy libraries stay uninstrumented (imported first); the readers under test are.
    import numpy  # noqa: F401

    if target == "captions":
        import sqlalchemy  # noqa: F401
        import torch  # noqa: F401
    with atheris.instrument_imports(include=["photosense", "PIL", "xml", "csv"]):
        if target == "captions":
            import photosense.library  # noqa: F401  (the caption import, instrumented)
        from tests.fuzz import targets

        if target == "image":
            targets.load_plugins()  # Pillow imports its plugins lazily: instrument them too
    if corpus is not None:
        corpus.mkdir(parents=True, exist_ok=True)
        if not any(corpus.iterdir()):
            for seed in targets.seeds(target):
                (corpus / hashlib.sha1(seed).hexdigest()).write_bytes(seed)
    else:
        targets.seeds(target)  # the captions target needs its photos either way
    atheris.Setup([sys.argv[0], *options], targets.TARGETS[target])
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv[1:])
