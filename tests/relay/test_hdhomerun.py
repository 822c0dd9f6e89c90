"""The HDHomeRun tuner: Debian's ``hdhomerun_config discover`` finds it on loopback, its lineup
plays through ffprobe, and its files have the shapes media servers read."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess

import httpx
import pytest

from iptvsync.fakes.server import free_port
from iptvsync.outputs.hdhomerun import device_id_for, valid_device_id
from iptvsync.outputs.hdhomerun_discovery import parse, reply_for
from tests.relay.conftest import ADMIN, ffprobe, needs_ffprobe, video_codecs

needs_tool = pytest.mark.skipif(
    shutil.which("hdhomerun_config") is None, reason="needs hdhomerun_config"
)


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def test_device_ids_pass_libhdhomeruns_checksum() -> None:
    ids = {device_id_for(f"u{i}") for i in range(200)}
    assert len(ids) > 190 and all(valid_device_id(i) for i in ids)
    some = next(iter(ids))
    assert not any(valid_device_id(some ^ bit) for bit in (1, 2, 4, 8, 0x10, 0x100000))


@needs_tool
@needs_ffprobe
def test_hdhomerun_config_discovers_the_tuner_and_its_lineup_plays(make_stack) -> None:  # type: ignore[no-untyped-def]
    # hdhomerun_config sends to UDP 65001 (not configurable); we bind loopback only.
    if not _port_free(65001):
        pytest.skip("UDP 127.0.0.1:65001 is in use on this machine")
    ssdp_port = free_port()
    stack = make_stack(
        "stalker",
        hdhomerun_discovery=True,
        hdhomerun_discovery_host="127.0.0.1",
        hdhomerun_ssdp_port=ssdp_port,  # SSDP's 1900 needs no privilege, but keep tests apart
        hdhomerun_discovery_device="u1",
    )
    uid, _ = stack.add_user("plex", max_streams=1)
    assert uid == 1
    devices = stack.api.get("/api/hdhomerun", headers=ADMIN).json()["items"]
    mine = next(d for d in devices if d["device"] == "u1")
    # The advertised base URL is http://<host>:<port> from the settings (the app's own socket).
    out = subprocess.run(
        ["hdhomerun_config", "discover", "127.0.0.1"], capture_output=True, text=True, timeout=20
    )
    found = re.search(r"hdhomerun device ([0-9A-F]{8}) found at 127\.0\.0\.1", out.stdout)
    assert found, out.stdout + out.stderr
    assert found.group(1) == mine["device_id"]
    info = httpx.get(f"{mine['base_url']}/discover.json").json()
    assert info["DeviceID"] == mine["device_id"] and info["TunerCount"] == 1
    lineup = httpx.get(info["LineupURL"]).json()
    assert lineup and {"GuideNumber", "GuideName", "URL"} <= set(lineup[0])
    assert stack.fake.url not in str(lineup)
    assert httpx.get(f"{mine['base_url']}/lineup_status.json").json()["ScanInProgress"] == 0
    assert "urn:schemas-upnp-org:device-1-0" in httpx.get(f"{mine['base_url']}/device.xml").text
    assert video_codecs(ffprobe(lineup[0]["URL"])) == ["h264"]
    # SSDP: an M-SEARCH gets the device description's location.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.settimeout(5)
        search = (
            "M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\n"
            "MX: 1\r\nST: urn:schemas-upnp-org:device:MediaServer:1\r\n\r\n"
        )
        udp.sendto(search.encode(), ("127.0.0.1", ssdp_port))
        answer = udp.recv(2048).decode()
    assert f"LOCATION: {mine['base_url']}/device.xml" in answer
    # A wrong device key is no device at all.
    assert httpx.get(f"{mine['base_url'][:-4]}0000/discover.json").status_code == 404


def test_discovery_packets_roundtrip() -> None:
    from iptvsync.access import OPEN
    from iptvsync.outputs.hdhomerun import Device
    from iptvsync.outputs.hdhomerun_discovery import TYPE_DISCOVER_REQ, frame, tlv

    device = Device("u7", OPEN, (1,), 2, "x")
    request = frame(TYPE_DISCOVER_REQ, tlv(1, b"\xff" * 4) + tlv(2, b"\xff" * 4))
    reply = reply_for(request, device, "http://127.0.0.1:9/hdhr/u7/k" + "x" * 200)
    assert reply is not None
    kind, tags = parse(reply)  # type: ignore[misc]
    assert kind == 3 and tags[0x10] == b"\x02" and tags[0x2A].endswith(b"x" * 200)
    assert reply_for(request[:-1] + b"\x00", device, "http://h") is None  # bad CRC


def test_bad_play_options_are_refused_clearly() -> None:
    from iptvsync.api.schemas import ProviderIn

    base = {"name": "x", "kind": "stalker", "url": "http://h/c/", "mac": "00:1A:79:12:34:56"}
    for options, word in (
        ({"play_mode": "teleport"}, "play_mode"),
        ({"max_connections": 0}, "max_connections"),
        ({"max_connections": "2"}, "max_connections"),
        ({"macs": ["nope"]}, "macs"),
        ({"remux": "yes"}, "remux"),
    ):
        with pytest.raises(ValueError, match=word):
            ProviderIn(**base, options=options)
    ProviderIn(**base, options={"play_mode": "relay", "max_connections": 2, "remux": True})
