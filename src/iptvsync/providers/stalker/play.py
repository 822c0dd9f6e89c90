"""Play links: ``create_link`` at play time (links live seconds, never stored)."""

from __future__ import annotations

from iptvsync.errors import (
    ProviderBadResponse,
    ValidationFailed,
)
from iptvsync.providers.base import PlayTarget
from iptvsync.providers.stalker import parse
from iptvsync.providers.stalker.session import StalkerSession


class StalkerPlay(StalkerSession):
    """``resolve_play`` and the stream headers for the relay."""

    async def resolve_play(self, target: PlayTarget) -> str:
        """A fresh stream URL for a channel, movie or episode (``create_link`` at play time;
        links live seconds, so they are never stored)."""
        await self._ensure_session()
        kind = target.kind
        item = target.provider_item_id
        if kind == "channel" and item.startswith(parse.RADIO_PREFIX):
            # Stations play their cmd as it is (the radio module has no temporary links);
            # only a cmd that is no URL at all is handed to create_link.
            url = parse.strip_solution(target.cmd or "").replace("%mac%", self._identity.mac)
            if url.startswith(("http://", "https://")):
                return url
            return await self._create_link("radio", target.cmd or "")
        if kind == "channel":
            cmd = target.cmd or f"ffrt http://localhost/ch/{item}_"
            tmp = parse.to_bool(target.extra.get("use_http_tmp_link")) or parse.to_bool(
                target.extra.get("use_load_balancing")
            )
            if not parse.needs_create_link(cmd, tmp_link=tmp):
                return parse.strip_solution(cmd).replace("%mac%", self._identity.mac)
            return await self._create_link("itv", cmd)
        if kind == "movie":
            return await self._create_link("vod", target.cmd or f"/media/{item}.mpg")
        if kind == "episode":
            return await self._resolve_episode(target)
        raise ValidationFailed(f"cannot play a {kind!r}", detail={"field": "kind"})

    def stream_headers(self) -> dict[str, str]:
        """What the box sends with a stream request (MAG User-Agent, MAC cookie, token):
        gated portals answer 403 without them. For the relay; never shown to a player."""
        return dict(self._headers(self._token))

    # -- play --------------------------------------------------------------------------------

    async def _create_link(self, module: str, cmd: str, *, series: str = "") -> str:
        env = await self._call(
            {
                "type": module,
                "action": "create_link",
                "cmd": cmd,
                "series": series,
                "forced_storage": "",
                "disable_ad": "0",
                "download": "0",
                "force_ch_link_check": "0",
            },
            timeout=self._settings.link_timeout_s,
        )
        return parse.parse_create_link(
            env.js,
            env.top,
            origin=self._require_endpoint().urls.origin,
            original_cmd=cmd,
            mac=self._identity.mac,
        )

    async def _resolve_episode(self, target: PlayTarget) -> str:
        parts = target.provider_item_id.split(":")
        # "<show>:<season>:<position>" ids come from seasons listed with a ``series`` list of
        # positions (reseller panels, and stock paths with a series module): the season cmd
        # picks the k-th episode. Stock drill-down ids are "<movie>:<season id>:<episode id>".
        positional = (
            target.cmd is not None
            and len(parts) == 3
            and parts[1] == str(target.season)
            and parts[2] == str(target.episode)
        )
        if positional or await self._detect_family() == "reseller":
            # "<show>:<season>:<position>"; the season cmd picks episode k (docs/stalker.md §7.C).
            show = target.series_provider_id or parts[0]
            season = target.season if target.season is not None else _int_at(parts, 1)
            position = _int_at(parts, 2) if len(parts) >= 3 else target.episode
            if position is None:
                raise ValidationFailed("episode id lacks its position", detail={"field": "id"})
            cmd = target.cmd or f"/media/{show}:{season}.mpg"
            return await self._create_link("vod", cmd, series=str(position))
        if target.cmd:
            return await self._create_link("vod", target.cmd)
        if len(parts) != 3:
            raise ValidationFailed("not a Stalker episode id", detail={"field": "id"})
        movie_id, season_id, episode_id = parts
        rows = await self._all_rows(
            {
                "type": "vod",
                "action": "get_ordered_list",
                "movie_id": movie_id,
                "season_id": season_id,
                "episode_id": episode_id,
            }
        )
        files = parse.parse_stock_files(rows)
        if not files:
            raise ProviderBadResponse("the portal lists no file for this episode")
        return await self._create_link("vod", files[0])


def _int_at(parts: list[str], index: int) -> int | None:
    if index < len(parts):
        return parse.to_int(parts[index])
    return None
