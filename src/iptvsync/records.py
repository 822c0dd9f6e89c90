"""Typed records: what provider parsers produce and the sync engine stores.

Pure data, no I/O. Every provider (Stalker, Xtream, M3U) turns its raw payloads into these, so the
engine, the store and the API never see a protocol's quirks. ``provider_item_id`` and
``provider_category_id`` are the provider's own ids as strings (Stalker ``"153"``, Xtream
``"1001"``, M3U a normalised URL key); ``provider_id`` in the tables is our provider row.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import datetime
from enum import StrEnum
from typing import Any, NamedTuple

import orjson


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


class RecordBatch(list[CatalogueRecord]):
    """One kind's records on their way to the write process (``sync/write_process.py``),
    pickled as their class and one orjson array of their field values: ~1.8 µs a movie where
    the records pickled one by one (``_pickled_as_values``) took ~4.3, every microsecond of it
    holding the GIL of the process whose event loop runs the walk (docs/benchmarks.md, session
    23). In this process it is a plain list. A batch JSON cannot carry exactly (two kinds, a
    non-finite float, an int past 64 bits, a lone surrogate) is pickled record by record;
    ``tests/test_records_wire.py`` holds both ways to the records they were made of."""

    __slots__ = ()

    def __reduce__(self) -> tuple[Any, ...]:
        wired = _wire(self)
        if wired is None:
            return list, (list(self),)
        return _unwire, wired


class _WireSpec(NamedTuple):
    values: Callable[[Any], tuple[Any, ...]]
    tuples: tuple[int, ...]  # tuple fields: JSON arrays come back as lists
    datetimes: tuple[int, ...]  # datetime fields: JSON text comes back as text
    floats: tuple[int, ...]  # float fields: JSON has no NaN or infinity


def _wire_spec(cls: type) -> _WireSpec:
    names = [f.name for f in fields(cls)]
    types = [str(f.type) for f in fields(cls)]
    return _WireSpec(
        operator.attrgetter(*names),
        tuple(i for i, t in enumerate(types) if t.startswith("tuple")),
        tuple(i for i, t in enumerate(types) if "datetime" in t),
        tuple(i for i, t in enumerate(types) if "float" in t),
    )


_WIRE: dict[type, _WireSpec] = {
    cls: _wire_spec(cls) for cls in (ChannelRecord, MovieRecord, SeriesRecord)
}


def _wire(records: list[CatalogueRecord]) -> tuple[type, bytes] | None:
    if not records:
        return None
    cls = type(records[0])
    spec = _WIRE.get(cls)
    if spec is None:
        return None
    values, _, _, floats = spec
    rows = []
    for record in records:
        if type(record) is not cls:
            return None
        row = values(record)
        for i in floats:
            number = row[i]
            if type(number) is float and not math.isfinite(number):
                return None
        rows.append(row)
    try:
        return cls, orjson.dumps(rows)
    except orjson.JSONEncodeError:  # an int past 64 bits, a lone surrogate, an odd type
        return None


def _unwire(cls: type, data: bytes) -> list[CatalogueRecord]:
    _, tuples, datetimes, _ = _WIRE[cls]
    fromisoformat = datetime.fromisoformat
    out = []
    for row in orjson.loads(data):
        for i in tuples:
            row[i] = tuple(row[i])
        for i in datetimes:
            if row[i] is not None:
                row[i] = fromisoformat(row[i])
        out.append(cls(*row))
    return out


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
