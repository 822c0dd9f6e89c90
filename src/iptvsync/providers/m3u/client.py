"""M3U playlist client: the I/O around ``parse.py``, ``entries.py`` and ``providers/xmltv.py``.

A playlist is one file, often 50+ MB. It is downloaded once into a temporary file (kept for
``playlist_cache_s``, default 5 minutes, so ``categories``, ``walk`` and ``series_detail`` of
one sync read the same bytes without downloading it again), then parsed line by line from disk:
memory stays flat whatever its size. The operator's own ``file://`` URLs and plain paths are
read in place (regular files only, off the event loop); a URL found in provider content (the
header's ``x-tvg-url``) is fetched over http(s) only, and from a public playlist never into
private address space (docs/reliability.md, "Hostile providers").

Identity, the live/VOD heuristic and series grouping are documented in docs/providers.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import stat
import time
import weakref
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from contextlib import aclosing, asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urljoin, urlsplit

from iptvsync.errors import (
    ProviderAuthFailed,
    ProviderBadResponse,
    ProviderBanned,
    ProviderError,
    ProviderUnreachable,
)
from iptvsync.providers.base import GuideOffload, PageHandler, PlayTarget, ProviderConfig
from iptvsync.providers.budget import BudgetConfig, Outcome, PolitenessBudget, Slot
from iptvsync.providers.guard import check_scheme
from iptvsync.providers.http import BodyKind, ProviderHttp, safe_url
from iptvsync.providers.m3u.entries import EpisodeEntry, M3uRecord, identity_key, to_record
from iptvsync.providers.m3u.index import READ_CHUNK, SNIFF_BYTES, Index, build_index
from iptvsync.providers.m3u.parse import EntryReader, M3uEntry, M3uHeader, sniff_error
from iptvsync.providers.options import M3uOptions, checked
from iptvsync.providers.pages import PageBuilder
from iptvsync.providers.send import Retry, RetryPolicy, retry_after_seconds, sending
from iptvsync.providers.spool import new_spool
from iptvsync.providers.xmltv import iter_programmes
from iptvsync.records import (
    AccountInfo,
    CategoryRecord,
    ChannelRecord,
    EpisodeRecord,
    Kind,
    MovieRecord,
    Page,
    ProbeResult,
    ProgrammeRecord,
    Scope,
    SeasonRecord,
    WalkResult,
)
from iptvsync.settings import Settings

PAGE_SIZE = 1000
DEFAULT_USER_AGENT = "VLC/3.0.18 LibVLC/3.0.18"


def _status_error(status: int) -> ProviderError:
    if status == 401:
        return ProviderAuthFailed("the playlist URL refused the credentials (HTTP 401)")
    if status in (403, 429):
        return ProviderBanned(f"the playlist URL refused access (HTTP {status})")
    if status >= 500:
        return ProviderUnreachable(f"the playlist server failed (HTTP {status})")
    if status == 404:
        # XC panels answer 404 for bad credentials too (docs/providers.md §1.2): say both.
        return ProviderBadResponse("the playlist URL answered 404 (wrong URL or credentials)")
    return ProviderBadResponse(f"the playlist URL answered HTTP {status}")


def _sniff(head: bytes, what: str) -> ProviderError | None:
    """Error pages served with 200. A guide legitimately starts with ``<``: only an HTML or
    JSON page is an error there (anything else is judged by the XMLTV parser)."""
    if what == "guide URL":
        start = head.lstrip().lstrip(b"\xef\xbb\xbf").lstrip()[:15].lower()
        if not start.startswith((b"<!doctype html", b"<html", b"{", b"[")):
            return None
    return sniff_error(head, what)


def _local_path(url: str) -> Path | None:
    parts = urlsplit(url)
    if parts.scheme == "file":
        return Path(unquote(parts.path))
    if not parts.scheme and url.startswith(("/", "./")):
        return Path(url)
    return None


def _unlink(path: Path) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


def _open_regular(path: Path) -> Any:
    """Open ``path`` for reading if it is a regular file. Non-blocking open: a FIFO must not
    hang the server; anything but a regular file is refused."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise IsADirectoryError(0, "not a regular file")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


async def _read_file(path: Path) -> AsyncGenerator[bytes, None]:
    """The file's bytes, read in a worker thread (a slow disk never blocks the event loop)."""
    try:
        handle = await asyncio.to_thread(_open_regular, path)
    except IsADirectoryError as exc:
        raise ProviderUnreachable(f"cannot read {path.name}: not a regular file") from exc
    except OSError as exc:
        raise ProviderUnreachable(f"cannot read {path.name}: {exc.strerror}") from exc
    try:
        while chunk := await asyncio.to_thread(handle.read, READ_CHUNK):
            yield chunk
    finally:
        handle.close()


class M3uClient:
    """``ProviderClient`` for M3U playlists with an XMLTV guide."""

    whole_lists = True

    concurrent_scopes = False

    def __init__(
        self,
        config: ProviderConfig,
        http: ProviderHttp,
        *,
        settings: Settings | None = None,
        budget: PolitenessBudget | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        options = checked(M3uOptions, config.options)
        self._http = http
        self._url = config.url.strip()
        self._epg_url = config.epg_url
        self._user_agent = options.user_agent or DEFAULT_USER_AGENT
        timeout = options.request_timeout_s or 60.0
        if settings is not None:
            timeout = max(timeout, settings.request_timeout_s)
        self._timeout = timeout  # per read; the request's deadline is the HTTP layer's
        self._retries = (options.max_attempts or 4) - 1
        self._cache_s = options.playlist_cache_s
        self._budget = budget or PolitenessBudget(BudgetConfig(start=2, cap=2))
        self._clock = clock
        # Credentials that XC-derived playlists put in stream paths: kept out of identity keys.
        query = dict(parse_qsl(urlsplit(self._url).query))
        self._secrets = tuple(
            s
            for s in (
                config.username,
                config.password,
                query.get("username"),
                query.get("password"),
            )
            if s
        )
        self._requests = 0
        #: The categories and the walk items of every kind, read in one pass (``m3u/index.py``).
        self._index: Index | None = None
        self._spool: Path | None = None
        self._spool_finalizer: weakref.finalize[..., Any] | None = None
        self._fetched_at = 0.0
        #: The playlist came from a private address (or a local file): its content may point
        #: into private space too. A public playlist's guide URL may not.
        self._source_private = False
        self._lock = asyncio.Lock()
        self.header: M3uHeader | None = None
        #: What the last full parse dropped: ``orphans`` (#EXTINF without URL), ``junk`` lines.
        self.parse_stats: dict[str, int] = {}

    def __repr__(self) -> str:
        return f"M3uClient(url={safe_url(self._url)!r})"

    @property
    def requests(self) -> int:
        return self._requests

    # -- transport ----------------------------------------------------------------------------

    @asynccontextmanager
    async def _open(
        self,
        url: str,
        what: str = "playlist URL",
        *,
        kind: BodyKind = BodyKind.PLAYLIST,
        allow_private: bool = True,
    ) -> AsyncIterator[AsyncIterator[bytes]]:
        """GET through ``send``'s retries (429 with its ``Retry-After``, 5xx, network) until the
        body starts; the first 32 KB are sniffed for an error page served with 200
        (docs/providers.md §2.6)."""

        @asynccontextmanager
        async def attempt(slot: Slot) -> AsyncIterator[AsyncIterator[bytes]]:
            self._requests += 1
            async with self._http.stream(
                url,
                kind=kind,
                headers={"User-Agent": self._user_agent, "Accept": "*/*"},
                read_timeout=self._timeout,
                allow_private=allow_private,
            ) as response:
                status = response.status_code
                if status != 200:
                    error = _status_error(status)
                    if status == 429:
                        slot.record(Outcome.THROTTLED)
                        after = retry_after_seconds(response.headers.get("Retry-After"))
                        raise Retry(error, retry_after=after, attempts=max(8, self._retries + 1))
                    if status >= 500:
                        slot.record(Outcome.SERVER_ERROR)
                        raise Retry(error)
                    slot.record(Outcome.NEUTRAL)
                    raise error
                if kind is BodyKind.PLAYLIST:
                    self._source_private = response.peer_private
                chunks = response.iter_chunks()
                head = b""
                async for chunk in chunks:
                    head += chunk
                    if len(head) >= SNIFF_BYTES:
                        break
                sniffed = _sniff(head, what)
                if sniffed is not None:
                    slot.record(Outcome.NEUTRAL)
                    raise sniffed
                slot.record(Outcome.OK)
                yield _prepend(head, chunks)

        opener: Any = attempt
        async with sending(
            self._budget, opener, policy=RetryPolicy(attempts=self._retries + 1)
        ) as chunks:
            yield chunks

    async def _playlist(self) -> Path:
        """The playlist on local disk, downloaded at most once per ``playlist_cache_s``."""
        local = _local_path(self._url)
        if local is not None:
            self._source_private = True  # the operator's own file
            return local
        async with self._lock:
            if self._spool is not None and self._clock() - self._fetched_at < self._cache_s:
                return self._spool
            fd, path = new_spool("iptvsync-m3u-", ".m3u")
            try:  # at most the playlist size limit reaches the disk (the HTTP layer counts)
                with os.fdopen(fd, "wb") as out:
                    async with self._open(self._url) as chunks:
                        async for chunk in chunks:
                            await asyncio.to_thread(out.write, chunk)
            except BaseException:
                _unlink(path)
                raise
            self._drop_spool()
            self._spool, self._fetched_at = path, self._clock()
            # Deleted by ``aclose``, or when the client is collected or the process exits: a
            # client nobody closed must not leave a playlist-sized file behind.
            self._spool_finalizer = weakref.finalize(self, _unlink, path)
            return path

    def _drop_spool(self) -> None:
        if self._spool_finalizer is not None:
            self._spool_finalizer()  # deletes the file, once
        self._spool = self._spool_finalizer = None

    async def entries(self) -> AsyncGenerator[M3uEntry, None]:
        """Every entry of the playlist, streamed from disk."""
        path = await self._playlist()
        reader = EntryReader()
        async with aclosing(_read_file(path)) as chunks:
            first = True
            async for chunk in chunks:
                if first:
                    first = False
                    sniffed = sniff_error(chunk[:SNIFF_BYTES])
                    if sniffed is not None:
                        raise sniffed
                entries = reader.feed(chunk)
                if self.header is None and reader.parser.header is not None:
                    self.header = reader.parser.header
                for entry in entries:
                    yield entry
            for entry in reader.close():
                yield entry
        reader.parser.close()  # raises when the file was no playlist at all
        self.header = reader.parser.header or M3uHeader()
        self.parse_stats = reader.stats

    async def records(self) -> AsyncGenerator[M3uRecord, None]:
        async with aclosing(self.entries()) as entries:
            async for entry in entries:
                yield to_record(entry, self._secrets)

    # -- ProviderClient -----------------------------------------------------------------------

    async def probe(self) -> ProbeResult:
        channels: set[str] = set()
        movies: set[str] = set()
        series: set[str] = set()
        async with aclosing(self.records()) as records:
            async for record in records:
                if isinstance(record, ChannelRecord):
                    channels.add(record.provider_item_id)
                elif isinstance(record, MovieRecord):
                    movies.add(record.provider_item_id)
                else:
                    series.add(record.series.provider_item_id)
        return ProbeResult(
            family="m3u",
            endpoint=safe_url(self._url) if _local_path(self._url) is None else "file",
            page_size=None,
            account=AccountInfo(status="unknown"),
            counts={"channels": len(channels), "movies": len(movies), "series": len(series)},
        )

    async def categories(self, kind: Kind) -> list[CategoryRecord]:
        """Group titles (``group-title`` or ``#EXTGRP``) of the entries of ``kind``, from the
        playlist's index (one pass for the categories and the walks of every kind)."""
        return list((await self._indexed()).categories[Kind(kind)])

    async def _indexed(self) -> Index:
        """The index of the playlist file as it is now (``m3u/index.py``): built by one pass
        over it, and kept while the file is the same (path, mtime, size)."""
        path = await self._playlist()
        stat = path.stat()
        stamp = (str(path), stat.st_mtime_ns, stat.st_size)
        if self._index is not None and self._index.stamp == stamp:
            return self._index
        self._drop_index()
        self._index = await build_index(path, stamp, self._secrets, read=_read_file)
        self.header = M3uHeader(self._index.header or {})
        self.parse_stats = dict(self._index.stats)
        return self._index

    def _drop_index(self) -> None:
        if self._index is not None:
            self._index.drop()
            self._index = None

    async def walk(
        self,
        scope: Scope,
        on_page: PageHandler,
        *,
        newest_first: bool = False,
        page_cap: int | None = None,
    ) -> WalkResult:
        """The playlist's items of ``scope``, replayed from its index. CHANNELS → stream
        ``live`` (radio flagged); VOD → streams ``vod`` (movies) and ``series`` (series grouped
        from episode entries).

        As for Xtream, ``newest_first`` and ``page_cap`` are ignored (a playlist is one whole,
        unsorted list) and a handler returning False stops its stream, making the walk
        incomplete. Entries sharing an identity key are merged, categories unioned.
        """
        scope = Scope(scope)
        index = await self._indexed()
        names = ("live",) if scope is Scope.CHANNELS else ("vod", "series")
        result = WalkResult(complete=True)
        for name in names:
            builder = PageBuilder(name, PAGE_SIZE)
            stopped = False
            for chunk in index.chunks(name):
                for item in chunk:
                    page = builder.add(item)
                    if page is not None and not await _hand_on(page, on_page, result):
                        stopped = True
                        break
                if stopped:
                    break
                await asyncio.sleep(0)  # a cancel lands between chunks at the latest
            if not stopped:
                for page in builder.finish():
                    if not await _hand_on(page, on_page, result):
                        stopped = True
                        break
            if stopped:
                result.complete = False
                result.stop_reason = "early_termination"
            elif len(builder.dedupe) == 0:
                result.warnings.append(f"{name}: the playlist has no such entries")
        if result.complete:
            if index.stats.get("orphans"):
                result.warnings.append(
                    f"{index.stats['orphans']} #EXTINF lines without a URL were dropped"
                )
            if index.stats.get("junk"):
                result.warnings.append(f"{index.stats['junk']} unreadable lines were skipped")
        return result

    async def series_detail(self, series_provider_id: str) -> list[SeasonRecord]:
        """The series' episodes, grouped by season from the playlist (one pass over it)."""
        seasons: dict[int, dict[str, EpisodeRecord]] = {}
        async with aclosing(self.records()) as records:
            async for record in records:
                if (
                    isinstance(record, EpisodeEntry)
                    and record.series.provider_item_id == series_provider_id
                ):
                    episode = record.episode
                    seasons.setdefault(episode.season, {}).setdefault(
                        episode.provider_item_id, episode
                    )
        return [
            SeasonRecord(
                number=number,
                name=f"Season {number}",
                episodes=tuple(
                    sorted(seasons[number].values(), key=lambda e: (e.number, e.provider_item_id))
                ),
            )
            for number in sorted(seasons)
        ]

    async def resolve_play(self, target: PlayTarget) -> str:
        """The entry's own URL (stored as ``cmd``), or found again in the playlist by id.
        Kodi's ``|Header=...`` suffix is not part of a URL and is dropped."""
        url = target.cmd
        if not url:
            async with aclosing(self.entries()) as entries:
                async for entry in entries:
                    if identity_key(entry, self._secrets) == target.provider_item_id:
                        url = entry.url
                        break
        if not url:
            raise ProviderBadResponse("the playlist no longer has this entry")
        return url.split("|", 1)[0].strip()

    def guide(self, offload: GuideOffload | None = None) -> AsyncIterator[ProgrammeRecord] | None:
        """The provider's ``epg_url``, else the playlist header's ``x-tvg-url``/``url-tvg``
        (the first one). None when the playlist is known to name no guide. Parsed here:
        ``offload`` is not used."""
        if not self._epg_url and self.header is not None and not self.header.guide_urls:
            return None
        return self._guide()

    async def _guide(self) -> AsyncGenerator[ProgrammeRecord, None]:
        url = self._epg_url
        allow_private = True  # the operator's own guide URL may be a file or a LAN host
        if url:
            local = _local_path(url)
            if local is not None:
                async with aclosing(iter_programmes(_read_file(local))) as programmes:
                    async for programme in programmes:
                        yield programme
                return
        else:
            if self.header is None:
                async with aclosing(self.entries()) as entries:
                    async for _entry in entries:
                        break  # the header is read with the first lines
            urls = self.header.guide_urls if self.header else []
            if not urls:
                return
            url, allow_private = self._content_url(urls[0]), self._source_private
        opened = self._open(url, "guide URL", kind=BodyKind.GUIDE, allow_private=allow_private)
        async with (
            opened as chunks,
            aclosing(iter_programmes(chunks)) as programmes,
        ):
            async for programme in programmes:
                yield programme

    def _content_url(self, url: str) -> str:
        """A URL named by the playlist itself: relative to a remote playlist's URL, and
        http(s) only (never ``file:``, never a path on this server)."""
        base = self._url if _local_path(self._url) is None else ""
        absolute = urljoin(base, url.strip()) if base else url.strip()
        check_scheme(urlsplit(absolute).scheme)
        return absolute

    async def aclose(self) -> None:
        """Delete the downloaded playlist and its index."""
        self._drop_index()
        self._drop_spool()


async def _hand_on(page: Page, on_page: PageHandler, result: WalkResult) -> bool:
    result.pages += 1
    result.items += len(page.records)
    return await on_page(page)


async def _prepend(head: bytes, chunks: AsyncIterator[bytes]) -> AsyncGenerator[bytes, None]:
    if head:
        yield head
    async for chunk in chunks:
        yield chunk
