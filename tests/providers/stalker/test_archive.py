"""``tv_archive`` ``create_link`` answers in the forms real portals give (docs/stalker.md,
*Catch-up*) → the recording's URL, and the errors players must tell apart."""

from __future__ import annotations

import pytest

from iptvsync.errors import NoFreeConnection, NotFound, ProviderBadResponse
from iptvsync.providers.stalker.archive import archive_link

ORIGIN = "http://portal.test"
MAC = "00:1A:79:00:00:01"


@pytest.mark.parametrize(
    ("cmd", "url"),
    [
        # Stock storage: the solution prefix goes, the query stays whole.
        ("ffmpeg http://st.test:88/stalker_portal/storage/get.php?filename=20261204-20.mpg"
         "&ch_id=7&token=ab&start=1800&duration=3600",
         "http://st.test:88/stalker_portal/storage/get.php?filename=20261204-20.mpg"
         "&ch_id=7&token=ab&start=1800&duration=3600"),
        # Flussonic DVR: a bare URL.
        ("http://dvr.test/ch7/archive/1764880200/3600/mpegts",
         "http://dvr.test/ch7/archive/1764880200/3600/mpegts"),
        # Older stock: the hour's file with the box's position and length markers after it.
        ("ffmpeg http://st.test/archive/7/20261204-20.mpg position:1800 media_len:3600",
         "http://st.test/archive/7/20261204-20.mpg"),
        ("auto /storage/get.php?token=%mac%", f"{ORIGIN}/storage/get.php?token={MAC}"),
    ],
)  # fmt: skip
def test_link_forms(cmd: str, url: str) -> None:
    assert archive_link({"id": 0, "cmd": cmd, "error": ""}, {}, origin=ORIGIN, mac=MAC) == url


def test_errors() -> None:
    with pytest.raises(NoFreeConnection):
        archive_link({"cmd": "", "error": "limit"}, {}, origin=ORIGIN, mac=MAC)
    with pytest.raises(NotFound):
        archive_link({"cmd": "", "error": "nothing_to_play"}, {}, origin=ORIGIN, mac=MAC)
    with pytest.raises(NoFreeConnection):  # XC panels put the error beside js
        archive_link({"cmd": ""}, {"error": "limit"}, origin=ORIGIN, mac=MAC)
    with pytest.raises(ProviderBadResponse):
        archive_link({"cmd": "", "error": "link_fault"}, {}, origin=ORIGIN, mac=MAC)
    with pytest.raises(ProviderBadResponse):
        archive_link({"cmd": ""}, {}, origin=ORIGIN, mac=MAC)
