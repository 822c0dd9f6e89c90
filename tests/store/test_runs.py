"""The run state machine on both databases."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from iptvsync.errors import SyncRunning
from iptvsync.store import providers, runs


def _provider(db: sa.Engine) -> int:
    with db.begin() as conn:
        return providers.create_provider(
            conn,
            {"name": "p", "kind": "stalker", "url": "http://x/c/", "mac": "00:1A:79:12:34:56"},
        )


def test_second_active_run_is_refused_with_the_running_id(db: sa.Engine) -> None:
    pid = _provider(db)
    first = runs.create_run(db, pid, scope="auto", mode="auto", plan={"channels": "full"})
    with pytest.raises(SyncRunning) as info:
        runs.create_run(db, pid, scope="vod", mode="full", plan={"vod": "full"})
    assert info.value.run_id == first
    with db.begin() as conn:
        runs.update_run(conn, first, status="succeeded")
    second = runs.create_run(db, pid, scope="vod", mode="full", plan={"vod": "full"})
    assert second != first


def test_stale_run_is_closed_as_interrupted(db: sa.Engine) -> None:
    pid = _provider(db)
    run_id = runs.create_run(db, pid, scope="auto", mode="auto", plan={})
    with db.begin() as conn:
        runs.update_run(conn, run_id, status="running", worker="elsewhere:1")
        closed = runs.close_stale_runs(conn, stale_after_s=-1)
        row = runs.get_run(conn, run_id)
    assert closed == 1
    assert row.status == "failed"
    assert row.error["code"] == "interrupted"


def test_run_of_a_dead_local_process_is_closed(db: sa.Engine) -> None:
    import socket

    pid = _provider(db)
    run_id = runs.create_run(db, pid, scope="auto", mode="auto", plan={})
    with db.begin() as conn:
        # pid 2**22+1 is above Linux's pid_max default: no such process.
        runs.update_run(conn, run_id, status="running", worker=f"{socket.gethostname()}:4194305")
        assert runs.close_dead_local_runs(conn) == 1
        assert runs.get_run(conn, run_id).status == "failed"


def test_public_provider_never_shows_secrets(db: sa.Engine) -> None:
    with db.begin() as conn:
        pid = providers.create_provider(
            conn,
            {
                "name": "x",
                "kind": "m3u",
                "url": "http://u:pw@host/get.php?username=alice&password=s3cret&type=m3u",
                "mac": "00:1A:79:12:34:56",
            },
        )
        public = providers.public_provider(providers.get_provider(conn, pid))
    text = repr(public)
    assert "s3cret" not in text and "alice" not in text and ":pw@" not in text
    assert "12:34" not in text
    assert public["mac"] == "00:1A:79:XX:XX:56"
