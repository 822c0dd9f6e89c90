"""The per-request context (``_Ctx``) and the payload builders of the fake portal.

``_Ctx`` writes the ``{"js": ...}`` envelope and pages the way each family does, and
builds channel and VOD rows with the real rows' constant columns; also the stock file rows
of the ``is_series`` drill-down and the short-EPG programmes.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from iptvsync.fakes.items import FakeChannel, FakeMovie, FakeSeries
from iptvsync.fakes.stalker.config import LINK_OFFSET
from iptvsync.fakes.stalker.values import _b64, _int_or_none, _path_slug, _stamp

if TYPE_CHECKING:
    from iptvsync.fakes.stalker.portal import FakeStalkerPortal


_TEXT = (
    "generated in: 0.011s; query counter: 8; cache hits: 0; cache miss: 0; "
    "php errors: 0; sql errors: 0;"
)


_PROGRAMMES = (
    "News",
    "World Report",
    "Morning Show",
    "Live: Football",
    "Movie: The Quiet Harbor",
    "Documentary: Oceans",
    "Cartoons",
    "Talk Tonight",
    "Weather",
    "Cooking with Amélie",
    "Series: Crossroads",
    "Music Hits",
)


def _fields(spec: str) -> dict[str, Any]:
    """Constant row fields from "key=value" words (``#n`` is an int, else a string)."""
    out: dict[str, Any] = {}
    for word in spec.split():
        key, _, value = word.partition("=")
        out[key] = int(value[1:]) if value.startswith("#") else value
    return out


# The many constant columns of real rows (§5.4, §6.3), kept so pages weigh what real ones do.
_CHANNEL_STATIC = _fields(
    "cost=0 count=0 base_ch=1 service_id= bonus_ch=0 volume_correction=0 mc_cmd= "
    "wowza_tmp_link=0 wowza_dvr=0 use_http_tmp_link=1 monitoring_status=1 enable_monitoring=0 "
    "enable_wowza_load_balancing=0 cmd_1= cmd_2= cmd_3= correct_time=0 allow_pvr= "
    "allow_local_pvr=1 allow_remote_pvr=0 allow_local_timeshift=1 nginx_secure_link=0 locked=0 "
    "lock=#0 fav=#0 genres_str= open=#1 pvr=#1 use_load_balancing=#0"
)
_CMD_STATIC = _fields(
    "priority=0 status=1 use_http_tmp_link=1 wowza_tmp_link=0 user_agent_filter= "
    "use_load_balancing=0 nginx_secure_link=0 flussonic_tmp_link=0"
)
_VOD_STATIC = _fields(
    "owner= old_name= fname= pic= cost=0 file= protocol= rtsp_url= hd=#1 volume_correction=0 "
    "genre_id=0 cat_genre_id_1=0 accessed=1 status=1 count=0 rating_count_imdb=0 rating_mpaa= "
    "country= year_end=0 lock=#0 fav=#0 for_rent=#0 position=#0 low_quality=#0"
)


class _Ctx:
    __slots__ = ("cfg", "mac", "origin", "params", "portal", "request")

    def __init__(
        self, portal: FakeStalkerPortal, request: Request, params: dict[str, str], mac: str
    ) -> None:
        self.portal = portal
        self.cfg = portal.config
        self.request = request
        self.params = params
        self.mac = mac
        self.origin = f"{request.url.scheme}://{request.url.netloc}"

    @property
    def image_origin(self) -> str:
        return self.cfg.image_origin or self.origin

    def num(self, value: int) -> int | str:
        """Stock servers return numbers as strings; panels mostly as ints (§0)."""
        return str(value) if self.cfg.stock else value

    def reply(
        self, js: Any, *, text: str | None = None, extra: dict[str, Any] | None = None
    ) -> Response:
        body: dict[str, Any] = {"js": js}
        if extra:
            body.update(extra)
        if self.cfg.with_text:
            body["text"] = (text or "") + _TEXT
        media = "application/json" if self.cfg.stock else "text/javascript;charset=UTF-8"
        return Response(orjson.dumps(body), 200, media_type=media)

    def page(
        self, items: list[Any], build: Callable[[Any], dict[str, Any]], total: int | None = None
    ) -> Response:
        cfg = self.cfg
        size = cfg.effective_page_size
        p = _int_or_none(self.params.get("p", "")) or 0
        cur_page = selected = 0
        if p <= 0:
            # "Default page" mode (§8): page 1 on VOD and XC; cur_page/selected_item filled.
            if cfg.p0_returns_page1:
                p, cur_page, selected = 1, 1, 1
            else:
                p = -1
        if cfg.repeat_page1_after is not None and p > cfg.repeat_page1_after:
            p = 1  # the "ignores p, repeats page 1" bug (§8)
        chunk = items[(p - 1) * size : p * size] if p >= 1 else []
        self.portal.stats.items_served += len(chunk)
        count = len(items) if total is None else total
        if not chunk and cfg.empty_page != "object":
            # Some portals answer an empty page with js false or a bare [] (issue 16).
            return self.reply(False if cfg.empty_page == "false" else [])
        return self.reply(
            {
                "total_items": self.num(count),
                "max_page_items": cfg.claimed_page_size or size,
                "selected_item": selected,
                "cur_page": cur_page,
                "data": [build(item) for item in chunk],
            }
        )

    def category_param(self, name: str) -> str | None:
        value = self.params.get(name)
        if value is None or value == "":
            # Stock treats a missing filter as "all"; some panels answer an empty list (§5.3).
            return "*" if self.cfg.stock else None
        return value

    def list_filter(self, mode: str) -> str | None:
        """The category a list is filtered by, reading only the parameter(s) ``mode`` names
        ("genre", "category" or "both"); the other one is ignored, as some portals do."""
        names = ("genre", "category") if mode == "both" else (mode,)
        present = [self.params.get(n) for n in names if self.params.get(n) not in (None, "")]
        if not present:
            any_sent = any(self.params.get(n) not in (None, "") for n in ("genre", "category"))
            if any_sent:
                return "*"  # the parameter sent is not the one read: the ordinary list
            return "*" if self.cfg.stock else None
        specific = [v for v in present if v != "*"]
        return specific[0] if specific else "*"

    # -- channels --------------------------------------------------------------------------------

    def channel_row(self, ch: FakeChannel) -> dict[str, Any]:
        """``channel``, remembered until the catalogue changes, as ``vod_row`` is: rendering
        the 5,000 rows of ``get_all_channels`` held the fake's one event loop for ~60 ms, and
        every page asked meanwhile waited, where a real portal answers them on other workers
        (docs/benchmarks.md)."""
        cfg = self.cfg
        key = ("itv-rows", cfg.stock, cfg.radio_module, self.image_origin)
        return self._remembered(key, ch.id, lambda: self.channel(ch))

    def channel(self, ch: FakeChannel) -> dict[str, Any]:
        stock = self.cfg.stock
        censored = ch.category_id in self.portal.adult_ids()
        added = _stamp(ch.added)
        if stock:
            link = ch.id + LINK_OFFSET
            cmd = f"ffrt http://localhost/ch/{link}"
            logo = ch.logo
        else:
            link = ch.id
            cmd = f"ffmpeg http://localhost/ch/{ch.id}_"
            logo = f"{self.image_origin}/images/{ch.logo}" if ch.logo else ""
        return {
            **_CHANNEL_STATIC,
            "id": self.num(ch.id),
            "name": ch.name,
            "number": str(ch.number),
            "censored": ("1" if censored else "0") if stock else (1 if censored else ""),
            "cmd": cmd,
            "hd": "1" if "HD" in ch.name or "ᴴᴰ" in ch.name else "0",
            "xmltv_id": ch.xmltv_id or "",
            "enable_tv_archive": self.num(1 if ch.archive else 0),
            "logo": logo,
            "modified": added,
            "tv_archive_duration": self.num(ch.archive_days * 24),
            "archive": 1 if ch.archive else 0,
            "cur_playing": "[No channel info]",
            "epg": [],
            "tv_genre_id": self.num(ch.category_id),
            "added": added,
            # Not in docs/stalker.md: a fake-ism, left out when radio has its own module.
            **({} if self.cfg.radio_module else {"radio": self.num(1 if ch.radio else 0)}),
            "cmds": [{**_CMD_STATIC, "id": str(link), "ch_id": str(ch.id), "url": cmd}],
        }

    # -- VOD ---------------------------------------------------------------------------------

    def vod_row(self, item: FakeMovie | FakeSeries) -> dict[str, Any]:
        """``vod_item``, remembered until the catalogue changes (its ``revision``) for the
        settings and request values the row depends on. Rendering rows was half of the fake's
        CPU in a full walk, and the fake shares the benchmark's cores with the client, which
        a real portal on its own machine does not (docs/benchmarks.md)."""
        cfg = self.cfg
        key = (
            "vod-rows",
            cfg.stock,
            cfg.portrait_covers,
            self.image_origin,
            self.params.get("sortby") == "added",
        )
        at = (isinstance(item, FakeMovie), item.id)
        return self._remembered(key, at, lambda: self.vod_item(item))

    def _remembered(
        self, key: tuple[Any, ...], at: Any, render: Callable[[], dict[str, Any]]
    ) -> dict[str, Any]:
        """Row ``at`` of the rows remembered under ``key`` (dropped with the portal's lists
        when the catalogue changes), rendered on first use."""
        rows: dict[Any, dict[str, Any]] = self.portal._cached(key, dict)
        row = rows.get(at)
        if row is None:
            row = rows[at] = render()
        return row

    def vod_item(self, item: FakeMovie | FakeSeries) -> dict[str, Any]:
        stock = self.cfg.stock
        movie = item if isinstance(item, FakeMovie) else None
        rating = f"{item.rating:.5f}" if item.rating is not None else ("" if stock else "N/A")
        shot: str | bool
        if stock:
            cmd = f"/media/{item.id}.mpg"
            bucket = math.ceil(item.id / 100)
            shot = f"/stalker_portal/screenshots/{bucket}/{item.id}.jpg" if item.poster else False
        else:
            cmd = ""  # shows have no cmd; their seasons do (§7.C)
            if movie is not None:
                target = {"type": "movie", "stream_id": item.id, "stream_source": None}
                cmd = _b64({**target, "target_container": movie.extension})
            shot = f"{self.image_origin}{item.poster}" if item.poster else ""
        pic = ""
        if self.cfg.portrait_covers and item.poster:
            # Both a portrait cover (pic) and a landscape screenshot (issue 16, point 5).
            pic = f"{self.image_origin}{item.poster}"
            shot = f"{self.image_origin}/t/p/w1280/backdrop_{item.id}.jpg"
        row: dict[str, Any] = {
            **_VOD_STATIC,
            "id": self.num(item.id),
            "name": item.name,
            "o_name": item.name,
            "description": item.description,
            "time": self.num(movie.duration_min if movie else 0),
            "path": _path_slug(item.name, item.year),
            "censored": self.num(1 if item.category_id in self.portal.adult_ids() else 0),
            "series": [],
            "category_id": self.num(item.category_id),
            "director": movie.director if movie else "",
            "actors": movie.actors if movie else "",
            "year": str(item.year),
            "added": _stamp(item.added),
            "rating_kinopoisk": rating,
            "rating_imdb": rating,
            "age": "" if stock else "12+",
            "is_series": self.num(0 if movie else 1),
            "screenshots": str(item.id),
            "is_movie": movie is not None,
            "screenshot_uri": shot,
            "genres_str": item.genres,
            "cmd": cmd,
            "has_files": 1 if movie is None and not stock else 0,
        }
        if pic:
            row["pic"] = pic
        if self.params.get("sortby") == "added":
            label = self._age_label(item.added)
            row[label] = label  # stock adds today / yesterday / week_and_more (§6.3)
        return row

    def _age_label(self, added: datetime) -> str:
        age = self.portal.newest_added() - added
        if age < timedelta(days=1):
            return "today"
        if age < timedelta(days=2):
            return "yesterday"
        return "week_and_more"


def _file_row(owner_id: int, video_id: int, episode_id: int | None, ext: str) -> dict[str, Any]:
    file_id = owner_id * 10 + 1
    return {
        "id": str(file_id),
        "video_id": str(video_id),
        "series_id": str(episode_id or 0),
        "file_type": "video",
        "protocol": "http",
        "url": "",
        "languages": 'a:1:{i:0;s:2:"en";}',
        "quality": "5",
        "volume_level": "0",
        "accessed": "1",
        "status": "1",
        "name": f"English / HD (720p) .{ext}",
        "is_file": True,
        "cmd": f"/media/file_{file_id}.mpg",
    }
