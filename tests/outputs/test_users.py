"""Output users: the store functions, login, and the ``iptvsync user`` commands."""

from __future__ import annotations

import httpx
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from iptvsync.cli import app
from iptvsync.errors import NotFound, ValidationFailed
from iptvsync.logins import Logins
from iptvsync.settings import Settings
from iptvsync.store import providers as provider_store
from iptvsync.store.models import user_providers, users
from iptvsync.store.users import (
    check_password,
    check_username,
    create_user,
    delete_user,
    hash_password,
    issue_token,
    list_users,
    verify_password,
)

from .conftest import AppServer, Seeded


def _provider(db: sa.Engine, name: str = "P") -> int:
    with db.begin() as conn:
        return provider_store.create_provider(
            conn, {"name": name, "kind": "m3u", "url": f"http://{name.lower()}.test/x.m3u"}
        )


def test_create_list_token_delete(db: sa.Engine) -> None:
    p1, p2 = _provider(db, "One"), _provider(db, "Two")
    with db.begin() as conn:
        create_user(conn, "dave", "dave-pass", provider_ids=[p2, p1, p1])
        create_user(conn, "erin", "erin-pass", all_providers=True)
    with db.connect() as conn:
        listed = {u["username"]: u for u in list_users(conn)}
        stored = conn.execute(sa.select(users).where(users.c.username == "dave")).one()
    assert listed["dave"]["provider_ids"] == [p1, p2]
    assert listed["erin"]["all_providers"] and listed["erin"]["provider_ids"] == []
    assert not listed["dave"]["has_token"]
    assert "dave-pass" not in str(listed) and "password_hash" not in listed["dave"]
    # scrypt, salted: the hash is not the password and verifies it.
    assert stored.password_hash.startswith("scrypt$") and "dave-pass" not in stored.password_hash
    assert verify_password("dave-pass", stored.password_hash)

    with db.begin() as conn:
        token = issue_token(conn, "dave")
        second = issue_token(conn, "dave")
    assert token != second and len(second) >= 32
    with db.connect() as conn:
        row = conn.execute(sa.select(users.c.token_hash).where(users.c.username == "dave")).one()
    assert row.token_hash not in (token, second)
    with db.begin() as conn:
        delete_user(conn, "dave")
    with db.connect() as conn:
        assert [u["username"] for u in list_users(conn)] == ["erin"]
        assert conn.execute(sa.select(sa.func.count()).select_from(user_providers)).scalar() == 0


@pytest.mark.parametrize(
    ("name", "password"),
    [
        ("", "good-pass"),
        ("with space", "good-pass"),
        ("a/b", "good-pass"),
        ("x" * 65, "good-pass"),
        ("ok", "abc"),
        ("ok", "seven77"),
        ("ok", "has/slash-longer"),
        ("ok", "has?q-longer"),
        ("ok", "amp&ersand-longer"),
        ("ok", "per%cent-longer"),
        ("ok", "sp ace-longer"),
        ("ok", "colon:x-longer"),
    ],
)
def test_names_and_passwords_must_survive_urls(name: str, password: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        check_username(name)
        check_password(password)
    assert password not in caught.value.message


def test_duplicates_and_unknown_providers(db: sa.Engine) -> None:
    with db.begin() as conn:
        create_user(conn, "frank", "frank-pass", all_providers=True)
    with db.begin() as conn, pytest.raises(ValidationFailed):
        create_user(conn, "frank", "other-pass", all_providers=True)
    with db.begin() as conn, pytest.raises(NotFound):
        create_user(conn, "gina", "gina-pass", provider_ids=[12345])
    with db.begin() as conn, pytest.raises(NotFound):
        issue_token(conn, "nobody")
    with db.begin() as conn, pytest.raises(NotFound):
        delete_user(conn, "nobody")


def test_login_checks_and_caches(db: sa.Engine, settings: Settings) -> None:
    p = _provider(db)
    with db.begin() as conn:
        create_user(conn, "hank", "hank-pass", provider_ids=[p])
    logins = Logins(settings)
    try:
        assert logins.login_blocking(db, "hank", "wrong-pass", "10.0.0.1") is None
        assert logins.login_blocking(db, "nobody", "hank-pass", "10.0.0.1") is None
        assert logins.login_blocking(db, "", "", "10.0.0.1") is None
        who = logins.login_blocking(db, "hank", "hank-pass", "10.0.0.1")
        assert who is not None and not who.admin and who.can_see(p) and not who.can_see(p + 1)
        # Cached: a success costs no scrypt the second time, only for the right password.
        calls = []
        real = logins.pool.run_blocking
        logins.pool.run_blocking = lambda *a: calls.append(a) or real(*a)  # type: ignore[method-assign]
        assert logins.login_blocking(db, "hank", "hank-pass", "10.0.0.1") == who
        assert calls == []
        assert logins.login_blocking(db, "hank", "wrong-pass", "10.0.0.1") is None
        assert len(calls) == 1
        # A changed password (a new stored hash) misses the cache at once.
        with db.begin() as conn:
            conn.execute(
                users.update()
                .where(users.c.username == "hank")
                .values(password_hash=hash_password("new-password"))
            )
        assert logins.login_blocking(db, "hank", "hank-pass", "10.0.0.1") is None
        # A removed user too.
        assert logins.login_blocking(db, "hank", "new-password", "10.0.0.1") is not None
        with db.begin() as conn:
            delete_user(conn, "hank")
        assert logins.login_blocking(db, "hank", "new-password", "10.0.0.1") is None
    finally:
        logins.pool.close()


def test_short_passwords_are_refused() -> None:
    with pytest.raises(ValidationFailed):
        check_password("seven77")
    check_password("eight888")


def test_cli_user_commands(
    settings: Settings, db: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    p = _provider(db, "Cli")
    monkeypatch.setenv("IPTVSYNC_DATABASE_URL", settings.resolved_database_url())
    monkeypatch.setenv("IPTVSYNC_DATA_DIR", str(settings.data_dir))
    monkeypatch.delenv("IPTVSYNC_ADMIN_TOKEN", raising=False)
    runner = CliRunner()
    added = runner.invoke(
        app, ["user", "add", "ivy", "--password", "ivy-pass", "--provider", "Cli"]
    )
    assert added.exit_code == 0, added.output
    assert "added user ivy" in added.output and "ivy-pass" not in added.output
    assert runner.invoke(app, ["user", "add", "jo", "--password", "jo-password"]).exit_code == 2
    assert (
        runner.invoke(
            app, ["user", "add", "jo", "--password", "a/b-long-enough", "--all"]
        ).exit_code
        == 2
    )
    prompted = runner.invoke(app, ["user", "add", "kim", "--all"], input="kim-pass\nkim-pass\n")
    assert prompted.exit_code == 0, prompted.output
    listing = runner.invoke(app, ["user", "list"])
    assert "ivy" in listing.output and "kim" in listing.output and "all" in listing.output
    assert str(p) in listing.output
    token = runner.invoke(app, ["user", "token", "ivy"])
    assert token.exit_code == 0
    assert len(token.output.strip()) >= 32
    assert runner.invoke(app, ["user", "token", "nobody"]).exit_code == 2
    assert runner.invoke(app, ["user", "remove", "kim"]).exit_code == 0
    assert "kim" not in runner.invoke(app, ["user", "list"]).output


def test_user_token_reads_the_outputs(
    locked_server: AppServer, seeded: Seeded, db: sa.Engine
) -> None:
    with db.begin() as conn:
        create_user(conn, "lea", "lea-pass", provider_ids=[seeded.alpha])
        token = issue_token(conn, "lea")
    url = f"{locked_server.url}/playlist.m3u"
    assert httpx.get(url, params={"token": token}).status_code == 200
    assert httpx.get(url, headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert httpx.get(url, params={"token": "not-a-token"}).status_code == 403
    # The token is not a password: the Xtream API takes the user's password only.
    refused = httpx.get(
        f"{locked_server.url}/player_api.php", params={"username": "lea", "password": token}
    )
    assert refused.json() == {"user_info": {"auth": 0}}
