"""The run state machine on both databases."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from iptvsync.errors import SyncRunning
from iptvsync.store import providers, runs
from tests.run_rows import set_run


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
        set_run(conn, first, status="succeeded")
    second = runs.create_run(db, pid, scope="vod", mode="full", plan={"vod": "full"})
    assert second != first


def test_stale_run_is_closed_as_interrupted(db: sa.Engine) -> None:
    pid = _provider(db)
    run_id = runs.create_run(db, pid, scope="auto", mode="auto", plan={})
    with db.begin() as conn:
        set_run(conn, run_id, status="running", worker="elsewhere:1")
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
        set_run(conn, run_id, status="running", worker=f"{socket.gethostname()}:4194305")
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


# --- the state machine (store.run_state) ------------------------------------------------------


def test_every_move_the_machine_lacks_raises_before_writing(db: sa.Engine) -> None:
    from iptvsync.store.run_state import TRANSITIONS, IllegalRunTransition, RunStatus, move

    pid = _provider(db)
    run_id = runs.create_run(db, pid, scope="auto", mode="auto", plan={})
    illegal = [(s, t) for s in RunStatus for t in RunStatus if t not in TRANSITIONS[s]]
    assert (RunStatus.SUCCEEDED, RunStatus.RUNNING) in illegal
    assert (RunStatus.QUEUED, RunStatus.SUCCEEDED) in illegal  # never ran, never succeeded
    with db.begin() as conn:
        for source, to in illegal:
            with pytest.raises(IllegalRunTransition):
                move(conn, run_id, to, source=source)
        assert runs.get_run(conn, run_id).status == "queued"


def test_a_run_moves_only_from_where_the_guard_allows(db: sa.Engine) -> None:
    from iptvsync.store.run_state import RunStatus, move

    pid = _provider(db)
    run_id = runs.create_run(db, pid, scope="auto", mode="auto", plan={})
    with db.begin() as conn:
        assert move(conn, run_id, RunStatus.RUNNING, worker="here:1") == 1
        assert move(conn, run_id, RunStatus.RUNNING) == 0  # already running: queued only
        assert move(conn, run_id, RunStatus.SUCCEEDED, counts=runs.empty_counts()) == 1
        # Two closers race: the second finds the run final and moves nothing.
        assert move(conn, run_id, RunStatus.FAILED) == 0
        row = runs.get_run(conn, run_id)
    assert (row.status, row.phase, row.error) == ("succeeded", "done", None)
    assert row.finished_at is not None and row.worker == "here:1"


def test_move_writes_only_a_runs_figures(db: sa.Engine) -> None:
    from iptvsync.store.run_state import RunStatus, move

    pid = _provider(db)
    run_id = runs.create_run(db, pid, scope="auto", mode="auto", plan={})
    with db.begin() as conn, pytest.raises(TypeError, match="provider_id"):
        move(conn, run_id, RunStatus.RUNNING, provider_id=99)


def test_the_stored_values_are_the_ones_the_schema_always_had() -> None:
    from iptvsync.records import Scope
    from iptvsync.store.run_state import Phase, RunStatus

    assert [s.value for s in RunStatus] == [
        "queued", "running", "succeeded", "failed", "cancelled", "guarded"
    ]  # fmt: skip
    assert Phase.walking(Scope.VOD, "sweep") == "vod:sweep"
