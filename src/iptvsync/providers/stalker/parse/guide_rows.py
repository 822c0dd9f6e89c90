"""The guide's rows decoded into small structs (msgspec) instead of dicts: the one fast path of
the guide's decode (``guide_split.GuideDecoder`` uses it; docs/benchmarks.md, session 26).

A portal's guide row has ~17 keys (``id``, ``real_id``, ``t_time``, ``director``, ...), and
``parse_programme`` reads eight. orjson builds every key and value of every row; msgspec
builds a ``GuideRow`` of the eight and only skips over the rest: 3.4-4.4 µs a programme
becomes 0.8-1.6 (decoded and read, 7.7-8.3 µs becomes 3.7-4.8), for the 285k programmes of a
3-day guide of 5,000 channels, in the write process whose work is a first sync's end.

The plain path stays the reference: ``loads_run`` hands any run msgspec will not decode into
structs of the values orjson would make (a row that is not an object, a channel that is not a
list, a value that is a list or an object, a number past 64 bits or a float's range) to
orjson whole, and ``parse_row`` reads a struct's common case with ``programme_of_fields``, the
rule ``parse_programme`` uses, and anything else through ``parse_programme`` itself. Text that
is not JSON is refused by both, with orjson's error. One difference, on purpose: a number past
a float's range (``1e400``) in a key the parse does not read. JSON puts no limit on numbers;
orjson refuses the text, so the plain path refuses the whole answer, where msgspec skips the
key unread and the guide is read (scanning every run for such numbers took ~4 s a 97 MB
guide). ``IPTVSYNC_COMPILED=0`` switches it off, as
it does the compiled twins (``iptvsync/speedups.py``);
``tests/providers/stalker/test_guide_rows.py`` holds the two paths to the same programmes.
"""

from __future__ import annotations

from datetime import tzinfo
from typing import Annotated, Any

import msgspec
import orjson

from iptvsync import speedups
from iptvsync.providers.stalker.parse.epg import parse_programme, programme_of_fields
from iptvsync.records import ProgrammeRecord

#: A value as orjson decodes it to the same Python value: a text, a finite float, a boolean,
#: null, or a whole number of 64 bits (orjson makes a larger one a float, and refuses one past
#: a float's range; msgspec keeps every digit). Anything else (a list, an object, a number
#: out of that range) fails the struct, and orjson decodes the run instead.
Value = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)] | float | str | bool | None


class GuideRow(msgspec.Struct, gc=False):
    """The values of a guide row ``parse_programme`` reads (a test holds the two to the same
    keys); absent and ``null`` are both None, as ``dict.get`` reads them. Not tracked by the
    collector: a row holds scalars only."""

    start_timestamp: Value = None
    stop_timestamp: Value = None
    name: Value = None
    descr: Value = None
    category: Value = None
    time: Value = None
    time_to: Value = None
    duration: Value = None


_RUN = msgspec.json.Decoder(dict[str, list[GuideRow]])


def loads_run(text: bytes) -> dict[str, Any]:
    """A run of whole channels (``{"<ch_id>": [row, ...], ...}``): rows as ``GuideRow``s, or
    as orjson's dicts where the run holds anything else (the plain path decides). Text that is
    not JSON raises ``orjson.JSONDecodeError``, as ``orjson.loads`` does (the cut between
    channels tries an earlier one)."""
    try:
        return _RUN.decode(text)
    except (msgspec.ValidationError, RecursionError):  # RecursionError: nested past ~1,000
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
