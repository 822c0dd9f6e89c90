"""Catalogue pages, detail and categories over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from iptvsync.records import MovieRecord
from iptvsync.store import catalogue as store
from iptvsync.sync.diff import record_to_row
from tests.api.conftest import Seeded, assert_error

pytestmark = pytest.mark.both_backends

MOVIE_KEYS = {
    "id",
    "provider_item_id",
    "name",
    "year",
    "rating",
    "poster",
    "category_id",
    "added_at",
}
CHANNEL_KEYS = {
    "id",
    "provider_item_id",
    "name",
    "number",
    "logo",
    "category_id",
    "epg_id",
    "archive",
}


def _all_pages(client: TestClient, url: str, limit: int) -> list[dict[str, Any]]:
    """Every item, page by page (``url`` may carry its own query)."""
    path, _, query = url.partition("?")
    params = dict(p.split("=", 1) for p in query.split("&") if p)
    items: list[dict[str, Any]] = []
    page = 1
    while True:
        body = client.get(path, params={**params, "page": page, "limit": limit}).json()
        items += body["items"]
        assert body["hasMore"] == (page * limit < body["total"])
        if not body["hasMore"]:
            return items
        page += 1


def test_movie_pages_have_the_contract_shape_and_a_total_order(
    client: TestClient, seeded: Seeded
) -> None:
    first = client.get("/api/providers/1/movies", params={"limit": 7})
    assert first.status_code == 200
    body = first.json()
    assert set(body) == {"total", "page", "limit", "items", "hasMore"}
    assert (body["total"], body["page"], body["limit"], body["hasMore"]) == (60, 1, 7, True)
    assert all(set(i) == MOVIE_KEYS for i in body["items"])
    item = body["items"][0]
    assert item["added_at"].endswith("Z") and item["poster"].startswith("https://")
    assert isinstance(item["rating"], float | None)

    items = _all_pages(client, "/api/providers/1/movies", 7)
    ids = [i["id"] for i in items]
    assert len(ids) == len(set(ids)) == 60, "pages overlap or skip"
    keys = [(i["added_at"], i["id"]) for i in items]
    assert keys == sorted(keys, reverse=True), "newest first, then id"
    assert {i["provider_item_id"] for i in items} == {str(m.id) for m in seeded.catalogue.movies}


def test_channels_default_to_number_order(client: TestClient) -> None:
    items = _all_pages(client, "/api/providers/1/channels", 8)
    assert all(set(i) == CHANNEL_KEYS for i in items)
    assert [i["number"] for i in items] == sorted(i["number"] for i in items)
    assert len(items) == 30
    assert all(isinstance(i["archive"], bool) for i in items)


def test_sorts(client: TestClient) -> None:
    by_rating = _all_pages(client, "/api/providers/1/movies?sort=rating", 9)
    rated = [i["rating"] for i in by_rating if i["rating"] is not None]
    assert rated == sorted(rated, reverse=True)
    nulls = [i["rating"] is None for i in by_rating]
    assert nulls == sorted(nulls), "unrated titles come last"
    assert len({i["id"] for i in by_rating}) == 60

    by_year = _all_pages(client, "/api/providers/1/series?sort=year", 6)
    years = [i["year"] for i in by_year]
    assert years == sorted(years, reverse=True) and len(by_year) == 20

    by_name = _all_pages(client, "/api/providers/1/movies?sort=name", 11)
    assert len({i["id"] for i in by_name}) == 60
    ascii_names = [i["name"].lower() for i in by_name if i["name"].isascii()]
    assert ascii_names == sorted(ascii_names), "case-insensitive name order"

    channels = client.get("/api/providers/1/channels?sort=name&limit=500").json()["items"]
    names = [c["name"].lower() for c in channels if c["name"].isascii()]
    assert names == sorted(names)


def test_bad_paging_and_sort_parameters(client: TestClient) -> None:
    for params in ({"page": 0}, {"page": -3}, {"page": "x"}, {"limit": 0}, {"limit": -5}):
        r = client.get("/api/providers/1/movies", params=params)
        assert_error(r, 422, "validation_error")
    capped = client.get("/api/providers/1/movies", params={"limit": 100_000}).json()
    assert capped["limit"] == 500 and len(capped["items"]) == 60 and not capped["hasMore"]
    past = client.get("/api/providers/1/movies", params={"page": 10**15, "limit": 500})
    assert past.status_code == 200
    assert past.json() == {
        "total": 60,
        "page": 10**15,
        "limit": 500,
        "items": [],
        "hasMore": False,
    }
    just_past = client.get("/api/providers/1/movies", params={"page": 4, "limit": 20}).json()
    assert just_past["items"] == [] and just_past["total"] == 60
    assert_error(client.get("/api/providers/1/movies?sort=shoe"), 422, "validation_error")
    assert_error(client.get("/api/providers/1/movies?sort=number"), 422, "validation_error")
    assert_error(client.get("/api/providers/1/channels?sort=rating"), 422, "validation_error")
    assert_error(client.get("/api/providers/1/movies?category=abc"), 422, "validation_error")


def test_unknown_provider_category_and_item_are_404(client: TestClient, seeded: Seeded) -> None:
    assert_error(client.get("/api/providers/99/movies"), 404, "not_found")
    assert_error(client.get("/api/providers/99/categories"), 404, "not_found")
    assert_error(client.get("/api/providers/99/movies/1"), 404, "not_found")
    assert_error(client.get("/api/providers/1/movies?category=987654"), 404, "not_found")
    channel_category = seeded.category("channel", seeded.catalogue.channels[0].category_id)
    wrong_kind = client.get(f"/api/providers/1/movies?category={channel_category}")
    assert_error(wrong_kind, 404, "not_found")
    assert_error(client.get("/api/providers/1/movies/987654"), 404, "not_found")
    assert_error(client.get("/api/providers/1/channels/987654"), 404, "not_found")
    assert_error(client.get("/api/providers/1/categories?kind=books"), 422, "validation_error")


def test_category_filter_matches_category_counts(client: TestClient) -> None:
    cats = client.get("/api/providers/1/categories", params={"kind": "movie"}).json()["items"]
    assert cats and all(
        set(c) == {"id", "provider_category_id", "kind", "title", "censored", "count"} for c in cats
    )
    assert {c["kind"] for c in cats} == {"movie"}
    assert sum(c["count"] for c in cats) == 60
    assert any(c["censored"] for c in cats), "the adult category is flagged"
    for c in cats:
        page = client.get(
            "/api/providers/1/movies", params={"category": c["id"], "limit": 500}
        ).json()
        assert page["total"] == c["count"] == len(page["items"])
        assert all(i["category_id"] == c["id"] for i in page["items"])
    every = client.get("/api/providers/1/categories").json()["items"]
    assert {c["kind"] for c in every} == {"movie", "series", "channel"}


def test_detail_adds_description_and_friends(client: TestClient, seeded: Seeded) -> None:
    movie = seeded.catalogue.movies[3]
    our = seeded.ours("movie", movie.id)
    r = client.get(f"/api/providers/1/movies/{our}")
    assert r.status_code == 200
    body = r.json()
    assert set(body) >= MOVIE_KEYS
    assert body["description"] == movie.description
    assert body["director"] == movie.director
    assert body["actors"] == movie.actors
    assert body["genres"] == movie.genres
    assert body["duration"] == movie.duration_min
    channel = seeded.catalogue.channels[0]
    ch = client.get(f"/api/providers/1/channels/{seeded.ours('channel', channel.id)}").json()
    assert set(ch) >= CHANNEL_KEYS and ch["name"] == channel.name


def test_removed_items_appear_nowhere(client: TestClient, seeded: Seeded) -> None:
    gone = seeded.catalogue.movies[:5]
    gone_ids = {seeded.ours("movie", m.id) for m in gone}
    seeded.catalogue.remove("movie", [m.id for m in gone])
    seeded.resync()
    listed = _all_pages(client, "/api/providers/1/movies", 50)
    assert len(listed) == 55 and not gone_ids & {i["id"] for i in listed}
    cats = client.get("/api/providers/1/categories?kind=movie").json()["items"]
    assert sum(c["count"] for c in cats) == 55
    for item_id in gone_ids:
        assert_error(client.get(f"/api/providers/1/movies/{item_id}"), 404, "not_found")
    word = gone[0].name.split()[0]
    found = client.get("/api/search", params={"q": word, "limit": 500}).json()["items"]
    assert not gone_ids & {i["id"] for i in found if i["kind"] == "movie"}


def test_items_under_several_categories(client: TestClient, seeded: Seeded) -> None:
    movie_cats = [c.id for c in seeded.catalogue.categories_of("movie") if not c.censored]
    a, b = str(movie_cats[0]), str(movie_cats[1])
    record = MovieRecord(provider_item_id="multi-1", name="Twice Listed", category_ids=(a, b))
    with seeded.db.begin() as conn:
        cat_map = store.category_map(conn, seeded.provider_id, "movie")
        store.upsert_items(
            conn,
            "movie",
            seeded.provider_id,
            [record_to_row(record, cat_map)],
            run_id=1,
            version=1,
            now=datetime.now(UTC),
        )
    ours = seeded.ours("movie", "multi-1")
    ca, cb = cat_map[a], cat_map[b]
    item = client.get(f"/api/providers/1/movies/{ours}").json()
    assert item["category_id"] == ca and item["category_ids"] == [ca, cb]
    for category in (ca, cb):
        page = client.get(f"/api/providers/1/movies?category={category}&limit=500").json()
        assert ours in {i["id"] for i in page["items"]}
    counts = {
        c["id"]: c["count"]
        for c in client.get("/api/providers/1/categories?kind=movie").json()["items"]
    }
    b_page = client.get(f"/api/providers/1/movies?category={cb}&limit=500").json()
    assert counts[cb] == b_page["total"]
    plain = client.get("/api/providers/1/movies?limit=500").json()["items"]
    assert all("category_ids" not in i for i in plain if i["id"] != ours)


def test_uncategorised_items(client: TestClient, seeded: Seeded) -> None:
    record = MovieRecord(provider_item_id="lost-1", name="Nowhere Man", category_ids=("nope",))
    with seeded.db.begin() as conn:
        cat_map = store.category_map(conn, seeded.provider_id, "movie")
        store.upsert_items(
            conn,
            "movie",
            seeded.provider_id,
            [record_to_row(record, cat_map)],
            run_id=1,
            version=1,
            now=datetime.now(UTC),
        )
    cats = client.get("/api/providers/1/categories?kind=movie").json()["items"]
    uncategorised = [c for c in cats if c["title"] == "Uncategorised"]
    assert len(uncategorised) == 1 and uncategorised[0]["count"] == 1
    assert uncategorised[0]["provider_category_id"] is None
    series_cats = client.get("/api/providers/1/categories?kind=series").json()["items"]
    assert not [c for c in series_cats if c["title"] == "Uncategorised"], "hidden when empty"
    page = client.get(f"/api/providers/1/movies?category={uncategorised[0]['id']}").json()
    assert [i["name"] for i in page["items"]] == ["Nowhere Man"]


def test_ids_no_row_can_have_are_404_not_500(client: TestClient) -> None:
    huge = 2**40
    for url in (
        f"/api/providers/{huge}/movies",
        f"/api/providers/{huge}/snapshot",
        f"/api/providers/1/movies/{huge}",
        f"/api/providers/1/series/{huge}",
        f"/api/providers/1/channels/{huge}",
        f"/api/providers/1/movies?category={huge}",
        f"/api/providers/1/play/movie/{huge}",
        f"/api/providers/1/play/episode/{huge}",
        f"/api/search?q=a&provider={huge}",
        "/api/providers/0/movies",
        "/api/providers/-1/movies",
    ):
        assert_error(client.get(url), 404, "not_found")
