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
    admin_token: SecretStr | None = None
    #: Key for signed play URLs; derived from the admin token or a random file when unset.
    secret_key: SecretStr | None = None
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

    # Sync rules (DESIGN section 4)
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

    # Politeness budget defaults (per provider; options may override)
    max_concurrency: int = 32
    start_concurrency: int = 2
    max_rps: float | None = None
    request_timeout_s: float = 15.0

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
