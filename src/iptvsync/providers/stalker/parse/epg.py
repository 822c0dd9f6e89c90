"""Programme rows of the portal's guide (docs/stalker.md §5.6) → ProgrammeRecords in UTC.

``start_timestamp`` / ``stop_timestamp`` are Unix seconds, the same whatever the portal's time
zone, and are preferred. Without them, ``time`` / ``time_to`` are local times in the zone the
``timezone`` cookie named (``zone``); ``duration`` (seconds) fills a missing stop. A programme
whose times cannot be read, or that ends before it starts (or lasts more than two days), is
broken: ``parse_programme`` returns None and the caller counts it.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from iptvsync.providers.stalker.parse.coerce import _clean, to_int, to_str
from iptvsync.records import ProgrammeRecord

_LONGEST = timedelta(days=2)
_EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)
_FLOOR = int(_EARLIEST.timestamp())
_MAX_S = int(_LONGEST.total_seconds())
#: The latest stop the common case takes: a Unix time past the platform's range (a hostile
#: ``9000000000000000000``) raised from ``datetime.fromtimestamp`` and took the whole guide
#: with it; past this, ``_stamp`` reads it (and refuses it), as any odd value.
_CEILING = int(datetime(9999, 1, 1, tzinfo=UTC).timestamp())


@functools.lru_cache(maxsize=4096)
def _utc(stamp: int) -> datetime:
    """A Unix time as an aware UTC datetime, remembered: a guide's programmes start and end on
    the same few hundred times on every channel (~0.05 µs a lookup against ~0.22 to make one,
    two a programme; docs/benchmarks.md)."""
    return datetime.fromtimestamp(stamp, UTC)


def _stamp(value: Any) -> datetime | None:
    number = to_int(value)
    if number is None or number <= 0:
        return None
    try:
        when = datetime.fromtimestamp(number, UTC)
    except (OverflowError, OSError, ValueError):
        return None
    return when if when >= _EARLIEST else None


def _local(value: Any, zone: tzinfo) -> datetime | None:
    text = to_str(value)
    if not text:
        return None
    try:
        naive = datetime.strptime(text[:19], "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None
    when = naive.replace(tzinfo=zone).astimezone(UTC)
    return when if when >= _EARLIEST else None


def parse_programme(
    row: Mapping[str, Any], channel_key: str, zone: tzinfo = UTC
) -> ProgrammeRecord | None:
    """One guide row, or None when its times are broken."""
    common = programme_of_fields(
        row.get("start_timestamp"),
        row.get("stop_timestamp"),
        row.get("name"),
        row.get("descr"),
        row.get("category"),
        channel_key,
    )
    if common is not None:
        return common
    start = _stamp(row.get("start_timestamp")) or _local(row.get("time"), zone)
    stop = _stamp(row.get("stop_timestamp")) or _local(row.get("time_to"), zone)
    if stop is None and start is not None:
        seconds = to_int(row.get("duration"))
        # Past two days it is broken anyway; past the calendar it overflowed (a hostile row).
        stop = start + timedelta(seconds=seconds) if seconds and 0 < seconds <= _MAX_S else None
    if start is None or stop is None or stop <= start or stop - start > _LONGEST:
        return None
    return ProgrammeRecord(
        channel_key=channel_key,
        start=start,
        stop=stop,
        title=_clean(row.get("name"), 500) or "",
        description=_clean(row.get("descr"), 4000),
        category=_clean(row.get("category"), 200),
    )


def programme_of_fields(
    first: Any, last: Any, name: Any, descr: Any, category: Any, channel_key: str
) -> ProgrammeRecord | None:
    """The common case of ``parse_programme``, from the row's values (``start_timestamp``,
    ``stop_timestamp``, ``name``, ``descr``, ``category``): whole Unix seconds in range, kept
    cheap (a 3-day guide of 5,000 channels is 285k rows). None when the times are anything
    else: ``parse_programme`` then reads the row. One rule for both row shapes, the decoded
    dict and ``guide_rows.GuideRow``."""
    if not (
        type(first) is int
        and type(last) is int
        and _FLOOR <= first < last <= first + _MAX_S
        and last <= _CEILING
    ):
        return None
    if type(name) is str and len(name) <= 500 and "<" not in name and "&" not in name:
        title = name.strip()
    else:
        title = _clean(name, 500) or ""
    return ProgrammeRecord(
        channel_key,
        _utc(first),
        _utc(last),
        title,
        None,
        _clean(descr, 4000) if descr else None,
        _clean(category, 200) if category else None,
    )
