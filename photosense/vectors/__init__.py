"""Vector indexes per model: exact and HNSW search, atomic persistence, rebuild on any doubt."""

from photosense.arrays import Ids, Vectors
from photosense.vectors.index import (
    DEFAULT_EF_CONSTRUCTION,
    DEFAULT_EF_SEARCH,
    DEFAULT_M,
    EXACT_FILTER_FACTOR,
    ExactIndex,
    HnswIndex,
    Neighbour,
    VectorIndex,
    text_ef,
)
from photosense.vectors.store import (
    EXACT_THRESHOLD,
    IndexMeta,
    build_index,
    index_path,
    load_index,
    maybe_upgrade,
    meta_path,
    read_meta,
    save_index,
)

__all__ = [
    "DEFAULT_EF_CONSTRUCTION",
    "DEFAULT_EF_SEARCH",
    "DEFAULT_M",
    "EXACT_FILTER_FACTOR",
    "EXACT_THRESHOLD",
    "ExactIndex",
    "Neighbour",
    "HnswIndex",
    "Ids",
    "IndexMeta",
    "VectorIndex",
    "Vectors",
    "build_index",
    "index_path",
    "load_index",
    "maybe_upgrade",
    "meta_path",
    "read_meta",
    "save_index",
    "text_ef",
]
