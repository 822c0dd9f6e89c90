"""Smart detection (the seed's rules): pure, so a table says it all."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from iptvsync.errors import ValidationFailed
from iptvsync.sync.plan import plan_sync

NOW = datetime(2026, 11, 24, 12, tzinfo=UTC)
RECENT = NOW - timedelta(hours=1)
OLD = NOW - timedelta(hours=7)


@pytest.mark.parametrize(
    ("channels", "vod", "scope", "mode", "last", "expected"),
    [
        (0, 0, "auto", "auto", None, ("full", "full")),
        (0, 10, "auto", "auto", None, ("full", None)),
        (10, 0, "auto", "auto", RECENT, (None, "full")),
        (10, 10, "auto", "auto", RECENT, (None, "incremental")),
        (10, 10, "auto", "auto", OLD, ("incremental", "incremental")),
        (10, 10, "auto", "full", RECENT, ("full", "full")),
        (10, 10, "vod", "auto", RECENT, (None, "incremental")),
        (10, 0, "vod", "auto", RECENT, (None, "full")),
        (10, 10, "channels", "auto", RECENT, ("incremental", None)),
        (0, 10, "channels", "auto", RECENT, ("full", None)),
        (10, 10, "all", "auto", RECENT, ("incremental", "incremental")),
        (0, 10, "all", "incremental", RECENT, ("incremental", "incremental")),
    ],
)
def test_plan(
    channels: int,
    vod: int,
    scope: str,
    mode: str,
    last: datetime | None,
    expected: tuple[str | None, str | None],
) -> None:
    plan = plan_sync(
        channels=channels,
        vod=vod,
        scope=scope,
        mode=mode,
        last_channel_sync_at=last,
        last_vod_sync_at=RECENT if vod else None,
        now=NOW,
    )
    assert (plan.channels, plan.vod) == expected


@pytest.mark.parametrize(("scope", "mode"), [("everything", "auto"), ("auto", "fast")])
def test_bad_scope_or_mode_is_a_validation_error(scope: str, mode: str) -> None:
    with pytest.raises(ValidationFailed):
        plan_sync(channels=0, vod=0, scope=scope, mode=mode, now=NOW)


@pytest.mark.parametrize("scope", ["auto", "vod", "all"])
def test_vod_that_no_walk_finished_is_walked_in_full_again(scope: str) -> None:
    """A first full sync cancelled half-way: incremental would stop at page 1 for ever."""
    plan = plan_sync(
        channels=10,
        vod=500,
        scope=scope,
        last_channel_sync_at=RECENT,
        last_vod_sync_at=None,
        now=NOW,
    )
    assert plan.vod == "full"


def test_channels_that_no_walk_finished_are_walked_in_full_again() -> None:
    """A first sync cancelled during the channel phase: channels partial, no VOD yet."""
    plan = plan_sync(channels=12, vod=0, last_channel_sync_at=None, now=NOW)
    assert (plan.channels, plan.vod) == ("full", "full")
    both = plan_sync(channels=12, vod=40, now=NOW)
    assert (both.channels, both.vod) == ("full", "full")
