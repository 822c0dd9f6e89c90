"""The rows of ``js.data`` in a whole-list answer (``get_all_channels``), one at a time, each
decoded by orjson from its own bytes: the fast path of ``channels.channel_stream_steps``.

ijson, the plain path, walks the answer token by token and builds each row through its event
pipeline: 17–19 µs a 47-field channel row, where this path takes ~7 (5,000 channels decoded
and parsed in 92–96 ms of the event loop against 146–197, at a walk's start;
docs/benchmarks.md, session 24). Both keep one row's objects at a time, not the tens of MB of
a whole list.

A row's end is found by looking for the bytes that close one row and open the next
(``},{"cost":``, the first row's own opening), and proven by orjson: a slice from a row's
``{`` that decodes as one complete object ends exactly where the row does, since JSON is read
the same from the same first byte. A candidate that does not decode (the separator inside a
string, or inside a nested list of objects such as ``cmds``) is passed over for the next.

Anything this path cannot prove gives up (``Unproven``) and the caller reads the whole answer
with ijson instead; every row it gave is then thrown away. That covers: no ``"data":[`` key,
or another ``"data"`` in the envelope around it (the array found must be ``js.data`` and no
other), an element that is not an object, rows apart from each other by whitespace, a run of
19 digits (orjson reads an integer past 64 bits as a float, ijson refuses the answer), and an
envelope that is not ``{"js": {..., "data": [...]}}`` once the array is cut out of it.
``tests/providers/stalker/test_data_rows.py`` holds the rows to ijson's.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson

_KEY = b'"data":['
#: orjson reads an integer outside 64 bits as a float, where ijson refuses it: an answer with
#: a run of 19 digits or more (2^63 has 19) may hold one, and goes to ijson. The run is looked
#: for in the bytes with every digit made "0" and every other byte " ": two C passes, ~1.4 µs
#: a row, where a regular expression took ~13.
_DIGITS_AS_ZEROS = bytes(0x30 if 0x30 <= b <= 0x39 else 0x20 for b in range(256))
_LONG_RUN = b"0" * 19
#: Candidates of each kind tried for one row's end before giving up: a row with more nested
#: objects than this is an odd portal's, read by ijson. Each failed try reads its candidate to
#: the end (orjson checks the whole input: a 2 MB candidate took 2.5 ms), so a list that goes
#: to ijson after the failures of its largest candidates has cost ~0.1 s at most.
_MAX_TRIES = 16


class Unproven(Exception):
    """The fast path cannot show its rows are the answer's ``js.data``: read it with ijson."""


def data_rows(body: bytes) -> Iterator[dict[str, Any]]:
    """Each row of ``js.data``, in order. Raises ``Unproven`` (possibly after some rows) when
    the answer is not of the shape this path can prove; the rows given so far are then void."""
    start = body.find(_KEY)
    if start <= 0 or body[start - 1] == 0x5C or b'"data"' in body[:start]:
        raise Unproven  # none, an escaped quote before it, or another "data" key before it
    pos = start + len(_KEY)
    loads = orjson.loads
    if body[pos : pos + 1] == b"]":
        end = pos
    else:
        colon = body.find(b":", pos)
        if body[pos : pos + 2] != b'{"' or colon < 0:
            raise Unproven  # not an object, or whitespace before it
        # `},{"cost":`: one row's end and the next one's start, as the first row opens.
        separator = b"}," + body[pos : colon + 1]
        while True:
            found = _next_row(loads, body, pos, separator)
            if found is None:  # the last row: it ends at a `}` just before the array's `]`
                found = _next_row(loads, body, pos, b"}]")
                if found is None:
                    raise Unproven
                yield found[0]
                end = found[1]
                break
            yield found[0]
            pos = found[1] + 1  # past the comma, at the next row's `{`
    # ``end`` is the array's `]`. The envelope with the array emptied must be a `js` object
    # whose ``data`` is that array, and hold no other "data" key.
    rest = body[end + 1 :]
    if b'"data"' in rest:
        raise Unproven
    around = body[: start + len(_KEY)] + b"]" + rest
    if _LONG_RUN in around.translate(_DIGITS_AS_ZEROS):
        raise Unproven  # ijson refuses an integer past 64 bits anywhere in the answer
    try:
        envelope = loads(around)
    except orjson.JSONDecodeError:
        raise Unproven from None
    js = envelope.get("js") if isinstance(envelope, dict) else None
    if not isinstance(js, dict) or js.get("data") != []:
        raise Unproven


def _next_row(
    loads: Any, body: bytes, pos: int, closing: bytes
) -> tuple[dict[str, Any], int] | None:
    """The row that starts at ``pos`` and ends at the `}` of one of the next ``_MAX_TRIES``
    occurrences of ``closing``, with the index just past that `}`; None when none of them ends
    it."""
    cut = body.find(closing, pos)
    for _ in range(_MAX_TRIES):
        if cut < 0:
            return None
        row = _row(loads, body[pos : cut + 1])
        if row is not None:
            return row, cut + 1
        cut = body.find(closing, cut + 1)
    return None


def _row(loads: Any, piece: bytes) -> dict[str, Any] | None:
    """``piece`` as one JSON object, or None when it is not one. Raises ``Unproven`` for a
    number orjson could read otherwise than ijson."""
    try:
        row = loads(piece)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(row, dict):
        return None
    if _LONG_RUN in piece.translate(_DIGITS_AS_ZEROS):
        raise Unproven
    return row
