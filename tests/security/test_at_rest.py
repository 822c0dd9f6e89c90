"""Files and provider secrets at rest (issue point 6; docs/security.md "At rest").

SQLite and PostgreSQL both: the secrets are stored as the same ``enc1:`` Fernet text, a
database of before is encrypted by migration 0005, a key rotation re-encrypts them and voids
old play URLs.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from iptvsync.api.signing import sign, verify
from iptvsync.app import create_app
from iptvsync.cli import app as cli
from iptvsync.runtime import open_database
from iptvsync.settings import Secret
from iptvsync.store import secrets
from iptvsync.store.db import create_db_engine
from iptvsync.store.migrate import alembic_config, upgrade
from iptvsync.store.models import providers
from iptvsync.store.providers import get_provider, provider_config, provider_secrets

pytestmark = pytest.mark.both_backends

MAC = "00:1A:79:AB:CD:EF"
XT_USER, XT_PASS = "xt-user-Rk42", "xt-pass-Rk42-secret"


def _raw(db: sa.Engine) -> list[dict[str, object]]:
    with db.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.select(providers))]


def test_api_writes_ciphertext_and_the_client_gets_plain_text(settings) -> None:  # type: ignore[no-untyped-def]
    with TestClient(create_app(settings)) as client:
        made = client.post(
            "/api/providers",
            json={"name": "box", "kind": "stalker", "url": "http://portal.test/c/", "mac": MAC},
        )
        assert made.status_code == 201, made.text
        assert made.json()["mac"] == "00:1A:79:XX:XX:EF"  # the masked form still works
        xt = client.post(
            "/api/providers",
            json={
                "name": "panel",
                "kind": "xtream",
                "url": "http://panel.test:8080",
                "username": XT_USER,
                "password": XT_PASS,
                "options": {"identity": {"sn": "SERIAL-123456"}},
            },
        )
        assert xt.status_code == 201, xt.text
        assert xt.json()["options"] == {"identity": "***"}
        # Sending back the options as read (the secret one masked) keeps the stored value.
        changed = client.patch(
            f"/api/providers/{xt.json()['id']}",
            json={"password": "new-pass-1", "options": {**xt.json()["options"], "max_rps": 3}},
        )
        assert changed.status_code == 200
        db = client.app.state.services.db  # type: ignore[attr-defined]
        rows = _raw(db)
        for row in rows:
            for column in ("mac", "username", "password"):
                value = row[column]
                assert value is None or str(value).startswith("enc1:"), (column, value)
        text = repr(rows)
        for secret in (MAC, XT_USER, XT_PASS, "new-pass-1", "SERIAL-123456"):
            assert secret not in text
        with db.connect() as conn:
            box = provider_config(get_provider(conn, made.json()["id"]))
            panel_row = get_provider(conn, xt.json()["id"])
        panel = provider_config(panel_row)
        assert box.mac == MAC
        assert (panel.username, panel.password) == (XT_USER, "new-pass-1")
        assert panel.options == {"identity": {"sn": "SERIAL-123456"}, "max_rps": 3}
        assert set(provider_secrets(panel_row)) == {XT_USER, "new-pass-1"}


def test_sqlite_files_are_private(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    if not settings.resolved_database_url().startswith("sqlite"):
        pytest.skip("file modes are SQLite's")
    settings.data_dir.mkdir(parents=True, mode=0o755)
    settings.data_dir.chmod(0o755)
    with TestClient(create_app(settings)) as client:
        client.post(
            "/api/providers",
            json={"name": "box", "kind": "stalker", "url": "http://portal.test/c/", "mac": MAC},
        )
        assert settings.data_dir.stat().st_mode & 0o777 == 0o700
        db_path = Path(sa.engine.make_url(settings.resolved_database_url()).database or "")
        files = sorted(db_path.parent.glob(db_path.name + "*"))
        assert {f.name for f in files} >= {"iptvsync.db", "iptvsync.db-wal"}
        for f in files:
            assert f.stat().st_mode & 0o777 == 0o600, f
        assert (settings.data_dir / "secret.key").stat().st_mode & 0o777 == 0o600
        # The clear MAC is nowhere in the files, WAL included.
        for f in files:
            assert MAC.encode() not in f.read_bytes()


def test_migration_0005_encrypts_rows_of_before(settings) -> None:  # type: ignore[no-untyped-def]
    url = settings.resolved_database_url()
    old = create_db_engine(url)
    upgrade(old)  # the test database may start at any revision: bring it to 0003 from head
    command.downgrade(alembic_config(old), "0003")
    with old.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO providers (name, kind, url, mac, username, password, options, "
                "snapshot_version, created_at, updated_at) VALUES ('old', 'stalker', "
                "'http://p/c/', :mac, :user, :pw, :options, 0, :now, :now)"
            ),
            {
                "mac": MAC,
                "user": XT_USER,
                "pw": XT_PASS,
                "options": '{"identity": {"sn": "SERIAL-1"}, "max_rps": 2}',
                "now": "2026-01-01 00:00:00",
            },
        )
    # Without the key the migration stops rather than leaving secrets in clear.
    with pytest.raises(RuntimeError, match="secret key"):
        upgrade(old, "head")
    old.dispose()
    db = open_database(settings)  # binds the key, migrates
    try:
        (row,) = _raw(db)
        assert all(str(row[c]).startswith("enc1:") for c in ("mac", "username", "password"))
        assert str(row["options"]["identity"]).startswith("enc1:")  # type: ignore[index]
        assert row["options"]["max_rps"] == 2  # type: ignore[index]
        with db.connect() as conn:
            config = provider_config(get_provider(conn, int(row["id"])))  # type: ignore[call-overload]
        assert (config.mac, config.username, config.password) == (MAC, XT_USER, XT_PASS)
        assert config.options == {"identity": {"sn": "SERIAL-1"}, "max_rps": 2}
    finally:
        db.dispose()


def test_rotate_key_reencrypts_and_voids_old_play_urls(
    settings, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    db = open_database(settings)
    with db.begin() as conn:
        from iptvsync.store.providers import create_provider

        pid = create_provider(
            conn, {"name": "box", "kind": "stalker", "url": "http://p/c/", "mac": MAC}
        )
    before = _raw(db)[0]["mac"]
    sig = sign(settings, pid, "channel", 1)
    assert verify(settings, pid, "channel", 1, sig)
    monkeypatch.setenv("IPTVSYNC_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("IPTVSYNC_DATABASE_URL", settings.resolved_database_url())
    monkeypatch.delenv("IPTVSYNC_SECRET_KEY", raising=False)
    done = CliRunner().invoke(cli, ["rotate-key"])
    assert done.exit_code == 0, done.output
    assert "1 provider(s) re-encrypted" in done.output
    assert not verify(settings, pid, "channel", 1, sig)  # old play URLs stop working
    after = _raw(db)[0]["mac"]
    assert after != before and str(after).startswith("enc1:")
    assert (settings.data_dir / "secret.key.previous").exists()
    # A fresh process (only the key files to go by) still reads the secret with the new key.
    secrets._known.clear()
    fresh = open_database(settings)
    try:
        with fresh.connect() as conn:
            assert provider_config(get_provider(conn, pid)).mac == MAC
        (settings.data_dir / "secret.key.previous").unlink()
        secrets._known.clear()
        from iptvsync.secret_key import forget_cached_keys

        forget_cached_keys()
        secrets.bind(fresh, secrets.codec_for(settings))
        with fresh.connect() as conn:
            assert provider_config(get_provider(conn, pid)).mac == MAC  # the new key alone
    finally:
        fresh.dispose()
        db.dispose()


def test_env_key_rotation_with_the_previous_key(settings) -> None:  # type: ignore[no-untyped-def]
    first = settings.replace(secret_key=Secret("first-key-" + "a" * 20))
    db = open_database(first)
    with db.begin() as conn:
        from iptvsync.store.providers import create_provider

        pid = create_provider(
            conn, {"name": "b", "kind": "stalker", "url": "http://p/c/", "mac": MAC}
        )
    db.dispose()
    secrets._known.clear()
    second = settings.replace(
        secret_key=Secret("second-key-" + "b" * 20),
        previous_secret_key=Secret("first-key-" + "a" * 20),
    )
    db = open_database(second)
    try:
        assert secrets.rotate_key(db, second) == 1
        secrets._known.clear()
        only_new = settings.replace(secret_key=Secret("second-key-" + "b" * 20))
        secrets.bind(db, secrets.codec_for(only_new))
        with db.connect() as conn:
            assert provider_config(get_provider(conn, pid)).mac == MAC
    finally:
        db.dispose()


def test_the_mac_pool_is_encrypted_too(settings) -> None:  # type: ignore[no-untyped-def]
    """A Stalker provider's extra MACs and their device ids are stored like its own MAC:
    ciphertext in the table, plain only where the pool is read for a client."""
    from iptvsync.store import macs
    from iptvsync.store.models import provider_macs

    extra, serial = "00:1A:79:CC:DD:EE", "SERIAL-POOL-7788"
    with TestClient(create_app(settings)) as client:
        made = client.post(
            "/api/providers",
            json={"name": "box", "kind": "stalker", "url": "http://portal.test/c/", "mac": MAC},
        )
        assert made.status_code == 201, made.text
        pid = made.json()["id"]
        put = client.put(
            f"/api/providers/{pid}/macs",
            json={"macs": [{"mac": MAC}, {"mac": extra, "sn": serial}]},
        )
        assert put.status_code == 200, put.text
        db = client.app.state.services.db  # type: ignore[attr-defined]
        with db.connect() as conn:
            stored = [dict(r._mapping) for r in conn.execute(sa.select(provider_macs))]
            pool = macs.pool(conn, pid)
        with db.begin() as conn:  # a state recorded by a sync finds the row by its plain MAC
            macs.record_states(conn, pid, [{"mac": extra, "state": "expired"}], secrets_now())
        with db.connect() as conn:
            states = {e["mac"]: e["state"] for e in macs.pool(conn, pid)}
    text = repr(stored)
    assert extra not in text and serial not in text and "CC:DD:EE" not in text
    assert all(str(r["mac"]).startswith("enc1:") for r in stored)
    assert [e["mac"] for e in pool] == [MAC, extra]
    assert pool[1]["identity"] == {"sn": serial}
    assert states[extra] == "expired"
    assert len(stored) == 1  # no duplicate row for the recorded state


def secrets_now():  # type: ignore[no-untyped-def]
    from iptvsync.store.providers import utcnow

    return utcnow()
