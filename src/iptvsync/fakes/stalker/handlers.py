"""The content handlers of the fake portal: ``(type, action) -> function(ctx) -> Response``.

Live TV (``itv``), VOD (``vod``, with the stock ``is_series`` drill-down, §7.B), the reseller
``series`` module (§7.C), play links with optional ad playlists, the watchdog and account
info. ``_HANDLERS`` maps each pair to its function.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.responses import Response

from iptvsync.fakes.catalogue import Catalogue
from iptvsync.fakes.items import episode_owner, seasons
from iptvsync.fakes.stalker.archive import archive_create_link, simple_data_table
from iptvsync.fakes.stalker.config import LINK_OFFSET
from iptvsync.fakes.stalker.epg import epg_info, short_epg
from iptvsync.fakes.stalker.payloads import _Ctx, _file_row
from iptvsync.fakes.stalker.values import _alias, _b64, _int_or_none, _stamp, _unb64, _xc_date


def _itv_genres(ctx: _Ctx) -> Response:
    stock = ctx.cfg.stock
    rows: list[dict[str, Any]] = [
        {"id": "*", "title": "All", "alias": "all" if stock else "All", "censored": 0}
    ]
    if not stock:
        rows[0]["active_sub"] = True
    for number, cat in enumerate(ctx.portal.catalogue.categories_of("channel"), start=1):
        row: dict[str, Any] = {
            "id": str(cat.id) if stock else cat.id,
            "title": cat.title,
            "alias": cat.title.lower() if stock else cat.title,
            "censored": 1 if cat.censored else 0,
        }
        if stock:
            row["number"] = str(number)
            row["modified"] = ""
        else:
            row["active_sub"] = True
        rows.append(row)
    return ctx.reply(rows)


def _itv_all_channels(ctx: _Ctx) -> Response:
    cfg, portal = ctx.cfg, ctx.portal
    if not cfg.get_all_channels_enabled:
        return ctx.reply(
            {
                "total_items": ctx.num(0),
                "max_page_items": cfg.effective_page_size,
                "selected_item": 0,
                "cur_page": 0,
                "data": [],
            }
        )
    everything = _tv(ctx, portal.channel_list("*", "number", hide_adult=False))
    shown = _tv(ctx, portal.channel_list("*", "number", hide_adult=cfg.hide_adult_from_all))
    # Stock drops adult/locked channels from data but still counts them (docs/stalker.md §5.2).
    total = len(everything) if cfg.stock else len(shown)
    portal.stats.items_served += len(shown)
    return ctx.reply(
        {
            "total_items": ctx.num(total),
            "max_page_items": cfg.effective_page_size,
            "selected_item": 0,
            "cur_page": 0,
            "data": [ctx.channel_row(ch) for ch in shown],
        }
    )


def _itv_ordered_list(ctx: _Ctx) -> Response:
    genre = ctx.list_filter(ctx.cfg.itv_filter)
    if genre is None or ctx.params.get("fav") == "1":
        return ctx.page([], ctx.channel_row)
    sortby = "name" if ctx.params.get("sortby") == "name" else "number"
    items = _tv(ctx, ctx.portal.channel_list(genre, sortby, ctx.cfg.hide_adult_from_all))
    return ctx.page(items, ctx.channel_row)


def _tv(ctx: _Ctx, channels: list[Any]) -> list[Any]:
    """Without the radio channels when the portal has a radio module."""
    return [c for c in channels if not c.radio] if ctx.cfg.radio_module else channels


def _radio_ordered_list(ctx: _Ctx) -> Response:
    """``type=radio&action=get_ordered_list&p=<n>``: the radio module's stations (paged)."""
    if not ctx.cfg.radio_module:
        return ctx.reply([])  # no such module on this portal
    stations = [c for c in ctx.portal.channel_list("*", "number", hide_adult=False) if c.radio]

    def row(ch: Any) -> dict[str, Any]:
        return {
            "id": ctx.num(ch.id),
            "name": ch.name,
            "number": str(ch.number),
            "cmd": f"ffmpeg {ctx.origin}/radio/{ch.id}.aac",
            "count": "0",
            "status": "1",
            "volume_correction": "0",
            "enable_monitoring": "0",
            "open": 1,
            "fav": 0,
        }

    return ctx.page(stations, row)


def _itv_create_link(ctx: _Ctx) -> Response:
    cmd = ctx.params.get("cmd", "")
    match = re.search(r"/ch/(\d+)", cmd)
    channel = None
    if match:
        number = int(match.group(1)) - (LINK_OFFSET if ctx.cfg.stock else 0)
        channel = ctx.portal.catalogue.get("channel", number)
    if channel is None:
        missing = {"id": "", "cmd": "", "streamer_id": 0, "link_id": 0, "load": 0}
        return ctx.reply({**missing, "error": "nothing_to_play"})
    key = ctx.portal.new_link("channel", channel.id)
    js: dict[str, Any]
    if ctx.cfg.stock:
        js = {
            "id": str(channel.id),
            "cmd": f"ffrt {ctx.origin}/stream/live/{key}",
            "streamer_id": 0,
            "link_id": channel.id + LINK_OFFSET,
            "load": 0,
            "error": "",
        }
        return _maybe_ads(ctx, js, text="array(6) {...}\n")
    stream = "" if ctx.cfg.empty_stream_bug else str(channel.id)
    url = f"{ctx.origin}/play/live.php?mac={ctx.mac}&stream={stream}&extension=ts&play_token={key}"
    js = {"id": str(channel.id), "cmd": f"ffmpeg {url}"}
    # XC answers streamer_id/link_id/load/error outside js (§5.5).
    if ctx.cfg.ad_playlist:
        return _maybe_ads(ctx, js)
    return ctx.reply(js, extra={"streamer_id": 0, "link_id": 0, "load": 0, "error": ""})


def _vod_categories(ctx: _Ctx) -> Response:
    kinds = ("movie", "series") if _vod_has_series(ctx) else ("movie",)
    return ctx.reply(_category_rows(ctx, kinds))


def _vod_has_series(ctx: _Ctx) -> bool:
    """Stock keeps series in VOD (is_series items) unless it has a series module."""
    return ctx.cfg.stock and not ctx.cfg.has_series_module


def _series_categories(ctx: _Ctx) -> Response:
    return ctx.reply(_category_rows(ctx, ("series",)))


def _category_rows(ctx: _Ctx, kinds: tuple[str, ...]) -> list[dict[str, Any]]:
    stock = ctx.cfg.stock
    rows: list[dict[str, Any]] = [{"id": "*", "title": "All", "alias": "*", "censored": 0}]
    for kind in kinds:
        for cat in ctx.portal.catalogue.categories_of(kind):
            rows.append(
                {
                    "id": str(cat.id) if stock else cat.id,
                    "title": cat.title,
                    "alias": _alias(cat.title) if stock else cat.title,
                    "censored": 1 if cat.censored else 0,
                }
            )
    return rows


def _vod_ordered_list(ctx: _Ctx) -> Response:
    cfg, params = ctx.cfg, ctx.params
    if cfg.stock and params.get("movie_id"):
        if cfg.drill_down_as_series:
            return _series_ordered_list(ctx)  # a panel's season rows on the stock path
        return _stock_drill_down(ctx)
    mode = cfg.effective_vod_filter
    if cfg.stock and mode == "category" and params.get("genre") not in (None, "", "*"):
        # On stock `genre` is a cat_genre id, not a category (§6.2): we have none.
        return ctx.page([], ctx.vod_item)
    # Panels treat genre= as the category too (stalker-to-m3u relies on it, §6.2).
    category = ctx.list_filter(mode)
    if category is None:
        return ctx.page([], ctx.vod_item)
    sortby = params.get("sortby") or ("name" if cfg.stock else "added")
    kinds = "both" if _vod_has_series(ctx) else "movie"
    items: list[Any] = ctx.portal.vod_list(kinds, category, sortby, cfg.hide_adult_from_all)
    search = params.get("search", "").strip().casefold()
    if search:
        items = [i for i in items if search in i.name.casefold()]
    return ctx.page(items, ctx.vod_row)


def _stock_drill_down(ctx: _Ctx) -> Response:
    """Ministra ``is_series=1`` model (§7.B): seasons, then episodes, then files."""
    catalogue, params = ctx.portal.catalogue, ctx.params
    item_id = _int_or_none(params.get("movie_id", ""))
    season_id = _int_or_none(params.get("season_id", "")) or 0
    episode_id = _int_or_none(params.get("episode_id", "")) or 0
    series = catalogue.get("series", item_id) if item_id is not None else None
    if series is None:
        movie = catalogue.get("movie", item_id) if item_id is not None else None
        if movie is None:
            return ctx.page([], dict)
        return ctx.page([movie], lambda m: _file_row(m.id, m.id, None, m.extension))
    show_seasons = seasons(series)
    if not season_id:
        added = _stamp(series.added)

        def season_row(season: Any) -> dict[str, Any]:
            return {
                "id": str(series.id * 100 + season.number),
                "video_id": str(series.id),
                "season_number": str(season.number),
                "season_name": "",
                "season_original_name": "",
                "season_series": str(len(season.episodes)),
                "date_add": added,
                "date_modify": added,
                "name": season.name,
                "is_season": True,
            }

        return ctx.page(show_seasons, season_row)
    owner, number = divmod(season_id, 100)
    season = next((s for s in show_seasons if s.number == number), None)
    if owner != series.id or season is None:
        return ctx.page([], dict)
    if not episode_id:
        numbers = [str(e.number) for e in season.episodes]

        def episode_row(ep: Any) -> dict[str, Any]:
            return {
                "id": str(ep.id),
                "season_id": str(season_id),
                "series_number": str(ep.number),
                "series_name": ep.name,
                "series_original_name": ep.name,
                "name": f"Episode {ep.number}. {ep.name}",
                "date_add": _stamp(series.added),
                "is_episode": True,
                "series": numbers,
            }

        return ctx.page(season.episodes, episode_row)
    episode = next((e for e in season.episodes if e.id == episode_id), None)
    if episode is None:
        return ctx.page([], dict)
    return ctx.page([episode], lambda e: _file_row(e.id, series.id, e.id, e.extension))


def _vod_create_link(ctx: _Ctx) -> Response:
    cmd = ctx.params.get("cmd", "").strip()
    cmd = cmd.split(" ", 1)[1] if " " in cmd else cmd  # "ffmpeg /media/..." also seen
    if ctx.cfg.stock:
        return _stock_vod_link(ctx, cmd)
    return _reseller_vod_link(ctx, cmd)


def _stock_vod_link(ctx: _Ctx, cmd: str) -> Response:
    if re.fullmatch(r"/media/(\d+):(\d+)\.mpg", cmd) or _unb64(cmd):
        return _reseller_vod_link(ctx, cmd)  # a season cmd of a stock series module
    catalogue = ctx.portal.catalogue
    target: tuple[str, int, str] | None = None
    if match := re.fullmatch(r"/media/file_(\d+)\.mpg", cmd):
        owner = int(match.group(1)) // 10
        found = _episode(catalogue, owner)
        if found is not None:
            target = ("episode", owner, found.extension)
        elif (movie := catalogue.get("movie", owner)) is not None:
            target = ("movie", owner, movie.extension)
    elif match := re.fullmatch(r"/media/(\d+)\.mpg", cmd):
        movie = catalogue.get("movie", int(match.group(1)))
        if movie is not None:
            target = ("movie", movie.id, movie.extension)
    if target is None:
        js = {
            "id": 0,
            "cmd": "",
            "storage_id": "",
            "load": "",
            "error": "nothing_to_play",
            "subtitles": [],
        }
        return ctx.reply(js)
    kind, item_id, ext = target
    key = ctx.portal.new_link(kind, item_id)
    js = {
        "id": item_id,
        "cmd": f"ffmpeg {ctx.origin}/stream/vod/{key}.{ext}",
        "storage_id": "1",
        "load": "",
        "error": "",
        "subtitles": [],
    }
    return _maybe_ads(ctx, js, text="array(6) {...}\n")


def _reseller_vod_link(ctx: _Ctx, cmd: str) -> Response:
    catalogue, cfg = ctx.portal.catalogue, ctx.cfg
    decoded = _unb64(cmd)
    k = _int_or_none(ctx.params.get("series", "")) or 0
    show_id = season_num = None
    if decoded and decoded.get("type") == "movie":
        movie = catalogue.get("movie", _int_or_none(str(decoded.get("stream_id"))) or -1)
        if movie is None:
            return ctx.reply(
                {"id": "", "cmd": "", "load": "", "subtitles": [], "error": "nothing_to_play"}
            )
        key = ctx.portal.new_link("movie", movie.id)
        url = (
            f"{ctx.origin}/movie/{cfg.xc_username}/{cfg.xc_password}/{movie.id}."
            f"{movie.extension}?play_token={key}"
        )
        js = {"id": movie.id, "cmd": f"ffmpeg {url}", "load": "", "subtitles": [], "error": ""}
        return _maybe_ads(ctx, js)
    if decoded and decoded.get("type") == "series":
        show_id = _int_or_none(str(decoded.get("series_id")))
        season_num = _int_or_none(str(decoded.get("season_num")))
    elif match := re.fullmatch(r"/media/(\d+):(\d+)\.mpg", cmd):
        show_id, season_num = int(match.group(1)), int(match.group(2))
    show = catalogue.get("series", show_id) if show_id is not None else None
    season = next((s for s in seasons(show) if s.number == season_num), None) if show else None
    if season is None or not 1 <= k <= len(season.episodes):
        # the panel picks the k-th episode; none there -> player_file_missing (§7.C)
        return ctx.reply(
            {"id": "", "cmd": "", "load": "", "subtitles": [], "error": "player_file_missing"}
        )
    episode = season.episodes[k - 1]
    key = ctx.portal.new_link("episode", episode.id)
    url = (
        f"{ctx.origin}/series/{cfg.xc_username}/{cfg.xc_password}/{episode.id}."
        f"{episode.extension}?play_token={key}"
    )
    js = {"id": episode.id, "cmd": f"ffmpeg {url}", "load": "", "subtitles": [], "error": ""}
    return _maybe_ads(ctx, js)


def _series_ordered_list(ctx: _Ctx) -> Response:
    cfg, params, portal = ctx.cfg, ctx.params, ctx.portal
    movie_id = params.get("movie_id")
    if movie_id:
        show = portal.catalogue.get("series", _int_or_none(movie_id) or -1)
        if show is None:
            return ctx.page([], dict)
        shot = f"{ctx.image_origin}{show.poster}" if show.poster else ""
        newest_first = list(reversed(seasons(show)))  # season_num DESC (§7.C)

        def season_row(season: Any) -> dict[str, Any]:
            count = len(season.episodes)
            if cfg.season_shape == "broken":
                return {"id": "", "title": f"S{season.number}", "series": "n/a"}  # unreadable
            if cfg.season_shape == "dash":
                # Seen on an independent portal: no is_season, no season_number (issue 16).
                return {
                    "id": f"{show.id}-s{season.number}",
                    "name": season.name,
                    "cmd": f"/media/{show.id}:{season.number}.mpg",
                    "series": list(range(1, count + 1)),
                }
            return {
                "id": f"{show.id}:{season.number}",
                "name": season.name,
                "o_name": season.name,
                "series": list(range(1, count + 1)),
                "is_series": 1,
                "category_id": str(show.category_id),
                "cmd": _b64({"series_id": show.id, "season_num": season.number, "type": "series"}),
                "screenshot_uri": shot,
                "has_files": 0,
                "added": _stamp(show.added),
            }

        return ctx.page(newest_first, season_row)
    category = ctx.list_filter(cfg.effective_vod_filter)
    if category is None:
        return ctx.page([], ctx.vod_item)
    sortby = params.get("sortby") or "added"
    items: list[Any] = portal.vod_list("series", category, sortby, cfg.hide_adult_from_all)
    search = params.get("search", "").strip().casefold()
    if search:
        items = [i for i in items if search in i.name.casefold()]
    return ctx.page(items, ctx.vod_row)


def _watchdog(ctx: _Ctx) -> Response:
    return ctx.reply({"data": {"msgs": 0, "additional_services_on": "1"}})


def _main_info(ctx: _Ctx) -> Response:
    cfg = ctx.cfg
    if cfg.stock:
        end = cfg.expires_at.strftime("%d.%m.%Y") if cfg.expires_at else ""
        return ctx.reply(
            {
                "fname": "",
                "phone": "",
                "ls": "",
                "mac": ctx.mac,
                "end_date": end,
                "tariff_plan": "Full",
            }
        )
    phone = _xc_date(cfg.expires_at) if cfg.expires_at else "Unlimited"
    return ctx.reply({"mac": ctx.mac, "phone": phone})


_HANDLERS: dict[tuple[str, str], Callable[[_Ctx], Response | Awaitable[Response]]] = {
    ("itv", "get_genres"): _itv_genres,
    ("itv", "get_all_channels"): _itv_all_channels,
    ("itv", "get_ordered_list"): _itv_ordered_list,
    ("itv", "create_link"): _itv_create_link,
    ("itv", "get_short_epg"): short_epg,
    ("itv", "get_epg_info"): epg_info,
    ("epg", "get_simple_data_table"): simple_data_table,
    ("tv_archive", "create_link"): archive_create_link,
    ("radio", "get_ordered_list"): _radio_ordered_list,
    ("vod", "get_categories"): _vod_categories,
    ("vod", "get_ordered_list"): _vod_ordered_list,
    ("vod", "create_link"): _vod_create_link,
    ("series", "get_categories"): _series_categories,
    ("series", "get_ordered_list"): _series_ordered_list,
    ("series", "create_link"): _vod_create_link,
    ("watchdog", "get_events"): _watchdog,
    ("account_info", "get_main_info"): _main_info,
}


def _maybe_ads(ctx: _Ctx, js: dict[str, Any], text: str | None = None) -> Response:
    if not ctx.cfg.ad_playlist:
        return ctx.reply(js, text=text)
    # Ad playlist (§5.5): adverts first, the real link is the last element.
    advert = {
        "id": "1",
        "cmd": f"ffmpeg {ctx.origin}/ads/1.mp4",
        "is_advert": True,
        "media_type": "advert",
        "ad_tracking": [],
    }
    return ctx.reply([advert, js], text=text)


def _episode(catalogue: Catalogue, episode_id: int) -> Any:
    owner = episode_owner(episode_id)
    if owner is None:
        return None
    show = catalogue.get("series", owner[0])
    if show is None:
        return None
    for season in seasons(show):
        for episode in season.episodes:
            if episode.id == episode_id:
                return episode
    return None
