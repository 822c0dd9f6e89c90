"""HDHomeRun tuner emulation: what Plex, Jellyfin, Emby and Channels DVR add as a tuner.

One device per output user (its channels, ``TunerCount`` = the streams it may watch at once)
and, for the admin, one per provider (``TunerCount`` = the provider's connection slots). A
device lives under ``/hdhr/<device>/<key>/``: ``<device>`` is ``u<user id>`` or ``p<provider
id>`` (``open`` in open mode), ``<key>`` a signature of it (``api.signing``), so the URLs a media
server stores carry no password. The admin lists them at ``GET /api/hdhomerun``.

Files, as SiliconDust's HTTP API serves them: ``discover.json``, ``lineup.json`` (entries play
through ``/api/providers/{id}/play/channel/{id}``, the relay when the provider's mode is
``relay``), ``lineup_status.json``, ``lineup.post`` (scans are no-ops) and ``device.xml``
(UPnP, for SSDP). The guide is ``/xmltv.xml`` for the same user (``guide_url`` in
``GET /api/hdhomerun``). Discovery on UDP (SSDP, SiliconDust's 65001) is in
``outputs.hdhomerun_discovery``.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import zlib
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

from fastapi import APIRouter, Request
from fastapi.responses import Response

from iptvsync.access import OPEN, Principal
from iptvsync.api.auth import principal_from_request
from iptvsync.api.play import user_play_url
from iptvsync.api.services import Services, Svc
from iptvsync.api.signing import signing_key
from iptvsync.errors import NotFound
from iptvsync.numbers import ascii_int
from iptvsync.relay.modes import UNLIMITED, play_options
from iptvsync.store import batches as read
from iptvsync.store import queries
from iptvsync.store.providers import list_providers
from iptvsync.store.users import load_user, user_by_id, user_ids

router = APIRouter(tags=["hdhomerun"])

_CHECKSUM = (0xA, 0x5, 0xF, 0x6, 0x7, 0xC, 0x1, 0xB, 0x9, 0x2, 0x8, 0xD, 0x4, 0x3, 0xE, 0x0)
MAX_TUNERS = 16


def device_id_for(name: str) -> int:
    """A stable 32-bit DeviceID for ``name`` that passes libhdhomerun's checksum (media servers
    drop devices whose ID fails it)."""
    raw = 0x10000000 | (zlib.crc32(name.encode()) & 0x0FFFFFF0)
    check = 0
    for shift in (28, 20, 12, 4):
        check ^= _CHECKSUM[(raw >> shift) & 0xF]
    for shift in (24, 16, 8):
        check ^= (raw >> shift) & 0xF
    return raw | check  # the last nibble makes the XOR of all terms zero


def valid_device_id(device_id: int) -> bool:
    check = 0
    for shift in (28, 20, 12, 4):
        check ^= _CHECKSUM[(device_id >> shift) & 0xF]
    for shift in (24, 16, 8, 0):
        check ^= (device_id >> shift) & 0xF
    return check == 0


def device_key(svc: Services, device: str) -> str:
    digest = hmac.new(signing_key(svc.settings), f"hdhr:{device}".encode(), hashlib.sha256)
    return digest.hexdigest()[:24]


@dataclass(frozen=True, slots=True)
class Device:
    name: str  # u<id> | p<id> | open
    who: Principal
    provider_ids: tuple[int, ...]
    tuners: int
    label: str

    @property
    def device_id(self) -> int:
        return device_id_for(self.name)


def resolve_device(svc: Services, device: str, key: str) -> Device:
    """The device behind a ``/hdhr/<device>/<key>/`` path; 404 for anything else."""
    missing = NotFound("no such tuner")
    if device == "open":
        if svc.settings.admin_token is not None:
            raise missing
    elif len(key) > 64 or not hmac.compare_digest(key.encode(), device_key(svc, device).encode()):
        raise missing
    with svc.db.connect() as conn:
        number = ascii_int(device[1:])
        if device.startswith("u") and number is not None:
            row = user_by_id(conn, number)
            if row is None:
                raise missing
            who = load_user(conn, row)
            limit = row.max_streams or svc.settings.default_max_streams
            pids = tuple(p.id for p in read.visible_providers(svc.db, who))
            return Device(device, who, pids, min(limit, MAX_TUNERS), row.username)
        if device.startswith("p") and number is not None:
            try:
                provider = queries.check_provider(conn, number)
            except NotFound:
                raise missing from None
            return Device(
                device, OPEN, (provider.id,), _provider_tuners(provider), str(provider.name)
            )
    if device == "open":
        pids = tuple(p.id for p in read.visible_providers(svc.db, OPEN))
        return Device(device, OPEN, pids, svc.settings.default_max_streams, "all providers")
    raise missing


def _provider_tuners(provider: Any) -> int:
    options = play_options(provider)
    if options.max_connections >= UNLIMITED:
        return MAX_TUNERS
    return min(options.max_connections * len(options.accounts), MAX_TUNERS)


def base_of(request: Request, device: str, key: str) -> str:
    return f"{str(request.base_url).rstrip('/')}/hdhr/{device}/{key}"


@router.get("/hdhr/{device}/{key}/discover.json")
async def discover(device: str, key: str, request: Request, svc: Svc) -> dict[str, Any]:
    dev = await asyncio.to_thread(resolve_device, svc, device, key)
    return discover_payload(dev, base_of(request, device, key))


def discover_payload(dev: Device, base: str) -> dict[str, Any]:
    return {
        "FriendlyName": f"iptvsync ({dev.label})",
        "Manufacturer": "Silicondust",
        "ModelNumber": "HDTC-2US",
        "FirmwareName": "hdhomeruntc_atsc",
        "FirmwareVersion": "20200101",
        "DeviceID": f"{dev.device_id:08X}",
        "DeviceAuth": "iptvsync",
        "BaseURL": base,
        "LineupURL": f"{base}/lineup.json",
        "TunerCount": dev.tuners,
    }


@router.get("/hdhr/{device}/{key}/lineup.json")
async def lineup(device: str, key: str, request: Request, svc: Svc) -> list[dict[str, Any]]:
    dev = await asyncio.to_thread(resolve_device, svc, device, key)
    base = str(request.base_url).rstrip("/")
    return await asyncio.to_thread(_lineup, svc, dev, base)


def _lineup(svc: Services, dev: Device, base: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for provider_id in dev.provider_ids:
        for batch in read.iter_channels(svc.db, provider_id):
            for row in batch:
                if row.radio:
                    continue
                number = str(row.number) if row.number is not None else f"{provider_id}{row.id}"
                if number in seen:  # several providers: numbers must stay unique
                    number = f"{provider_id}.{row.id}"
                seen.add(number)
                url = user_play_url(svc, base, provider_id, "channel", row.id, dev.who.user_id)
                out.append({"GuideNumber": number, "GuideName": row.name, "URL": url})
    return out


@router.get("/hdhr/{device}/{key}/lineup_status.json")
async def lineup_status(device: str, key: str, svc: Svc) -> dict[str, Any]:
    await asyncio.to_thread(resolve_device, svc, device, key)
    return {"ScanInProgress": 0, "ScanPossible": 1, "Source": "Cable", "SourceList": ["Cable"]}


@router.api_route("/hdhr/{device}/{key}/lineup.post", methods=["GET", "POST"])
async def lineup_post(device: str, key: str, svc: Svc) -> Response:
    await asyncio.to_thread(resolve_device, svc, device, key)
    return Response(status_code=200)


@router.get("/hdhr/{device}/{key}/device.xml", response_class=Response)
async def device_xml(device: str, key: str, request: Request, svc: Svc) -> Response:
    dev = await asyncio.to_thread(resolve_device, svc, device, key)
    return Response(device_description(dev, base_of(request, device, key)), media_type="text/xml")


def device_description(dev: Device, base: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<root xmlns="urn:schemas-upnp-org:device-1-0">'
        "<specVersion><major>1</major><minor>0</minor></specVersion>"
        f"<URLBase>{escape(base)}</URLBase>"
        "<device><deviceType>urn:schemas-upnp-org:device:MediaServer:1</deviceType>"
        f"<friendlyName>{escape('iptvsync (' + dev.label + ')')}</friendlyName>"
        "<manufacturer>Silicondust</manufacturer><modelName>HDTC-2US</modelName>"
        "<modelNumber>HDTC-2US</modelNumber>"
        f"<serialNumber>{dev.device_id:08X}</serialNumber>"
        f"<UDN>uuid:{dev.device_id:08x}-0000-4000-8000-{dev.device_id:012x}</UDN>"
        "</device></root>"
    )


@router.get("/api/hdhomerun")
async def devices(request: Request, svc: Svc) -> dict[str, Any]:
    """The tuner devices the caller may add to a media server, with their guide URLs."""
    who = await principal_from_request(request)
    base = str(request.base_url).rstrip("/")
    return {"items": await asyncio.to_thread(_devices, svc, who, base)}


def _devices(svc: Services, who: Principal, base: str) -> list[dict[str, Any]]:
    names: list[str] = []
    if svc.settings.admin_token is None:
        names.append("open")
    if who.admin:
        with svc.db.connect() as conn:
            names += [f"p{r.id}" for r in list_providers(conn)]
            names += [f"u{user_id}" for user_id in user_ids(conn)]
    elif who.user_id is not None:
        names.append(f"u{who.user_id}")
    out = []
    for name in names:
        key = "-" if name == "open" else device_key(svc, name)
        dev = resolve_device(svc, name, key)
        url = f"{base}/hdhr/{name}/{key}"
        guide = f"{base}/xmltv.xml"
        if name.startswith("p"):
            guide += f"?provider={name[1:]}"
        out.append(
            {
                "device": name,
                "label": dev.label,
                "device_id": f"{dev.device_id:08X}",
                "tuners": dev.tuners,
                "base_url": url,
                "guide_url": guide,
            }
        )
    return out
