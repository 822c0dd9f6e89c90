"""``/api/providers/{id}/snapshot`` over HTTP: negotiation, validators, pages, parts, deltas."""

from __future__ import annotations

from typing import Any

import orjson
import sqlalchemy as sa
from fastapi.testclient import TestClient

from iptvsync.settings import Settings
from iptvsync.snapshot import files
from iptvsync.snapshot.build import build_snapshot
from tests.api.conftest import Seeded, assert_error

URL = "/api/providers/1/snapshot"


def _raw(client: TestClient, url: str, encoding: str, **headers: str) -> Any:
    """GET without the client decoding the body, so the bytes on the wire can be checked."""
    with client.stream("GET", url, headers={"Accept-Encoding": encoding, **headers}) as r:
        return r, b"".join(r.iter_raw())


def test_no_snapshot_before_the_first_build(client: TestClient) -> None:
    for url in (URL, URL + "/essentials", URL + "/categories/1", URL + "?since=1"):
        assert_error(client.get(url), 404, "no_snapshot")
    assert_error(client.get(URL + "?kind=movies"), 404, "no_snapshot")
    assert_error(client.get("/api/providers/99/snapshot"), 404, "not_found")


def test_content_negotiation_and_validators(
    client: TestClient, db: sa.Engine, settings: Settings, seeded: Seeded
) -> None:
    build_snapshot(db, settings, seeded.provider_id)
    bodies = {}
    for accept, enc in (
        ("br", "br"),
        ("zstd", "zstd"),
        ("gzip", "gzip"),
        ("identity", "identity"),
        ("gzip;q=0.5, zstd;q=0.9", "zstd"),
        ("", "identity"),
    ):
        r, raw = _raw(client, URL, accept)
        assert r.status_code == 200
        assert r.headers.get("content-encoding", "identity") == enc
        assert r.headers["vary"] == "Accept-Encoding"
        assert r.headers["etag"] == 'W/"1"'
        assert r.headers["cache-control"] == "public, max-age=3600"
        assert r.headers["content-type"].startswith("application/json")
        assert int(r.headers["content-length"]) == len(raw)
        bodies[enc] = files.decompress(raw, enc)
    assert len(set(bodies.values())) == 1
    doc = orjson.loads(bodies["identity"])
    assert doc["version"] == 1 and len(doc["movies"]) == 60

    for validator in ('W/"1"', '"1"', 'W/"0", W/"1"', "*"):
        r = client.get(URL, headers={"If-None-Match": validator})
        assert r.status_code == 304 and r.content == b""
        assert r.headers["etag"] == 'W/"1"' and r.headers["vary"] == "Accept-Encoding"
    assert client.get(URL, headers={"If-None-Match": 'W/"2"'}).status_code == 200
    head = client.head(URL, headers={"Accept-Encoding": "br"})
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-encoding"] == "br"


def test_max_age_is_configurable(db: sa.Engine, settings: Settings, seeded: Seeded) -> None:
    from iptvsync.app import create_app

    build_snapshot(db, settings, seeded.provider_id)
    settings = settings.replace(snapshot_max_age_s=60)
    with TestClient(create_app(settings)) as client:
        assert client.get(URL).headers["cache-control"] == "public, max-age=60"


def test_pages(client: TestClient, db: sa.Engine, settings: Settings, seeded: Seeded) -> None:
    build_snapshot(db, settings, seeded.provider_id)
    body = client.get(URL, params={"kind": "movies", "page": 2, "limit": 25}).json()
    assert set(body) == {"total", "page", "limit", "items", "hasMore"}
    assert (body["total"], body["page"], body["limit"], len(body["items"])) == (60, 2, 25, 25)
    assert body["hasMore"] is True
    seen = []
    for page in (1, 2, 3):
        seen += client.get(URL, params={"kind": "series", "page": page, "limit": 8}).json()["items"]
    assert len({i["id"] for i in seen}) == 20
    capped = client.get(URL, params={"kind": "channels", "limit": 10**6}).json()
    assert capped["limit"] == 500 and len(capped["items"]) == 30
    past = client.get(URL, params={"kind": "channels", "page": 10**9}).json()
    assert past["items"] == [] and past["hasMore"] is False
    for params in (
        {"kind": "movies", "page": 0},
        {"kind": "movies", "page": -1},
        {"kind": "movies", "limit": 0},
        {"kind": "movies", "limit": -10},
        {"kind": "books"},
        {"page": 2},
        {"kind": "movies", "since": 1},
    ):
        assert_error(client.get(URL, params=params), 422, "validation_error")


def test_essentials_and_categories(
    client: TestClient, db: sa.Engine, settings: Settings, seeded: Seeded
) -> None:
    build_snapshot(db, settings, seeded.provider_id)
    r = client.get(URL + "/essentials")
    assert r.status_code == 200 and r.headers["etag"] == 'W/"1"'
    essentials = r.json()
    assert set(essentials) == {"version", "stats", "categories", "featured"}
    assert 0 < len(essentials["featured"]) <= 50
    assert client.get(URL + "/essentials", headers={"If-None-Match": 'W/"1"'}).status_code == 304

    category = max(
        (c for c in essentials["categories"] if c["kind"] == "movie"), key=lambda c: c["count"]
    )
    for accept in ("br", "gzip", "zstd", "identity"):
        r, raw = _raw(client, f"{URL}/categories/{category['id']}", accept)
        assert r.status_code == 200 and r.headers["etag"] == 'W/"1"'
        assert r.headers["vary"] == "Accept-Encoding"
        body = orjson.loads(files.decompress(raw, r.headers.get("content-encoding", "identity")))
        assert set(body) == {"version", "category", "items"}
        assert body["category"] == category
        assert len(body["items"]) == category["count"]
        assert all(i["category_id"] == category["id"] for i in body["items"])
    r = client.get(f"{URL}/categories/{category['id']}", headers={"If-None-Match": 'W/"1"'})
    assert r.status_code == 304
    assert_error(client.get(URL + "/categories/987654"), 404, "not_found")
    assert_error(client.get(URL + "/categories/abc"), 422, "validation_error")


def test_deltas(client: TestClient, db: sa.Engine, settings: Settings, seeded: Seeded) -> None:
    build_snapshot(db, settings, seeded.provider_id)
    cat = seeded.catalogue
    removed = [m.id for m in cat.movies[:3]]
    cat.remove("movie", removed)
    changed = cat.series[0]
    changed.name = "Renamed Series"
    added = cat.add_movies(4)
    cat.remove("channel", [cat.channels[0].id])
    seeded.resync()
    build_snapshot(db, settings, seeded.provider_id)

    full = client.get(URL)
    assert full.headers["etag"] == 'W/"2"'
    r = client.get(URL, params={"since": 1})
    assert r.status_code == 200 and r.headers["etag"] == 'W/"2"'
    delta = r.json()
    assert set(delta) == {"from", "to", "added", "changed", "removed"}
    assert (delta["from"], delta["to"]) == (1, 2)
    assert {m["provider_item_id"] for m in delta["added"]["movies"]} == {str(m.id) for m in added}
    assert [s["name"] for s in delta["changed"]["series"]] == ["Renamed Series"]
    assert delta["changed"]["movies"] == [] and delta["added"]["series"] == []
    removed_ours = {i for i in delta["removed"]["movies"]}
    assert len(removed_ours) == 3
    full_ids = {m["id"] for m in full.json()["movies"]}
    assert not removed_ours & full_ids
    assert len(delta["removed"]["channels"]) == 1

    # Applying the delta to version 1 gives version 2.
    v1 = files.version_path(settings, seeded.provider_id, 1)
    old = orjson.loads(v1.read_bytes())
    for key in ("movies", "series", "channels"):
        items = {i["id"]: i for i in old[key]}
        for item in delta["added"][key] + delta["changed"][key]:
            items[item["id"]] = item
        for item_id in delta["removed"][key]:
            items.pop(item_id)
        new = {i["id"]: i for i in full.json()[key]}
        assert items == new, key

    same = client.get(URL, params={"since": 2}).json()
    assert same["from"] == same["to"] == 2
    assert all(v == [] for part in ("added", "changed", "removed") for v in same[part].values())
    assert (
        client.get(URL, params={"since": 1}, headers={"If-None-Match": 'W/"2"'}).status_code == 304
    )
    for since in (3, 0, -1, 10**12, "yesterday", "v1", 'W/"2"', "²", ""):
        assert_error(client.get(URL, params={"since": since}), 410, "snapshot_too_old")


def test_versions_outside_the_kept_window_are_too_old(
    db: sa.Engine, settings: Settings, seeded: Seeded
) -> None:
    from iptvsync.app import create_app

    settings = settings.replace(snapshot_keep_versions=2)
    build_snapshot(db, settings, seeded.provider_id)
    for _ in range(2):
        seeded.catalogue.add_movies(1)
        seeded.resync()
        build_snapshot(db, settings, seeded.provider_id)
    with TestClient(create_app(settings)) as client:
        assert_error(client.get(URL, params={"since": 1}), 410, "snapshot_too_old")
        assert len(client.get(URL, params={"since": 2}).json()["added"]["movies"]) == 1


def test_clean_removes_the_snapshot(
    client: TestClient, db: sa.Engine, settings: Settings, seeded: Seeded
) -> None:
    build_snapshot(db, settings, seeded.provider_id)
    assert client.get(URL).status_code == 200
    r = client.delete("/api/providers/1/clean")
    assert r.status_code == 200
    assert not files.stable_path(settings, seeded.provider_id).exists()
    assert_error(client.get(URL), 404, "no_snapshot")
    assert_error(client.get(URL, params={"since": 1}), 404, "no_snapshot")


def test_missing_files_are_built_again(
    client: TestClient, db: sa.Engine, settings: Settings, seeded: Seeded
) -> None:
    build_snapshot(db, settings, seeded.provider_id)
    files.remove_snapshot_files(settings, seeded.provider_id)
    r = client.get(URL, headers={"Accept-Encoding": "gzip"})
    assert r.status_code == 200 and len(r.json()["movies"]) == 60
    assert files.stable_path(settings, seeded.provider_id, "gzip").exists()


def test_snapshot_needs_read_access(db: sa.Engine, settings: Settings, seeded: Seeded) -> None:
    from iptvsync.app import create_app
    from iptvsync.settings import Secret

    build_snapshot(db, settings, seeded.provider_id)
    settings = settings.replace(admin_token=Secret("t0k-long-enough-for-the-check"))
    with TestClient(create_app(settings)) as client:
        assert_error(client.get(URL), 401, "unauthorized")
        assert_error(client.get(URL + "/essentials"), 401, "unauthorized")
        assert_error(client.get(URL, headers={"Authorization": "Bearer x"}), 403, "forbidden")
        assert (
            client.get(
                URL, headers={"Authorization": "Bearer t0k-long-enough-for-the-check"}
            ).status_code
            == 200
        )
