"""Search: word prefixes on names, safe against any input, across kinds and providers."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from iptvsync.records import ChannelRecord, MovieRecord, SeriesRecord
from iptvsync.store import catalogue as store
from iptvsync.store.search import fts_query, search_words
from iptvsync.sync.diff import record_to_row
from tests.api.conftest import Seeded, assert_error, seed_provider

pytestmark = pytest.mark.both_backends


def _add(seeded: Seeded, kind: str, records: list[object]) -> None:
    with seeded.db.begin() as conn:
        cat_map = store.category_map(conn, seeded.provider_id, kind)
        rows = [record_to_row(r, cat_map) for r in records]  # type: ignore[arg-type]
        store.upsert_items(
            conn,
            kind,
            seeded.provider_id,
            rows,
            run_id=1,
            version=1,
            now=datetime.now(UTC),
        )


@pytest.fixture
def named(seeded: Seeded) -> Seeded:
    _add(
        seeded,
        "movie",
        [
            MovieRecord(provider_item_id="bb-film", name="Breaking Bad: The Movie"),
            MovieRecord(provider_item_id="amelie", name="Le Fabuleux Destin d'Amélie Poulain"),
            MovieRecord(provider_item_id="zz", name="Zyxwv Unbreakable"),
        ],
    )
    _add(seeded, "series", [SeriesRecord(provider_item_id="bb", name="Breaking Bad")])
    _add(
        seeded, "channel", [ChannelRecord(provider_item_id="bbc", name="Breakfast TV", number=999)]
    )
    return seeded


def test_prefix_search_in_a_list(client: TestClient, named: Seeded) -> None:
    r = client.get("/api/providers/1/movies", params={"q": "breaki"})
    assert r.status_code == 200
    names = [i["name"] for i in r.json()["items"]]
    assert names == ["Breaking Bad: The Movie"]
    both = client.get("/api/providers/1/movies", params={"q": "bad brea"}).json()
    assert [i["name"] for i in both["items"]] == ["Breaking Bad: The Movie"]
    # A word must start a word of the name: "reaking" is inside one.
    assert client.get("/api/providers/1/movies", params={"q": "reaking"}).json()["total"] == 0
    sorted_by_name = client.get("/api/providers/1/movies", params={"q": "b", "sort": "name"})
    names = [i["name"] for i in sorted_by_name.json()["items"]]
    assert names == sorted(names, key=str.lower)


def test_accents(client: TestClient, named: Seeded, database_url: str) -> None:
    r = client.get("/api/providers/1/movies", params={"q": "amél"}).json()
    assert [i["provider_item_id"] for i in r["items"]] == ["amelie"]
    if database_url.startswith("sqlite"):
        # FTS5's unicode61 tokenizer folds diacritics; PostgreSQL has no unaccent here.
        folded = client.get("/api/providers/1/movies", params={"q": "amel"}).json()
        assert [i["provider_item_id"] for i in folded["items"]] == ["amelie"]


HOSTILE = [
    '"',
    '""*',
    "*",
    "breaking OR bad",
    "NEAR(breaking bad)",
    "name:breaking",
    "-bad",
    "^bad",
    "bad'; DROP TABLE movies; --",
    "(((",
    "\\m.*",
    "%_%",
    "🎬 breaking",
]


def test_any_input_is_a_plain_search(client: TestClient, named: Seeded) -> None:
    for hostile in HOSTILE:
        r = client.get("/api/providers/1/movies", params={"q": hostile})
        assert r.status_code == 200, (hostile, r.text)
        r = client.get("/api/search", params={"q": hostile})
        assert r.status_code == 200, (hostile, r.text)


def test_query_words_are_quoted_for_fts5() -> None:
    assert search_words('Breaking "Bad" OR x*') == ["breaking", "bad", "or", "x"]
    assert fts_query(["breaki", "bad"]) == '"breaki"* "bad"*'
    assert search_words("!!! ---") == []
    assert search_words("Ça_va") == ["ça", "va"]


def test_nothing_searchable_matches_nothing(client: TestClient, named: Seeded) -> None:
    body = client.get("/api/providers/1/movies", params={"q": "!!!"}).json()
    assert body["total"] == 0 and body["items"] == []
    everything = client.get("/api/providers/1/movies", params={"q": "  "}).json()
    assert everything["total"] == 63
    too_long = client.get("/api/providers/1/movies", params={"q": "x" * 201})
    assert_error(too_long, 422, "validation_error")


def test_search_across_kinds_and_providers(
    client: TestClient, named: Seeded, db: sa.Engine
) -> None:
    other = seed_provider(db, seed=8, name="other")
    _add(other, "movie", [MovieRecord(provider_item_id="bb2", name="Breaking Point")])
    r = client.get("/api/search", params={"q": "break"})
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"total", "page", "limit", "items", "hasMore"}
    found = {(i["kind"], i["provider_id"], i["name"]) for i in body["items"]}
    assert ("series", 1, "Breaking Bad") in found
    assert ("channel", 1, "Breakfast TV") in found
    assert ("movie", other.provider_id, "Breaking Point") in found
    assert ("movie", 1, "Zyxwv Unbreakable") not in found, "prefixes, not substrings"
    assert body["total"] == len(body["items"]) == 4

    only_series = client.get("/api/search", params={"q": "break", "kind": "series"}).json()
    assert [(i["kind"], i["name"]) for i in only_series["items"]] == [("series", "Breaking Bad")]
    one_provider = client.get(
        "/api/search", params={"q": "break", "provider": other.provider_id}
    ).json()
    assert [i["name"] for i in one_provider["items"]] == ["Breaking Point"]

    pages = [
        client.get("/api/search", params={"q": "break", "limit": 1, "page": p}).json()
        for p in range(1, 6)
    ]
    seen = [(i["kind"], i["id"]) for p in pages for i in p["items"]]
    assert len(seen) == len(set(seen)) == 4
    assert pages[3]["hasMore"] is False and pages[4]["items"] == []


def test_search_bad_parameters(client: TestClient) -> None:
    assert_error(client.get("/api/search"), 422, "validation_error")
    assert_error(client.get("/api/search", params={"q": ""}), 422, "validation_error")
    assert_error(client.get("/api/search", params={"q": "a", "kind": "x"}), 422, "validation_error")
    assert_error(client.get("/api/search", params={"q": "a", "page": 0}), 422, "validation_error")
    assert_error(client.get("/api/search", params={"q": "a", "limit": 0}), 422, "validation_error")
    assert_error(client.get("/api/search", params={"q": "a", "provider": 42}), 404, "not_found")
    capped = client.get("/api/search", params={"q": "a", "limit": 9999}).json()
    assert capped["limit"] == 500
