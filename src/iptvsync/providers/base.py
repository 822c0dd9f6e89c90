"""The one small interface every provider client offers to the sync engine and the API.

A client is built from a provider's settings and an injected ``ProviderHttp``
(``providers/http.py``); session and token state live in the client object. The engine never
sees protocol details: it asks for categories, walks a scope page by page (the client decides
how: Stalker pages concurrently within its politeness budget, Xtream/M3U parse one whole list as
a stream), and resolves play links at play time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from iptvsync.records import (
    CategoryRecord,
    Kind,
    Page,
    ProbeResult,
    ProgrammeRecord,
    Scope,
    SeasonRecord,
    WalkResult,
)

# Called by the client for every page, in order within a stream. Returns False to stop that
# stream (incremental sync: "this page brought nothing new"). Raising stops the whole walk.
PageHandler = Callable[[Page], Awaitable[bool]]


@dataclass(slots=True)
class PlayTarget:
    """What the engine stored about an item and what play needs to resolve a link."""

    kind: str  # "channel" | "movie" | "episode"
    provider_item_id: str
    cmd: str | None = None
    extension: str | None = None
    series_provider_id: str | None = None
    season: int | None = None
    episode: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class ProviderConfig:
    """Everything needed to build a client. Secrets stay in here and never reach a log."""

    kind: str  # "stalker" | "xtream" | "m3u"
    url: str
    mac: str | None = None
    username: str | None = None
    password: str | None = None
    epg_url: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    #: What an earlier session learned of where the provider answers (Stalker: the API
    #: endpoint discovery found, ``providers.endpoint``); None: find it.
    endpoint: dict[str, Any] | None = None

    def __repr__(self) -> str:  # secrets hidden in reprs (docs/contributing.md §4)
        return f"ProviderConfig(kind={self.kind!r}, url={self.url!r})"


class GuideOffload(Protocol):
    """Where a guide's raw answer may be decoded and stored instead of in the client's
    process: the sync's write process (``sync/guide_sink.py``). ``start`` gets the client's
    decoder (a picklable push parser with ``feed(bytes)`` and ``close()``, see
    ``providers/stalker/guide_split.GuideDecoder``) and says whether it took it; ``finish``
    answers the decoder's ``(seen, broken)``: the channels the answer held, and the
    programmes dropped for broken times."""

    async def start(self, decoder: Any) -> bool: ...

    async def feed(self, data: bytes) -> None: ...

    async def finish(self) -> tuple[int, int]: ...


class ProviderClient(Protocol):
    #: True when a provider sends each list whole (Xtream, M3U): every walk is complete.
    whole_lists: bool
    #: True when its channel and VOD walks may run at once, sharing its politeness budget
    #: (Stalker: the VOD walk's start no longer waits for the channels, docs/sync.md).
    concurrent_scopes: bool

    @property
    def requests(self) -> int:
        """Requests sent to the provider so far (for run stats)."""
        ...

    async def probe(self) -> ProbeResult: ...

    async def categories(self, kind: Kind) -> list[CategoryRecord]: ...

    async def walk(
        self,
        scope: Scope,
        on_page: PageHandler,
        *,
        newest_first: bool = False,
        page_cap: int | None = None,
    ) -> WalkResult: ...

    async def series_detail(self, series_provider_id: str) -> list[SeasonRecord]: ...

    async def resolve_play(self, target: PlayTarget) -> str: ...

    def guide(self, offload: GuideOffload | None = None) -> AsyncIterator[ProgrammeRecord] | None:
        """The provider's guide as a stream, or None when it has none. A client may hand
        the raw answer to ``offload`` instead of yielding its programmes."""
        ...

    async def aclose(self) -> None: ...
