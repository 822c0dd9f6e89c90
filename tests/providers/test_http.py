"""Shared provider HTTP helpers: error translation and secret masking."""

from __future__ import annotations

import httpx
import pytest

from iptvsync.errors import ProviderBadResponse, ProviderTimeout, ProviderUnreachable
from iptvsync.providers.http import (
    build_http_client,
    mask_mac,
    redact,
    safe_url,
    translate_transport_error,
)


def test_redact_masks_macs_tokens_and_credentials() -> None:
    text = (
        "mac=00%3A1A%3A79%3A12%3A34%3A56 and 00:1a:79:ab:cd:ef and 00-1A-79-12-34-56; "
        "Authorization: Bearer 3F2A9C0D7E1B; http://h/live.php?mac=x&play_token=zz&stream=1"
    )
    out = redact(text, secrets=["s3cret", None])
    assert "12%3A34" not in out and "00%3A1A%3A79%3AXX%3AXX%3A56" in out
    assert "00:1A:79:XX:XX:EF" in out and "00-1A-79-XX-XX-56" in out
    assert "3F2A9C0D7E1B" not in out and "Bearer ***" in out
    assert "play_token=***" in out and "stream=1" in out
    assert redact("password is s3cret!", ["s3cret"]) == "password is ***!"


def test_mask_mac_and_safe_url() -> None:
    assert mask_mac("00:1A:79:12:34:56") == "00:1A:79:XX:XX:56"
    assert safe_url("http://user:pw@h:8080/p.php?token=abc&x=1#frag") == (
        "http://h:8080/p.php?token=***&x=1"
    )


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (httpx.ConnectError("refused"), ProviderUnreachable),
        (httpx.ReadTimeout("slow"), ProviderTimeout),
        (httpx.ConnectTimeout("slow"), ProviderTimeout),
        (httpx.RemoteProtocolError("peer closed"), ProviderUnreachable),
        (httpx.TooManyRedirects("loop"), ProviderBadResponse),
        (httpx.DecodingError("bad gzip"), ProviderBadResponse),
    ],
)
def test_translate(exc: httpx.HTTPError, kind: type) -> None:
    err = translate_transport_error(exc, url="http://h/p.php?mac=00:1A:79:12:34:56")
    assert isinstance(err, kind)
    assert "12:34" not in err.message


async def test_build_http_client() -> None:
    async with build_http_client(timeout_s=3) as http:
        assert http.timeout.read == 3 and http.follow_redirects
