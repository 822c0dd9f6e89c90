"""Favourites and resume positions: per viewer (each output user, the admin), kept in the
database across app restarts, checked against the catalogue, on SQLite and PostgreSQL; and
migration 0008 goes down and up."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from fastapi.testclient import TestClient

from iptvsync.app import create_app
from iptvsync.settings import Secret, Settings
from iptvsync.store import migrate
from iptvsync.store.models import episodes, user_providers, users
from iptvsync.store.providers import create_provider, utcnow
from iptvsync.store.users import hash_token
from tests.api.conftest import Seeded, assert_error

ADMIN = {"Authorization": "Bearer admin-secret-long-enough-for-tests"}
ANN = {"Authorization": "Bearer ann-token"}
BOB = {"Authorization": "Bearer bob-token"}


def _user(db: sa.Engine, name: str, provider_ids: list[int]) -> int:
    with db.begin() as conn:
        uid = int(
            conn.execute(
                users.insert().values(
                    username=name,
                    password_hash="x",
                    token_hash=hash_token(f"{name}-token"),
                    all_providers=False,
                    created_at=utcnow(),
                )
            ).inserted_primary_key[0]  # type: ignore[index]
        )
        for pid in provider_ids:
            conn.execute(user_providers.insert().values(user_id=uid, provider_id=pid))
    return uid


def _episode(db: sa.Engine, seeded: Seeded) -> int:
    series_id = seeded.ours("series", seeded.catalogue.series[0].id)
    with db.begin() as conn:
        return int(
            conn.execute(
                episodes.insert().values(
                    series_id=series_id,
                    provider_id=seeded.provider_id,
                    provider_item_id="ep-1",
                    season=1,
                    number=3,
                    name="The third",
                )
            ).inserted_primary_key[0]  # type: ignore[index]
        )


@pytest.fixture
def guarded(settings: Settings) -> Settings:
    return settings.replace(
        admin_token=Secret("admin-secret-long-enough-for-tests"), scheduler=False
    )


@pytest.fixture
def app_client(guarded: Settings, seeded: Seeded) -> Iterator[TestClient]:
    with TestClient(create_app(guarded)) as c:
        yield c


def _fav_ids(c: TestClient, headers: dict[str, str], **params: Any) -> list[tuple[str, int]]:
    r = c.get("/api/me/favourites", headers=headers, params=params)
    assert r.status_code == 200, r.text
    return [(i["kind"], i["item_id"]) for i in r.json()["items"]]


def test_favourites_are_per_viewer_and_survive_a_restart(
    guarded: Settings, seeded: Seeded, db: sa.Engine
) -> None:
    pid = seeded.provider_id
    movie = seeded.ours("movie", seeded.catalogue.movies[0].id)
    show = seeded.ours("series", seeded.catalogue.series[1].id)
    channel = seeded.ours("channel", seeded.catalogue.channels[2].id)
    _user(db, "ann", [pid])
    _user(db, "bob", [pid])
    base = "/api/me/favourites"
    with TestClient(create_app(guarded)) as c:
        for kind, item in (("movie", movie), ("series", show), ("channel", channel)):
            assert c.put(f"{base}/{kind}/{pid}/{item}", headers=ANN).status_code == 204
        # Twice is the same as once.
        assert c.put(f"{base}/movie/{pid}/{movie}", headers=ANN).status_code == 204
        assert c.put(f"{base}/channel/{pid}/{channel}", headers=ADMIN).status_code == 204
    with TestClient(create_app(guarded)) as c:
        ann = _fav_ids(c, ANN)
        assert sorted(ann) == sorted([("movie", movie), ("series", show), ("channel", channel)])
        assert ann[0] == ("channel", channel)  # newest first
        assert _fav_ids(c, ANN, kind="movie") == [("movie", movie)]
        assert _fav_ids(c, BOB) == []
        assert _fav_ids(c, ADMIN) == [("channel", channel)]
        item = c.get("/api/me/favourites", headers=ANN, params={"kind": "series"}).json()
        assert item["items"][0]["item"]["name"] == seeded.catalogue.series[1].name
        assert c.delete(f"{base}/movie/{pid}/{movie}", headers=ANN).status_code == 204
        assert c.delete(f"{base}/movie/{pid}/{movie}", headers=ANN).status_code == 204
        assert ("movie", movie) not in _fav_ids(c, ANN)


def test_favourites_refuse_what_does_not_exist_or_is_not_visible(
    app_client: TestClient, seeded: Seeded, db: sa.Engine
) -> None:
    c = app_client
    pid = seeded.provider_id
    movie = seeded.ours("movie", seeded.catalogue.movies[0].id)
    with db.begin() as conn:
        other = create_provider(
            conn, {"name": "other", "kind": "stalker", "url": "http://x.test/c/", "mac": None}
        )
    _user(db, "ann", [pid])
    assert_error(c.put(f"/api/me/favourites/movie/{pid}/999999", headers=ANN), 404, "not_found")
    assert_error(
        c.put(f"/api/me/favourites/episode/{pid}/{movie}", headers=ANN), 422, "validation_error"
    )
    assert_error(c.put(f"/api/me/favourites/movie/{pid}/{movie}"), 401, "unauthorized")
    # Another provider's ids are not visible to ann: 404, as everywhere.
    assert_error(c.put(f"/api/me/favourites/movie/{other}/{movie}", headers=ANN), 404, "not_found")
    assert_error(
        c.get("/api/me/favourites", headers=ANN, params={"provider": other}), 404, "not_found"
    )
    assert_error(
        c.get("/api/me/favourites", headers=ANN, params={"kind": "song"}), 422, "validation_error"
    )


def test_a_removed_item_leaves_the_list_and_comes_back_with_it(
    app_client: TestClient, seeded: Seeded
) -> None:
    c = app_client
    pid = seeded.provider_id
    gone = seeded.catalogue.movies[0]
    movie = seeded.ours("movie", gone.id)
    assert c.put(f"/api/me/favourites/movie/{pid}/{movie}", headers=ADMIN).status_code == 204
    seeded.catalogue.movies.remove(gone)
    seeded.resync()
    assert _fav_ids(app_client, ADMIN) == []
    seeded.catalogue.movies.append(gone)
    seeded.resync()
    assert _fav_ids(app_client, ADMIN) == [("movie", movie)]


def test_resume_positions_continue_watching(
    app_client: TestClient, seeded: Seeded, db: sa.Engine
) -> None:
    c = app_client
    pid = seeded.provider_id
    movie = seeded.ours("movie", seeded.catalogue.movies[3].id)
    other = seeded.ours("movie", seeded.catalogue.movies[4].id)
    episode = _episode(db, seeded)
    _user(db, "ann", [pid])
    _user(db, "bob", [pid])
    put = lambda kind, item, body, who=ANN: c.put(  # noqa: E731
        f"/api/me/progress/{kind}/{pid}/{item}", json=body, headers=who
    )
    assert put("movie", movie, {"position": 600, "duration": 5400}).json() == {"kept": True}
    assert put("episode", episode, {"position": 90.5}).json() == {"kept": True}
    assert put("movie", movie, {"position": 700, "duration": 5400}).json() == {"kept": True}
    assert put("movie", other, {"position": 5, "duration": 5400}, BOB).status_code == 200

    body = c.get("/api/me/continue", headers=ANN).json()
    assert [(i["kind"], i["item_id"], i["position"]) for i in body["items"]] == [
        ("movie", movie, 700.0),
        ("episode", episode, 90.5),
    ]
    ep = body["items"][1]["item"]
    assert ep["series_name"] == seeded.catalogue.series[0].name and ep["number"] == 3
    assert c.get(f"/api/me/progress/movie/{pid}/{movie}", headers=ANN).json() == {"position": 700.0}
    assert c.get(f"/api/me/progress/movie/{pid}/{other}", headers=ANN).json() == {"position": None}
    assert [i["item_id"] for i in c.get("/api/me/continue", headers=BOB).json()["items"]] == [other]

    # The last 30 s of the film count as watched: it leaves the row.
    assert put("movie", movie, {"position": 5380, "duration": 5400}).json() == {"kept": False}
    items = c.get("/api/me/continue", headers=ANN).json()["items"]
    assert [i["item_id"] for i in items] == [episode]
    assert c.delete(f"/api/me/progress/episode/{pid}/{episode}", headers=ANN).status_code == 204
    assert c.get("/api/me/continue", headers=ANN).json()["items"] == []


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"position": "12"},
        {"position": -1},
        {"position": True},
        {"position": 1e12},
        {"position": 5, "duration": "x"},
        [1, 2],
    ],
)
def test_bad_resume_bodies_are_422_and_change_nothing(
    app_client: TestClient, seeded: Seeded, body: Any
) -> None:
    pid = seeded.provider_id
    movie = seeded.ours("movie", seeded.catalogue.movies[3].id)
    path = f"/api/me/progress/movie/{pid}/{movie}"
    assert app_client.put(path, json={"position": 42}, headers=ADMIN).status_code == 200
    assert_error(app_client.put(path, json=body, headers=ADMIN), 422, "validation_error")
    assert app_client.get(path, headers=ADMIN).json() == {"position": 42.0}


def test_open_server_has_one_library(client: TestClient, seeded: Seeded) -> None:
    """Without an admin token everyone is the admin: one shared library."""
    pid = seeded.provider_id
    movie = seeded.ours("movie", seeded.catalogue.movies[0].id)
    assert client.put(f"/api/me/favourites/movie/{pid}/{movie}").status_code == 204
    assert _fav_ids(client, {}) == [("movie", movie)]


@pytest.mark.both_backends  # a migration
def test_migration_0008_down_and_up(db: sa.Engine) -> None:
    command.downgrade(migrate.alembic_config(db), "0003")
    assert "favourites" not in sa.inspect(db).get_table_names()
    migrate.upgrade(db)
    names = sa.inspect(db).get_table_names()
    assert "favourites" in names and "resume_positions" in names
