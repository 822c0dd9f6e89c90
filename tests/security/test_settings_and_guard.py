"""Admin token and secret key at start, open mode's Host names, cross-site state changes
(issue points 3 and 4; docs/security.md)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from iptvsync.api.signing import sign, verify
from iptvsync.app import InsecureSettings, create_app
from iptvsync.cli import app as cli
from iptvsync.settings import Secret, Settings

from .conftest import ADMIN_TOKEN


@pytest.fixture
def local(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", scheduler=False)


@pytest.mark.parametrize("token", ["", "   ", "letmein7", "x" * 23])
def test_empty_or_short_admin_tokens_are_refused_at_start(local: Settings, token: str) -> None:
    with pytest.raises(InsecureSettings, match="IPTVSYNC_ADMIN_TOKEN"):
        create_app(local.replace(admin_token=Secret(token)))


def test_serve_refuses_an_empty_token_with_a_clear_message(
    local: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IPTVSYNC_DATA_DIR", str(local.data_dir))
    monkeypatch.setenv("IPTVSYNC_ADMIN_TOKEN", "")
    done = CliRunner().invoke(cli, ["serve", "--host", "0.0.0.0"])
    assert done.exit_code == 2
    assert "IPTVSYNC_ADMIN_TOKEN is set but empty" in done.output


def test_short_secret_key_is_refused(local: Settings) -> None:
    with pytest.raises(InsecureSettings, match="IPTVSYNC_SECRET_KEY"):
        create_app(local.replace(secret_key=Secret("short")))


def _old_style_sig(token: str, provider_id: int, kind: str, item: int, expires: int) -> str:
    """How play URLs were signed before: a key derived from the admin token."""
    key = hmac.new(token.encode(), b"iptvsync play-url key", hashlib.sha256).digest()
    message = f"play:{provider_id}:{kind}:{item}:{expires}".encode()
    mac = hmac.new(key, message, hashlib.sha256).digest()[:16]
    return f"{expires}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"


def test_signing_key_is_not_derived_from_the_admin_token(local: Settings) -> None:
    locked = local.replace(admin_token=Secret(ADMIN_TOKEN))
    forged = _old_style_sig(ADMIN_TOKEN, 1, "channel", 7, 2_000_000_000)
    assert not verify(locked, 1, "channel", 7, forged, now=1_000)
    # It comes from a random key file, created once, private.
    key_file = local.data_dir / "secret.key"
    assert verify(locked, 1, "channel", 7, sign(locked, 1, "channel", 7, now=1_000), now=1_001)
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert local.data_dir.stat().st_mode & 0o777 == 0o700
    # IPTVSYNC_SECRET_KEY takes its place when set.
    keyed = locked.replace(secret_key=Secret("k" * 32))
    assert not verify(keyed, 1, "channel", 7, sign(locked, 1, "channel", 7, now=1_000), now=1_001)


# --- Host names and cross-site requests --------------------------------------------------------


def _client(settings: Settings, host: str) -> TestClient:
    return TestClient(create_app(settings), base_url=f"http://{host}")


@pytest.mark.parametrize("host", ["127.0.0.1:8000", "localhost", "[::1]:8000", "app.localhost"])
def test_open_mode_answers_loopback_names(local: Settings, host: str) -> None:
    with _client(local, host) as client:
        assert client.get("/healthz").status_code == 200
        assert client.get("/api/providers").status_code == 200


def test_open_mode_refuses_other_host_names(local: Settings) -> None:
    with _client(local, "attacker.example") as client:
        refused = client.patch("/api/providers/1", json={"url": "http://evil.example/c/"})
        assert refused.status_code == 403
        assert "IPTVSYNC_ALLOWED_HOSTS" in refused.json()["error"]["message"]
        assert client.get("/api/providers").status_code == 403
    lan = local.replace(allowed_hosts=["tv.lan"])
    with _client(lan, "tv.lan:8000") as client:
        assert client.get("/api/providers").status_code == 200
    locked = local.replace(admin_token=Secret(ADMIN_TOKEN))
    with _client(locked, "tv.example.com") as client:  # with a token: any name
        assert client.get("/healthz").status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://attacker.example"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site", "Origin": "http://127.0.0.1:9999"},
    ],
)
@pytest.mark.parametrize("admin", [False, True])
def test_cross_site_state_changes_are_refused(
    local: Settings, headers: dict[str, str], admin: bool
) -> None:
    settings = local.replace(admin_token=Secret(ADMIN_TOKEN) if admin else None)
    auth = {"Authorization": f"Bearer {ADMIN_TOKEN}"} if admin else {}
    with _client(settings, "127.0.0.1:8000") as client:
        for method, path in (
            ("POST", "/api/providers/1/sync"),
            ("POST", "/api/providers/1/sync/cancel"),
            ("PATCH", "/api/providers/1"),
            ("DELETE", "/api/providers/1"),
        ):
            r = client.request(method, path, headers={**headers, **auth}, json={})
            assert r.status_code == 403, (method, path, r.text)
            assert r.json()["error"]["message"] == (
                "a cross-site request may not change anything here"
            )
        # Reading stays possible (a cross-site GET changes nothing).
        assert client.get("/api/providers", headers={**headers, **auth}).status_code == 200


def test_same_origin_and_non_browser_requests_pass(local: Settings) -> None:
    trusted = local.replace(cors_origins=["https://app.example"])
    with _client(trusted, "127.0.0.1:8000") as client:
        for headers in (
            {},
            {"Origin": "http://127.0.0.1:8000"},
            {"Sec-Fetch-Site": "same-origin", "Origin": "http://127.0.0.1:8000"},
            {"Sec-Fetch-Site": "none"},
            {"Origin": "https://app.example", "Sec-Fetch-Site": "cross-site"},
        ):
            r = client.post("/api/providers/1/sync", headers=headers, json={})
            assert r.status_code == 404, (headers, r.text)  # reached the route: no provider 1
