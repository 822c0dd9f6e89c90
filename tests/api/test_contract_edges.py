"""The contract's edges (docs/api.md): stats count what the API lists, clean reports what was
visible and apart what else went, a channel's detail has every detail key."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi.testclient import TestClient

from iptvsync.store.catalogue import UNCATEGORISED
from iptvsync.store.models import categories
from tests.api.conftest import Seeded


def _empty_uncategorised(seeded: Seeded) -> int:
    with seeded.db.connect() as conn:
        rows = conn.execute(
            sa.select(categories.c.id).where(
                categories.c.provider_id == seeded.provider_id,
                categories.c.provider_category_id == UNCATEGORISED,
                categories.c.deleted_at.is_(None),
            )
        ).all()
    return len(rows)


def test_stats_categories_count_what_categories_lists(client: TestClient, seeded: Seeded) -> None:
    listed = client.get("/api/providers/1/categories").json()["items"]
    assert all(c["provider_category_id"] is not None for c in listed)
    assert _empty_uncategorised(seeded) >= 1, "the case this guards: stored but not listed"
    stats = client.get("/api/providers/1/sync").json()["stats"]
    assert stats["categories"] == len(listed)

    # Once an uncategorised item exists, the category is listed and counted.
    with seeded.db.begin() as conn:
        from iptvsync.store.models import movies

        uncategorised = conn.execute(
            sa.select(categories.c.id).where(
                categories.c.provider_id == seeded.provider_id,
                categories.c.provider_category_id == UNCATEGORISED,
                categories.c.kind == "movie",
            )
        ).scalar_one()
        first = conn.execute(sa.select(sa.func.min(movies.c.id))).scalar_one()
        conn.execute(movies.update().where(movies.c.id == first).values(category_id=uncategorised))
    listed = client.get("/api/providers/1/categories").json()["items"]
    assert any(c["provider_category_id"] is None for c in listed)
    assert client.get("/api/providers/1/sync").json()["stats"]["categories"] == len(listed)


def test_clean_reports_what_was_visible_and_apart_what_else_went(
    client: TestClient, seeded: Seeded
) -> None:
    seeded.catalogue.remove("movie", [m.id for m in seeded.catalogue.movies[:5]])
    seeded.resync()
    stats = client.get("/api/providers/1/sync").json()["stats"]
    assert stats["movies"] == 55
    with seeded.db.connect() as conn:
        stored = conn.execute(
            sa.select(sa.func.count()).where(categories.c.provider_id == seeded.provider_id)
        ).scalar_one()
    answer = client.delete("/api/providers/1/clean")
    assert answer.status_code == 200
    body = answer.json()
    assert set(body) == {"deleted", "purged"}
    keys = {"movies", "series", "channels", "categories", "episodes"}
    assert set(body["deleted"]) == set(body["purged"]) == keys
    assert body["deleted"] == {k: stats[k] for k in keys}
    assert body["purged"]["movies"] == 5  # removed by the last sync, kept for deltas
    # Every category stored went: the listed ones, and the empty "Uncategorised" apart.
    assert body["purged"]["categories"] == stored - stats["categories"] > 0
    assert client.get("/api/providers/1/sync").json()["stats"]["movies"] == 0


def test_channel_detail_has_every_detail_key_as_null(client: TestClient, seeded: Seeded) -> None:
    channel = seeded.catalogue.channels[0]
    ours = seeded.ours("channel", channel.id)
    detail = client.get(f"/api/providers/1/channels/{ours}").json()
    for key in ("description", "director", "actors", "genres", "duration"):
        assert key in detail and detail[key] is None, key
    assert "archive_days" in detail and "radio" in detail
    movie = seeded.catalogue.movies[0]
    movie_detail = client.get(f"/api/providers/1/movies/{seeded.ours('movie', movie.id)}").json()
    assert set(detail) - {"number", "logo", "epg_id", "archive", "archive_days", "radio"} <= set(
        movie_detail
    ) | {"number"}


def test_a_422_says_what_is_wrong_in_sentences(client: TestClient) -> None:
    body = {"name": "x", "kind": "stalker", "url": "http://h.test/c/", "mac": "00:1A:79:12:34"}
    error = client.post("/api/providers", json=body).json()["error"]
    assert error["code"] == "validation_error"
    assert error["message"] == "The MAC must look like 00:1A:79:12:34:56."
    assert error["detail"]["errors"] == [
        {"loc": ["body", "mac"], "msg": "must look like 00:1A:79:12:34:56"}
    ]
    both = client.post("/api/providers", json={"kind": "stalker", "url": "ftp://h", "x": 1}).json()
    message = both["error"]["message"]
    assert "The name is required." in message
    assert "The URL must be an http(s) URL with a host." in message
    assert "'x' is not a field here." in message
    assert "Value error" not in str(both) and "input:" not in message.lower()
