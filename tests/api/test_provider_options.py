"""Provider options are typed per kind (providers/options.py): a bad one is a 422 that names it,
at POST, PATCH and the CLI; the Xtream/M3U option names of before still read the same."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from iptvsync.app import create_app
from iptvsync.errors import ValidationFailed
from iptvsync.providers.options import M3uOptions, XtreamOptions, checked, parse_options
from iptvsync.settings import Settings

XTREAM = {"name": "xt", "kind": "xtream", "url": "http://panel.test", "username": "u",
          "password": "p"}  # fmt: skip
M3U = {"name": "pl", "kind": "m3u", "url": "http://host.test/a.m3u"}
STALKER = {"name": "st", "kind": "stalker", "url": "http://portal.test/c/",
           "mac": "00:1A:79:12:34:56"}  # fmt: skip


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as c:
        yield c


@pytest.mark.parametrize(
    ("body", "option"),
    [
        ({**XTREAM, "options": {"retries": "x"}}, "max_attempts"),
        ({**M3U, "options": {"retries": "x"}}, "max_attempts"),
        # "²" is a digit to str.isdigit() that int() refuses (docs/reliability.md, "Bad input").
        ({**M3U, "options": {"retries": "\u00b2"}}, "max_attempts"),
        ({**XTREAM, "options": {"request_timeout_s": -1}}, "request_timeout_s"),
        ({**XTREAM, "options": {"guide": "portal"}}, "guide"),
        ({**M3U, "options": {"playlist_cache_s": "soon"}}, "playlist_cache_s"),
        ({**STALKER, "options": {"max_attempts": "many"}}, "max_attempts"),
        ({**STALKER, "options": {"max_rps": 0}}, "max_rps"),
    ],
)
def test_a_bad_option_is_422_naming_it(
    client: TestClient, body: dict[str, Any], option: str
) -> None:
    answer = client.post("/api/providers", json=body)
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["code"] == "validation_error"
    assert option in error["message"], error
    assert client.get("/api/providers").json()["items"] == []


def test_patch_checks_options_against_the_providers_kind(client: TestClient) -> None:
    created = client.post("/api/providers", json={**XTREAM, "options": {"retries": 2}})
    assert created.status_code == 201, created.text
    pid = created.json()["id"]
    answer = client.patch(f"/api/providers/{pid}", json={"options": {"retries": "x"}})
    assert answer.status_code == 422, answer.text
    assert "max_attempts" in answer.json()["error"]["message"]
    fine = client.patch(f"/api/providers/{pid}", json={"options": {"max_attempts": 2}})
    assert fine.status_code == 200, fine.text


def test_the_old_xtream_and_m3u_names_read_as_the_common_ones() -> None:
    old = {"timeout_s": 5, "retries": 2, "schedule": {"every": "6h"}}
    for model in (XtreamOptions, M3uOptions):
        parsed = checked(model, old)
        assert (parsed.request_timeout_s, parsed.max_attempts) == (5.0, 3)
        assert parsed.model_extra == {"schedule": {"every": "6h"}}  # passed through
    new = checked(XtreamOptions, {"request_timeout_s": 7, "max_attempts": 1, "retries": 9})
    assert (new.request_timeout_s, new.max_attempts) == (7.0, 1)  # the new name wins


def test_an_unknown_kind_is_refused() -> None:
    with pytest.raises(ValidationFailed):
        parse_options("dvb", {})
