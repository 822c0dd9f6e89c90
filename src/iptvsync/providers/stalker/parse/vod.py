"""VOD items (docs/stalker.md §6.3, §7): movie and series rows of both families to MovieRecords
and SeriesRecords.
"""

from __future__ import annotations

import math
import re
from collections.abc import Container, Iterable, Mapping
from typing import Any

from iptvsync.providers.stalker.parse.coerce import _clean, parse_when, to_bool, to_float, to_str
from iptvsync.providers.stalker.parse.links import decode_b64_cmd, strip_solution
from iptvsync.providers.stalker.parse.urls import PortalUrls
from iptvsync.records import MovieRecord, SeriesRecord
from iptvsync.speedups import compiled_twin


def _year(value: Any) -> int | None:
    if type(value) is str and len(value) == 4 and value.isdecimal():
        # What nearly every portal sends ("2018"): ``_year_of``'s answer without its trim and
        # its "missing" check (a decimal text has nothing to trim and is no such word): 0.2-0.7
        # µs of a row's ~21 on session 22's host (docs/benchmarks.md).
        number = int(value)
        return number if 1880 <= number <= 2100 else None
    return _year_of(value)


def _year_of(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value if 1880 <= value <= 2100 else None
    text = to_str(value)
    if text is None:
        return None
    if len(text) == 4 and text.isdecimal():  # what int() reads ("²" is a digit, not decimal)
        number = int(text)
        return number if 1880 <= number <= 2100 else None
    match = re.search(r"\b(18[89]\d|19\d\d|20\d\d|2100)\b", text)
    return int(match.group(1)) if match else None


#: The rating fields in order of trust: the first positive one is the rating.
_RATING_KEYS = ("rating_imdb", "rating_im", "rating_kinopoisk", "rating", "rating_5based")


def _rating(row: Mapping[str, Any]) -> float | None:
    for key in _RATING_KEYS:
        raw = row.get(key)
        if raw is None or raw == "":  # most of the keys, on most rows: no call
            continue
        if type(raw) is str and len(raw) <= 32 and "_" not in raw and "," not in raw:
            # A plain number text, as nearly every portal sends ("7.70000"): what ``to_float``
            # answers, without its checks. A text float() refuses goes the general way: it
            # trims less than ``str.strip`` does (not U+001C-U+001F, found by Hypothesis).
            try:
                value: float | None = float(raw)
            except ValueError:
                value = to_float(raw)
            if value is not None and not math.isfinite(value):
                value = None
        else:
            value = to_float(raw)
        if value is None or value <= 0:
            continue
        if key == "rating_5based":
            value *= 2
        return round(min(10.0, value), 2)
    return None


def _duration_min(value: Any) -> int | None:
    if type(value) is str and value.isdecimal() and len(value) <= 9:
        # The common text ("81", "0"): ``_duration_of``'s answer without its trim and its
        # "missing" check, as for ``_year``.
        minutes = int(value)
        return minutes if 0 < minutes < 10_000 else None
    return _duration_of(value)


def _duration_of(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value if 0 < value < 10_000 else None
    text = to_str(value)
    if text is None:
        return None
    if text.isdecimal() and len(text) <= 9:  # int() refuses 4,300 digits
        minutes = int(text)
        return minutes if 0 < minutes < 10_000 else None
    hms = re.fullmatch(r"(\d{1,2}):(\d{2})(?::(\d{2}))?", text)
    if hms:  # "01:45:00" or "1:45"
        return int(hms.group(1)) * 60 + int(hms.group(2)) or None
    match = re.match(r"(\d{1,5})", text)
    if not match:
        return None
    minutes = int(match.group(1))
    return minutes if 0 < minutes < 10_000 else None


_EXTENSION = re.compile(r"[a-z0-9]{1,5}")


def _extension(row: Mapping[str, Any], cmd: str | None) -> str | None:
    raw = row.get("container_extension")  # absent on most portals' rows: no call then
    ext = None if raw is None else to_str(raw)
    decoded = decode_b64_cmd(cmd) if ext is None and cmd else None
    if decoded is not None:
        ext = to_str(decoded.get("target_container")) or to_str(decoded.get("container_extension"))
    if ext is None and cmd:
        path = strip_solution(cmd).split("?", 1)[0].split("#", 1)[0]
        tail = path.rsplit("/", 1)[-1]
        if "." in tail:
            suffix = tail.rsplit(".", 1)[1]
            if 2 <= len(suffix) <= 4 and suffix.lower() not in ("mpg", "php"):
                ext = suffix
    if ext is None:
        return None
    ext = ext.lstrip(".").lower()
    return ext if _EXTENSION.fullmatch(ext) else None


#: Portrait covers before the landscape screenshot: a poster is a cover (issue 16, point 5).
_POSTER_KEYS = ("cover_big", "cover", "pic", "poster", "stream_icon", "screenshot_uri")


def _poster(row: Mapping[str, Any], urls: PortalUrls) -> str | None:
    for key in _POSTER_KEYS:
        raw = row.get(key)
        if raw is None or raw == "":  # stock rows send five of the six empty: no call
            continue
        value = urls.absolute(raw)
        if value:
            return value
    return None


def is_series_row(row: Mapping[str, Any]) -> bool:
    """Ministra ``is_series=1`` (model B), reseller series rows, or the old model A: a VOD item
    with a non-empty ``series`` list of episode numbers."""
    if to_bool(row.get("is_series")):
        return True
    series = row.get("series")
    return isinstance(series, list) and len(series) > 0


def parse_vod_item(
    row: Mapping[str, Any],
    urls: PortalUrls,
    *,
    force_series: bool = False,
    censored_categories: Container[str] = (),
) -> MovieRecord | SeriesRecord | None:
    """A VOD row as a MovieRecord, or a SeriesRecord when it is a series (``force_series`` for
    rows of the reseller ``type=series`` module). ``cmd`` is kept verbatim (base64 included).
    This runs for every one of a catalogue's 100k+ rows: keep it cheap."""
    get = row.get
    item_id = to_str(get("id"))
    if item_id is None:
        return None
    name = to_str(get("name")) or to_str(get("o_name")) or f"Untitled {item_id}"
    category = to_str(get("category_id"))
    cmd = to_str(get("cmd"))
    censored = to_bool(get("censored")) or (
        category is not None and category in censored_categories
    )
    # Positional, in the records' field order (MovieRecord and SeriesRecord share the first
    # thirteen): no keyword dict to build and unpack a row.
    common = (
        item_id,
        name,
        _year(get("year")) or _year(get("releasedate")),
        _rating(row),
        _poster(row, urls),
        (category,) if category and category != "0" else (),
        parse_when(get("added")),
        cmd,
        _clean(get("description"), 4000),
        _clean(get("director"), 500),
        _clean(get("actors"), 1000),
        _clean(get("genres_str"), 300),
        _duration_min(get("time")),
    )
    if force_series or is_series_row(row):
        return SeriesRecord(*common, censored)
    return MovieRecord(*common, _extension(row, cmd), censored)


def plain_parse_vod_items(
    rows: Iterable[Mapping[str, Any]],
    urls: PortalUrls,
    *,
    force_series: bool = False,
    censored_categories: Iterable[str] = (),
) -> list[MovieRecord | SeriesRecord]:
    censored = frozenset(censored_categories)
    out = []
    for row in rows:
        record = parse_vod_item(row, urls, force_series=force_series, censored_categories=censored)
        if record is not None:
            out.append(record)
    return out


#: Every page of a VOD walk goes through this: the compiled twin (``vod_compiled.pyx``, the same
#: answers at about half the CPU) where it is built, else the plain function above
#: (``iptvsync/speedups.py``, docs/benchmarks.md, session 23). Last in the module: the twin
#: reads this module's helpers when it loads.
parse_vod_items = compiled_twin(
    "iptvsync.providers.stalker.parse.vod_compiled", "parse_vod_items", plain_parse_vod_items
)
