"""The fake panel's request handlers (``create_app`` routes them)."""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from iptvsync.fakes.items import seasons
from iptvsync.fakes.media import FakeMedia, wants_hls
from iptvsync.fakes.xtream.guide import (
    aiter_chunks,
    guide_anchor,
    gzip_chunks,
    schedule,
    xmltv_documents,
)
from iptvsync.fakes.xtream.rows import Rows, _json_chunks, _list_rows, m3u_plus_lines
from iptvsync.fakes.xtream.state import FakeXtreamProvider, _base, _digits, _epoch, _html


class XtreamPanel:
    """The handlers of one fake panel: ``player_api.php`` and its actions, ``get.php``,
    ``xmltv.php``, stream redirects and the local media assets."""

    def __init__(self, provider: FakeXtreamProvider, media: FakeMedia) -> None:
        self.provider = provider
        self.media = media

    def gate(self, request: Request) -> Response | None:
        """Transport-level failures that come before any credential check."""
        cfg = self.provider.config
        self.provider.stats["requests"] += 1
        ua = request.headers.get("user-agent", "")
        if (cfg.block_empty_user_agent and not ua) or any(
            b.lower() in ua.lower() for b in cfg.blocked_user_agents if b
        ):
            self.provider.stats["blocked"] += 1
            return _html(403, "403 Forbidden - Access denied")
        if cfg.fail_next > 0:
            cfg.fail_next -= 1
            return _html(503, "503 Service Unavailable")
        if cfg.busy_next > 0:
            cfg.busy_next -= 1
            return _html(200, "Too many connections")
        return None

    def credentials_ok(self, username: str | None, password: str | None) -> bool:
        cfg = self.provider.config
        return username == cfg.username and password == cfg.password

    def refusal(self, status: str = "Disabled") -> Response:
        cfg = self.provider.config
        if cfg.family == "xui":
            return _html(404, "404 Not Found")  # XC_VM generateError (docs/providers.md §1.2)
        return JSONResponse({"user_info": {"auth": 0, "status": status}})

    def account_refusal(self) -> Response | None:
        cfg = self.provider.config
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

    def login_payload(self, request: Request) -> dict[str, Any]:
        cfg = self.provider.config
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
            "active_cons": n(self.provider.streams_open),
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

    def json_bytes(self, payload: Any) -> Response:
        cfg = self.provider.config
        body = orjson.dumps(payload)
        if cfg.latin1:
            body = body.replace("é".encode(), b"\xe9")
        if cfg.bom:
            body = b"\xef\xbb\xbf \n" + body
        return Response(body, media_type="application/json")

    async def player_api(self, request: Request) -> Response:
        blocked = self.gate(request)
        if blocked is not None:
            return blocked
        cfg = self.provider.config
        params = request.query_params
        if request.method == "POST":
            form = await request.form()
            params = {**params, **{k: str(v) for k, v in form.items()}}  # type: ignore[assignment]
        action = params.get("action") or "login"
        self.provider.stats[f"action:{action}"] += 1
        if cfg.tarpit_s:
            await asyncio.sleep(cfg.tarpit_s)
        if not self.credentials_ok(params.get("username"), params.get("password")):
            return self.refusal()
        refused = self.account_refusal()
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
            return self.json_bytes(
                [
                    {"category_id": str(c.id), "category_name": c.title, "parent_id": 0}
                    for c in self.provider.catalogue.categories_of(kind)
                ]
            )
        if action in ("get_live_streams", "get_vod_streams", "get_series"):
            if cfg.lists_auth0:
                return JSONResponse({"user_info": {"auth": 0}})
            rows = _list_rows(self.provider, _base(request), action, params.get("category_id"))
            return StreamingResponse(_json_chunks(rows, cfg), media_type="application/json")
        if action == "get_vod_info":
            return self.json_bytes(self.vod_info(request, params.get("vod_id")))
        if action == "get_series_info":
            return self.json_bytes(self.series_info(request, params.get("series_id")))
        if action in ("get_short_epg", "get_simple_data_table", "get_simple_date_table"):
            return self.json_bytes(
                self.short_epg(params.get("stream_id"), params.get("limit"), action)
            )
        return self.json_bytes(self.login_payload(request))  # unknown actions fall through (§1.1)

    def vod_info(self, request: Request, raw_id: str | None) -> Any:
        cfg = self.provider.config
        movie = self.provider.catalogue.get("movie", int(raw_id or 0)) if _digits(raw_id) else None
        if movie is None:
            return {"info": [], "movie_data": []}
        rows = Rows(self.provider, _base(request))
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

    def series_info(self, request: Request, raw_id: str | None) -> Any:
        cfg = self.provider.config
        show = self.provider.catalogue.get("series", int(raw_id or 0)) if _digits(raw_id) else None
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

    def short_epg(self, raw_id: str | None, limit: str | None, action: str) -> Any:
        cfg = self.provider.config
        ch = self.provider.catalogue.get("channel", int(raw_id or 0)) if _digits(raw_id) else None
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

    def _file_refusal(self, request: Request, name: str) -> Response | None:
        """The gate and the credentials of ``get.php`` / ``xmltv.php`` (counted as ``name``):
        the refusal a panel answers those files with, or None."""
        blocked = self.gate(request)
        if blocked is not None:
            return blocked
        params = request.query_params
        self.provider.stats[name] += 1
        if not self.credentials_ok(params.get("username"), params.get("password")):
            xui = self.provider.config.family == "xui"
            return _html(404, "404 Not Found") if xui else _html(401, "Denied")
        return None

    async def get_php(self, request: Request) -> Response:
        denied = self._file_refusal(request, "get.php")
        if denied is not None:
            return denied
        cfg = self.provider.config
        params = request.query_params
        refused = self.account_refusal()
        if refused is not None:
            return _html(404, "404 Not Found")
        output = (params.get("output") or "ts").lower()
        ext = "m3u8" if output in ("m3u8", "hls") else "ts"
        plus = (params.get("type") or "m3u_plus") == "m3u_plus"
        lines = m3u_plus_lines(self.provider, _base(request), ext, plus)
        return StreamingResponse(
            aiter_chunks(lines),
            media_type="application/octet-stream",
            headers={
                "Content-Disposition": f'attachment; filename="tv_channels_{cfg.username}_plus.m3u"'
            },
        )

    async def xmltv_php(self, request: Request) -> Response:
        denied = self._file_refusal(request, "xmltv.php")
        if denied is not None:
            return denied
        cfg = self.provider.config
        params = request.query_params
        if cfg.no_guide:
            return _html(404, "404 Not Found")
        chunks: Iterable[bytes] = xmltv_documents(
            self.provider.catalogue,
            _base(request),
            guide_anchor(cfg),
            cfg.epg_hours,
            cfg.epg_channels,
        )
        if params.get("gzip") == "1":
            return StreamingResponse(
                aiter_chunks(gzip_chunks(chunks)), media_type="application/octet-stream"
            )
        return StreamingResponse(aiter_chunks(chunks), media_type="application/xml")

    async def stream(self, request: Request) -> Response:
        blocked = self.gate(request)
        if blocked is not None:
            return blocked
        p = request.path_params
        self.provider.stats[f"stream:{p.get('kind', 'live')}"] += 1
        if not self.credentials_ok(p.get("username"), p.get("password")):
            return _html(403, "403 Forbidden")
        self.provider.streams_open += 1
        kind = p.get("kind", "live")
        ext = "m3u8" if wants_hls(request.url.path) else "ts"
        where = "/_asset/stream" if kind in ("live", "timeshift") else "/_asset/vod"
        if kind not in ("live", "movie", "series", "timeshift"):
            where = "/_asset/stream"  # the playlist form /{user}/{pass}/{id}.ts is live
        return Response(status_code=302, headers={"Location": f"{where}.{ext}"})

    async def asset(self, request: Request) -> Response:
        path = request.url.path
        return await self.media.respond(
            request, live=path.startswith("/_asset/stream"), hls=wants_hls(path)
        )
