"""``iptvsync user streams NAME N|default`` sets a user's max_streams."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from iptvsync.cli import app
from iptvsync.store.db import create_db_engine
from iptvsync.store.models import users


def test_user_streams_sets_and_resets_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IPTVSYNC_DATA_DIR", str(tmp_path))
    runner = CliRunner()
    added = runner.invoke(app, ["user", "add", "alice", "--password", "pw-12345678", "--all"])
    assert added.exit_code == 0, added.output
    db = create_db_engine(f"sqlite:///{tmp_path / 'iptvsync.db'}")

    def limit() -> int | None:
        with db.connect() as conn:
            return conn.execute(sa.select(users.c.max_streams)).scalar()

    assert runner.invoke(app, ["user", "streams", "alice", "3"]).exit_code == 0
    assert limit() == 3
    assert runner.invoke(app, ["user", "streams", "alice", "default"]).exit_code == 0
    assert limit() is None
    bad = runner.invoke(app, ["user", "streams", "alice", "0"])
    assert bad.exit_code == 2 and "1 to 100" in bad.output and limit() is None
    assert runner.invoke(app, ["user", "streams", "bob", "2"]).exit_code == 2
    db.dispose()
