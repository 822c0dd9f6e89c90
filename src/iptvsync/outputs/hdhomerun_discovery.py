"""Find the tuner on the LAN: SiliconDust discovery (UDP 65001) and SSDP (UDP 1900).

Off unless ``IPTVSYNC_HDHOMERUN_DISCOVERY=true``; one device is advertised
(``hdhomerun_discovery_device``), at ``hdhomerun_base_url``.

SiliconDust's packets (libhdhomerun ``hdhomerun_pkt.h``): ``u16 type, u16 payload length,
payload, u32 CRC`` — big-endian except the CRC (Ethernet CRC-32, little-endian). The payload is
tag/length/value; a length over 127 takes two bytes (low 7 bits | 0x80, then the rest). A
request (type 2) names a device type and ID, either of which may be the wildcard 0xFFFFFFFF;
the reply (type 3) carries device type, ID, tuner count, base URL, lineup URL and auth.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
import zlib
from collections.abc import Awaitable, Callable
from typing import Any

from iptvsync.outputs.hdhomerun import Device

log = logging.getLogger("iptvsync.hdhomerun")

TYPE_DISCOVER_REQ = 0x0002
TYPE_DISCOVER_RPY = 0x0003
TAG_DEVICE_TYPE = 0x01
TAG_DEVICE_ID = 0x02
TAG_TUNER_COUNT = 0x10
TAG_LINEUP_URL = 0x27
TAG_BASE_URL = 0x2A
TAG_DEVICE_AUTH_STR = 0x2B
DEVICE_TYPE_TUNER = 0x00000001
WILDCARD = 0xFFFFFFFF

Lookup = Callable[[], Awaitable[tuple[Device, str] | None]]


def frame(packet_type: int, payload: bytes) -> bytes:
    body = struct.pack(">HH", packet_type, len(payload)) + payload
    return body + struct.pack("<I", zlib.crc32(body) & 0xFFFFFFFF)


def tlv(tag: int, value: bytes) -> bytes:
    n = len(value)
    length = bytes([n]) if n <= 127 else bytes([(n & 0x7F) | 0x80, n >> 7])
    return bytes([tag]) + length + value


def parse(packet: bytes) -> tuple[int, dict[int, bytes]] | None:
    """(type, tags) of a well-formed packet with a good CRC; None otherwise."""
    if len(packet) < 8:
        return None
    body, crc = packet[:-4], struct.unpack("<I", packet[-4:])[0]
    if zlib.crc32(body) & 0xFFFFFFFF != crc:
        return None
    packet_type, length = struct.unpack(">HH", body[:4])
    payload = body[4 : 4 + length]
    tags: dict[int, bytes] = {}
    pos = 0
    while pos + 2 <= len(payload):
        tag, n = payload[pos], payload[pos + 1]
        pos += 2
        if n & 0x80:
            if pos >= len(payload):
                return None
            n = (n & 0x7F) | (payload[pos] << 7)
            pos += 1
        tags[tag] = payload[pos : pos + n]
        pos += n
    return packet_type, tags


def reply_for(request: bytes, device: Device, base: str) -> bytes | None:
    parsed = parse(request)
    if parsed is None or parsed[0] != TYPE_DISCOVER_REQ:
        return None
    tags = parsed[1]
    wanted_type = (
        struct.unpack(">I", tags[TAG_DEVICE_TYPE])[0]
        if len(tags.get(TAG_DEVICE_TYPE, b"")) == 4
        else WILDCARD
    )
    wanted_id = (
        struct.unpack(">I", tags[TAG_DEVICE_ID])[0]
        if len(tags.get(TAG_DEVICE_ID, b"")) == 4
        else WILDCARD
    )
    if wanted_type not in (WILDCARD, DEVICE_TYPE_TUNER):
        return None
    if wanted_id not in (WILDCARD, device.device_id):
        return None
    payload = b"".join(
        (
            tlv(TAG_DEVICE_TYPE, struct.pack(">I", DEVICE_TYPE_TUNER)),
            tlv(TAG_DEVICE_ID, struct.pack(">I", device.device_id)),
            tlv(TAG_TUNER_COUNT, bytes([device.tuners & 0xFF])),
            tlv(TAG_DEVICE_AUTH_STR, b"iptvsync"),
            tlv(TAG_BASE_URL, base.encode()),
            tlv(TAG_LINEUP_URL, f"{base}/lineup.json".encode()),
        )
    )
    return frame(TYPE_DISCOVER_RPY, payload)


def ssdp_reply(request: bytes, device: Device, base: str) -> bytes | None:
    text = request.decode("latin-1", "replace")
    if not text.startswith("M-SEARCH"):
        return None
    headers = {
        k.strip().lower(): v.strip()
        for k, _, v in (line.partition(":") for line in text.split("\r\n")[1:])
        if k
    }
    st = headers.get("st", "")
    ours = ("ssdp:all", "upnp:rootdevice", "urn:schemas-upnp-org:device:MediaServer:1")
    if st not in ours:
        return None
    answer_st = "upnp:rootdevice" if st == "ssdp:all" else st
    uuid = f"{device.device_id:08x}-0000-4000-8000-{device.device_id:012x}"
    return (
        "HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=1800\r\nEXT:\r\n"
        f"LOCATION: {base}/device.xml\r\nSERVER: iptvsync UPnP/1.0 HDHomeRun/1.0\r\n"
        f"ST: {answer_st}\r\nUSN: uuid:{uuid}::{answer_st}\r\n\r\n"
    ).encode()


class _Responder(asyncio.DatagramProtocol):
    def __init__(self, lookup: Lookup, build: Callable[[bytes, Device, str], bytes | None]):
        self.lookup = lookup
        self.build = build
        self.transport: asyncio.DatagramTransport | None = None
        self.pending: set[asyncio.Task[None]] = set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        task = asyncio.ensure_future(self._answer(data, addr))
        self.pending.add(task)
        task.add_done_callback(self.pending.discard)

    async def _answer(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        found = await self.lookup()
        if found is None or self.transport is None:
            return
        answer = self.build(data, *found)
        if answer is not None:
            self.transport.sendto(answer, addr)


class Discovery:
    """Both responders; ``close`` stops them."""

    def __init__(self) -> None:
        self.transports: list[asyncio.BaseTransport] = []

    async def start(self, host: str, hd_port: int, ssdp_port: int, lookup: Lookup) -> None:
        loop = asyncio.get_running_loop()
        for port, build in ((hd_port, reply_for), (ssdp_port, ssdp_reply)):
            try:
                transport, _ = await loop.create_datagram_endpoint(
                    lambda b=build: _Responder(lookup, b),  # type: ignore[misc]
                    local_addr=(host, port),
                    reuse_port=True,
                )
            except OSError as exc:
                log.warning("hdhomerun discovery: cannot listen on UDP %s:%s: %s", host, port, exc)
                continue
            self.transports.append(transport)
            if port == ssdp_port and host == "0.0.0.0":
                _join_ssdp_group(transport)

    def close(self) -> None:
        for transport in self.transports:
            transport.close()
        self.transports.clear()


def _join_ssdp_group(transport: asyncio.BaseTransport) -> None:
    import socket

    sock = transport.get_extra_info("socket")
    if sock is None:
        return
    group = socket.inet_aton("239.255.255.250") + socket.inet_aton("0.0.0.0")
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, group)


async def start_for(svc: Any) -> Discovery | None:
    """Start discovery for the app's settings (None when it is off or has nothing to offer)."""
    from iptvsync.outputs.hdhomerun import device_key, resolve_device

    s = svc.settings
    if not s.hdhomerun_discovery:
        return None
    name = s.hdhomerun_discovery_device or ("open" if s.admin_token is None else None)
    if name is None:
        log.warning("hdhomerun discovery: set IPTVSYNC_HDHOMERUN_DISCOVERY_DEVICE (u<id>/p<id>)")
        return None
    key = "-" if name == "open" else device_key(svc, name)
    root = (s.hdhomerun_base_url or f"http://{s.host}:{s.port}").rstrip("/")
    base = f"{root}/hdhr/{name}/{key}"
    cache: dict[str, tuple[float, Device]] = {}

    async def lookup() -> tuple[Device, str] | None:
        """The advertised device, read again at most every 30 s (its tuner count can change)."""
        now = asyncio.get_running_loop().time()
        hit = cache.get(name)
        if hit is None or now - hit[0] > 30:
            try:
                device = await asyncio.to_thread(resolve_device, svc, name, key)
            except Exception as exc:
                log.warning("hdhomerun discovery: device %s unavailable: %s", name, exc)
                return None
            hit = cache[name] = (now, device)
        return hit[1], base

    discovery = Discovery()
    await discovery.start(s.hdhomerun_discovery_host, s.hdhomerun_discovery_port,
                          s.hdhomerun_ssdp_port, lookup)  # fmt: skip
    return discovery
