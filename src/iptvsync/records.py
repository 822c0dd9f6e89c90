"""Typed records: what provider parsers produce and the sync engine stores.

Pure data, no I/O. Every provider (Stalker, Xtream, M3U) turns its raw payloads into these, so the
engine, the store and the API never see a protocol's quirks. ``provider_item_id`` and
``provider_category_id`` are the provider's own ids as strings (Stalker ``"153"``, Xtream
``"1001"``, M3U a normalised URL key); ``provider_id`` in the tables is our provider row.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field, fields
from datetime import datetime
from enum import StrEnum
from typing import Any, NamedTuple


class Kind(StrEnum):
    """Kinds of catalogue items (also the kinds of categories)."""

    CHANNEL = "channel"
    MOVIE = "movie"
    SERIES = "series"


class Scope(StrEnum):
    """What a walk covers. ``vod`` yields movies and series (Stalker stock mixes them)."""

    CHANNELS = "channels"
    VOD = "vod"


@dataclass(frozen=True, slots=True)
class CategoryRecord:
    kind: Kind
    provider_category_id: str
    title: str
    censored: bool = False
    position: int = 0


# Channel, movie and series records are not frozen: a frozen dataclass sets every field through
# ``object.__setattr__`` (3.2 µs for a movie's 15 fields against 0.65), and a sync makes one
# per item (100k+). They are still values: nothing assigns to a record once it is built
# (``dataclasses.replace`` makes a new one).
@dataclass(slots=True)
class ChannelRecord:
    provider_item_id: str
    name: str
    number: int | None = None
    logo: str | None = None
    category_ids: tuple[str, ...] = ()
    cmd: str | None = None
    epg_id: str | None = None
    archive: bool = False
    archive_days: int | None = None
    radio: bool = False
    censored: bool = False
    extra: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    kind = Kind.CHANNEL


@dataclass(slots=True)
class MovieRecord:
    provider_item_id: str
    name: str
    year: int | None = None
    rating: float | None = None
    poster: str | None = None
    category_ids: tuple[str, ...] = ()
    added_at: datetime | None = None
    cmd: str | None = None
    description: str | None = None
    director: str | None = None
    actors: str | None = None
    genres: str | None = None
    duration_min: int | None = None
    extension: str | None = None
    censored: bool = False

    kind = Kind.MOVIE


@dataclass(slots=True)
class SeriesRecord:
    provider_item_id: str
    name: str
    year: int | None = None
    rating: float | None = None
    poster: str | None = None
    category_ids: tuple[str, ...] = ()
    added_at: datetime | None = None
    cmd: str | None = None
    description: str | None = None
    director: str | None = None
    actors: str | None = None
    genres: str | None = None
    duration_min: int | None = None
    censored: bool = False

    kind = Kind.SERIES


CatalogueRecord = ChannelRecord | MovieRecord | SeriesRecord


def _pickled_as_values(cls: type) -> None:
    """Pickle ``cls`` as its class and its field values, in order: a large sync sends every
    record to its write process (``sync/write_process.py``), and the default for a slots
    class (``copyreg`` and a state dict) costs 2.8 µs a movie against 1.5."""
    values = operator.attrgetter(*(f.name for f in fields(cls)))

    def __reduce__(self: Any) -> tuple[type, tuple[Any, ...]]:
        return cls, values(self)

    cls.__reduce__ = __reduce__  # type: ignore[assignment]


for _cls in (ChannelRecord, MovieRecord, SeriesRecord):
    _pickled_as_values(_cls)


@dataclass(frozen=True, slots=True)
class EpisodeRecord:
    provider_item_id: str
    season: int
    number: int
    name: str
    cmd: str | None = None
    extension: str | None = None


@dataclass(frozen=True, slots=True)
class SeasonRecord:
    number: int
    name: str
    episodes: tuple[EpisodeRecord, ...] = ()


class ProgrammeRecord(NamedTuple):
    """One guide entry. ``channel_key`` is the guide's channel id (XMLTV ``channel``).

    A named tuple, not a dataclass: a guide is hundreds of thousands of these, and the fields
    are the ``programmes`` columns in order, so the record is the row ``store/guide_write.py``
    inserts (no dict or second tuple per programme)."""

    channel_key: str
    start: datetime
    stop: datetime
    title: str
    subtitle: str | None = None
    description: str | None = None
    category: str | None = None
    episode: str | None = None


@dataclass(frozen=True, slots=True)
class AccountInfo:
    status: str  # "active" | "disabled" | "expired" | "unknown"
    expires_at: datetime | None = None
    message: str | None = None


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """What ``probe`` learned: family is stock | reseller | xtream | xui | m3u."""

    family: str
    endpoint: str
    page_size: int | None
    account: AccountInfo
    counts: dict[str, int | None]
    version: str | None = None
    #: Each module the portal answered and its own total (Stalker: itv, vod, series, radio).
    modules: dict[str, int | None] = field(default_factory=dict)
    #: Per-credential state (Stalker MAC pool): masked MAC, state, reason, expiry.
    macs: list[dict[str, Any]] = field(default_factory=list)


@dataclass(slots=True)
class Page:
    """A batch of records from one walk.

    ``stream`` names the sub-walk it belongs to (``"itv"``, ``"vod"``, ``"series"``...):
    incremental sync stops each stream on its own. ``number`` is 1-based; totals are ``None``
    when the provider does not say.
    """

    stream: str
    number: int
    records: list[CatalogueRecord]
    total_pages: int | None = None
    total_items: int | None = None


@dataclass(slots=True)
class WalkResult:
    """How a walk ended. ``complete`` is True only when every stream reached its end."""

    complete: bool
    pages: int = 0
    items: int = 0
    stop_reason: str | None = None  # "early_termination" | "page_cap" | "repeated_page" | ...
    warnings: list[str] = field(default_factory=list)
