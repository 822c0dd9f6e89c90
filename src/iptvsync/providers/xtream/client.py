"""Xtream Codes client: the I/O around ``account.py`` and ``parse.py``.

Lists come whole in one response (tens of MB for a big line, ~135 MB for the default large
account), so they are never buffered: the response body is pushed chunk by chunk into ijson's push
parser and rows are handed on in pages of ``PAGE_SIZE``. Memory stays flat with list size.

Politeness (docs/providers.md §1.1): panels tarpit or ban floods, so requests go through a
``PolitenessBudget`` capped at 4 in flight, with long timeouts (60 s), retries with jittered
back-off on 429 / 5xx / empty bodies / "Too many connections", and no retry on a bad login.
Credentials travel in the query string of API calls and in the path of play URLs only; messages
and reprs never carry them.
"""

from __future__ import annotations

import codecs
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from contextlib import aclosing, asynccontextmanager
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

import ijson
import orjson

from iptvsync.errors import GuideMissing, ProviderAuthFailed, ProviderBadResponse, ProviderError
from iptvsync.numbers import ascii_int
from iptvsync.providers.base import GuideOffload, PageHandler, PlayTarget, ProviderConfig
from iptvsync.providers.budget import BudgetConfig, Outcome, PolitenessBudget, Slot
from iptvsync.providers.http import BodyKind, ProviderHttp
from iptvsync.providers.options import XtreamOptions, checked
from iptvsync.providers.pages import ListRecord, PageBuilder
from iptvsync.providers.send import Retry, RetryPolicy, retry_after_seconds, sending
from iptvsync.providers.xmltv import iter_programmes
from iptvsync.providers.xtream.account import (
    STREAM_PREFIX,
    XtreamLogin,
    check_auth_object,
    classify_failure,
    is_transient,
    normalise_base_url,
    parse_login,
    strip_bom,
)
from iptvsync.providers.xtream.parse import (
    parse_categories,
    parse_live_row,
    parse_series_info,
    parse_series_row,
    parse_short_epg,
    parse_vod_info,
    parse_vod_row,
)
from iptvsync.records import (
    CategoryRecord,
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
DEFAULT_USER_AGENT = "VLC/3.0.18 LibVLC/3.0.18"  # IPTVnator's default; gets past most WAFs
#: Attempts for a request answered 429: a rate-limited panel is healthy, only busy.
_THROTTLED_ATTEMPTS = 8
MAX_SMALL_BODY = 64 << 20
#: One row of a list (or one value of an object-of-rows list) beyond this is hostile: ijson
#: builds each row whole, so an endless JSON object would otherwise fill memory.
MAX_ROW_BYTES = 4 << 20  # login, categories, series info: read whole, but never unbounded
SNIFF_BYTES = 32_768

_CATEGORY_ACTIONS = {
    Kind.CHANNEL: "get_live_categories",
    Kind.MOVIE: "get_vod_categories",
    Kind.SERIES: "get_series_categories",
}

# (stream name, action, row parser) per scope; CHANNELS includes radio (§1.4).
_STREAMS: dict[Scope, tuple[tuple[str, str, Callable[[Any], ListRecord | None]], ...]] = {
    Scope.CHANNELS: (("live", "get_live_streams", parse_live_row),),
    Scope.VOD: (
        ("vod", "get_vod_streams", parse_vod_row),
        ("series", "get_series", parse_series_row),
    ),
}


def _outcome(status: int, error: ProviderError) -> Outcome:
    if status == 429:
        return Outcome.THROTTLED
    if status >= 500 or isinstance(error, ProviderBadResponse):
        return Outcome.SERVER_ERROR
    return Outcome.NEUTRAL


async def _head(chunks: AsyncIterator[bytes]) -> bytes:
    """Read until the first significant byte (after a BOM and whitespace) or the end."""
    head = b""
    async for chunk in chunks:
        head += chunk
        stripped = strip_bom(head)
        if stripped and not (len(stripped) < 3 and b"\xef\xbb\xbf".startswith(stripped)):
            return stripped
        if len(head) > SNIFF_BYTES:
            return stripped
    return strip_bom(head)


async def _read_upto(chunks: AsyncIterator[bytes], limit: int) -> bytes:
    out = bytearray()
    async for chunk in chunks:
        out += chunk
        if len(out) > limit:
            raise ProviderBadResponse(f"response larger than {limit >> 20} MiB")
    return bytes(out)


class _Utf8Repair:
    """Incremental lenient UTF-8: Latin-1 bytes inside JSON strings become U+FFFD (§1.2 item 5)
    instead of failing the whole list. Pure-ASCII chunks pass untouched."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")

    def __call__(self, data: bytes, final: bool = False) -> bytes:
        if data.isascii() and not self._decoder.getstate()[0]:
            return data
        return self._decoder.decode(data, final).encode("utf-8")


class _ArraySplitter:
    """Cuts a streamed JSON array into runs of whole elements, each parsed by orjson.

    ijson costs ~60 ns a byte in C; orjson ~2. Panels send compact arrays of objects
    (``[{...},{...}]``), so the last ``},{`` of the buffer is tried as a cut: the text before
    it parses as ``[...]`` only when that ``},{`` sits between two top-level elements (inside a
    string or a nested value the prefix is unbalanced and orjson refuses it), and then the
    rest starts with a whole element. When no cut is found in ``MAX_PENDING`` bytes (not an
    array of objects, or pretty-printed), the caller goes on with ijson from ``pending``.
    """

    MAX_PENDING = 8 << 20
    TRIES = 8

    def __init__(self) -> None:
        self.pending = b""

    def feed(self, data: bytes) -> list[Any] | None:
        """Whole elements now complete; None when this input needs ijson after all."""
        buf = self.pending + data
        cut = buf.rfind(b"},{")
        for _ in range(self.TRIES):
            if cut < 0:
                break
            try:
                items = orjson.loads(b"[" + buf[: cut + 1] + b"]")
            except orjson.JSONDecodeError:
                cut = buf.rfind(b"},{", 0, cut)
                continue
            self.pending = buf[cut + 2 :]
            return items
        self.pending = buf
        return None if len(buf) > self.MAX_PENDING else []

    def close(self) -> list[Any]:
        """The last elements (``pending`` holds ``...]``); raises orjson's error if malformed."""
        return orjson.loads(b"[" + self.pending)


async def _array_items(
    action: str, head: bytes, chunks: AsyncIterator[bytes]
) -> AsyncGenerator[Any, None]:
    """The elements of a JSON array (``head`` starts it), parsed by ``_ArraySplitter``, or by
    ijson from the point where the splitter gives up."""
    repair = _Utf8Repair()
    splitter = _ArraySplitter()
    try:
        items = splitter.feed(repair(head).lstrip()[1:])  # past the "["
        while items is not None:
            for item in items:
                yield item
            chunk = await anext(chunks, None)
            if chunk is None:  # the end: what is pending is the last elements and "]"
                splitter.pending += repair(b"", final=True)
                for item in splitter.close():
                    yield item
                return
            items = splitter.feed(repair(chunk))
    except orjson.JSONDecodeError as exc:
        raise ProviderBadResponse(f"{action}: truncated or malformed JSON list ({exc})") from exc
    # No cut in megabytes: not a compact array of objects. ijson takes over from here.
    sink = ijson.sendable_list()
    parser = ijson.items_coro(sink, "item", use_float=True)
    async for batch in _through_ijson(
        action, parser, sink, b"[" + splitter.pending, chunks, repair
    ):
        for item in batch:
            yield item


async def _through_ijson(
    action: str,
    parser: Any,
    sink: list[Any],
    first: bytes,
    chunks: AsyncIterator[bytes],
    repair: _Utf8Repair,
) -> AsyncGenerator[list[Any], None]:
    """Push ``first``, then the repaired ``chunks``, into an ijson push ``parser``; yield what
    its ``sink`` collected along the way (a list each time, the sink emptied)."""

    def take() -> list[Any]:
        items = list(sink)
        del sink[:]
        return items

    since = len(first)  # bytes fed since the last whole row: one row is never endless
    try:
        parser.send(first)
        async for chunk in chunks:
            if sink:
                since = 0
                yield take()
            data = repair(chunk)
            if data:  # ijson reads an empty send as the end of the input
                parser.send(data)
                since += len(data)
                if not sink and since > MAX_ROW_BYTES:
                    raise ProviderBadResponse(
                        f"{action}: response too large (one row over {MAX_ROW_BYTES >> 20} MiB)"
                    )
        tail = repair(b"", final=True)
        if tail:
            parser.send(tail)
        parser.close()
    except ijson.JSONError as exc:
        raise ProviderBadResponse(
            f"{action}: truncated or malformed JSON list ({str(exc)[:80]})"
        ) from exc
    if sink:
        yield take()


class XtreamClient:
    """``ProviderClient`` for Xtream Codes panels (XC 2.x and XUI.one / XC_VM families)."""

    whole_lists = True

    concurrent_scopes = False

    def __init__(
        self,
        config: ProviderConfig,
        http: ProviderHttp,
        *,
        settings: Settings | None = None,
        budget: PolitenessBudget | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        options = checked(XtreamOptions, config.options)
        self._http = http
        self._base = normalise_base_url(config.url)
        self._username = config.username or ""
        self._password = config.password or ""
        self._epg_url = config.epg_url
        self._user_agent = options.user_agent or DEFAULT_USER_AGENT
        timeout = options.request_timeout_s or 60.0
        if settings is not None:
            timeout = max(timeout, settings.request_timeout_s)
        self._timeout = timeout  # per read; the request's deadline is the HTTP layer's
        self._retries = (options.max_attempts or 4) - 1
        self._probe_counts = options.probe_counts
        self._guide_mode = options.guide
        self._live_extension = options.live_extension
        cap = options.max_concurrency or 4
        self._budget = budget or PolitenessBudget(
            BudgetConfig(start=min(2, cap), cap=cap, max_rps=options.max_rps)
        )
        self._clock = clock
        self._requests = 0
        self.login: XtreamLogin | None = None

    def __repr__(self) -> str:
        return f"XtreamClient(base={self._base!r})"

    @property
    def requests(self) -> int:
        return self._requests

    # -- transport ----------------------------------------------------------------------------

    def _params(self, action: str | None, extra: dict[str, Any]) -> dict[str, str]:
        params = {"username": self._username, "password": self._password}
        if action:
            params["action"] = action
        params.update({k: str(v) for k, v in extra.items()})
        return params

    @asynccontextmanager
    async def _open(
        self,
        url: str,
        params: dict[str, str],
        *,
        json: bool = True,
        kind: BodyKind = BodyKind.PAGE,
    ) -> AsyncIterator[tuple[bytes, AsyncIterator[bytes]]]:
        """One request through ``send``'s retries, until its body starts looking right.

        Yields (the first significant bytes, the rest of the body). A JSON body must start
        with ``[`` or ``{`` after a BOM/whitespace; anything else is classified (§1.2 failure
        shapes) and retried when transient; a 429 honours ``Retry-After``. Once bytes have
        been handed on, nothing is retried.
        """
        target = f"{url}?{urlencode(params)}" if params else url

        @asynccontextmanager
        async def attempt(slot: Slot) -> AsyncIterator[tuple[bytes, AsyncIterator[bytes]]]:
            self._requests += 1
            async with self._http.stream(
                target,
                kind=kind,
                headers={"User-Agent": self._user_agent, "Accept": "*/*"},
                read_timeout=self._timeout,
            ) as response:
                chunks = response.iter_chunks()
                head = await _head(chunks)
                status = response.status_code
                ok = status == 200 and (head[:1] in (b"[", b"{") if json else bool(head))
                if ok:
                    slot.record(Outcome.OK)
                    yield head, chunks
                    return
                body = head + await _read_upto(chunks, SNIFF_BYTES)
                error = classify_failure(status, body)
                slot.record(_outcome(status, error))
                if not is_transient(error, status):
                    raise error
                if status == 429:  # a rate limit: wait as told, and longer than for a 5xx
                    raise Retry(
                        error,
                        retry_after=retry_after_seconds(response.headers.get("Retry-After")),
                        attempts=max(_THROTTLED_ATTEMPTS, self._retries + 1),
                    )
                raise Retry(error)

        opener: Any = attempt  # a context-manager factory, as ``sending`` takes
        async with sending(
            self._budget, opener, policy=RetryPolicy(attempts=self._retries + 1)
        ) as opened:
            yield opened

    async def _get_json(self, action: str | None = None, **extra: Any) -> Any:
        url = f"{self._base}/player_api.php"
        async with self._open(url, self._params(action, extra)) as (head, chunks):
            body = head + await _read_upto(chunks, MAX_SMALL_BODY)
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            pass
        try:  # Latin-1 bytes inside strings (§1.2 item 5): decode leniently and retry
            return orjson.loads(body.decode("utf-8", errors="replace"))
        except orjson.JSONDecodeError as exc:
            raise ProviderBadResponse(f"malformed JSON from {action or 'login'}") from exc

    async def _rows(self, action: str, prefix: str = "item") -> AsyncGenerator[Any, None]:
        """Stream the elements of a list action's JSON array (or object of rows): compact arrays
        of objects (what panels send) cut into runs of whole elements for orjson, anything else
        through ijson. Memory stays flat either way."""
        url = f"{self._base}/player_api.php"
        params = self._params(action, {})
        async with self._open(url, params, kind=BodyKind.LIST) as (head, chunks):
            if prefix == "item" and head.lstrip()[:1] == b"[":
                async for item in _array_items(action, head, chunks):
                    yield item
                return
            sink = ijson.sendable_list()
            as_object = head[:1] == b"{"
            parser = (
                ijson.kvitems_coro(sink, "", use_float=True)
                if as_object
                else ijson.items_coro(sink, prefix, use_float=True)
            )
            repair = _Utf8Repair()
            async for batch in _through_ijson(action, parser, sink, repair(head), chunks, repair):
                for item in self._unwrap(batch, as_object):
                    yield item

    @staticmethod
    def _unwrap(items: list[Any], as_object: bool) -> list[Any]:
        if not as_object:
            return items
        out = []
        for key, value in items:
            if key == "user_info":
                # A list action answered with the login object: auth 0 (or a confused panel).
                check_auth_object({"user_info": value})
                raise ProviderBadResponse("list action answered with the login payload")
            if isinstance(value, dict):  # a PHP array with gaps in its keys
                out.append(value)
        return out

    # -- ProviderClient -----------------------------------------------------------------------

    async def authenticate(self) -> XtreamLogin:
        """Log in (once per client) and check the account: raises the typed refusal."""
        payload = await self._get_json(None)
        self.login = parse_login(payload, now=self._clock())
        return self.login

    async def _ensure_login(self) -> XtreamLogin:
        return self.login or await self.authenticate()

    async def probe(self) -> ProbeResult:
        login = await self.authenticate()
        counts: dict[str, int | None] = {"channels": None, "movies": None, "series": None}
        if self._probe_counts:
            # The API has no totals: count unique ids while streaming the lists (no rows built).
            for key, action, field in (
                ("channels", "get_live_streams", "stream_id"),
                ("movies", "get_vod_streams", "stream_id"),
                ("series", "get_series", "series_id"),
            ):
                counts[key] = await self._count(action, field)
        return ProbeResult(
            family=login.family,
            endpoint=self._base,
            page_size=None,
            account=login.account,
            counts=counts,
            version=login.version,
        )

    async def _count(self, action: str, field: str) -> int:
        seen: set[int | str] = set()
        async with aclosing(self._rows(action, prefix=f"item.{field}")) as values:
            async for value in values:
                if isinstance(value, dict):  # object-of-rows panels: whole rows come back
                    value = value.get(field)
                if value is None or isinstance(value, (dict, list)):
                    continue
                text = str(value).strip()
                if text:
                    number = ascii_int(text, 40)
                    seen.add(text if number is None else number)
        return len(seen)

    async def categories(self, kind: Kind) -> list[CategoryRecord]:
        await self._ensure_login()
        payload = await self._get_json(_CATEGORY_ACTIONS[Kind(kind)])
        return parse_categories(payload, Kind(kind))

    async def walk(
        self,
        scope: Scope,
        on_page: PageHandler,
        *,
        newest_first: bool = False,
        page_cap: int | None = None,
    ) -> WalkResult:
        """Walk a scope: one streamed list per stream, pages of ``PAGE_SIZE`` records.

        ``newest_first`` and ``page_cap`` are ignored: the panel sends each list whole and
        unsorted, so every walk reads it to the end and is complete (docs/sync.md §5);
        capping would only discard rows already downloaded. A handler returning False stops
        that stream, and the walk is then incomplete. Duplicate rows are merged by id; a
        record may come again in a later page with more ``category_ids`` (upsert: last wins).
        The last page of each stream carries ``total_pages`` and ``total_items``.
        """
        await self._ensure_login()
        result = WalkResult(complete=True)
        for stream, action, parse in _STREAMS[Scope(scope)]:
            pages = PageBuilder(stream, PAGE_SIZE)
            skipped = 0
            stopped = False
            async with aclosing(self._rows(action)) as rows:
                async for row in rows:
                    record = parse(row)
                    if record is None:
                        skipped += 1
                        continue
                    page = pages.add(record)
                    if page is not None and not await _hand_on(page, on_page, result):
                        stopped = True
                        break
            if not stopped:
                for page in pages.finish():
                    if not await _hand_on(page, on_page, result):
                        stopped = True
                        break
            if stopped:
                result.complete = False
                result.stop_reason = "early_termination"
            if skipped:
                result.warnings.append(f"{stream}: {skipped} rows without an id were skipped")
            if len(pages.dedupe) == 0 and not stopped:
                result.warnings.append(f"{stream}: the provider returned an empty list")
        return result

    async def series_detail(self, series_provider_id: str) -> list[SeasonRecord]:
        await self._ensure_login()
        return parse_series_info(
            await self._get_json("get_series_info", series_id=series_provider_id)
        )

    async def movie_detail(self, movie_provider_id: str) -> MovieRecord | None:
        """``get_vod_info`` → a MovieRecord with description, cast, duration (not in the lists)."""
        await self._ensure_login()
        payload = await self._get_json("get_vod_info", vod_id=movie_provider_id)
        fallback = MovieRecord(provider_item_id=str(movie_provider_id), name="")
        record = parse_vod_info(payload, fallback)
        return record if record is not None and record.name else None

    async def resolve_play(self, target: PlayTarget) -> str:
        """``/live|movie|series/U/P/<id>.<ext>`` (§1.7). No request: the panel answers the URL
        itself with a 302 to a tokenised host, which the player follows."""
        prefix = STREAM_PREFIX.get(target.kind)
        if prefix is None:
            raise ProviderBadResponse(f"cannot play a {target.kind!r}")
        item = str(target.provider_item_id).strip()
        if ascii_int(item, 40) is None:
            raise ProviderBadResponse("Xtream play ids are numeric")
        if target.kind == "channel":
            ext = target.extension or self._live_extension
            if not ext:
                ext = self.login.live_extension if self.login else "ts"
        else:
            ext = target.extension or "mp4"
        user = quote(self._username, safe="@.-_~")
        password = quote(self._password, safe="@.-_~")
        return f"{self._base}/{prefix}/{user}/{password}/{item}.{ext}"

    def guide(self, offload: GuideOffload | None = None) -> AsyncIterator[ProgrammeRecord] | None:
        """``xmltv.php`` (or the provider's ``epg_url``) as a stream of programmes (parsed
        here: ``offload`` is not used)."""
        if self._guide_mode == "none":
            return None
        return self._guide()

    async def _guide(self) -> AsyncGenerator[ProgrammeRecord, None]:
        if self._epg_url:
            url, params = self._epg_url, {}
        else:
            url, params = f"{self._base}/xmltv.php", self._params(None, {})
        try:
            async with (
                self._open(url, params, json=False, kind=BodyKind.GUIDE) as (head, chunks),
                aclosing(iter_programmes(_prepend(head, chunks))) as programmes,
            ):
                async for programme in programmes:
                    yield programme
        except ProviderAuthFailed as exc:
            # The login worked a moment ago: a 404 here means the panel has no guide at all,
            # not bad credentials (issue 16, point 7).
            if exc.detail.get("http_status") != 404 or self._epg_url:
                raise
            raise GuideMissing("the panel has no guide", detail={"http_status": 404}) from None

    async def short_epg(self, stream_id: str, limit: int = 4) -> list[ProgrammeRecord]:
        """``get_short_epg`` for one channel (base64 text, UTC epochs)."""
        payload = await self._get_json("get_short_epg", stream_id=stream_id, limit=limit)
        return parse_short_epg(payload, stream_id)

    async def aclose(self) -> None:
        """Nothing to release: the HTTP layer is injected and owned by the caller."""


async def _hand_on(page: Page, on_page: PageHandler, result: WalkResult) -> bool:
    result.pages += 1
    result.items += len(page.records)
    return await on_page(page)


async def _prepend(head: bytes, chunks: AsyncIterator[bytes]) -> AsyncGenerator[bytes, None]:
    yield head
    async for chunk in chunks:
        yield chunk
