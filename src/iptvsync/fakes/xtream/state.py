"""The fake panel's state: its switches (``XtreamFakeConfig``), its catalogue and counters
(``FakeXtreamProvider``), the control endpoint, and small helpers of every handler."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from iptvsync.fakes.catalogue import Catalogue, CatalogueControls, generate

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
class FakeXtreamProvider(CatalogueControls):
    """The state behind the app: catalogue, switches and request stats."""

    catalogue: Catalogue
    config: XtreamFakeConfig
    stats: Counter[str] = field(default_factory=Counter)
    streams_open: int = 0


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


def _epoch(when: datetime) -> int:
    return int(when.timestamp())


def _base(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}"


def _html(status: int, title: str) -> Response:
    body = f"<html><head><title>{title}</title></head><body><h1>{title}</h1></body></html>"
    return Response(body, status_code=status, media_type="text/html")


def _digits(value: str | None) -> bool:
    return bool(value) and str(value).strip().isdigit()
