"""Shared upstreams, connection slots and active streams, with real sockets end to end."""

from __future__ import annotations

import concurrent.futures
import time

import httpx
import pytest

from iptvsync.api.signing import sign_play_url
from tests.relay.conftest import ADMIN
from tests.relay.support import Player, abort, basic, held, raw_get, wait_for


def test_three_viewers_share_one_provider_connection(make_stack) -> None:  # type: ignore[no-untyped-def]
    stack = make_stack("stalker", options={"max_connections": 1})
    channel = stack.channel_ids()[0]
    stack.media.rate_bps = 500_000  # chunks often enough for the players to notice "stop"
    stack.media.opened = 0
    players = [Player(stack.play_url(channel), ADMIN) for _ in range(3)]
    for p in players:
        p.start()
        assert p.started_reading.wait(15)
    assert all(p.status == 200 and p.received > 0 for p in players)
    assert stack.media.opened == 1 and stack.media.active == 1
    rows = stack.api.get("/api/streams", headers=ADMIN).json()["items"]
    assert len(rows) == 3 and {r["viewers"] for r in rows} == {3}
    assert all(r["account"] == "00:1A:79:XX:XX:56" for r in rows)
    for p in players:
        p.stop.set()
    for p in players:
        assert p.ended.wait(5)
    left = time.monotonic()
    # The upstream (and its provider slot) goes within 2 s of the last viewer leaving.
    assert wait_for(lambda: not held(stack.db, "provider:"), 2.5, step=0.02)
    assert time.monotonic() - left < 2.0
    assert wait_for(lambda: stack.media.active == 0, 5)  # the fake saw its connection close
    assert wait_for(lambda: not held(stack.db), 5)


def test_slow_viewer_dropped_while_others_continue(make_stack) -> None:  # type: ignore[no-untyped-def]
    stack = make_stack("stalker", relay_buffer_bytes=256 * 1024)
    stack.media.rate_bps = 2_000_000
    url = stack.play_url(stack.channel_ids()[0])
    fast = Player(url, ADMIN)
    fast.start()
    assert fast.started_reading.wait(15)
    slow = raw_get(url, ADMIN, rcvbuf=4096)  # reads nothing at all
    try:
        assert wait_for(lambda: len(held(stack.db, "admin:")) == 2, 5)
        start = fast.received
        # The stalled viewer is dropped: its slot goes while the fast one keeps receiving.
        assert wait_for(lambda: len(held(stack.db, "admin:")) == 1, 15)
        t0, b0 = time.monotonic(), fast.received
        time.sleep(2)
        rate = (fast.received - b0) / (time.monotonic() - t0)
        assert fast.received > start and rate > 1_000_000, rate
        assert not fast.ended.is_set()
    finally:
        abort(slow)
        fast.stop.set()


def test_slots_full_answers_503_naming_the_holder_and_zapping_takes_over(make_stack) -> None:  # type: ignore[no-untyped-def]
    stack = make_stack("stalker")  # default: 1 connection per MAC
    alice = basic("alice", stack.add_user("alice", max_streams=1)[1])
    bob = basic("bob", stack.add_user("bob")[1])
    ch1, ch2, ch3 = stack.channel_ids()[:3]
    first = Player(stack.play_url(ch1), alice)
    first.start()
    assert first.started_reading.wait(15) and first.status == 200
    # Bob wants another channel: the one MAC is busy with Alice's.
    refused = httpx.get(stack.play_url(ch2), headers=bob, timeout=20)
    assert refused.status_code == 503, refused.text
    error = refused.json()["error"]
    assert error["code"] == "no_free_connection"
    assert error["detail"]["held_by"][0]["account"] == "00:1A:79:XX:XX:56"
    assert error["detail"]["held_by"][0]["item_id"] == ch1
    assert "00:1A:79:12:34:56" not in refused.text
    # Alice zaps: her new channel takes over her own slot (user and provider) at once.
    t0 = time.monotonic()
    second = Player(stack.play_url(ch3), alice)
    second.start()
    assert second.started_reading.wait(15) and second.status == 200, second.body
    assert time.monotonic() - t0 < 3
    assert first.ended.wait(5)
    rows = held(stack.db, "provider:")
    assert len(rows) == 1 and rows[0].info["item_id"] == ch3
    second.stop.set()


def test_provider_refusal_is_a_502_with_its_code(make_stack) -> None:  # type: ignore[no-untyped-def]
    stack = make_stack("xtream", options={"play_mode": "relay"})
    channel = stack.channel_ids()[0]
    for status in (403, 404):
        stack.media.refuse_with = status
        r = httpx.get(stack.play_url(channel), headers=ADMIN, timeout=20)
        assert r.status_code == 502
        assert r.json()["error"]["detail"]["upstream_status"] == status
        assert "pass" not in r.text and stack.fake.url not in r.text
    assert wait_for(lambda: not held(stack.db), 3)


@pytest.mark.slow
def test_provider_dies_mid_stream_viewers_see_the_end_and_slots_free(make_stack) -> None:  # type: ignore[no-untyped-def]
    stack = make_stack("stalker")
    stack.media.die_after_bytes = 300_000
    players = [Player(stack.play_url(stack.channel_ids()[0]), ADMIN) for _ in range(2)]
    for p in players:
        p.start()
    for p in players:
        assert p.ended.wait(20), "the viewer never saw the end"
        assert p.status == 200 and 0 < p.received <= 300_000
    assert wait_for(lambda: not held(stack.db), 3)


@pytest.mark.slow
def test_a_thousand_abrupt_disconnects_leave_no_slot(make_stack) -> None:  # type: ignore[no-untyped-def]
    stack = make_stack("stalker")
    url = sign_play_url(
        stack.settings, stack.provider_id, "channel", stack.channel_ids()[0], base_url=stack.app.url
    )

    def one(i: int) -> None:
        sock = raw_get(url, {})
        if i % 2:
            sock.recv(1024)  # half of them after the first bytes, half before
        abort(sock)

    with concurrent.futures.ThreadPoolExecutor(25) as pool:
        list(pool.map(one, range(1000)))
    assert wait_for(lambda: not held(stack.db), 20), len(held(stack.db))
    assert wait_for(lambda: stack.media.active == 0, 5)


def test_output_users_cannot_see_or_stop_each_others_streams(make_stack) -> None:  # type: ignore[no-untyped-def]
    stack = make_stack("stalker", options={"max_connections": 2})
    alice = basic("alice", stack.add_user("alice")[1])
    bob = basic("bob", stack.add_user("bob")[1])
    ch1, ch2 = stack.channel_ids()[:2]
    pa, pb = Player(stack.play_url(ch1), alice), Player(stack.play_url(ch2), bob)
    for p in (pa, pb):
        p.start()
        assert p.started_reading.wait(15) and p.status == 200
    mine = stack.api.get("/api/streams", headers=alice).json()["items"]
    assert [r["user"] for r in mine] == ["alice"]
    everyone = stack.api.get("/api/streams", headers=ADMIN).json()["items"]
    bobs = next(r for r in everyone if r["user"] == "bob")
    assert stack.api.delete(f"/api/streams/{bobs['id']}", headers=alice).status_code == 404
    assert not pb.ended.is_set()
    assert stack.api.delete(f"/api/streams/{bobs['id']}", headers=ADMIN).status_code == 204
    assert pb.ended.wait(5) and not pa.ended.is_set()
    pa.stop.set()


def test_a_mac_pool_counts_slots_per_mac(make_stack) -> None:  # type: ignore[no-untyped-def]
    second_mac = "00:1A:79:65:43:21"
    stack = make_stack(
        "stalker",
        options={"macs": ["00:1A:79:12:34:56", second_mac]},  # 1 connection per MAC
        fake_options={
            "gated_streams": True,
            "mac_allowed": ("00:1A:79:12:34:56", second_mac),
        },
    )
    users = [basic(f"u{i}", stack.add_user(f"u{i}")[1]) for i in range(3)]
    ch = stack.channel_ids()
    players = [Player(stack.play_url(ch[i]), users[i]) for i in range(2)]
    for p in players:
        p.start()
        assert p.started_reading.wait(15) and p.status == 200, p.body
    accounts = sorted(r.info["account"] for r in held(stack.db, "provider:"))
    assert accounts == ["00:1A:79:XX:XX:21", "00:1A:79:XX:XX:56"]
    refused = httpx.get(stack.play_url(ch[2]), headers=users[2], timeout=20)
    assert refused.status_code == 503 and len(refused.json()["error"]["detail"]["held_by"]) == 2
    for p in players:
        p.stop.set()
