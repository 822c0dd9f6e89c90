"""``/playlist.m3u`` read back by a real M3U client library (m3u-ipytv), and checked by hand."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import sqlalchemy as sa
from ipytv import playlist as ipytv_playlist

from iptvsync.api.signing import verify
from iptvsync.outputs.m3u import clean_name, clean_value, entry, header
from iptvsync.settings import Settings
from iptvsync.store.models import categories
from iptvsync.store.users import create_user

from .conftest import ADMIN_TOKEN, ALPHA_CHANNELS, AppServer, Seeded


def _titles(db: sa.Engine, provider_id: int, kind: str) -> dict[int, str]:
    with db.connect() as conn:
        return dict(
            conn.execute(
                sa.select(categories.c.id, categories.c.title).where(
                    categories.c.provider_id == provider_id, categories.c.kind == kind
                )
            ).all()
        )


def _play_parts(url: str) -> tuple[int, str, int, str]:
    parts = urlsplit(url)
    _, api, providers, pid, play, kind, item = parts.path.split("/")
    assert (api, providers, play) == ("api", "providers", "play")
    return int(pid), kind, int(item), parse_qs(parts.query)["sig"][0]


def test_ipytv_reads_every_channel_and_attribute(
    open_server: AppServer, seeded: Seeded, db: sa.Engine, settings: Settings
) -> None:
    pl = ipytv_playlist.loadu(f"{open_server.url}/playlist.m3u?provider={seeded.alpha}")
    live = [c for c in ALPHA_CHANNELS if c.provider_item_id != "c6"]  # c6 was removed (soft delete)
    assert pl.length() == len(live)
    guide = pl.get_attribute("x-tvg-url")
    assert guide == f"{open_server.url}/xmltv.xml.gz?provider={seeded.alpha}"
    titles = _titles(db, seeded.alpha, "channel")
    by_name = {ch.name: ch for ch in pl.get_channels()}
    # Numbered channels in number order, the numberless one last.
    assert [ch.name for ch in pl.get_channels()] == [
        'News, "Live" HD',
        "Sport Éire",
        "Radio One",
        "Late Night",
        "No Number",
    ]
    for record in live:
        row = seeded.row(db, "channel", seeded.alpha, record.provider_item_id)
        ch = by_name[record.name]
        attrs = ch.attributes
        assert attrs["tvg-id"] == (record.epg_id or "")
        # Double quotes cannot live inside an attribute: they become single quotes.
        assert attrs["tvg-name"] == record.name.replace('"', "'")
        assert attrs["tvg-logo"] == (record.logo or "")
        if record.number is None:
            assert "tvg-chno" not in attrs
        else:
            assert attrs["tvg-chno"] == str(record.number)
        assert attrs["group-title"] == titles[row.category_id]
        assert attrs.get("radio") == ("true" if record.radio else None)
        pid, kind, item, sig = _play_parts(ch.url)
        assert (pid, kind, item) == (seeded.alpha, "channel", row.id)
        assert verify(settings, pid, kind, item, sig)


def test_combined_playlist_prefixes_groups_and_plays(
    open_server: AppServer, seeded: Seeded, db: sa.Engine
) -> None:
    pl = ipytv_playlist.loadu(f"{open_server.url}/playlist.m3u")
    alpha = seeded.ids(db, "channel", seeded.alpha)
    bravo = seeded.ids(db, "channel", seeded.bravo)
    seen = [_play_parts(ch.url)[:3] for ch in pl.get_channels()]
    assert sorted(seen) == sorted(
        [(seeded.alpha, "channel", i) for i in alpha]
        + [(seeded.bravo, "channel", i) for i in bravo]
    )
    groups = {ch.attributes["group-title"].split(" | ")[0] for ch in pl.get_channels()}
    assert groups == {"Alpha", "Bravo"}
    # Every URL plays: the play endpoint answers 302 to the provider's link, no headers needed.
    first = pl.get_channel(0)
    answer = httpx.get(first.url, follow_redirects=False)
    assert answer.status_code == 302
    assert answer.headers["location"] == ALPHA_CHANNELS[0].cmd


def test_vod_content_lists_movies_and_stored_episodes(
    open_server: AppServer, seeded: Seeded, db: sa.Engine
) -> None:
    pl = ipytv_playlist.loadu(f"{open_server.url}/playlist.m3u?provider={seeded.alpha}&content=vod")
    kinds: dict[str, set[int]] = {}
    for ch in pl.get_channels():
        _, kind, item, _ = _play_parts(ch.url)
        kinds.setdefault(kind, set()).add(item)
        assert ch.attributes["tvg-id"] == ""
    assert kinds["movie"] == seeded.ids(db, "movie", seeded.alpha)
    # Episodes of the removed series are not listed.
    assert kinds["episode"] == seeded.episode_ids(db, seeded.alpha)
    assert "channel" not in kinds
    names = {ch.name for ch in pl.get_channels()}
    assert "Amélie, the Film (2001)" in names
    assert "Show One S02E01" in names
    assert not any("Gone" in n for n in names)
    show = next(ch for ch in pl.get_channels() if ch.name == "Show One S01E02")
    assert show.attributes["group-title"] == "Shows 'Best'"
    assert show.attributes["tvg-logo"] == "http://img.alpha.test/s/1.jpg"
    assert httpx.get(f"{open_server.url}/playlist.m3u?provider=999").status_code == 404
    assert httpx.get(f"{open_server.url}/playlist.m3u?content=nope").status_code == 422


def test_locked_playlist_needs_an_output_user(
    locked_server: AppServer, seeded: Seeded, db: sa.Engine
) -> None:
    with db.begin() as conn:
        create_user(conn, "alice", "alice-pass", provider_ids=[seeded.alpha])
    url = f"{locked_server.url}/playlist.m3u"
    assert httpx.get(url).status_code == 401
    assert httpx.get(url, params={"username": "alice", "password": "wrong"}).status_code == 403
    answer = httpx.get(url, params={"username": "alice", "password": "alice-pass"})
    assert answer.status_code == 200
    pl = ipytv_playlist.loads(answer.text)
    assert {_play_parts(c.url)[0] for c in pl.get_channels()} == {seeded.alpha}
    # The guide URL in the header carries the same query credentials (players send no headers).
    assert "username=alice" in pl.get_attribute("x-tvg-url")
    # Basic auth works too; a provider alice may not see is "not found".
    basic = httpx.get(url, auth=("alice", "alice-pass"), params={"provider": seeded.bravo})
    assert basic.status_code == 404
    # The admin token sees everything.
    admin = httpx.get(url, params={"token": ADMIN_TOKEN})
    assert {_play_parts(c.url)[0] for c in ipytv_playlist.loads(admin.text).get_channels()} == {
        seeded.alpha,
        seeded.bravo,
    }
    # A signed URL from the playlist plays without any credentials.
    play = httpx.get(pl.get_channel(0).url)
    assert play.status_code == 302
    tampered = pl.get_channel(0).url.replace("/channel/", "/movie/")
    assert httpx.get(tampered).status_code in (401, 403)


@pytest.mark.parametrize(
    ("raw", "value", "name"),
    [
        ('A "B"', "A 'B'", 'A "B"'),
        ("line\r\nbreak", "line break", "line break"),
        ("tab\there", "tab here", "tab here"),
        (None, "", ""),
    ],
)
def test_clean(raw: str | None, value: str, name: str) -> None:
    assert clean_value(raw) == value
    assert clean_name(raw) == name


def test_entry_and_header_shapes() -> None:
    assert header([("x-tvg-url", "http://h/x.xml.gz"), ("url-tvg", None)]) == (
        '#EXTM3U x-tvg-url="http://h/x.xml.gz"\n'
    )
    line = entry("A, B", "http://h/1", [("tvg-id", ""), ("tvg-chno", 5), ("radio", None)])
    assert line == '#EXTINF:-1 tvg-id="" tvg-chno="5",A, B\nhttp://h/1\n'
    parsed = ipytv_playlist.loads("#EXTM3U\n" + line).get_channel(0)
    assert (parsed.name, parsed.url, parsed.attributes) == (
        "A, B",
        "http://h/1",
        {"tvg-id": "", "tvg-chno": "5"},
    )


def test_archive_channels_carry_catch_up(open_server: AppServer, seeded: Seeded) -> None:
    """Channels with an archive get catchup/catchup-days/catchup-source, and the source plays
    the archive through the same play endpoint; the panel playlist's form is /timeshift/."""
    from datetime import UTC, datetime

    pl = ipytv_playlist.loadu(f"{open_server.url}/playlist.m3u?provider={seeded.alpha}")
    by_name = {ch.name: ch for ch in pl.get_channels()}
    sport, news = by_name["Sport Éire"], by_name['News, "Live" HD']
    assert "catchup" not in news.attributes
    assert sport.attributes["catchup"] == "default"
    assert sport.attributes["catchup-days"] == "3"
    source = sport.attributes["catchup-source"]
    assert source == sport.url + "&start={utc}&duration={duration}"
    start = int(datetime.now(UTC).timestamp()) - 3600
    answer = httpx.get(
        source.replace("{utc}", str(start)).replace("{duration}", "1800"), follow_redirects=False
    )
    assert answer.status_code == 302, answer.text
    assert answer.headers["location"].startswith(f"http://cdn.alpha.test/live/c2.ts?utc={start}&")
    too_old = source.replace("{utc}", str(start - 4 * 86400)).replace("{duration}", "1800")
    # Past the archive: the contract's 404 not_found.
    assert httpx.get(too_old, follow_redirects=False).status_code == 404

    panel = httpx.get(f"{open_server.url}/get.php", params={"username": "u", "password": "p"})
    entry = next(
        ch for ch in ipytv_playlist.loads(panel.text).get_channels() if ch.name == "Sport Éire"
    )
    template = entry.attributes["catchup-source"]
    assert "/timeshift/u/p/{duration:60}/{Y}-{m}-{d}:{H}-{M}/" in template
    when = datetime.fromtimestamp(start, UTC)
    shifted = (
        template.replace("{duration:60}", "30").replace("{Y}", f"{when:%Y}")
        .replace("{m}", f"{when:%m}").replace("{d}", f"{when:%d}")
        .replace("{H}", f"{when:%H}").replace("{M}", f"{when:%M}")
    )  # fmt: skip
    answer = httpx.get(shifted, follow_redirects=False)
    assert answer.status_code == 302, answer.text
    assert answer.headers["location"].startswith("http://cdn.alpha.test/live/c2.ts?utc=")
