"""The default tag vocabulary, its families, the background captions, and how a tag becomes
prompts.

The lists ship in ``photosense/resources`` as plain text (see the README there). A tag with
no prompts of its own is prompted with :data:`TAG_TEMPLATES`; one with its own prompts ("Rex"
-> "a photo of Rex, a golden retriever") uses exactly those.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources

from photosense.errors import PhotosenseError

__all__ = [
    "TAG_TEMPLATES",
    "TagFamily",
    "VocabularyEntry",
    "background_captions",
    "clean_name",
    "default_families",
    "default_vocabulary",
    "fill",
    "parse_families",
    "parse_vocabulary",
    "prompt_key",
    "tag_templates",
]

TAG_TEMPLATES: tuple[str, ...] = (
    "a photo of a {}.",
    "a picture of a {}.",
    "a photo of the {}.",
)
"""Default prompt ensemble for a tag name; ``{}`` is replaced by the name."""

VOCABULARY_FILE = "tags.txt"
BACKGROUND_FILE = "background_captions.txt"
FAMILIES_FILE = "tag_families.txt"
MAX_NAME_LENGTH = 100


@dataclass(frozen=True)
class VocabularyEntry:
    """One default tag: its name, its section, and its own prompts (empty: the templates)."""

    name: str
    category: str
    prompts: tuple[str, ...] = ()


@dataclass(frozen=True)
class TagFamily:
    """Tags that are kinds of ``parent`` and rule each other out on one subject (breeds)."""

    parent: str
    members: tuple[str, ...]


def clean_name(name: str) -> str:
    """A tag name as stored: inner whitespace collapsed; empty or overlong names are errors."""
    cleaned = " ".join(name.split())
    if not cleaned:
        raise PhotosenseError("a tag name cannot be empty")
    if len(cleaned) > MAX_NAME_LENGTH:
        raise PhotosenseError(f"a tag name can have at most {MAX_NAME_LENGTH} characters")
    return cleaned


def parse_vocabulary(text: str) -> list[VocabularyEntry]:
    """Parse the vocabulary format (see ``tags.txt``); a repeated name is an error."""
    entries: list[VocabularyEntry] = []
    seen: set[str] = set()
    category = ""
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            category = line[1:-1].strip()
            continue
        name, _, prompt_text = line.partition("=")
        prompts = tuple(p.strip() for p in prompt_text.split("|") if p.strip())
        cleaned = clean_name(name)
        if cleaned.casefold() in seen:
            raise PhotosenseError(f"vocabulary line {number}: {cleaned!r} is listed twice")
        seen.add(cleaned.casefold())
        entries.append(VocabularyEntry(cleaned, category, prompts))
    return entries


def parse_families(text: str) -> list[TagFamily]:
    """Parse the families format (see ``tag_families.txt``): ``parent: member, member``.

    A tag may belong to one family only, and a parent may not be a member of its own family.
    """
    families: list[TagFamily] = []
    seen: set[str] = set()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parent, colon, rest = line.partition(":")
        members = tuple(clean_name(m) for m in rest.split(",") if m.strip())
        if not colon or not members:
            raise PhotosenseError(f"families line {number}: expected 'parent: member, member'")
        folded = [m.casefold() for m in members]
        if clean_name(parent).casefold() in folded or len(set(folded)) < len(folded):
            raise PhotosenseError(f"families line {number}: a tag is listed twice")
        if seen & set(folded):
            raise PhotosenseError(f"families line {number}: a tag is in two families")
        seen.update(folded)
        families.append(TagFamily(clean_name(parent), members))
    return families


def _resource_text(name: str) -> str:
    return resources.files("photosense").joinpath("resources", name).read_text(encoding="utf-8")


def default_vocabulary() -> list[VocabularyEntry]:
    """The shipped default vocabulary, in file order."""
    return parse_vocabulary(_resource_text(VOCABULARY_FILE))


def default_families() -> list[TagFamily]:
    """The shipped families of the default vocabulary (kinds that exclude each other)."""
    return parse_families(_resource_text(FAMILIES_FILE))


def background_captions() -> list[str]:
    """The shipped generic captions that calibrate tags before a library has many photos."""
    lines = (line.strip() for line in _resource_text(BACKGROUND_FILE).splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def tag_templates(prompts: Sequence[str] | None) -> tuple[str, ...]:
    """The templates that embed a tag: its own prompts, else :data:`TAG_TEMPLATES`."""
    return tuple(prompts) if prompts else TAG_TEMPLATES


def fill(name: str, templates: Sequence[str]) -> tuple[str, ...]:
    """The prompts a name's templates expand to (as ``class_text_vectors`` expands them)."""
    return tuple(template.replace("{}", name) for template in templates)


def prompt_key(model_id: str, prompts: Sequence[str]) -> str:
    """Names one tag vector: it changes whenever the model or any prompt does."""
    payload = json.dumps([model_id, list(prompts)], ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:24]
