"""Typed settings, read once from the environment (``IPTVSYNC_*``) and passed down."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="IPTVSYNC_", extra="ignore")

    data_dir: Path = Path("./data")
    database_url: str | None = None  # default: sqlite file under data_dir
    snapshot_dir: Path | None = None  # default: data_dir / "snapshots"
    #: Every /api call needs it (or an output user's credentials); unset: open mode, loopback
    #: only. At least 24 characters; an empty value is refused at start (docs/security.md).
    admin_token: SecretStr | None = None
    #: The key play URLs are signed with and provider secrets are encrypted with (at least 24
    #: characters). Unset: a random key created once in ``<data_dir>/secret.key`` (mode 0600).
    #: Never derived from the admin token. Rotating it: ``iptvsync rotate-key``.
    secret_key: SecretStr | None = None
    #: The key before the last rotation, still accepted for decrypting provider secrets until
    #: ``iptvsync rotate-key`` re-encrypted them (docs/security.md).
    previous_secret_key: SecretStr | None = None
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

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'iptvsync.db').as_posix()}"

    def resolved_snapshot_dir(self) -> Path:
        return self.snapshot_dir or (self.data_dir / "snapshots")


def load_settings(**overrides: object) -> Settings:
    return Settings(**overrides)  # type: ignore[arg-type]
