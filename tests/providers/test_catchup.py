"""Catch-up URLs from a channel's live URL and its provider's archive attributes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from iptvsync.api.play import catchup_window
from iptvsync.errors import NotFound, ValidationFailed
from iptvsync.providers.catchup import CatchupUnsupported, catchup_url

START = datetime(2026, 12, 4, 20, 30, tzinfo=UTC)
NOW = datetime(2026, 12, 5, 8, 0, tzinfo=UTC)
T0 = int(START.timestamp())


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (
            {"catchup": "default", "catchup-source": "http://a.test/ts/{utc}-{utcend}/{duration:60}"},
            f"http://a.test/ts/{T0}-{T0 + 3600}/60",
        ),
        (
            {"catchup-source": "http://a.test/${start}/{Y}-{m}-{d}_{H}{M}{S}?o={offset}"},
            f"http://a.test/{T0}/2026-12-04_203000?o={int(NOW.timestamp()) - T0}",
        ),
        ({"catchup": "append", "catchup-source": "?s={utc}&n={lutc}"},
         f"http://live.test/1.m3u8?s={T0}&n={int(NOW.timestamp())}"),
        ({"catchup": "shift"}, f"http://live.test/1.m3u8?utc={T0}&lutc={int(NOW.timestamp())}"),
        ({}, f"http://live.test/1.m3u8?utc={T0}&lutc={int(NOW.timestamp())}"),
    ],
)  # fmt: skip
def test_m3u_modes(extra: dict[str, str], expected: str) -> None:
    assert catchup_url("m3u", "http://live.test/1.m3u8", extra, START, 3600, now=NOW) == expected


def test_xtream_timeshift_from_the_live_url() -> None:
    url = catchup_url("xtream", "http://xt.test:8080/live/u%40x/p/123.m3u8", {}, START, 5400)
    assert url == "http://xt.test:8080/timeshift/u%40x/p/90/2026-12-04:20-30/123.ts"
    short = catchup_url("xtream", "http://xt.test/u/p/7", {}, START, 61)
    assert short == "http://xt.test/timeshift/u/p/2/2026-12-04:20-30/7.ts"


def test_unsupported() -> None:
    with pytest.raises(CatchupUnsupported):
        catchup_url("stalker", "http://s.test/ch/1", {}, START, 60)
    with pytest.raises(CatchupUnsupported):
        catchup_url("m3u", "http://live.test/1.m3u8", {"catchup": "flussonic"}, START, 60)


def test_window_checks_the_archive() -> None:
    now = int(datetime.now(UTC).timestamp())
    begin, seconds = catchup_window(2, now - 3600, None)
    assert int(begin.timestamp()) == now - 3600 and seconds == 3600
    # No archive for that time is the contract's 404; a start that is no time at all is 422.
    for days, start in ((None, now - 60), (2, now + 60), (2, now - 3 * 86400)):
        with pytest.raises(NotFound):
            catchup_window(days, start, 600)
    with pytest.raises(ValidationFailed):
        catchup_window(1, 10**15, 600)
