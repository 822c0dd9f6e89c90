"""The guide's rows decoded into small structs (msgspec) instead of dicts: the one fast path of
the guide's decode (``guide_split.GuideDecoder`` uses it; docs/benchmarks.md, session 26).

A portal's guide row has ~17 keys (``id``, ``real_id``, ``t_time``, ``director``, ...), and
``parse_programme`` reads eight. orjson builds every key and value of every row; msgspec
builds a ``GuideRow`` of the eight and only skips over the rest: 3.4-4.4 µs a programme
becomes 0.8-1.6 (decoded and read, 7.7-8.3 µs becomes 3.7-4.8), for the 285k programmes of a
3-day guide of 5,000 channels, in the write process whose work is a first sync's end.

The plain path stays the reference: ``loads_run`` hands any run msgspec will not decode into
structs (a row that is not an object, a channel that is not a list, a number out of range) to
orjson whole, and ``parse_row`` reads a struct's common case with ``programme_of_fields``, the
rule ``parse_programme`` uses, and anything else through ``parse_programme`` itself. Text that
is not JSON is refused by both, with orjson's error. ``IPTVSYNC_COMPILED=0`` switches it off, as
it does the compiled twins (``iptvsync/speedups.py``);
``tests/providers/stalker/test_guide_rows.py`` holds the two paths to the same programmes.
"""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

import msgspec
import orjson

from iptvsync import speedups
from iptvsync.providers.stalker.parse.epg import parse_programme, programme_of_fields
from iptvsync.records import ProgrammeRecord


class GuideRow(msgspec.Struct, gc=False):
    """The values of a guide row ``parse_programme`` reads (a test holds the two to the same
    keys); absent and ``null`` are both None, as ``dict.get`` reads them. Not tracked by the
    collector: a row holds decoded JSON values, which cannot form a cycle."""

    start_timestamp: Any = None
    stop_timestamp: Any = None
    name: Any = None
    descr: Any = None
    category: Any = None
    time: Any = None
    time_to: Any = None
    duration: Any = None


_RUN = msgspec.json.Decoder(dict[str, list[GuideRow]])


def loads_run(text: bytes) -> dict[str, Any]:
    """A run of whole channels (``{"<ch_id>": [row, ...], ...}``): rows as ``GuideRow``s, or
    as orjson's dicts where the run holds anything else (the plain path decides). Text that is
    not JSON raises ``orjson.JSONDecodeError``, as ``orjson.loads`` does (the cut between
    channels tries an earlier one)."""
    try:
        return _RUN.decode(text)
    except msgspec.ValidationError:
        return orjson.loads(text)
    except msgspec.DecodeError as exc:
        raise orjson.JSONDecodeError(str(exc), "", 0) from exc


def run_loader() -> Any:
    """The run decoder a guide uses: ``loads_run``, or orjson's where fast paths are off."""
    return loads_run if speedups.enabled() else orjson.loads


def parse_row(row: Any, channel_key: str, zone: tzinfo) -> ProgrammeRecord | None:
    """``parse_programme`` of a decoded row of either shape; None for a broken one (and for a
    row that is not an object)."""
    if type(row) is GuideRow:
        common = programme_of_fields(
            row.start_timestamp, row.stop_timestamp, row.name, row.descr, row.category, channel_key
        )
        if common is not None:
            return common
        return parse_programme(msgspec.structs.asdict(row), channel_key, zone)
    if isinstance(row, dict):
        return parse_programme(row, channel_key, zone)
    return None
