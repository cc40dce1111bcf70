"""The library package: the one door through which the CLI and the GUI work.

The fronts import from here (and from :mod:`photosense.errors`, :mod:`photosense.progress` and
:mod:`photosense.enums`) and nothing deeper: the records below are what the use cases take and
hand back, re-exported so that the fronts never reach into the layers under the library.
"""

from photosense.indexing import IndexReport
from photosense.learn.records import (
    GENERAL_DROP_LIMIT,
    LIBRARY_KEEP_LIMIT,
    MIN_HELDOUT,
    MIN_PAIRS,
    FineTuneSettings,
    LibraryCheck,
    TrainingPair,
    TrainingProgress,
)
from photosense.library.colours import NAMES as COLOUR_NAMES
from photosense.library.colours import ColourStatus
from photosense.library.duplicates import Choice, DuplicateGroup, DuplicatePhoto, TrashReport
from photosense.library.evaluation import Evaluation
from photosense.library.finetune import PairsPreview
from photosense.library.library import Library, choose_folder
from photosense.library.marks import FAVOURITE, MarkReport
from photosense.library.people import ClusterReport, FaceStatus
from photosense.library.photos import PhotoRef
from photosense.library.places import country_filter, filter_label, place_label
from photosense.library.records import (
    CaptionImport,
    FineTuneReport,
    FolderStatus,
    Hit,
    LibraryModel,
    LibraryStatus,
    ModelFallback,
    ModelStatus,
    ModelSwitch,
    RemovedModel,
    SearchResults,
    SwitchReport,
)
from photosense.library.text import PhotoText, TextStatus
from photosense.media.export import CopyReport
from photosense.media.thumbnails import GRID_SIZE, PREVIEW_SIZE, ThumbnailCache
from photosense.models.inventory import ModelInfo
from photosense.models.local import LocalModel
from photosense.places.query import QueryReading, ReadPart
from photosense.store.places import PlaceCount, PlaceRecord
from photosense.store.records import (
    AlbumInfo,
    CaptionInfo,
    FaceRecord,
    FolderRecord,
    PersonRecord,
    PhotoRecord,
    SkippedRecord,
    TagRecord,
    TextLine,
)
from photosense.tagging.service import (
    ExportReport,
    PhotoTagInfo,
    TagInfo,
    TagReport,
)

__all__ = [
    "COLOUR_NAMES",
    "FAVOURITE",
    "GENERAL_DROP_LIMIT",
    "GRID_SIZE",
    "LIBRARY_KEEP_LIMIT",
    "MIN_HELDOUT",
    "MIN_PAIRS",
    "PREVIEW_SIZE",
    "AlbumInfo",
    "CaptionImport",
    "CaptionInfo",
    "Choice",
    "ClusterReport",
    "ColourStatus",
    "CopyReport",
    "DuplicateGroup",
    "DuplicatePhoto",
    "Evaluation",
    "ExportReport",
    "FaceRecord",
    "FaceStatus",
    "FineTuneReport",
    "FineTuneSettings",
    "FolderRecord",
    "FolderStatus",
    "Hit",
    "IndexReport",
    "Library",
    "LibraryCheck",
    "LibraryModel",
    "LibraryStatus",
    "LocalModel",
    "MarkReport",
    "PairsPreview",
    "PersonRecord",
    "ModelFallback",
    "ModelInfo",
    "ModelStatus",
    "ModelSwitch",
    "PhotoRecord",
    "PhotoRef",
    "PhotoTagInfo",
    "PlaceCount",
    "PlaceRecord",
    "QueryReading",
    "ReadPart",
    "PhotoText",
    "RemovedModel",
    "SearchResults",
    "SkippedRecord",
    "SwitchReport",
    "TagInfo",
    "TagRecord",
    "TagReport",
    "TextLine",
    "TextStatus",
    "ThumbnailCache",
    "TrainingPair",
    "TrashReport",
    "TrainingProgress",
    "choose_folder",
    "country_filter",
    "filter_label",
    "place_label",
]
