"""The Stalker API endpoint a session found, kept on the provider (``providers.endpoint``,
migration 0011; docs/stalker.md §1): the next sync starts with the handshake, and finds the
endpoint again only when it no longer answers like a portal."""

from __future__ import annotations

import logging
from typing import Any

import pytest
import sqlalchemy as sa

from iptvsync.providers.stalker.discovery import Endpoint
from iptvsync.store import providers as provider_store
from iptvsync.store.models import providers
from tests.sync.conftest import Harness

#: Where each family of the fake answers (its first path), and a path it does not serve.
ANSWERS = {"stock": "/server/load.php", "reseller": "/portal.php"}
MOVED = {"stock": "/portal.php", "reseller": "/server/load.php"}


def _stored(h: Harness) -> Any:
    with h.db.connect() as conn:
        return conn.execute(
            sa.select(providers.c.endpoint).where(providers.c.id == h.provider_id)
        ).scalar_one()


def _store(h: Harness, endpoint: dict[str, Any] | None) -> None:
    with h.db.begin() as conn:
        conn.execute(
            providers.update().where(providers.c.id == h.provider_id).values(endpoint=endpoint)
        )


def _genres_asked(h: Harness) -> int:
    return int(h.portal.stats_dict()["by_action"].get("itv.get_genres", 0))


@pytest.mark.both_backends  # a JSON column on both
async def test_the_next_sync_starts_at_the_endpoint_found(harness: Harness, family: str) -> None:
    first = await harness.sync()
    assert first["status"] == "succeeded", first
    stored = _stored(harness)
    assert stored["url"] == f"http://portal.test{ANSWERS[family]}"
    # As the session found it: a stock portal answered the token-less probe (no token was
    # bound to the MAC yet), but its session has a token.
    assert stored["token_free"] is False
    assert stored["family_hint"] in ("stock", "reseller", None)
    # Discovery asked the genres without a token; the channel walk asked them again.
    assert _genres_asked(harness) == 2
    harness.portal.reset_stats()
    again = await harness.sync()
    assert again["status"] == "succeeded", again
    assert _stored(harness) == stored
    assert _genres_asked(harness) == 0, "the second sync discovered the endpoint again"
    # The same sync with nothing kept: discovery's two requests come back (a stock portal:
    # the first candidate path, then the one that answers; a reseller panel: the probe, then
    # the handshake that confirms it).
    _store(harness, None)
    harness.portal.reset_stats()
    third = await harness.sync()
    assert third["status"] == "succeeded", third
    assert _genres_asked(harness) == 1
    assert third["requests"] - again["requests"] == 2
    assert _stored(harness) == stored


async def test_a_moved_portal_is_found_again(
    harness: Harness, family: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The endpoint kept answers 404 (the portal moved to another path): the sync finds the
    endpoint again, succeeds, and keeps the new one."""
    gone = {"url": f"http://portal.test{MOVED[family]}", "token_free": False, "family_hint": None}
    _store(harness, gone)
    with caplog.at_level(logging.INFO, logger="iptvsync.providers.stalker.session"):
        run = await harness.sync()
    assert run["status"] == "succeeded", run
    assert _stored(harness)["url"] == f"http://portal.test{ANSWERS[family]}"
    assert "the endpoint found before answers no more (not_a_portal)" in caplog.text
    assert _genres_asked(harness) == 2  # discovery's, then the channel walk's


async def test_a_refused_mac_at_the_endpoint_kept_is_not_a_move(harness: Harness) -> None:
    """The portal answers at the endpoint kept and refuses the MAC: that is its answer (the
    run fails with it); no discovery probes a portal that refuses us."""
    first = await harness.sync()
    assert first["status"] == "succeeded", first
    harness.portal.configure(mac_allowed=("00:1A:79:00:00:01",))
    harness.portal.reset_stats()
    run = await harness.sync()
    assert run["status"] == "failed"
    assert run["error"]["code"] == "provider_auth_failed"
    assert _genres_asked(harness) == 0
    assert _stored(harness) is not None  # still where the portal answers


async def test_a_failing_server_at_the_endpoint_kept_is_not_a_move(harness: Harness) -> None:
    """The endpoint kept answers HTTP 500 to the handshake after every retry: the portal is
    down there, not moved. The run fails with the portal's error; no discovery probes it."""
    first = await harness.sync()
    assert first["status"] == "succeeded", first
    kept = _stored(harness)
    with harness.db.begin() as conn:  # fewer retries, a shorter test
        provider_store.update_provider(conn, harness.provider_id, {"options": {"max_attempts": 2}})
    harness.portal.configure(action_status={"stb.handshake": 500})
    harness.portal.reset_stats()
    run = await harness.sync()
    assert run["status"] == "failed"
    assert run["error"]["code"] == "provider_bad_response"
    assert "HTTP 500" in run["error"]["message"]
    assert _genres_asked(harness) == 0
    assert _stored(harness) == kept


async def test_a_new_url_forgets_the_endpoint(harness: Harness) -> None:
    await harness.sync()
    assert _stored(harness) is not None
    with harness.db.begin() as conn:
        provider_store.update_provider(conn, harness.provider_id, {"name": "renamed"})
    assert _stored(harness) is not None  # another change keeps it
    with harness.db.begin() as conn:
        provider_store.update_provider(
            conn, harness.provider_id, {"url": "http://portal.test/stalker_portal/c/"}
        )
    assert _stored(harness) is None


@pytest.mark.parametrize(
    "value",
    [
        None,
        "http://portal.test/server/load.php",
        {"url": "ftp://portal.test/load.php", "token_free": False, "family_hint": None},
        {"url": "http://portal.test/load.php", "token_free": "no", "family_hint": None},
        {"url": "http://portal.test/load.php", "token_free": False, "family_hint": "other"},
        {"token_free": False, "family_hint": None},
    ],
)
def test_anything_but_a_kept_endpoint_is_found_again(value: Any) -> None:
    assert Endpoint.from_stored(value) is None


def test_a_kept_endpoint_reads_back_as_it_was() -> None:
    found = Endpoint("https://portal.test/stalker_portal/server/load.php", True, "stock")
    assert Endpoint.from_stored(found.stored()) == found


async def test_a_token_free_panel_is_kept_token_free(harness: Harness) -> None:
    """A panel that needs no session (it refuses the handshake, answers content without a
    token): kept so, the next sync goes straight to its content."""
    harness.portal.configure(token_free=True, handshake_refused=True)
    first = await harness.sync()
    assert first["status"] == "succeeded", first
    assert _stored(harness)["token_free"] is True
    harness.portal.reset_stats()
    again = await harness.sync()
    assert again["status"] == "succeeded", again
    assert _genres_asked(harness) == 0
