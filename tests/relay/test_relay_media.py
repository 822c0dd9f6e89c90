"""Real clients read relayed streams: ffprobe decodes video from a relayed TS stream, a relayed
HLS stream, a remuxed stream and a 403-gated Stalker stream; the player never sees the
provider's URL."""

from __future__ import annotations

import httpx

from tests.relay.conftest import ADMIN, ffprobe, needs_ffprobe, video_codecs

pytestmark = needs_ffprobe


def _signed(stack, item_id: int) -> str:  # type: ignore[no-untyped-def]
    from iptvsync.api.signing import sign_play_url

    return sign_play_url(
        stack.settings, stack.provider_id, "channel", item_id, base_url=stack.app.url
    )


def test_gated_stalker_stream_plays_through_the_relay(make_stack) -> None:  # type: ignore[no-untyped-def]
    stack = make_stack("stalker", fake_options={"gated_streams": True})
    channel = stack.channel_ids()[0]
    # The player gets bytes, not a redirect to the portal (Stalker's default mode is relay).
    with httpx.stream("GET", stack.play_url(channel), headers=ADMIN, timeout=20) as r:
        assert r.status_code == 200 and "location" not in r.headers
        first = next(r.iter_raw())
        assert first[:1] == b"\x47"
    assert video_codecs(ffprobe(_signed(stack, channel))) == ["h264"]


def test_redirect_mode_leads_a_gated_stream_to_403(make_stack) -> None:  # type: ignore[no-untyped-def]
    stack = make_stack(
        "stalker", options={"play_mode": "redirect"}, fake_options={"gated_streams": True}
    )
    r = httpx.get(stack.play_url(stack.channel_ids()[0]), headers=ADMIN)
    assert r.status_code == 302
    assert httpx.get(r.headers["location"]).status_code == 403  # what the issue reported


def test_relayed_hls_and_ts_from_an_m3u_provider(make_stack) -> None:  # type: ignore[no-untyped-def]
    stack = make_stack("m3u", options={"play_mode": "relay"})
    playlist = stack.api.get("/playlist.m3u", headers=ADMIN).text
    stream_lines = [line for line in playlist.splitlines() if line and not line.startswith("#")]
    assert stream_lines and not any(stack.fake.url in line for line in stream_lines)
    ids = stack.channel_ids()
    with stack.db.connect() as conn:
        import sqlalchemy as sa

        from iptvsync.store.models import channels

        cmds = dict(
            conn.execute(
                sa.select(channels.c.id, channels.c.cmd).where(channels.c.id.in_(ids))
            ).all()
        )
    hls_id = next(i for i, cmd in cmds.items() if cmd and ".m3u8" in cmd)
    ts_id = next(i for i, cmd in cmds.items() if cmd and cmd.split("?")[0].endswith(".ts"))
    # HLS: the playlist names only iptvsync URLs.
    body = httpx.get(_signed(stack, hls_id), timeout=20)
    assert body.status_code == 200 and body.text.startswith("#EXTM3U")
    assert stack.fake.url not in body.text and "/api/relay/hls/" in body.text
    assert video_codecs(ffprobe(_signed(stack, hls_id))) == ["h264"]
    assert video_codecs(ffprobe(_signed(stack, ts_id))) == ["h264"]


def test_remuxed_stream_decodes(make_stack) -> None:  # type: ignore[no-untyped-def]
    stack = make_stack("xtream", options={"play_mode": "relay", "remux": True})
    channel = stack.channel_ids()[0]
    assert video_codecs(ffprobe(_signed(stack, channel))) == ["h264"]
