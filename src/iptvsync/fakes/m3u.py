"""A fake M3U + XMLTV provider: the quirky playlist of docs/providers.md §2.7, scaled up from
a fake ``Catalogue``, and a gzip XMLTV guide, both streamed.

Entries rotate through the quirks by channel id: a BOM and ``url-tvg`` header, unquoted and
single-quoted values, ``tvg-ID``, commas in names and logo URLs, ``#EXTGRP``, ``#EXTVLCOPT``,
``#KODIPROP``, a space before the name's comma, orphan ``#EXTINF`` lines, CRLF/LF mixes, radio,
tokenised URLs whose ``token=`` changes on every download, VOD under ``/movie/`` and as bare
files, and series episodes named ``SxxEyy``, ``NxMM`` or ``Season N Episode M``.

    app = create_app(generate(seed=1, movies=50), M3uFakeConfig())
    GET /playlist.m3u    GET /playlist.m3u.gz    GET /epg.xml    GET /epg.xml.gz
    app.state.provider.config.xmltv = "billion_laughs"

Switches (``M3uFakeConfig``, mutable at runtime or via ``POST /_control/config``): a
truncated or hostile guide, binary junk in the playlist, an HTML error page with status 200.
"""

from __future__ import annotations

import dataclasses
import random
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from iptvsync.fakes.catalogue import Catalogue, CatalogueControls
from iptvsync.fakes.items import FakeSeries, seasons
from iptvsync.fakes.media import FakeMedia, wants_hls
from iptvsync.fakes.xtream import (
    aiter_chunks,
    apply_switches,
    control_endpoint,
    guide_anchor,
    gzip_chunks,
    xmltv_documents,
)

BILLION_LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE tv [\n <!ENTITY lol "lol">\n'
    + b"".join(
        b' <!ENTITY lol%d "%s">\n' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
        for i in range(1, 10)
    )
    + b']>\n<tv><channel id="a"><display-name>&lol9;</display-name></channel></tv>\n'
)


@dataclass
class M3uFakeConfig:
    username: str = "u"  # appear in XC-style stream paths, as in real reseller playlists
    password: str = "p"
    include_movies: bool = True
    include_series: bool = True
    max_episodes_per_series: int | None = None
    #: "ok" | "html" (200 HTML error page) | "expired" (200 HTML saying so) | "junk" (binary
    #: junk lines between entries) | "binary" (nothing but binary junk) | "status:<code>"
    playlist: str = "ok"
    #: "ok" | "truncated" | "billion_laughs" | "html" | "external_entity"
    xmltv: str = "ok"
    epg_hours: int = 6
    epg_anchor: datetime | None = None
    epg_channels: int | None = None


@dataclass
class FakeM3uProvider(CatalogueControls):
    catalogue: Catalogue
    config: M3uFakeConfig
    stats: Counter[str] = field(default_factory=Counter)
    downloads: int = 0


    def set(self, **switches: Any) -> None:
        apply_switches(self.config, switches)


def config_for_cli(**options: Any) -> M3uFakeConfig:
    """The config ``iptvsync fake-portal --kind m3u`` serves (family/latency do not apply)."""
    config = M3uFakeConfig()
    fields = {f.name for f in dataclasses.fields(config)}
    apply_switches(config, {k: v for k, v in options.items() if k in fields and v is not None})
    return config


def episode_name(show: FakeSeries, season: int, episode: int) -> str:
    """Three spellings of an episode marker, chosen by series id."""
    style = show.id % 3
    if style == 0:
        return f"{show.name} S{season:02d}E{episode:02d}"
    if style == 1:
        return f"{show.name} {season}x{episode:02d}"
    return f"{show.name} - Season {season} Episode {episode}"


def playlist_lines(provider: FakeM3uProvider, base: str) -> Iterator[bytes]:
    """The quirky playlist, chunked. ``token=`` values differ on every download."""
    cfg = provider.config
    cat = provider.catalogue
    rng = random.Random(provider.downloads)
    titles = {c.id: c.title for c in cat.categories}
    u, p = cfg.username, cfg.password
    junk = cfg.playlist == "junk"
    out: list[str | bytes] = [
        "\ufeff#EXTM3U "
        f'url-tvg="{base}/epg.xml.gz" tvg-shift=0\n'
        '#EXT-X-SESSION-DATA:DATA-ID="com.fake.1_0"\n'
    ]

    def flush() -> Iterator[bytes]:
        nonlocal out
        if len(out) > 400:
            yield b"".join(x if isinstance(x, bytes) else x.encode() for x in out)
            out = []

    for ch in cat.channels:
        group = titles.get(ch.category_id, "")
        logo = f"{base}/logos/{ch.logo}" if ch.logo else ""
        tvg_id = f'tvg-id="{ch.xmltv_id}" ' if ch.xmltv_id else ""
        if junk and ch.id % 25 == 0:
            noise = bytes(rng.getrandbits(8) for _ in range(62)).replace(b"\n", b"\x00")
            out.append(b"\x00\x01" + noise + b"\n")
        q = ch.id % 10
        eol = "\r\n" if q % 2 == 0 else "\n"
        if ch.radio:
            out.append(
                f'#EXTINF:0 radio="true" tvg-logo="{logo}",{ch.name}\n#EXTGRP:{group}\n'
                f"{base}/radio/{ch.id}.aac\n"
            )
            yield from flush()
            continue
        url = f"{base}/{u}/{p}/{ch.id}.ts"
        directives = ""
        if q == 0:
            attrs = (
                f'{tvg_id}tvg-name="{ch.name}" tvg-logo="{logo}" tvg-chno={ch.number} '
                f'group-title="{group}"'
            )
        elif q == 1:
            attrs = f"{tvg_id}tvg-logo='{logo}' group-title='{group}' tvg-chno=\"{ch.number}\""
        elif q == 2:
            attrs = (
                f'{tvg_id.replace("tvg-id", "tvg-ID")}GROUP-TITLE="{group}" tvg-chno="{ch.number}"'
            )
        elif q == 3:
            attrs = f'{tvg_id}tvg-chno="{ch.number}"'
            directives = f"#EXTGRP:{group}{eol}"
        elif q == 4:
            attrs = f'{tvg_id}tvg-logo="{logo}" group-title="{group}" tvg-chno="{ch.number}"'
            directives = (
                f"#EXTVLCOPT:http-user-agent=FakeUA/1.0{eol}#EXTVLCOPT:http-referrer={base}/{eol}"
            )
            url = f"{base}/live/{u}/{p}/{ch.id}.m3u8"
        elif q == 5:
            attrs = f'{tvg_id}group-title="{group}" tvg-chno="{ch.number}"'
            directives = (
                f"#KODIPROP:inputstream=inputstream.adaptive{eol}"
                f"#KODIPROP:inputstream.adaptive.license_key=https://lic.example/?a=b&c=d{eol}"
            )
        elif q == 6:
            attrs = (
                f'{tvg_id}tvg-name="{ch.name}, live" tvg-logo="{base}/l/{ch.id},x.png" '
                f'group-title="{group}" tvg-chno="{ch.number}"'
            )
        elif q == 7:
            attrs = f'{tvg_id}group-title="{group}" tvg-chno="{ch.number}" '  # space before ","
        elif q == 8:
            out.append(f"#EXTINF:-1 ,Orphan before {ch.id}{eol}")
            attrs = f'{tvg_id}tvg-logo="{logo}" group-title="{group}" tvg-chno="{ch.number}"'
        else:
            attrs = f'{tvg_id}group-title="{group}" tvg-chno="{ch.number}"'
            url = f"{base}/{u}/{p}/{ch.id}.m3u8?token={rng.getrandbits(64):016x}"
        if ch.archive:
            attrs = f'timeshift="{ch.archive_days}" ' + attrs
        out.append(f"#EXTINF:-1 {attrs},{ch.name}{eol}{directives}{url}{eol}")
        yield from flush()

    if cfg.include_movies:
        for m in cat.movies:
            group = titles.get(m.category_id, "")
            poster = f"{base}/images{m.poster}" if m.poster else ""
            # Most VOD sits under XC's /movie/ path; some is a bare file (extension rule).
            url = (
                f"{base}/files/{m.id}.{m.extension}"
                if m.id % 7 == 0
                else f"{base}/movie/{u}/{p}/{m.id}.{m.extension}"
            )
            out.append(
                f'#EXTINF:-1 tvg-name="{m.name}" tvg-logo="{poster}" group-title="{group}",'
                f"{m.name}\r\n{url}\r\n"
            )
            yield from flush()

    if cfg.include_series:
        for show in cat.series:
            group = titles.get(show.category_id, "")
            cover = f"{base}/images{show.poster}" if show.poster else ""
            count = 0
            for season in seasons(show):
                for ep in season.episodes:
                    limit = cfg.max_episodes_per_series
                    if limit is not None and count >= limit:
                        break
                    count += 1
                    name = episode_name(show, season.number, ep.number)
                    out.append(
                        f'#EXTINF:-1 tvg-logo="{cover}" group-title="{group}",{name}\n'
                        f"{base}/series/{u}/{p}/{ep.id}.{ep.extension}\n"
                    )
            yield from flush()
    out.append("#EXTINF:-1 ,Trailing orphan\n")
    yield b"".join(x if isinstance(x, bytes) else x.encode() for x in out)


def _html(status: int, text: str) -> Response:
    body = f"<!DOCTYPE html><html><head><title>{text}</title></head><body>{text}</body></html>"
    return Response(body, status_code=status, media_type="text/html")


def create_app(catalogue: Catalogue, config: M3uFakeConfig | None = None) -> Starlette:
    provider = FakeM3uProvider(catalogue, config or M3uFakeConfig())
    media = FakeMedia()

    def base_of(request: Request) -> str:
        return f"{request.url.scheme}://{request.url.netloc}"

    async def playlist(request: Request) -> Response:
        cfg = provider.config
        provider.stats["playlist"] += 1
        provider.downloads += 1
        mode = cfg.playlist
        if mode.startswith("status:"):
            return _html(int(mode.split(":", 1)[1]), "Error")
        if mode == "html":
            return _html(200, "Service temporarily unavailable")
        if mode == "expired":
            return _html(200, "Your subscription has expired")
        if mode == "binary":
            rng = random.Random(7)
            blob = bytes(rng.getrandbits(8) for _ in range(65_536))
            return Response(b"\x00\x01" + blob, media_type="application/octet-stream")
        chunks: Iterable[bytes] = playlist_lines(provider, base_of(request))
        if request.url.path.endswith(".gz"):
            chunks = gzip_chunks(chunks)
        return StreamingResponse(aiter_chunks(chunks), media_type="audio/x-mpegurl")

    async def epg(request: Request) -> Response:
        cfg = provider.config
        provider.stats["epg"] += 1
        mode = cfg.xmltv
        chunks: Iterable[bytes]
        if mode == "html":
            return _html(200, "Not found")
        if mode == "billion_laughs":
            chunks = [BILLION_LAUGHS]
        elif mode == "external_entity":
            chunks = [
                b'<?xml version="1.0"?><!DOCTYPE tv [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                b'<tv><channel id="a"><display-name>&x;</display-name></channel></tv>'
            ]
        else:
            chunks = xmltv_documents(
                provider.catalogue,
                base_of(request),
                guide_anchor(cfg),
                cfg.epg_hours,
                cfg.epg_channels,
            )
            if mode == "truncated":
                chunks = _truncate(chunks)
        if request.url.path.endswith(".gz"):
            chunks = gzip_chunks(chunks)
        return StreamingResponse(aiter_chunks(chunks), media_type="application/xml")

    async def stream(request: Request) -> Response:
        provider.stats["stream"] += 1
        path = request.url.path
        live = not any(part in path for part in ("/movie/", "/series/"))
        ext = "m3u8" if wants_hls(path) else "ts"
        where = "/_asset/stream" if live else "/_asset/vod"
        return Response(status_code=302, headers={"Location": f"{where}.{ext}"})

    async def asset(request: Request) -> Response:
        path = request.url.path
        return await media.respond(
            request, live=path.startswith("/_asset/stream"), hls=wants_hls(path)
        )

    app = Starlette(
        routes=[
            Route(
                "/_control/{what}",
                control_endpoint(provider, lambda: {"downloads": provider.downloads}),
                methods=["GET", "POST"],
            ),
            Route("/_asset/stream.ts", asset),
            Route("/_asset/stream.m3u8", asset),
            Route("/_asset/vod.ts", asset),
            Route("/_asset/vod.m3u8", asset),
            *media.routes(),
            Route("/playlist.m3u", playlist),
            Route("/playlist.m3u.gz", playlist),
            Route("/get.php", playlist),
            Route("/epg.xml", epg),
            Route("/epg.xml.gz", epg),
            Route("/{path:path}", stream),
        ]
    )
    app.state.provider = provider
    app.state.media = media
    return app


def _truncate(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """The guide cut off in the middle of an element, as a dropped download would leave it."""
    held = b""
    for chunk in chunks:
        held += chunk
        if len(held) > 4096:
            break
    yield held[: max(64, len(held) * 2 // 3)]
