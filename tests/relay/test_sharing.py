"""HLS viewers of one live channel share the provider's playlist and segment fetches and one
provider slot; a relayed movie honours ``Range``; the MAC pool a play reads is cached until the
pool changes. Real sockets end to end, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
import sqlalchemy as sa

from iptvsync.api.signing import sign_play_url
from iptvsync.store.models import channels, movies
from tests.relay.conftest import ADMIN, ffprobe, needs_ffprobe, video_codecs
from tests.relay.support import Player, basic, held, wait_for


def _signed(stack: Any, item_id: int, kind: str = "channel") -> str:
    return sign_play_url(stack.settings, stack.provider_id, kind, item_id, base_url=stack.app.url)


def _uris(text: str) -> list[str]:
    return [line for line in text.splitlines() if line and not line.startswith("#")]


class HlsViewer(threading.Thread):
    """A player of a live HLS stream: the master, then its variant every ``poll_s``, every
    new segment of it once."""

    def __init__(self, url: str, seconds: float, poll_s: float = 0.4) -> None:
        super().__init__(daemon=True)
        self.url, self.seconds, self.poll_s = url, seconds, poll_s
        self.segments = 0
        self.bytes = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with httpx.Client(timeout=20) as client:
                master = client.get(self.url)
                assert master.status_code == 200, master.text
                variant = _uris(master.text)[0]
                seen: set[str] = set()
                end = time.monotonic() + self.seconds
                while time.monotonic() < end:
                    playlist = client.get(variant)
                    assert playlist.status_code == 200, playlist.text
                    for uri in _uris(playlist.text):
                        path = uri.split("?", 1)[0]  # the signature may change, the part not
                        if path not in seen:
                            part = client.get(uri)
                            assert part.status_code == 200 and part.content[:1] == b"\x47"
                            seen.add(path)
                            self.segments += 1
                            self.bytes += len(part.content)
                    time.sleep(self.poll_s)
        except BaseException as exc:
            self.error = exc


def _hls_channel(stack: Any) -> int:
    with stack.db.connect() as conn:
        rows = conn.execute(
            sa.select(channels.c.id, channels.c.cmd).where(
                channels.c.provider_id == stack.provider_id
            )
        ).all()
    return next(i for i, cmd in rows if cmd and ".m3u8" in cmd)


@needs_ffprobe
def test_hls_viewers_share_playlist_segments_and_one_provider_slot(
    make_stack: Any, database_url: str
) -> None:
    stack = make_stack("m3u", options={"play_mode": "relay"}, database_url=database_url)
    stack.media.hls_live = True
    channel = _hls_channel(stack)
    stack.media.hits.clear()
    seconds = 5.0
    viewers = [HlsViewer(_signed(stack, channel), seconds) for _ in range(3)]
    started = time.monotonic()
    for v in viewers:
        v.start()
    time.sleep(1.5)
    # While they watch: one provider slot for the channel, one viewer slot each.
    assert len(held(stack.db, "provider:")) == 1
    assert len(held(stack.db, "admin:")) == 3
    rows = stack.api.get("/api/streams", headers=ADMIN).json()["items"]
    assert len(rows) == 3 and {r["viewers"] for r in rows} == {3}
    for v in viewers:
        v.join(30)
        assert v.error is None, v.error
        assert v.segments >= 3 and v.bytes > 0
    elapsed = time.monotonic() - started
    hits = dict(stack.media.hits)
    # The master once; the live playlist once per refresh window (half its 2 s target
    # duration) however many viewers poll it (3 × every 0.4 s here); each segment once.
    assert hits.get("live-master.m3u8") == 1, hits
    assert 2 <= hits["live.m3u8"] <= elapsed / 1.0 + 2, hits
    polls = sum(1 for _ in viewers) * elapsed / 0.4
    assert hits["live.m3u8"] < polls / 3, hits
    segments = {
        name: n for name, n in hits.items() if name.startswith("live") and name[4].isdigit()
    }
    assert segments and all(n == 1 for n in segments.values()), hits
    assert len(segments) >= max(v.segments for v in viewers)
    # A real player reads the shared rendition too.
    assert video_codecs(ffprobe(_signed(stack, channel))) == ["h264"]
    assert len(held(stack.db, "provider:")) == 1
    # The sessions end when their players stop asking; the channel's provider slot with them.
    relay = stack.app.app.state.services.relay
    relay.hls.idle_s = 0.5
    assert wait_for(lambda: not held(stack.db), 10)
    assert relay.stats()["hls_upstreams"] == 0 and relay.stats()["hls_cache_bytes"] == 0


def test_two_users_hls_viewers_share_one_provider_slot_and_stop_only_their_own(
    make_stack: Any,
) -> None:
    """One connection per account: a second user's HLS viewer shares the running channel
    instead of needing a provider slot of its own; stopping it leaves the other playing."""
    stack = make_stack("m3u", options={"play_mode": "relay", "max_connections": 1})
    stack.media.hls_live = True
    channel = _hls_channel(stack)
    alice = basic("alice", stack.add_user("alice")[1])
    bob = basic("bob", stack.add_user("bob")[1])
    first = httpx.get(stack.play_url(channel), headers=alice, timeout=20)
    second = httpx.get(stack.play_url(channel), headers=bob, timeout=20)
    assert first.status_code == 200 and second.status_code == 200, second.text
    assert len(held(stack.db, "provider:")) == 1 and len(held(stack.db, "user:")) == 2
    # Bob may stop only his own; the admin sees both.
    mine = stack.api.get("/api/streams", headers=bob).json()["items"]
    assert len(mine) == 1 and mine[0]["user"] == "bob" and mine[0]["viewers"] == 2
    assert stack.api.delete(f"/api/streams/{mine[0]['id']}", headers=bob).status_code == 204
    gone = httpx.get(_uris(second.text)[0], timeout=20)
    assert gone.status_code == 404  # the stopped session's links are dead
    assert httpx.get(_uris(first.text)[0], timeout=20).status_code == 200
    assert len(held(stack.db, "user:")) == 1 and len(held(stack.db, "provider:")) == 1


def _movie(stack: Any) -> int:
    with stack.db.connect() as conn:
        return int(
            conn.execute(
                sa.select(movies.c.id)
                .where(movies.c.provider_id == stack.provider_id)
                .order_by(movies.c.id)
            ).scalars().first()
        )  # fmt: skip


@needs_ffprobe
def test_relayed_movie_honours_range(make_stack: Any, database_url: str) -> None:
    stack = make_stack("xtream", options={"play_mode": "relay"}, database_url=database_url)
    movie = _movie(stack)
    url = _signed(stack, movie, "movie")
    whole = stack.media._load()[0]
    full = httpx.get(url, timeout=30)
    assert full.status_code == 200 and full.content == whole
    assert full.headers["content-length"] == str(len(whole))
    assert full.headers["accept-ranges"] == "bytes"
    start = len(whole) // 3
    part = httpx.get(url, headers={"Range": f"bytes={start}-"}, timeout=30)
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes {start}-{len(whole) - 1}/{len(whole)}"
    assert part.content == whole[start:]
    closed = httpx.get(url, headers={"Range": f"bytes={start}-{start + 9999}"}, timeout=30)
    assert closed.status_code == 206 and closed.content == whole[start : start + 10000]
    past = httpx.get(url, headers={"Range": f"bytes={len(whole) + 10}-"}, timeout=30)
    assert past.status_code == 416
    assert video_codecs(ffprobe(url)) == ["h264"]
    assert wait_for(lambda: not held(stack.db), 5)


def test_relayed_movie_from_an_upstream_without_ranges_is_200(make_stack: Any) -> None:
    stack = make_stack("xtream", options={"play_mode": "relay"})
    stack.media.ranges = False
    whole = stack.media._load()[0]
    r = httpx.get(_signed(stack, _movie(stack), "movie"), headers={"Range": "bytes=500-"})
    assert r.status_code == 200 and "content-range" not in r.headers
    assert r.content == whole


def test_seeking_a_movie_takes_over_the_viewers_own_connection(make_stack: Any) -> None:
    """One connection per account: a player that seeks opens its next request before the
    last is gone; the new one takes the connection over instead of a 503."""
    stack = make_stack("xtream", options={"play_mode": "relay"})  # max_connections 1
    stack.media.vod_rate_bps = 100_000  # the movie takes seconds to send
    url = _signed(stack, _movie(stack), "movie")
    _, password = stack.add_user("alice", max_streams=1)
    alice = basic("alice", password)
    first = Player(stack.play_url(_movie(stack), "movie"), alice)
    first.start()
    assert first.started_reading.wait(15) and first.status == 200
    seek = httpx.get(
        stack.play_url(_movie(stack), "movie"), headers={**alice, "Range": "bytes=1000-"}
    )
    assert seek.status_code == 206, seek.text
    assert first.ended.wait(10) and first.received < len(stack.media._load()[0])
    assert wait_for(lambda: not held(stack.db), 5)
    stack.media.vod_rate_bps = None
    assert httpx.get(url, timeout=30).status_code == 200


def test_the_mac_pool_is_read_once_per_provider_version(make_stack: Any) -> None:
    # Relay, 1 connection per MAC, one MAC in the pool; the portal takes any MAC.
    stack = make_stack("stalker", fake_options={"mac_allowed": None})
    svc = stack.app.app.state.services
    reads: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "provider_macs" in statement and statement.lstrip().upper().startswith("SELECT"):
            reads.append(statement)

    sa.event.listen(svc.db, "before_cursor_execute", count)
    ch1, ch2, ch3 = stack.channel_ids()[:3]
    alice = basic("alice", stack.add_user("alice")[1])
    bob = basic("bob", stack.add_user("bob")[1])
    first = Player(stack.play_url(ch1), alice)
    first.start()
    assert first.started_reading.wait(15) and first.status == 200
    assert httpx.get(stack.play_url(ch2), headers=bob, timeout=20).status_code == 503
    pool_reads = len(reads)
    assert pool_reads >= 1
    assert httpx.get(stack.play_url(ch2), headers=bob, timeout=20).status_code == 503
    assert len(reads) == pool_reads  # the same provider version: no second read
    # A second MAC joins the pool: the next play sees it at once and takes its slot.
    put = stack.api.put(
        f"/api/providers/{stack.provider_id}/macs",
        json={"macs": [{"mac": "00:1A:79:00:00:02"}]},
        headers=ADMIN,
    )
    assert put.status_code == 200, put.text
    second = Player(stack.play_url(ch3), bob)
    second.start()
    assert second.started_reading.wait(15) and second.status == 200, second.body
    accounts = {r.info["account"] for r in held(stack.db, "provider:")}
    assert accounts == {"00:1A:79:XX:XX:56", "00:1A:79:XX:XX:02"}
    first.stop.set()
    second.stop.set()
    sa.event.remove(svc.db, "before_cursor_execute", count)


def test_an_hls_part_too_large_to_keep_is_streamed_to_each_viewer(
    make_stack: Any, monkeypatch: Any
) -> None:
    from iptvsync.relay import hlsshare

    monkeypatch.setattr(hlsshare, "MAX_PART_BYTES", 10_000)
    stack = make_stack("m3u", options={"play_mode": "relay"})
    stack.media.hls_live = True
    url = _signed(stack, _hls_channel(stack))
    bodies = []
    for _ in range(2):
        variant = _uris(httpx.get(url, timeout=20).text)[0]
        first = _uris(httpx.get(variant, timeout=20).text)[0]
        bodies.append(httpx.get(first, timeout=20).content)
    root = stack.media._load()[1]
    files = {p.read_bytes() for p in (root / "hls").glob("seg*.ts")}
    assert all(len(b) > 10_000 and b in files for b in bodies)
    fetched = {n: c for n, c in stack.media.hits.items() if n.startswith("live") and n[4].isdigit()}
    assert sum(fetched.values()) == 2, fetched  # not kept: each viewer fetched its own
    relay = stack.app.app.state.services.relay
    assert relay.stats()["hls_cache_bytes"] < 10_000  # the playlists only
