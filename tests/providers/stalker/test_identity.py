"""The MAG identity derived from a MAC (docs/stalker.md §3)."""

from __future__ import annotations

import json
import re
from urllib.parse import unquote

import pytest

from iptvsync.errors import ValidationFailed
from iptvsync.providers.stalker.identity import StalkerIdentity, mask_mac, normalize_mac

MAC = "00:1A:79:12:34:56"


@pytest.mark.parametrize(
    "raw",
    [
        "00:1A:79:12:34:56",
        "00:1a:79:12:34:56",
        "00-1A-79-12-34-56",
        "001A79123456",
        " 001a79123456 ",
    ],
)
def test_normalize_mac(raw: str) -> None:
    assert normalize_mac(raw) == MAC


@pytest.mark.parametrize(
    "raw", ["", "00:1A:79:12:34", "00:1A:79:12:34:5G", "hello", "00:1A:79:12:34:56:78"]
)
def test_bad_macs_are_refused_without_echo(raw: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        normalize_mac(raw)
    assert raw.strip() == "" or raw not in info.value.message


def test_mask_mac() -> None:
    assert mask_mac(MAC) == "00:1A:79:XX:XX:56"
    assert mask_mac("001a79123456") == "00:1A:79:XX:XX:56"
    assert mask_mac("garbage") == "XX:XX:XX:XX:XX:XX"


def test_identity_is_deterministic_and_well_formed() -> None:
    a = StalkerIdentity.from_mac(MAC)
    b = StalkerIdentity.from_mac("00-1a-79-12-34-56")
    assert a == b
    assert re.fullmatch(r"[0-9A-F]{13}", a.sn)
    for value in (a.device_id, a.device_id2, a.signature):
        assert re.fullmatch(r"[0-9A-F]{64}", value)
    assert len({a.device_id, a.device_id2, a.signature}) == 3
    other = StalkerIdentity.from_mac("00:1A:79:AB:CD:EF")
    assert other.sn != a.sn and other.device_id != a.device_id


def test_overrides() -> None:
    ident = StalkerIdentity.from_mac(MAC, sn="0A1B2C3D4E5F6", stb_type="MAG254", device_id=None)
    base = StalkerIdentity.from_mac(MAC)
    assert ident.sn == "0A1B2C3D4E5F6" and ident.stb_type == "MAG254"
    assert ident.device_id == base.device_id  # None means "derive"
    assert ident.device_id2 != base.device_id2  # derived from the overridden sn
    with pytest.raises(ValidationFailed):
        StalkerIdentity.from_mac(MAC, colour="blue")


def test_wire_fields() -> None:
    ident = StalkerIdentity.from_mac(MAC, timezone="Europe/London")
    headers = ident.headers(referer="http://h/stalker_portal/c/", token="TOKEN")
    assert "MAG200 stbapp" in headers["User-Agent"]
    assert headers["X-User-Agent"] == "Model: MAG250; Link: WiFi"
    assert headers["Authorization"] == "Bearer TOKEN"
    assert headers["Referer"] == "http://h/stalker_portal/c/"
    cookie = headers["Cookie"]
    # The MAC raw, as a MAG box sends it (a portal may not URL-decode cookies).
    assert cookie == "mac=00:1A:79:12:34:56; stb_lang=en; timezone=Europe%2FLondon"
    assert "Authorization" not in ident.headers()
    params = ident.profile_params(random="abc", timestamp=1700000000, auth_second_step=True)
    assert params["sn"] == ident.sn and params["device_id"] == ident.device_id
    assert params["auth_second_step"] == "1" and params["stb_type"] == "MAG250"
    assert "Player Engine version: 0x58c" in params["ver"]
    metrics = json.loads(params["metrics"])
    assert metrics == {"mac": MAC, "sn": ident.sn, "model": "MAG250", "type": "STB",
                       "uid": ident.device_id, "random": "abc"}  # fmt: skip
    auth = ident.auth_params("user", "pass")
    assert auth["login"] == "user" and auth["device_id2"] == ident.device_id2
    assert unquote(cookie.split(";")[0].split("=")[1]) == MAC


def test_repr_hides_the_mac() -> None:
    ident = StalkerIdentity.from_mac(MAC)
    text = repr(ident)
    assert "12:34" not in text and "00:1A:79:XX:XX:56" in text
    assert ident.device_id not in text
