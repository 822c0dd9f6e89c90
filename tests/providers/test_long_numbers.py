"""A provider's number of 5,000 digits is no number, not a crash.

``int()`` refuses a text of over 4,300 digits (CPython's guard against quadratic parsing), and
a hostile provider can send one anywhere a parser reads a number out of text: the fuzz tests
never draw such a run. Each parser that turns text into an int must answer "none" for it
(docs/reliability.md, "Bad input")."""

from __future__ import annotations

from datetime import UTC, datetime

from iptvsync.providers.catchup import fill_template
from iptvsync.providers.m3u.entries import _int
from iptvsync.providers.pages import _compact_key
from iptvsync.providers.stalker.parse import PortalUrls, parse_stock_episodes, parse_vod_item
from iptvsync.providers.stalker.parse.series import season_number
from iptvsync.providers.xmltv import episode_from_xmltv_ns

HUGE = "9" * 5000
URLS = PortalUrls.from_endpoint("http://portal.example.com/stalker_portal/server/load.php")


def test_a_stalker_title_with_a_huge_running_time_has_none() -> None:
    record = parse_vod_item({"id": "1", "name": "x", "time": HUGE, "year": HUGE}, URLS)
    assert record is not None
    assert (record.duration_min, record.year) == (None, None)


def test_a_stalker_season_or_episode_with_a_huge_number_falls_back() -> None:
    for sid in (f"55:{HUGE}", f"season{HUGE}", f"20111-s{HUGE}"):
        assert season_number({"id": sid}, 7) == 7
    assert season_number({"id": "55:2"}, 7) == 2  # the ordinary forms still read
    row = {"id": "e1", "name": f"Episode {HUGE}"}
    episodes = parse_stock_episodes([row], movie_id="m", season=_Season())
    assert [e.number for e in episodes] == [1]  # its position, as for a name without one


def test_m3u_numbers_and_xmltv_episodes_of_huge_numbers_are_none() -> None:
    assert _int(HUGE) is None and _int(f"-{HUGE}") is None
    assert _int(" 12") == 12
    assert episode_from_xmltv_ns(f"{HUGE}.1.") == "E02"  # the season is no number
    assert episode_from_xmltv_ns("0.4.") == "S01E05"


def test_a_catchup_template_with_a_huge_divisor_is_left_as_it_is() -> None:
    start = datetime(2026, 12, 5, 20, 0, tzinfo=UTC)
    template = f"http://c/{{utc:{HUGE}}}/{{utc:60}}"
    filled = fill_template(template, start, 3600, start)
    assert filled == f"http://c/{{utc:{HUGE}}}/{int(start.timestamp()) // 60}"


def test_dedupe_keys_of_huge_ids_stay_text() -> None:
    assert _compact_key(HUGE) == HUGE
    assert _compact_key("12345") == 12345


class _Season:
    id = "s1"
    number = 1
