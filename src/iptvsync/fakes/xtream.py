"""A fake Xtream Codes panel (Starlette), serving a fake ``Catalogue`` with switchable quirks.

Both server families of the reference (§1.0): ``family="xtream"`` sends numbers as strings and
answers a bad login with HTTP 200 ``{"user_info":{"auth":0}}``; ``family="xui"`` sends ints, adds
``category_ids``/``title``/``year`` and answers a bad login with a 404 HTML page. Big lists are
streamed (a generator of orjson chunks), so a 178k-movie list costs no more memory than a page.

    app = create_app(generate(seed=1, movies=200), XtreamFakeConfig(family="xui"))
    app.state.provider.config.account = "expired"       # in-process control
    POST /_control/config {"tarpit_s": 2}               # or over HTTP

Every switch is a field of ``XtreamFakeConfig`` (mutable at runtime). Stream routes answer 302
to a small local asset, counting connections. ``/_control/stats`` reports requests per action.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import hashlib
import time
import zlib
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from iptvsync.fakes.catalogue import (
    Catalogue,
    FakeChannel,
    FakeMovie,
    FakeSeries,
    generate,
    seasons,
)
from iptvsync.fakes.media import FakeMedia, wants_hls

#: The default "large account" of the benchmarks: sizes of a real reseller line.
LARGE_ACCOUNT = {"channels": 56_713, "movies": 178_007, "series": 47_568}

ROWS_PER_CHUNK = 1000
ASSET = b"\x47" + b"\x00" * 187  # one MPEG-TS null packet: enough for a player to open


def large_catalogue(seed: int = 42) -> Catalogue:
    """The default large account: 56,713 live, 178,007 movies, 47,568 series."""
    return generate(seed=seed, **LARGE_ACCOUNT)


@dataclass
class XtreamFakeConfig:
    """Switches of the fake panel. Change them at runtime; every request reads them afresh."""

    username: str = "user"
    password: str = "pass"
    family: str = "xtream"  # "xtream" (strings, auth:0 on bad login) | "xui" (ints, 404 HTML)
    #: ok | auth0 | expired (past exp_date, status still Active) | expired_status (auth 0,
    #: "Expired") | never_expires (exp_date null) | banned | disabled | html404
    account: str = "ok"
    exp_date: int = 1_893_456_000  # 2030-01-01
    max_connections: int = 2
    allowed_output_formats: tuple[str, ...] = ("m3u8", "ts", "rtmp")
    timezone: str = "Europe/Paris"
    blocked_user_agents: list[str] = field(default_factory=list)  # substrings → 403 HTML
    block_empty_user_agent: bool = False
    tarpit_s: float = 0.0  # delay before every player_api answer (flood protection)
    empty_body: bool = False  # 200 with nothing
    busy_next: int = 0  # the next N requests get a 200 "Too many connections" HTML page
    fail_next: int = 0  # the next N requests get a 503
    bom: bool = False  # BOM + whitespace before the JSON
    latin1: bool = False  # "é" sent as a raw Latin-1 byte inside JSON strings
    nulls: bool = False  # null names/icons/category ids, a row without id, unknown categories
    duplicates: bool = False  # one row per category for items in two categories
    truncate_lists: bool = False  # cut list bodies in the middle (truncated JSON)
    lists_auth0: bool = False  # list actions answer {"user_info":{"auth":0}}
    odd_series_shapes: bool = True  # get_series_info in all its shapes, by series id
    vod_info_empty: bool = False  # get_vod_info with "info": []
    epg_hours: int = 6  # hours of guide per channel, from epg_anchor's midnight
    epg_anchor: datetime | None = None  # None: today (UTC) at request time
    epg_channels: int | None = None  # guide only the first N channels with an xmltv id
    no_guide: bool = False  # xmltv.php answers 404 (a panel without a guide)


@dataclass
class FakeXtreamProvider:
    """The state behind the app: catalogue, switches and request stats."""

    catalogue: Catalogue
    config: XtreamFakeConfig
    stats: Counter[str] = field(default_factory=Counter)
    streams_open: int = 0

    # control helpers (also reachable over HTTP under /_control)
    def add(self, kind: str, n: int) -> list[int]:
        return [item.id for item in self.catalogue.add(kind, n)]

    def remove(self, kind: str, ids: Iterable[int]) -> int:
        return self.catalogue.remove(kind, ids)

    def truncate(self, kind: str, keep: int) -> int:
        return self.catalogue.truncate(kind, keep)

    def set(self, **switches: Any) -> None:
        apply_switches(self.config, switches)


def config_for_cli(
    family: str | None = None, latency_ms: float = 0.0, capacity: int | None = None, **options: Any
) -> XtreamFakeConfig:
    """The config ``iptvsync fake-portal --kind xtream`` serves: a family, and latency as the
    panel's per-request delay (its tarpit). ``capacity`` has no Xtream meaning."""
    config = XtreamFakeConfig(family=family or "xtream", tarpit_s=latency_ms / 1000.0)
    apply_switches(config, {k: v for k, v in options.items() if v is not None})
    return config


def control_endpoint(provider: Any, extra: Callable[[], dict[str, Any]]) -> Any:
    """``/_control/{stats|reset-stats|config|add|remove|truncate}`` for a fake provider with
    ``catalogue``, ``config``, ``stats`` and the ``add``/``remove``/``truncate``/``set`` helpers."""

    async def control(request: Request) -> Response:
        what = request.path_params["what"]
        body = await request.json() if request.method == "POST" else {}
        if what == "stats":
            counts = provider.catalogue.counts()
            return JSONResponse({"stats": dict(provider.stats), "counts": counts, **extra()})
        if what == "reset-stats":
            provider.stats.clear()
            return JSONResponse({"ok": True})
        if what == "config":
            if request.method == "POST":
                try:
                    provider.set(**body)
                except KeyError as exc:
                    return JSONResponse({"error": f"unknown switch {exc}"}, status_code=422)
            return JSONResponse(orjson.loads(orjson.dumps(dataclasses.asdict(provider.config))))
        if what == "add":
            return JSONResponse({"ids": provider.add(body["kind"], int(body.get("n", 1)))})
        if what == "remove":
            return JSONResponse({"removed": provider.remove(body["kind"], body["ids"])})
        if what == "truncate":
            return JSONResponse({"removed": provider.truncate(body["kind"], int(body["keep"]))})
        return JSONResponse({"error": "unknown control"}, status_code=404)

    return control


def apply_switches(config: Any, switches: dict[str, Any]) -> None:
    names = {f.name: f for f in dataclasses.fields(config)}
    for key, value in switches.items():
        if key not in names:
            raise KeyError(key)
        if key == "epg_anchor" and isinstance(value, str):
            value = datetime.fromisoformat(value)
        if isinstance(getattr(config, key), tuple) and isinstance(value, list):
            value = tuple(value)
        setattr(config, key, value)


# ---------------------------------------------------------------------------------------------
# Rows


def _epoch(when: datetime) -> int:
    return int(when.timestamp())


def _base(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}"


class Rows:
    """Builds list rows in the configured family's shape."""

    def __init__(self, provider: FakeXtreamProvider, base: str) -> None:
        self.cat = provider.catalogue
        self.cfg = provider.config
        self.base = base
        self.xui = self.cfg.family == "xui"
        self._kind_cats: dict[str, list[int]] = {}

    def num(self, value: int) -> Any:
        return value if self.xui else str(value)

    def categories_of(self, kind: str, item: Any) -> list[int]:
        """The item's category, plus a second one for every fifth item when duplicating."""
        cats = [item.category_id]
        if self.cfg.duplicates and item.id % 5 == 0:
            ids = self._kind_cats.get(kind)
            if ids is None:
                ids = self._kind_cats[kind] = [c.id for c in self.cat.categories_of(kind)]
            other = ids[(ids.index(item.category_id) + 1) % len(ids)]
            if other != item.category_id:
                cats.append(other)
        return cats

    def censored(self, category_id: int) -> int:
        category = self.cat.get_category(category_id)
        return int(bool(category and category.censored))

    def _nullify(self, row: dict[str, Any], item_id: int, name: str, icon: str) -> None:
        if not self.cfg.nulls:
            return
        if item_id % 97 == 0:
            row[name] = None
            row[icon] = None
        if item_id % 89 == 0:
            row["category_id"] = None
        elif item_id % 83 == 0:
            row["category_id"] = "999999"  # not in the category list

    def live(self, ch: FakeChannel, num: int, cats: list[int], cat_id: int) -> dict[str, Any]:
        row: dict[str, Any] = {
            "num": self.num(num),
            "name": ch.name,
            "stream_type": "radio_streams" if ch.radio else "live",
            "stream_id": self.num(ch.id),
            "stream_icon": f"{self.base}/logos/{ch.logo}" if ch.logo else "",
            "epg_channel_id": ch.xmltv_id,
            "added": str(_epoch(ch.added)),
            "is_adult": self.num(self.censored(ch.category_id)),
            "category_id": str(cat_id),
            "custom_sid": None if ch.id % 2 else "",
            "tv_archive": self.num(int(ch.archive)),
            "direct_source": "",
            "tv_archive_duration": self.num(ch.archive_days),
        }
        if self.xui:
            row["category_ids"] = cats
            row["thumbnail"] = ""
        self._nullify(row, ch.id, "name", "stream_icon")
        return row

    def rating(self, value: float | None, item_id: int) -> Any:
        if value is None:
            return "" if not self.xui else 0
        if self.xui:
            return value
        text = f"{value:.1f}"
        return text.replace(".", ",") if item_id % 3 == 0 else text  # decimal comma (§1.5)

    def movie(self, m: FakeMovie, num: int, cats: list[int], cat_id: int) -> dict[str, Any]:
        row: dict[str, Any] = {
            "num": self.num(num),
            "name": m.name,
            "stream_type": "movie",
            "stream_id": self.num(m.id),
            "stream_icon": f"{self.base}/images{m.poster}" if m.poster else "",
            "rating": self.rating(m.rating, m.id),
            "rating_5based": round((m.rating or 0) / 2, 1),
            "added": str(_epoch(m.added)),
            "is_adult": self.num(self.censored(m.category_id)),
            "category_id": str(cat_id),
            "container_extension": m.extension,
            "custom_sid": None,
            "direct_source": "",
        }
        if self.xui:
            row.update(
                title=m.name,
                year=str(m.year),
                plot=m.description,
                cast=m.actors,
                director=m.director,
                genre=m.genres,
                release_date=f"{m.year}-01-01",
                episode_run_time=m.duration_min,
                category_ids=cats,
            )
        self._nullify(row, m.id, "name", "stream_icon")
        return row

    def series(self, s: FakeSeries, num: int, cats: list[int], cat_id: int) -> dict[str, Any]:
        # Seen as an int in get_series on a real XC 2.x panel (§1.6).
        category: Any = str(cat_id) if (self.xui or s.id % 11) else cat_id
        row: dict[str, Any] = {
            "num": self.num(num),
            "name": s.name,
            "title": s.name,
            "year": str(s.year),
            "stream_type": "series",
            "series_id": self.num(s.id),
            "cover": f"{self.base}/images{s.poster}" if s.poster else "",
            "plot": s.description,
            "cast": "",
            "director": "",
            "genre": s.genres,
            "release_date": f"{s.year}-01-01",
            "releaseDate": f"{s.year}-01-01",
            "last_modified": str(_epoch(s.added)),
            "rating": self.rating(s.rating, s.id),
            "rating_5based": round((s.rating or 0) / 2, 1),
            "backdrop_path": [],
            "youtube_trailer": "",
            "episode_run_time": "45",
            "category_id": category,
        }
        if self.xui:
            row["category_ids"] = cats
        self._nullify(row, s.id, "name", "cover")
        return row


def _list_rows(
    provider: FakeXtreamProvider, base: str, action: str, category: str | None
) -> Iterator[dict[str, Any]]:
    rows = Rows(provider, base)
    builders: dict[str, tuple[str, Callable[[Any, int, list[int], int], dict[str, Any]]]] = {
        "get_live_streams": ("channel", rows.live),
        "get_vod_streams": ("movie", rows.movie),
        "get_series": ("series", rows.series),
    }
    kind, build = builders[action]
    wanted = int(category) if category and category.strip().lstrip("-").isdigit() else None
    if provider.config.nulls and wanted is None:
        yield {"num": 0, "name": "Broken row without an id", "stream_type": "live"}
    num = 0
    for item in provider.catalogue.items(kind):
        cats = rows.categories_of(kind, item)
        if wanted is not None and wanted not in cats:
            continue
        # XUI "show category duplicates": the row appears once per category, each with its
        # own num; without duplicates, the primary category only.
        per_row = cats if provider.config.duplicates else cats[:1]
        for cat_id in per_row:
            if wanted is not None and cat_id != wanted:
                continue
            num += 1
            yield build(item, num, cats, cat_id)


async def _json_chunks(
    rows: Iterator[dict[str, Any]], config: XtreamFakeConfig
) -> AsyncIterator[bytes]:
    """A JSON list, ``ROWS_PER_CHUNK`` rows per chunk; the quirks are applied to the bytes."""
    prefix = b"\xef\xbb\xbf \n" if config.bom else b""
    yield prefix + b"["
    first = True
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= ROWS_PER_CHUNK:
            yield _encode(batch, first, config)
            first = False
            batch = []
            if config.truncate_lists:
                return  # the body ends mid-list: truncated JSON
            await asyncio.sleep(0)
    if batch:
        chunk = _encode(batch, first, config)
        if config.truncate_lists:
            yield chunk[: len(chunk) // 2]
            return
        yield chunk
    if config.truncate_lists:
        return
    yield b"]"


def _encode(batch: list[dict[str, Any]], first: bool, config: XtreamFakeConfig) -> bytes:
    body = orjson.dumps(batch)[1:-1]
    if config.latin1:
        body = body.replace("é".encode(), b"\xe9")
    return body if first else b"," + body


# ---------------------------------------------------------------------------------------------
# Guide (shared with the M3U fake)


_SHOWS = (
    "Morning Show",
    "News at Noon",
    "The Big Match",
    "Documentary: Oceans",
    "Film: The Lost River",
    "Kids Club",
    "Evening News",
    "Late Talk",
    "Weather & Traffic",
    "Music Hits",
)


def guide_anchor(config: Any) -> datetime:
    anchor = config.epg_anchor or datetime.now(UTC)
    return anchor.replace(hour=0, minute=0, second=0, microsecond=0)


def schedule(ch: FakeChannel, anchor: datetime, hours: int) -> Iterator[dict[str, Any]]:
    """A deterministic schedule for one channel: 30/60/90-minute programmes from ``anchor``."""
    start = anchor
    end = anchor + timedelta(hours=hours)
    index = 0
    while start < end:
        digest = hashlib.blake2b(f"{ch.id}:{index}".encode(), digest_size=4).digest()
        minutes = (30, 60, 90)[digest[0] % 3]
        stop = start + timedelta(minutes=minutes)
        title = _SHOWS[digest[1] % len(_SHOWS)]
        yield {
            "id": index,
            "start": start,
            "stop": stop,
            "title": title,
            "desc": f"{title} on {ch.name}. Part {index + 1}.",
            "category": title.split(":")[0].split(" ")[0],
            "season": digest[2] % 5,
            "episode": digest[3] % 20,
        }
        start = stop
        index += 1


def guided_channels(catalogue: Catalogue, limit: int | None) -> Iterator[FakeChannel]:
    count = 0
    seen: set[str] = set()
    for ch in catalogue.channels:
        if not ch.xmltv_id or ch.xmltv_id in seen:
            continue
        seen.add(ch.xmltv_id)
        yield ch
        count += 1
        if limit is not None and count >= limit:
            return


def _xmltv_time(when: datetime, offset_min: int) -> str:
    local = when + timedelta(minutes=offset_min)
    sign = "+" if offset_min >= 0 else "-"
    hours, minutes = divmod(abs(offset_min), 60)
    return local.strftime("%Y%m%d%H%M%S") + f" {sign}{hours:02d}{minutes:02d}"


def xmltv_documents(
    catalogue: Catalogue, base: str, anchor: datetime, hours: int, limit: int | None
) -> Iterator[bytes]:
    """XMLTV the way XC_VM writes it: each channel followed by its programmes (interleaved),
    ``channel="x" >`` with a space, offsets varying by channel; chunked per channel."""
    yield (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE tv SYSTEM "xmltv.dtd">\n'
        b'<tv generator-info-name="fake-xtream/1.0" source-info-name="fake">\n'
    )
    parts: list[str] = []
    for ch in guided_channels(catalogue, limit):
        cid = quoteattr(ch.xmltv_id or "")
        parts.append(f"  <channel id={cid}>\n    <display-name>{escape(ch.name)}</display-name>\n")
        if ch.logo:
            parts.append(f"    <icon src={quoteattr(f'{base}/logos/{ch.logo}')}/>\n")
        parts.append("  </channel>\n")
        offset = (0, 60, -300, 330)[ch.id % 4]
        for prog in schedule(ch, anchor, hours):
            start, stop = _xmltv_time(prog["start"], offset), _xmltv_time(prog["stop"], offset)
            parts.append(
                f'  <programme start="{start}" stop="{stop}" channel={cid} >\n'
                f'    <title lang="en">{escape(prog["title"])}</title>\n'
                f"    <desc>{escape(prog['desc'])}</desc>\n"
                f"    <category>{escape(prog['category'])}</category>\n"
                f'    <episode-num system="xmltv_ns">{prog["season"]}.{prog["episode"]}.'
                "</episode-num>\n"
                "  </programme>\n"
            )
        if len(parts) > 400:
            yield "".join(parts).encode()
            parts = []
    parts.append("</tv>\n")
    yield "".join(parts).encode()


def gzip_chunks(chunks: Iterable[bytes]) -> Iterator[bytes]:
    compressor = zlib.compressobj(6, zlib.DEFLATED, 31)
    for chunk in chunks:
        out = compressor.compress(chunk)
        if out:
            yield out
    yield compressor.flush()


async def aiter_chunks(chunks: Iterable[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk
        await asyncio.sleep(0)


# ---------------------------------------------------------------------------------------------
# The app


def _html(status: int, title: str) -> Response:
    body = f"<html><head><title>{title}</title></head><body><h1>{title}</h1></body></html>"
    return Response(body, status_code=status, media_type="text/html")


def create_app(catalogue: Catalogue, config: XtreamFakeConfig | None = None) -> Starlette:
    provider = FakeXtreamProvider(catalogue, config or XtreamFakeConfig())
    media = FakeMedia()

    def gate(request: Request) -> Response | None:
        """Transport-level failures that come before any credential check."""
        cfg = provider.config
        provider.stats["requests"] += 1
        ua = request.headers.get("user-agent", "")
        if (cfg.block_empty_user_agent and not ua) or any(
            b.lower() in ua.lower() for b in cfg.blocked_user_agents if b
        ):
            provider.stats["blocked"] += 1
            return _html(403, "403 Forbidden - Access denied")
        if cfg.fail_next > 0:
            cfg.fail_next -= 1
            return _html(503, "503 Service Unavailable")
        if cfg.busy_next > 0:
            cfg.busy_next -= 1
            return _html(200, "Too many connections")
        return None

    def credentials_ok(username: str | None, password: str | None) -> bool:
        cfg = provider.config
        return username == cfg.username and password == cfg.password

    def refusal(status: str = "Disabled") -> Response:
        cfg = provider.config
        if cfg.family == "xui":
            return _html(404, "404 Not Found")  # XC_VM generateError (§1.2 failure 2)
        return JSONResponse({"user_info": {"auth": 0, "status": status}})

    def account_refusal() -> Response | None:
        cfg = provider.config
        if cfg.account == "auth0":
            return JSONResponse({"user_info": {"auth": 0}})
        if cfg.account == "html404":
            return _html(404, "404 Not Found")
        if cfg.account == "expired_status":
            return JSONResponse({"user_info": {"auth": 0, "status": "Expired"}})
        if cfg.account == "banned":
            return JSONResponse({"user_info": {"auth": 0, "status": "Banned"}})
        if cfg.account == "disabled":
            return JSONResponse({"user_info": {"auth": 0, "status": "Disabled"}})
        return None

    def login_payload(request: Request) -> dict[str, Any]:
        cfg = provider.config
        n = (lambda v: v) if cfg.family == "xui" else str
        exp: Any = n(cfg.exp_date)
        if cfg.account == "expired":
            exp = n(1_577_836_800)  # 2020-01-01, status still "Active"
        elif cfg.account == "never_expires":
            exp = None
        now = int(time.time())
        user_info = {
            "username": cfg.username,
            "password": cfg.password,
            "message": "Enjoy The Show !!!",
            "auth": 1,
            "status": "Active",
            "exp_date": exp,
            "is_trial": n(0),
            "active_cons": n(provider.streams_open),
            "created_at": n(1_715_275_438),
            "max_connections": str(cfg.max_connections),
            "allowed_output_formats": list(cfg.allowed_output_formats),
        }
        server_info: dict[str, Any] = {
            "url": request.url.hostname,
            "port": str(request.url.port or 80),
            "https_port": "",
            "server_protocol": request.url.scheme,
            "rtmp_port": "8009",
            "timezone": cfg.timezone,
            "timestamp_now": now,
            "time_now": datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%d %H:%M:%S"),
        }
        if cfg.family == "xui":
            server_info.update(xui=True, version="1.5.12", revision=2)
        else:
            server_info["process"] = True
        return {"user_info": user_info, "server_info": server_info}

    def json_bytes(payload: Any) -> Response:
        cfg = provider.config
        body = orjson.dumps(payload)
        if cfg.latin1:
            body = body.replace("é".encode(), b"\xe9")
        if cfg.bom:
            body = b"\xef\xbb\xbf \n" + body
        return Response(body, media_type="application/json")

    async def player_api(request: Request) -> Response:
        blocked = gate(request)
        if blocked is not None:
            return blocked
        cfg = provider.config
        params = request.query_params
        if request.method == "POST":
            form = await request.form()
            params = {**params, **{k: str(v) for k, v in form.items()}}  # type: ignore[assignment]
        action = params.get("action") or "login"
        provider.stats[f"action:{action}"] += 1
        if cfg.tarpit_s:
            await asyncio.sleep(cfg.tarpit_s)
        if not credentials_ok(params.get("username"), params.get("password")):
            return refusal()
        refused = account_refusal()
        if refused is not None:
            return refused
        if cfg.empty_body:
            return Response(b"", media_type="application/json")
        if action in ("get_live_categories", "get_vod_categories", "get_series_categories"):
            if cfg.lists_auth0:
                return JSONResponse({"user_info": {"auth": 0}})
            kind = {"get_live_categories": "channel", "get_vod_categories": "movie"}.get(
                action, "series"
            )
            return json_bytes(
                [
                    {"category_id": str(c.id), "category_name": c.title, "parent_id": 0}
                    for c in provider.catalogue.categories_of(kind)
                ]
            )
        if action in ("get_live_streams", "get_vod_streams", "get_series"):
            if cfg.lists_auth0:
                return JSONResponse({"user_info": {"auth": 0}})
            rows = _list_rows(provider, _base(request), action, params.get("category_id"))
            return StreamingResponse(_json_chunks(rows, cfg), media_type="application/json")
        if action == "get_vod_info":
            return json_bytes(vod_info(request, params.get("vod_id")))
        if action == "get_series_info":
            return json_bytes(series_info(request, params.get("series_id")))
        if action in ("get_short_epg", "get_simple_data_table", "get_simple_date_table"):
            return json_bytes(short_epg(params.get("stream_id"), params.get("limit"), action))
        return json_bytes(login_payload(request))  # unknown actions fall through (§1.1)

    def vod_info(request: Request, raw_id: str | None) -> Any:
        cfg = provider.config
        movie = provider.catalogue.get("movie", int(raw_id or 0)) if _digits(raw_id) else None
        if movie is None:
            return {"info": [], "movie_data": []}
        rows = Rows(provider, _base(request))
        poster = f"{_base(request)}/images{movie.poster}" if movie.poster else ""
        info: Any = {
            "movie_image": poster,
            "cover_big": poster,
            "tmdb_id": "" if movie.id % 2 else movie.id,
            "name": movie.name,
            "o_name": movie.name,
            "plot": movie.description,
            "cast": movie.actors,
            "director": movie.director,
            "genre": movie.genres,
            "releasedate": f"{movie.year}-05-01",
            "release_date": f"{movie.year}-05-01",
            "rating": movie.rating or "",
            "duration_secs": movie.duration_min * 60,
            "duration": f"{movie.duration_min // 60:02d}:{movie.duration_min % 60:02d}:00",
            "youtube_trailer": "",
            "backdrop_path": poster if movie.id % 3 == 0 else ([poster] if poster else None),
            "bitrate": 4500,
            "video": [] if movie.id % 2 else {},
            "audio": [],
            "subtitles": [],
        }
        if cfg.vod_info_empty:
            info = []
        return {
            "info": info,
            "movie_data": {
                "stream_id": rows.num(movie.id),
                "name": movie.name,
                "added": str(_epoch(movie.added)),
                "category_id": str(movie.category_id),
                "container_extension": movie.extension,
                "custom_sid": "",
                "direct_source": "",
            },
        }

    def series_info(request: Request, raw_id: str | None) -> Any:
        cfg = provider.config
        show = provider.catalogue.get("series", int(raw_id or 0)) if _digits(raw_id) else None
        if show is None:
            return {"seasons": [], "info": [], "episodes": []}
        xui = cfg.family == "xui"
        shape = show.id % 4 if cfg.odd_series_shapes else 0
        cover = f"{_base(request)}/images{show.poster}" if show.poster else ""
        seasons_meta = []
        episodes: dict[str, list[dict[str, Any]]] = {}
        for season in seasons(show):
            seasons_meta.append(
                {
                    "id": season.number,
                    "name": season.name,
                    "season_number": season.number if xui else str(season.number),
                    "episode_count": str(len(season.episodes)),
                    "air_date": f"{show.year}-01-10",
                    "overview": "",
                    "cover": cover,
                    "cover_big": cover,
                    "vote_average": 0,
                }
            )
            episodes[str(season.number)] = [
                {
                    "id": ep.id if xui else str(ep.id),
                    "episode_num": ep.number if shape != 2 else str(ep.number),
                    "title": f"{show.name} - S{season.number:02d}E{ep.number:02d} - {ep.name}",
                    "container_extension": ep.extension,
                    "info": []
                    if shape == 2
                    else {"movie_image": cover, "duration_secs": 2700, "duration": "00:45:00"},
                    "custom_sid": "",
                    "added": str(_epoch(show.added)),
                    "season": season.number if shape != 2 else str(season.number),
                    "direct_source": "",
                }
                for ep in season.episodes
            ]
        payload: dict[str, Any] = {
            "seasons": seasons_meta,
            "info": {
                "name": show.name,
                "cover": cover,
                "plot": show.description,
                "genre": show.genres,
                "releaseDate": f"{show.year}-01-10",
                "last_modified": str(_epoch(show.added)),
                "rating": str(show.rating or ""),
                "backdrop_path": [],
                "category_id": str(show.category_id),
            },
            "episodes": episodes,
        }
        if shape == 1:
            # PHP keys 0..n (season 0 present, empty) → json_encode emits a list of lists.
            count = max(int(k) for k in episodes) if episodes else 0
            payload["episodes"] = [episodes.get(str(i), []) for i in range(count + 1)]
        elif shape == 3:
            del payload["seasons"]  # seasons missing entirely (m3u-editor #384)
        return payload

    def short_epg(raw_id: str | None, limit: str | None, action: str) -> Any:
        cfg = provider.config
        ch = provider.catalogue.get("channel", int(raw_id or 0)) if _digits(raw_id) else None
        if ch is None or not ch.xmltv_id:
            return {"epg_listings": []}
        progs = list(schedule(ch, guide_anchor(cfg), cfg.epg_hours))
        if action == "get_short_epg":
            progs = progs[: int(limit or 4) if _digits(limit) else 4]
        local = timedelta(hours=1)  # panel-local strings differ from the UTC epochs (§1.8)
        return {
            "epg_listings": [
                {
                    "id": str(_epoch(p["start"])),
                    "epg_id": str(ch.id),
                    "title": base64.b64encode(p["title"].encode()).decode(),
                    "lang": "en",
                    "start": (p["start"] + local).strftime("%Y-%m-%d %H:%M:%S"),
                    "end": _epoch(p["stop"]),
                    "stop": (p["stop"] + local).strftime("%Y-%m-%d %H:%M:%S"),
                    "description": base64.b64encode(p["desc"].encode()).decode(),
                    "channel_id": ch.xmltv_id,
                    "start_timestamp": str(_epoch(p["start"])),
                    "stop_timestamp": str(_epoch(p["stop"])),
                    "now_playing": 0,
                    "has_archive": int(ch.archive),
                }
                for p in progs
            ]
        }

    async def get_php(request: Request) -> Response:
        blocked = gate(request)
        if blocked is not None:
            return blocked
        cfg = provider.config
        params = request.query_params
        provider.stats["get.php"] += 1
        if not credentials_ok(params.get("username"), params.get("password")):
            return _html(404, "404 Not Found") if cfg.family == "xui" else _html(401, "Denied")
        refused = account_refusal()
        if refused is not None:
            return _html(404, "404 Not Found")
        output = (params.get("output") or "ts").lower()
        ext = "m3u8" if output in ("m3u8", "hls") else "ts"
        plus = (params.get("type") or "m3u_plus") == "m3u_plus"
        lines = m3u_plus_lines(provider, _base(request), ext, plus)
        return StreamingResponse(
            aiter_chunks(lines),
            media_type="application/octet-stream",
            headers={
                "Content-Disposition": f'attachment; filename="tv_channels_{cfg.username}_plus.m3u"'
            },
        )

    async def xmltv_php(request: Request) -> Response:
        blocked = gate(request)
        if blocked is not None:
            return blocked
        cfg = provider.config
        params = request.query_params
        provider.stats["xmltv.php"] += 1
        if not credentials_ok(params.get("username"), params.get("password")):
            return _html(404, "404 Not Found") if cfg.family == "xui" else _html(401, "Denied")
        if cfg.no_guide:
            return _html(404, "404 Not Found")
        chunks: Iterable[bytes] = xmltv_documents(
            provider.catalogue, _base(request), guide_anchor(cfg), cfg.epg_hours, cfg.epg_channels
        )
        if params.get("gzip") == "1":
            return StreamingResponse(
                aiter_chunks(gzip_chunks(chunks)), media_type="application/octet-stream"
            )
        return StreamingResponse(aiter_chunks(chunks), media_type="application/xml")

    async def stream(request: Request) -> Response:
        blocked = gate(request)
        if blocked is not None:
            return blocked
        p = request.path_params
        provider.stats[f"stream:{p.get('kind', 'live')}"] += 1
        if not credentials_ok(p.get("username"), p.get("password")):
            return _html(403, "403 Forbidden")
        provider.streams_open += 1
        kind = p.get("kind", "live")
        ext = "m3u8" if wants_hls(request.url.path) else "ts"
        where = "/_asset/stream" if kind in ("live", "timeshift") else "/_asset/vod"
        if kind not in ("live", "movie", "series", "timeshift"):
            where = "/_asset/stream"  # the playlist form /{user}/{pass}/{id}.ts is live
        return Response(status_code=302, headers={"Location": f"{where}.{ext}"})

    async def asset(request: Request) -> Response:
        path = request.url.path
        return await media.respond(
            request, live=path.startswith("/_asset/stream"), hls=wants_hls(path)
        )

    routes = [
        Route(
            "/_control/{what}",
            control_endpoint(provider, lambda: {"streams_open": provider.streams_open}),
            methods=["GET", "POST"],
        ),
        Route("/_asset/stream.ts", asset),
        Route("/_asset/stream.m3u8", asset),
        Route("/_asset/vod.ts", asset),
        Route("/_asset/vod.m3u8", asset),
        *media.routes(),
        Route("/player_api.php", player_api, methods=["GET", "POST"]),
        Route("/panel_api.php", player_api, methods=["GET", "POST"]),
        Route("/get.php", get_php),
        Route("/xmltv.php", xmltv_php),
        Route("/timeshift/{username}/{password}/{duration}/{start}/{file}", stream),
        Route("/{kind:str}/{username}/{password}/{file}", stream),
        Route("/{username}/{password}/{file}", stream),
    ]
    app = Starlette(routes=routes)
    app.state.provider = provider
    app.state.media = media
    return app


def _digits(value: str | None) -> bool:
    return bool(value) and str(value).strip().isdigit()


def m3u_plus_lines(
    provider: FakeXtreamProvider, base: str, live_ext: str, plus: bool
) -> Iterator[bytes]:
    """``get.php``: header ends in LF, entries in CRLF (mixed, as XC_VM writes them); VOD and
    episodes without ``tvg-id``; ``timeshift="N"`` on archive channels (§1.9)."""
    cfg = provider.config
    cat = provider.catalogue
    titles = {c.id: c.title for c in cat.categories}
    user, pw = cfg.username, cfg.password
    out: list[str] = ['#EXTM3U\n#EXT-X-SESSION-DATA:DATA-ID="com.fake-xtream.1_0"\n']

    def extinf(attrs: str, name: str) -> str:
        return f"#EXTINF:-1 {attrs},{name}\r\n" if plus else f"#EXTINF:-1,{name}\r\n"

    for ch in cat.channels:
        logo = f"{base}/logos/{ch.logo}" if ch.logo else ""
        shift = f'timeshift="{ch.archive_days}" ' if ch.archive else ""
        attrs = (
            f'{shift}tvg-id="{ch.xmltv_id or ""}" tvg-name="{ch.name}" tvg-logo="{logo}" '
            f'group-title="{titles.get(ch.category_id, "")}"'
        )
        out.append(extinf(attrs, ch.name) + f"{base}/{user}/{pw}/{ch.id}.{live_ext}\r\n")
        if len(out) > 500:
            yield "".join(out).encode()
            out = []
    for m in cat.movies:
        name = m.name if m.name.endswith(")") else f"{m.name} ({m.year})"
        poster = f"{base}/images{m.poster}" if m.poster else ""
        attrs = f'tvg-name="{name}" tvg-logo="{poster}" group-title="{titles.get(m.category_id)}"'
        out.append(extinf(attrs, name) + f"{base}/movie/{user}/{pw}/{m.id}.{m.extension}\r\n")
        if len(out) > 500:
            yield "".join(out).encode()
            out = []
    for s in cat.series:
        cover = f"{base}/images{s.poster}" if s.poster else ""
        group = titles.get(s.category_id)
        for season in seasons(s):
            for ep in season.episodes:
                name = f"{s.name} S{season.number:02d}E{ep.number:02d}"
                attrs = f'tvg-name="{name}" tvg-logo="{cover}" group-title="{group}"'
                out.append(
                    extinf(attrs, name) + f"{base}/series/{user}/{pw}/{ep.id}.{ep.extension}\r\n"
                )
        if len(out) > 500:
            yield "".join(out).encode()
            out = []
    yield "".join(out).encode()
