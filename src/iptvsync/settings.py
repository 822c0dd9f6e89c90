"""Typed settings, read once from the environment (``IPTVSYNC_*``) and passed down.

A plain class, not pydantic-settings: its import and the settings model's build were 7 % of
a short command's instructions (~30 ms of every start), and nothing here needs more than
reading a few typed values from text (docs/deploy.md, "Settings"; docs/benchmarks.md, issue
21). pydantic itself still loads with the CLI's parameters (typer) and the API's models.

``Settings(**values)`` takes ``values`` first, then ``IPTVSYNC_<NAME>`` from the environment
(names in any case), then the defaults below. Each field's type is its annotation, one of
``_PARSERS``' forms; a variable that does not read as its type is a ``SettingsError`` naming
it.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar

from iptvsync.numbers import ascii_int


class SettingsError(ValueError):
    """A variable's value does not read as its setting's type (the message names it)."""


class Secret:
    """A secret setting (a token, a key): shown as ``**********`` wherever it is printed, so
    that a repr of the settings in a log or a traceback does not carry it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = str(value)

    def get_secret_value(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    def __str__(self) -> str:
        return "**********" if self._value else ""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


class Settings:
    data_dir: Path = Path("./data")
    database_url: str | None = None  # default: sqlite file under data_dir
    snapshot_dir: Path | None = None  # default: data_dir / "snapshots"
    #: Every /api call needs it (or an output user's credentials); unset: open mode, loopback
    #: only. At least 24 characters; an empty value is refused at start (docs/security.md).
    admin_token: Secret | None = None
    #: The key play URLs are signed with and provider secrets are encrypted with (at least 24
    #: characters). Unset: a random key created once in ``<data_dir>/secret.key`` (mode 0600).
    #: Never derived from the admin token. Rotating it: ``iptvsync rotate-key``.
    secret_key: Secret | None = None
    #: The key before the last rotation, still accepted for decrypting provider secrets until
    #: ``iptvsync rotate-key`` re-encrypted them (docs/security.md).
    previous_secret_key: Secret | None = None
    #: Host names open mode (no admin token) answers besides loopback ones, e.g. a LAN name.
    allowed_hosts: list[str] = []
    host: str = "127.0.0.1"
    port: int = 8000

    runner: str = "inline"  # "inline" | "procrastinate"

    # Scheduled syncs (providers' options.schedule; docs/deploy.md)
    scheduler: bool = True
    schedule_tick_s: float = 60.0
    # Scale mode: ``iptvsync worker`` (Procrastinate on the same PostgreSQL; docs/deploy.md)
    worker_concurrency: int = 4  # syncs one worker runs at once
    worker_heartbeat_s: float = 10.0
    #: A worker silent this long is dead: its sync is retried (resumed) by another worker.
    worker_stalled_after_s: float = 30.0
    #: On SIGTERM, running syncs get this long to end before they are cancelled.
    worker_shutdown_timeout_s: float = 30.0
    worker_poll_s: float = 5.0  # fallback polling; LISTEN/NOTIFY wakes workers at once
    #: How often every server closes runs whose process died (no heartbeat for 60 s), so a
    #: run whose only worker was killed ends ``interrupted`` within 75 s, workers or not.
    run_sweep_s: float = 15.0

    # Sync rules (docs/sync.md)
    guard_ratio: float = 0.30
    #: Below this many removals the guard never fires (a 5-channel list losing 2 is normal).
    guard_min_items: int = 10
    incremental_page_cap: int = 100
    channel_refresh_after_s: int = 6 * 3600
    #: Items per write transaction. Large on purpose: with random keys in half the indexes,
    #: every row dirties its own index pages, and a commit writes each dirty page once, so
    #: bigger batches write fewer pages per row (500 → 2,000: ~2× cheaper per row; more buys
    #: little once the WAL checkpoints rarely, see ``store.db``, and costs memory).
    batch_size: int = 2000
    #: The same for providers whose walk replays one whole list (Xtream, M3U): nothing to keep
    #: fed on the network meanwhile, so fewer, larger transactions (a 1M-line playlist synced
    #: ~1 s faster at 5,000). A paged portal's walk stays at ``batch_size``: a bigger batch
    #: holds the GIL longer and stalls its request pipeline.
    whole_list_batch_size: int = 5000
    #: A SQLite sync that fills a whole batch writes its batches of items in a second
    #: process, on another core (``sync/write_process.py``; docs/sync.md).
    write_process: bool = True
    #: Items per transaction once the write process writes them, whatever the provider
    #: (fewer than ``batch_size`` or the whole lists' 5,000): off the fetching process's
    #: path the smaller transaction costs little (the child's CPU +6 %), and the two
    #: processes hold 10-20 MB less at once (docs/benchmarks.md, issue 21).
    write_process_batch_size: int = 1000
    #: A SQLite sync that finds a catalogue or guide table empty drops its read indexes while
    #: it loads and builds them once after (``store/first_load.py``): ~3x less index work for a
    #: first sync (docs/sync.md, "A first sync's indexes").
    defer_first_load_indexes: bool = True

    # Politeness budget defaults (per provider; options may override)
    max_concurrency: int = 32
    start_concurrency: int = 2
    max_rps: float | None = None
    request_timeout_s: float = 15.0

    # Provider HTTP boundary: limits on every provider response (providers/http.py;
    # docs/reliability.md, "Hostile providers"). Deadlines cover connect + every read.
    provider_page_deadline_s: float = 120.0
    provider_list_deadline_s: float = 1800.0  # a whole Xtream list, a playlist, a guide
    #: Largest body per kind of request, counted after decompression.
    provider_max_page_bytes: int = 64 * 2**20
    provider_max_list_bytes: int = 2 * 2**30  # a 300k-title Xtream list is ~300 MB
    provider_max_playlist_bytes: int = 2 * 2**30
    provider_max_guide_bytes: int = 8 * 2**30  # a 200 MB gzip guide inflates ~10x
    provider_max_redirects: int = 5
    #: A portal page read on the page fast path (providers/lean.py: kept-alive HTTP/1.1 and
    #: httptools, ~0.07 ms less CPU a page than aiohttp). False: every request via aiohttp.
    provider_lean_http: bool = True
    #: Networks that count as public although they are private or loopback space (tests use
    #: it to stand a "public" provider on 127.0.0.2). Production leaves it empty.
    provider_public_networks: list[str] = []
    # Logins (iptvsync.logins, docs/security.md)
    password_hash_workers: int = 0  # scrypt threads; 0: half the cores (1 to 4)
    password_hash_queue: int = 64  # password checks waiting at most; more get 429
    login_cache_s: float = 60.0  # a successful name+password is trusted this long
    login_window_s: float = 300.0
    login_failures_per_address: int = 30  # failures in the window before 429
    login_failures_per_user: int = 10

    # Snapshot / HTTP
    snapshot_max_age_s: int = 3600
    snapshot_keep_versions: int = 10
    featured_count: int = 50
    max_request_bytes: int = 1_000_000
    cors_origins: list[str] = []

    # Watching through iptvsync (relay, connection slots, HDHomeRun; docs/outputs.md)
    #: Streams an output user may watch at once when the user has no ``max_streams`` of its own.
    default_max_streams: int = 2
    #: Slot leases: renewed every third of this while streaming; a dead replica's slots free
    #: within it.
    stream_lease_s: float = 15.0
    #: Bytes a viewer may fall behind a shared upstream before it is dropped.
    relay_buffer_bytes: int = 4 * 1024 * 1024
    #: Bytes of HLS playlists and segments kept for the other viewers of a channel.
    relay_hls_cache_bytes: int = 64 * 1024 * 1024
    #: SSDP (UDP 1900) and SiliconDust (UDP 65001) discovery of an HDHomeRun tuner.
    hdhomerun_discovery: bool = False
    hdhomerun_discovery_host: str = "0.0.0.0"
    hdhomerun_discovery_port: int = 65001
    hdhomerun_ssdp_port: int = 1900
    #: The device answered on the LAN: ``open`` (open mode), ``u<user id>`` or ``p<provider id>``
    #: (its URL is a capability: anyone on the LAN who asks learns it).
    hdhomerun_discovery_device: str | None = None
    #: How media servers reach this server (``http://192.168.1.10:8000``); default from host/port.
    hdhomerun_base_url: str | None = None

    # Guide
    epg_past_hours: int = 6
    epg_future_days: int = 7
    #: An incremental sync fetches the guide again only when it is older than this.
    epg_refresh_after_s: int = 6 * 3600

    #: Field name → how its text and its given values are read (from the annotations above).
    FIELDS: ClassVar[dict[str, Callable[[Any, bool], Any]]]

    def __init__(self, **values: Any) -> None:
        unknown = values.keys() - self.FIELDS.keys()
        if unknown:
            raise TypeError(f"unknown settings: {', '.join(sorted(unknown))}")
        env = _environment(os.environ)
        for name, read in self.FIELDS.items():
            if name in values:
                value = _read(name, read, values[name], False)
            elif name in env:
                value = _read(name, read, env[name], True)
            else:
                default = getattr(type(self), name)
                value = list(default) if isinstance(default, list) else default
            setattr(self, name, value)

    def replace(self, **changes: Any) -> Settings:
        """A copy with ``changes`` (read as ``Settings(...)`` reads its values)."""
        unknown = changes.keys() - self.FIELDS.keys()
        if unknown:
            raise TypeError(f"unknown settings: {', '.join(sorted(unknown))}")
        copy = object.__new__(Settings)
        copy.__dict__.update(self.__dict__)
        for name, value in changes.items():
            setattr(copy, name, _read(name, self.FIELDS[name], value, False))
        return copy

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Settings) and other.__dict__ == self.__dict__

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in self.__dict__.items())
        return f"Settings({shown})"

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'iptvsync.db').as_posix()}"

    def resolved_snapshot_dir(self) -> Path:
        return self.snapshot_dir or (self.data_dir / "snapshots")


def load_settings(**overrides: Any) -> Settings:
    return Settings(**overrides)


def _read(name: str, read: Callable[[Any, bool], Any], value: Any, from_text: bool) -> Any:
    """``value`` read as setting ``name``'s type; a ``SettingsError`` naming the variable (or,
    for a value given in code, the setting) when it does not read."""
    try:
        return read(value, from_text)
    except (TypeError, ValueError) as exc:
        raise SettingsError(f"{f'IPTVSYNC_{name.upper()}' if from_text else name}: {exc}") from None


def _environment(environ: Mapping[str, str]) -> dict[str, str]:
    """``IPTVSYNC_*`` variables by field name, whatever their case (as pydantic-settings read
    them before, docs/deploy.md)."""
    prefix = "iptvsync_"
    return {k[len(prefix) :].lower(): v for k, v in environ.items() if k.lower().startswith(prefix)}


# -- reading a value as its field's type ------------------------------------------------------
#
# Each reader takes (value, from_text): text from the environment, or a value given in code
# (``Settings(port=8000)``), taken as it is when it already has the type.

_TRUE = frozenset({"1", "true", "t", "yes", "y", "on"})
_FALSE = frozenset({"0", "false", "f", "no", "n", "off"})


def _bool(value: Any, from_text: bool) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"{value!r} is not a yes or no (true/false, 1/0, yes/no, on/off)")


def _int(value: Any, from_text: bool) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = str(value).strip()
    # ASCII digits only, as every number read from text here (``numbers.ascii_int``): int()
    # would take Arabic-Indic digits and underscores. A sign, either one, as int() took it.
    number = ascii_int(text[1:] if text.startswith(("+", "-")) else text)
    if number is None:
        raise ValueError(f"{value!r} is not a whole number")
    return -number if text.startswith("-") else number


def _float(value: Any, from_text: bool) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
    else:
        text = str(value).strip()
        try:
            if not text.isascii() or "_" in text:  # float() takes other digits and "1_0"
                raise ValueError
            number = float(text)
        except ValueError:
            raise ValueError(f"{value!r} is not a number") from None
    if not math.isfinite(number):
        raise ValueError(f"{value!r} is not a finite number")
    return number


def _str(value: Any, from_text: bool) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{value!r} is not a text")
    return value


def _path(value: Any, from_text: bool) -> Path:
    if isinstance(value, (str, os.PathLike)):
        return Path(value)
    raise TypeError(f"{value!r} is not a path")


def _secret(value: Any, from_text: bool) -> Secret:
    if isinstance(value, Secret):
        return value
    if isinstance(value, str):
        return Secret(value)
    reveal = getattr(value, "get_secret_value", None)  # another library's secret type
    if callable(reveal):
        return Secret(reveal())
    raise TypeError("a secret must be given as text")


def _texts(value: Any, from_text: bool) -> list[str]:
    if from_text:
        text = str(value).strip()
        if not text.startswith("["):  # names separated by commas: tv.lan,tv.home
            return [part.strip() for part in text.split(",") if part.strip()]
        try:  # a JSON list, as documented: ["tv.lan", "tv.home"]
            value = json.loads(text)
        except ValueError:
            raise ValueError(f"{text!r} is not a JSON list of texts") from None
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return list(value)
    raise ValueError(f"{value!r} is not a list of texts")


def _optional(read: Callable[[Any, bool], Any], keep_empty: bool) -> Callable[[Any, bool], Any]:
    """``X | None``: None stays None; an empty variable is None too, except for a text or a
    secret, where it is what was set (an empty admin token is refused at start, not taken
    for no token: docs/security.md)."""

    def optional(value: Any, from_text: bool) -> Any:
        if value is None:
            return None
        if from_text and not keep_empty and not str(value).strip():
            return None
        return read(value, from_text)

    return optional


_PARSERS: dict[str, Callable[[Any, bool], Any]] = {
    "bool": _bool,
    "int": _int,
    "float": _float,
    "str": _str,
    "Path": _path,
    "list[str]": _texts,
    "str | None": _optional(_str, keep_empty=True),
    "Secret | None": _optional(_secret, keep_empty=True),
    "Path | None": _optional(_path, keep_empty=False),
    "float | None": _optional(_float, keep_empty=False),
}


def _fields(cls: type) -> dict[str, Callable[[Any, bool], Any]]:
    out: dict[str, Callable[[Any, bool], Any]] = {}
    for name, annotation in cls.__annotations__.items():
        if annotation.startswith("ClassVar"):
            continue
        if annotation not in _PARSERS:  # a new field's type needs its reader here
            raise TypeError(f"Settings.{name}: no reader for {annotation!r}")
        out[name] = _PARSERS[annotation]
    return out


Settings.FIELDS = _fields(Settings)
