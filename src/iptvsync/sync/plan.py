"""Smart detection: what a sync should do, from what is stored (docs/api.md, "Sync").

Pure: counts and timestamps in, a plan out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from iptvsync.errors import ValidationFailed

SCOPES = ("auto", "all", "vod", "channels")
MODES = ("auto", "full", "incremental")


@dataclass(frozen=True, slots=True)
class Plan:
    channels: str | None  # "full" | "incremental" | None
    vod: str | None

    def as_dict(self) -> dict[str, str | None]:
        return {"channels": self.channels, "vod": self.vod}


def plan_sync(
    *,
    channels: int,
    vod: int,
    scope: str = "auto",
    mode: str = "auto",
    last_channel_sync_at: datetime | None = None,
    last_vod_sync_at: datetime | None = None,
    now: datetime,
    channel_refresh_after: timedelta = timedelta(hours=6),
) -> Plan:
    """Decide the plan.

    ``auto`` scope: nothing synced → both full; no channels → full channels; no VOD → full VOD;
    otherwise incremental VOD, plus a channel refresh when the last one is older than
    ``channel_refresh_after`` (a Stalker channel list is one request).

    A kind that no walk ever finished (the first full sync was cancelled, or its process died)
    is walked in full again: an incremental walk would stop at the first page it already has
    and never fetch the rest. ``last_*_sync_at`` stay None until a walk of that scope ends.
    """
    if scope not in SCOPES:
        raise ValidationFailed(f"scope must be one of {', '.join(SCOPES)}", detail={"scope": scope})
    if mode not in MODES:
        raise ValidationFailed(f"mode must be one of {', '.join(MODES)}", detail={"mode": mode})

    def pick(have: int, finished: bool = True) -> str:
        if mode != "auto":
            return mode
        return "incremental" if have and finished else "full"

    vod_finished = last_vod_sync_at is not None
    channels_finished = last_channel_sync_at is not None

    if scope == "channels":
        return Plan(channels=pick(channels, channels_finished), vod=None)
    if scope == "vod":
        return Plan(channels=None, vod=pick(vod, vod_finished))
    if scope == "all":
        return Plan(channels=pick(channels, channels_finished), vod=pick(vod, vod_finished))
    # auto
    if mode != "auto":
        return Plan(channels=mode, vod=mode)
    # What no walk ever finished is walked in full, whatever else is planned.
    unfinished_channels = "full" if channels and not channels_finished else None
    unfinished_vod = "full" if vod and not vod_finished else None
    if not channels and not vod:
        return Plan(channels="full", vod="full")
    if not channels:
        return Plan(channels="full", vod=unfinished_vod)
    if not vod:
        return Plan(channels=unfinished_channels, vod="full")
    stale = last_channel_sync_at is None or now - _aware(last_channel_sync_at, now) >= (
        channel_refresh_after
    )
    return Plan(
        channels=unfinished_channels or ("incremental" if stale else None),
        vod=unfinished_vod or "incremental",
    )


def _aware(value: datetime, like: datetime) -> datetime:
    if value.tzinfo is None and like.tzinfo is not None:
        return value.replace(tzinfo=like.tzinfo)
    return value
