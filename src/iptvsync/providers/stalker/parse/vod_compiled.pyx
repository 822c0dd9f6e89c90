# cython: language_level=3
"""The compiled twin of ``providers/stalker/parse/vod.py``'s ``parse_vod_items``.

The same answers for every row (``tests/speedups/test_stalker_vod.py`` holds the two to each
other with Hypothesis): each field's common case (a text as portals send it) is read here in C,
and anything else goes to the plain path's own helper, so an odd value is read by one rule
only. A row that is not a dict goes to the plain ``parse_vod_item`` whole. Why it exists, and
its figure: ``iptvsync/speedups/__init__.py`` and docs/benchmarks.md (session 23).
"""

from cpython.dict cimport PyDict_GetItem
from cpython.object cimport PyObject
from libc.math cimport isfinite

from datetime import datetime

from iptvsync.providers.stalker.parse import coerce as _coerce
# vod.py imports this module on its last line, so its helpers below exist already.
from iptvsync.providers.stalker.parse import vod as _vod
from iptvsync.records import MovieRecord, SeriesRecord

cdef object _MISSING = _coerce._MISSING
cdef object _py_to_str = _coerce.to_str
cdef object _py_to_bool = _coerce.to_bool
cdef object _py_to_float = _coerce.to_float
cdef object _py_clean = _coerce._clean
cdef object _py_parse_when = _coerce.parse_when
cdef object _py_year_of = _vod._year_of
cdef object _py_duration_of = _vod._duration_of
cdef object _py_extension = _vod._extension
cdef object _py_parse_vod_item = _vod.parse_vod_item
cdef object _fromisoformat = datetime.fromisoformat
cdef tuple _POSTER_KEYS = tuple(_vod._POSTER_KEYS)
cdef tuple _RATING_KEYS = tuple(_vod._RATING_KEYS)
cdef object _Movie = MovieRecord
cdef object _Series = SeriesRecord


cdef inline object _get(dict row, str key):
    cdef PyObject* found = PyDict_GetItem(row, key)
    if found == NULL:
        return None
    return <object>found


cdef object _to_str(object value):
    cdef str text
    if type(value) is str:
        text = (<str>value).strip()
        if len(text) <= 9 and text.lower() in _MISSING:
            return None
        return text
    return _py_to_str(value)


cdef bint _to_bool(object value) except -1:
    if type(value) is str:
        if value == "0" or value == "":
            return False
        if value == "1":
            return True
    return _py_to_bool(value)


cdef object _year(object value):
    cdef long number
    if type(value) is str and len(<str>value) == 4 and (<str>value).isdecimal():
        number = int(value)
        return number if 1880 <= number <= 2100 else None
    return _py_year_of(value)


cdef object _rating(dict row):
    cdef object raw, value
    cdef str key
    for key in _RATING_KEYS:
        raw = _get(row, key)
        if raw is None or raw == "":
            continue
        if type(raw) is str and len(<str>raw) <= 32 and "_" not in raw and "," not in raw:
            try:
                value = float(raw)
            except ValueError:
                value = _py_to_float(raw)
            if value is not None and not isfinite(<double>value):
                value = None
        else:
            value = _py_to_float(raw)
        if value is None or value <= 0:
            continue
        if key == "rating_5based":
            value = value * 2
        return round(min(10.0, value), 2)
    return None


cdef object _poster(dict row, object urls):
    cdef object raw, value
    cdef str key, text
    for key in _POSTER_KEYS:
        raw = _get(row, key)
        if raw is None or raw == "":
            continue
        if type(raw) is str:
            text = (<str>raw).strip()
            # A path on the portal, as most posters are: ``PortalUrls.absolute``'s first case.
            if len(text) > 9 and text[0] == "/" and text[1] != "/":
                return urls.origin + text
        value = urls.absolute(raw)
        if value:
            return value
    return None


cdef object _when(object value):
    if (
        type(value) is str
        and len(<str>value) == 19
        and (<str>value)[4] == "-"
        and (<str>value)[0] != "0"
    ):
        try:
            return _fromisoformat(value + "+00:00")
        except ValueError:
            pass
    return _py_parse_when(value)


cdef object _clean(object value, Py_ssize_t limit):
    cdef str text
    if type(value) is not str:
        return _py_clean(value, limit)
    text = <str>value
    if "&" in text or "<" in text or "  " in text or "\n" in text or "\t" in text or "\r" in text:
        return _py_clean(value, limit)
    text = text.strip()
    if len(text) <= 9 and text.lower() in _MISSING:
        return None
    return text[:limit]


cdef object _duration(object value):
    cdef long minutes
    if type(value) is str and (<str>value).isdecimal() and len(<str>value) <= 9:
        minutes = int(value)
        return minutes if 0 < minutes < 10000 else None
    return _py_duration_of(value)


cdef object _extension(dict row, object cmd):
    cdef str text, tail, suffix
    cdef Py_UCS4 ch
    if _get(row, "container_extension") is not None or type(cmd) is not str:
        return _py_extension(row, cmd)
    text = <str>cmd
    if not ("." in text or ":" in text or " " in text or len(text) > 4096):
        return _py_extension(row, cmd)  # it may be base64 JSON (``decode_b64_cmd``)
    text = text.strip()
    for ch in text:
        if ch.isspace():  # a player "solution" or a position: ``strip_solution``'s work
            return _py_extension(row, cmd)
    # A URL or path, as most portals' movie cmds are: ``_extension``'s reading of its tail.
    tail = text.split("?", 1)[0].split("#", 1)[0].rsplit("/", 1)[-1]
    if "." not in tail:
        return None
    suffix = tail.rsplit(".", 1)[1]
    if 2 <= len(suffix) <= 4 and suffix.lower() not in ("mpg", "php"):
        return _py_extension(row, cmd)  # an extension to check and keep
    return None


cdef bint _is_series(dict row) except -1:
    if _to_bool(_get(row, "is_series")):
        return True
    series = _get(row, "series")
    return isinstance(series, list) and len(series) > 0


cdef object _item(dict row, object urls, bint force_series, object censored_categories):
    cdef object item_id, name, category, cmd, added
    cdef bint censored
    item_id = _to_str(_get(row, "id"))
    if item_id is None:
        return None
    name = _to_str(_get(row, "name")) or _to_str(_get(row, "o_name")) or f"Untitled {item_id}"
    category = _to_str(_get(row, "category_id"))
    cmd = _to_str(_get(row, "cmd"))
    censored = _to_bool(_get(row, "censored")) or (
        category is not None and category in censored_categories
    )
    year = _year(_get(row, "year")) or _year(_get(row, "releasedate"))
    rating = _rating(row)
    poster = _poster(row, urls)
    categories = (category,) if category and category != "0" else ()
    added = _when(_get(row, "added"))
    description = _clean(_get(row, "description"), 4000)
    director = _clean(_get(row, "director"), 500)
    actors = _clean(_get(row, "actors"), 1000)
    genres = _clean(_get(row, "genres_str"), 300)
    duration = _duration(_get(row, "time"))
    if force_series or _is_series(row):
        return _Series(
            item_id, name, year, rating, poster, categories, added, cmd,
            description, director, actors, genres, duration, censored,
        )
    return _Movie(
        item_id, name, year, rating, poster, categories, added, cmd,
        description, director, actors, genres, duration, _extension(row, cmd), censored,
    )


def parse_vod_items(rows, urls, *, force_series=False, censored_categories=()):
    """``vod.plain_parse_vod_items``, compiled (module doc)."""
    cdef object censored = frozenset(censored_categories)
    cdef list out = []
    cdef bint series = bool(force_series)
    for row in rows:
        if type(row) is dict:
            record = _item(<dict>row, urls, series, censored)
        else:
            record = _py_parse_vod_item(
                row, urls, force_series=force_series, censored_categories=censored
            )
        if record is not None:
            out.append(record)
    return out
