"""The catalogue of supported open_clip models, read from ``resources/models.json``.

The catalogue is data: an entry names an open_clip architecture and pretrained tag plus what a
user needs to choose (embedding size, image size, licence, download size, languages, a line on
what it is good for), and records where open_clip fetches it from (its ``hf_hub`` location and
the ``transformers`` repositories its text tower reads), so that listing the catalogue and
finding its files in the Hugging Face cache need no open_clip import; a test keeps these equal
to open_clip's own tables. It is read on first use, never at import time, and validated so
that a broken file fails with a message naming the entry and the field.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

from photosense.errors import CatalogueError

CATALOGUE_RESOURCE = "models.json"
CATALOGUE_FORMAT = 1


@dataclass(frozen=True)
class CatalogueEntry:
    """One supported open_clip model (see ``resources/models.json``)."""

    id: str
    architecture: str
    pretrained: str
    embedding_size: int
    image_size: int
    licence: str
    download_mb: int
    good_for: str
    languages: tuple[str, ...]
    hf_hub: str
    """open_clip's ``hf_hub`` for the pair: ``ORG/REPO/`` or ``ORG/REPO/FILE``."""
    hf_model_name: str | None = None
    """The text tower's ``transformers`` model (open_clip's ``text_cfg``), if any."""
    hf_tokenizer_name: str | None = None
    """The ``transformers`` tokenizer (open_clip's ``text_cfg``), if any."""

    @property
    def spec(self) -> str:
        """The ``ARCH/PRETRAINED`` spec that :func:`registry.load_encoder` understands."""
        return f"{self.architecture}/{self.pretrained}"

    @property
    def model_id(self) -> str:
        """The id its vectors are stored under (``open_clip/ARCH/PRETRAINED``)."""
        return f"open_clip/{self.architecture}/{self.pretrained}"


@dataclass(frozen=True)
class Catalogue:
    entries: tuple[CatalogueEntry, ...]
    recommended: str
    """Id of the entry the app suggests to someone still on the starter model."""

    def get(self, entry_id: str) -> CatalogueEntry | None:
        """The entry with this id (case-insensitive), or whose model id or spec this is."""
        wanted = entry_id.strip().lower()
        for entry in self.entries:
            if wanted in (entry.id.lower(), entry.model_id.lower(), entry.spec.lower()):
                return entry
        return None

    @property
    def ids(self) -> list[str]:
        return [entry.id for entry in self.entries]


_FIELDS: dict[str, type] = {
    "id": str,
    "architecture": str,
    "pretrained": str,
    "embedding_size": int,
    "image_size": int,
    "licence": str,
    "download_mb": int,
    "good_for": str,
    "languages": list,
    "hf_hub": str,
}
_OPTIONAL_FIELDS: dict[str, type] = {"hf_model_name": str, "hf_tokenizer_name": str}


def parse_catalogue(document: object, source: str = CATALOGUE_RESOURCE) -> Catalogue:
    """Validate a decoded catalogue document; raises ``CatalogueError`` naming what is wrong."""
    if not isinstance(document, dict) or document.get("format") != CATALOGUE_FORMAT:
        raise CatalogueError(f'{source}: expected an object with "format": {CATALOGUE_FORMAT}')
    raw_entries = document.get("models")
    if not isinstance(raw_entries, list) or not raw_entries:
        raise CatalogueError(f'{source}: "models" must be a non-empty list')
    entries = [_parse_entry(raw, index, source) for index, raw in enumerate(raw_entries)]
    ids = [entry.id.lower() for entry in entries]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise CatalogueError(f"{source}: duplicate model ids: {', '.join(duplicates)}")
    recommended = document.get("recommended")
    if recommended not in [entry.id for entry in entries]:
        raise CatalogueError(f'{source}: "recommended" must be the id of one of its models')
    return Catalogue(tuple(entries), str(recommended))


def _parse_entry(raw: object, index: int, source: str) -> CatalogueEntry:
    where = f"{source}: model #{index + 1}"
    if not isinstance(raw, dict):
        raise CatalogueError(f"{where} is not an object")
    where = f"{source}: model {raw.get('id', f'#{index + 1}')!r}"
    unknown = sorted(set(raw) - set(_FIELDS) - set(_OPTIONAL_FIELDS))
    if unknown:
        raise CatalogueError(f"{where} has unknown fields: {', '.join(unknown)}")
    values: dict[str, Any] = {}
    for name, kind in (_FIELDS | _OPTIONAL_FIELDS).items():
        value = raw.get(name)
        if value is None and name in _OPTIONAL_FIELDS:
            continue
        if value is None:
            raise CatalogueError(f"{where} lacks the field {name!r}")
        # bool is an int subclass; a size of `true` is still a mistake.
        if not isinstance(value, kind) or isinstance(value, bool):
            raise CatalogueError(f"{where}: {name!r} must be a {kind.__name__}, got {value!r}")
        if isinstance(value, int) and value <= 0:
            raise CatalogueError(f"{where}: {name!r} must be positive, got {value}")
        if isinstance(value, str) and not value.strip():
            raise CatalogueError(f"{where}: {name!r} is empty")
        values[name] = value
    languages = values.pop("languages")
    if not languages or not all(isinstance(lang, str) and lang for lang in languages):
        raise CatalogueError(f"{where}: 'languages' must be a non-empty list of names")
    if "/" in values["id"]:
        raise CatalogueError(f"{where}: an id cannot contain '/'")
    return CatalogueEntry(languages=tuple(languages), **values)


@functools.cache
def load_catalogue() -> Catalogue:
    """The catalogue shipped with photosense, read and validated once per process."""
    try:
        resource = resources.files("photosense").joinpath("resources", CATALOGUE_RESOURCE)
        document = json.loads(resource.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CatalogueError(
            f"cannot read the model catalogue {CATALOGUE_RESOURCE}: {exc}"
        ) from exc
    except json.JSONDecodeError as exc:
        raise CatalogueError(f"{CATALOGUE_RESOURCE} is not valid JSON: {exc}") from exc
    return parse_catalogue(document)


def find_entry(entry_id: str) -> CatalogueEntry | None:
    """The catalogue entry for an id, model id or spec, or None."""
    return load_catalogue().get(entry_id)
