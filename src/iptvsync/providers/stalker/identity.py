"""The MAG set-top box a Stalker client pretends to be, derived from the MAC (docs/stalker.md §3).

A real box reads ``sn``/``device_id``/``signature`` from its firmware; we cannot, so we derive
them deterministically from the MAC the way the popular tools do. What matters to servers is
consistency: stock Ministra pins the first non-empty ``device_id``/``device_id2`` to the MAC
forever ("device conflict" afterwards) and XC_VM bans the IP when ``sn`` is missing or changes.
So every field is a pure function of the MAC, and each may be overridden from the provider's
options (a user who copied the values from their real box).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import quote

from iptvsync.errors import ValidationFailed
from iptvsync.providers.http import mask_mac

__all__ = ["StalkerIdentity", "mask_mac", "normalize_mac"]

DEFAULT_USER_AGENT = (
    "Mozilla/5.0 (QtEmbedded; U; Linux; C) AppleWebKit/533.3 (KHTML, like Gecko) "
    "MAG200 stbapp ver: 2 rev: 250 Safari/533.3"
)
# The 2016 stock source rejects a Player Engine version older than 0x566 ("old firmware"),
# so always send a plausible, recent ``ver`` (docs/stalker.md §3).
DEFAULT_VER = (
    "ImageDescription: 0.2.18-r23-250; ImageDate: Wed Aug 29 10:49:53 EEST 2018; "
    "PORTAL version: 5.3.1; API Version: JS API version: 343; STB API version: 146; "
    "Player Engine version: 0x58c"
)

_HEX_PAIR = re.compile(r"^[0-9A-F]{2}$")


def normalize_mac(mac: str) -> str:
    """Upper-case, colon-separated. Accepts ``:``/``-`` separators or none at all.

    Raises ValidationFailed (message masked) when it is not six hex pairs.
    """
    raw = (mac or "").strip().upper()
    if re.fullmatch(r"[0-9A-F]{12}", raw):
        parts = [raw[i : i + 2] for i in range(0, 12, 2)]
    else:
        parts = re.split(r"[:\-.]", raw)
    if len(parts) != 6 or not all(_HEX_PAIR.match(p) for p in parts):
        raise ValidationFailed(
            "not a MAC address (expected six hex pairs like 00:1A:79:XX:XX:56)",
            detail={"field": "mac"},
        )
    return ":".join(parts)


def _sha256_upper(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest().upper()


@dataclass(frozen=True, slots=True)
class StalkerIdentity:
    """Everything a request carries to look like a MAG250. Build with ``from_mac``."""

    mac: str
    sn: str
    device_id: str
    device_id2: str
    signature: str
    stb_type: str = "MAG250"
    hw_version: str = "1.7-BD-00"
    hw_version_2: str = ""
    image_version: str = "218"
    ver: str = DEFAULT_VER
    user_agent: str = DEFAULT_USER_AGENT
    x_user_agent: str = "Model: MAG250; Link: WiFi"
    lang: str = "en"
    # Must be a valid PHP timezone name; UTC keeps the portal's times easy to read back.
    timezone: str = "UTC"
    extra_params: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    @classmethod
    def from_mac(cls, mac: str, **overrides: Any) -> StalkerIdentity:
        """Derive every field from the MAC; keyword overrides win (unknown keys are refused).

        Derivations follow the tools that are known to work (MacAttack, stalkerhek):
        ``sn`` = first 13 hex of MD5(MAC), ``device_id`` = SHA-256(MAC),
        ``device_id2`` = SHA-256(sn), ``signature`` = SHA-256(sn + MAC), all upper-case.
        """
        mac = normalize_mac(mac)
        sn = str(overrides.get("sn") or hashlib.md5(mac.encode()).hexdigest().upper()[:13])
        base = cls(
            mac=mac,
            sn=sn,
            device_id=_sha256_upper(mac),
            device_id2=_sha256_upper(sn),
            signature=_sha256_upper(sn + mac),
            hw_version_2=hashlib.sha1(mac.encode()).hexdigest(),
        )
        allowed = {f for f in cls.__dataclass_fields__ if f != "mac"}
        unknown = set(overrides) - allowed
        if unknown:
            raise ValidationFailed(
                f"unknown identity option(s): {', '.join(sorted(unknown))}",
                detail={"field": "options"},
            )
        clean = {k: v for k, v in overrides.items() if v not in (None, "")}
        return replace(base, **clean) if clean else base

    # -- what goes on the wire ---------------------------------------------------------------

    def cookie_header(self) -> str:
        """The ``Cookie`` header value: ``mac``, ``stb_lang``, ``timezone``.

        The MAC goes raw (``mac=00:1A:79:12:34:56``), as a MAG box sends it: a portal that
        does not URL-decode cookies takes ``00%3A1A...`` for another, unknown MAC, and colons
        are legal in a cookie value, so portals that do decode read the same MAC. The other
        values are encoded (a time zone's ``/``). Sent as a header rather than an httpx
        cookie jar so it is identical on every request and survives same-host redirects
        (IPTVnator #1158 lost it on http → https).
        """
        return (
            f"mac={self.mac}; stb_lang={quote(self.lang, safe='')}; "
            f"timezone={quote(self.timezone, safe='')}"
        )

    def headers(self, *, referer: str | None = None, token: str | None = None) -> dict[str, str]:
        out = {
            "User-Agent": self.user_agent,
            "X-User-Agent": self.x_user_agent,
            "Accept": "*/*",
            "Cookie": self.cookie_header(),
        }
        if referer:
            out["Referer"] = referer
        if token:
            out["Authorization"] = f"Bearer {token}"
        return out

    def metrics(self, random: str = "") -> str:
        return json.dumps(
            {
                "mac": self.mac,
                "sn": self.sn,
                "model": self.stb_type,
                "type": "STB",
                "uid": self.device_id,
                "random": random,
            },
            separators=(",", ":"),
        )

    def profile_params(
        self, *, random: str = "", timestamp: int = 0, auth_second_step: bool = False
    ) -> dict[str, str]:
        """Query parameters of ``type=stb&action=get_profile`` (docs/stalker.md §4.2)."""
        params = {
            "type": "stb",
            "action": "get_profile",
            "hd": "1",
            "ver": self.ver,
            "num_banks": "2",
            "sn": self.sn,
            "stb_type": self.stb_type,
            "client_type": "STB",
            "image_version": self.image_version,
            "video_out": "hdmi",
            "device_id": self.device_id,
            "device_id2": self.device_id2,
            "signature": self.signature,
            "auth_second_step": "1" if auth_second_step else "0",
            "hw_version": self.hw_version,
            "not_valid_token": "0",
            "metrics": self.metrics(random),
            "hw_version_2": self.hw_version_2,
            "timestamp": str(timestamp),
            "api_signature": "262",
            "prehash": "0",
        }
        params.update(self.extra_params)
        return params

    def auth_params(self, login: str, password: str) -> dict[str, str]:
        """Query parameters of ``type=stb&action=do_auth`` (profile status 2)."""
        return {
            "type": "stb",
            "action": "do_auth",
            "login": login,
            "password": password,
            "device_id": self.device_id,
            "device_id2": self.device_id2,
        }

    @property
    def masked_mac(self) -> str:
        return mask_mac(self.mac)

    def __repr__(self) -> str:  # the MAC and the ids derived from it are secrets
        return f"StalkerIdentity(mac={self.masked_mac!r}, stb_type={self.stb_type!r})"
