"""Schemathesis against our own OpenAPI spec: whatever it sends, no answer is a 500, and
every error answer is the one envelope.

The server runs for real (uvicorn on loopback, lifespan on, a SQLite file) with a seeded
provider. Operations that would reach out to a provider (probe, sync, play, series detail
fetched on first request) are left out: generated URLs must never send traffic off this
machine. They have their own tests against fake providers.
"""

from __future__ import annotations

import contextlib
import importlib
import pkgutil
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, given, settings

from iptvsync.app import create_app
from iptvsync.fakes.server import free_port
from iptvsync.records import CategoryRecord, ChannelRecord, Kind, MovieRecord
from iptvsync.settings import Settings
from iptvsync.store import catalogue as store
from iptvsync.store import providers as provider_store
from iptvsync.store.db import create_db_engine
from iptvsync.store.migrate import upgrade
from iptvsync.sync.diff import record_to_row

OUTBOUND = r".*/(probe|sync|sync-channels|play|play-link|series/\{series_id\})(/.*)?$"


def _schemathesis_imported_whole() -> None:
    """Import every part of schemathesis now, before the server's thread starts. schemathesis
    is a pytest plugin, so pytest rewrites its modules' asserts (an ``ast.parse``) as each is
    first imported, and it imports ~90 of them lazily, during the test: in a CI run of session
    24 one such parse met another in the server's thread, and CPython 3.11's AST constructor,
    which keeps one recursion count for the whole interpreter, failed the test with
    "AST constructor recursion depth mismatch" (cpython#106905; tests/conftest.py tells the
    same of anyio)."""
    for found in pkgutil.walk_packages(
        schemathesis.__path__, "schemathesis.", onerror=lambda _name: None
    ):
        with contextlib.suppress(Exception):  # an optional dependency that is not installed
            importlib.import_module(found.name)


def _seed(settings: Settings) -> None:
    db = create_db_engine(settings.resolved_database_url())
    upgrade(db)
    now = datetime.now(UTC)
    with db.begin() as conn:
        pid = provider_store.create_provider(
            conn, {"name": "seed", "kind": "m3u", "url": "http://127.0.0.1:9/list.m3u"}
        )
        for kind in (Kind.MOVIE, Kind.CHANNEL):
            cats = store.upsert_categories(
                conn, pid, kind.value, [(c.provider_category_id, c.title, False, 0) for c in (
                    CategoryRecord(kind, "1", "One"),
                )], version=1
            )  # fmt: skip
            records: list[MovieRecord] | list[ChannelRecord]
            if kind is Kind.MOVIE:
                records = [MovieRecord(str(i), f"Movie {i}", year=2000 + i) for i in range(20)]
            else:
                records = [ChannelRecord(str(i), f"Channel {i}", number=i) for i in range(10)]
            rows = [record_to_row(r, cats) for r in records]
            store.upsert_items(conn, kind.value, pid, rows, run_id=1, version=1, now=now)
    db.dispose()


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    _schemathesis_imported_whole()
    data = Path(tmp_path_factory.mktemp("openapi"))
    app_settings = Settings(data_dir=data, database_url=f"sqlite:///{data}/api.db")
    _seed(app_settings)
    port = free_port()
    config = uvicorn.Config(
        create_app(app_settings), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


@pytest.mark.slow
def test_no_server_errors(base_url: str) -> None:
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json").exclude(path_regex=OUTBOUND)
    checked = 0
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(
            # 15 % of the profile's (tests/conftest.py) per operation: 15 in CI, more on demand.
            max_examples=max(5, settings.default.max_examples * 15 // 100),
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def no_500(case: schemathesis.Case) -> None:
            response = case.call(base_url=base_url, timeout=30)
            assert response.status_code < 500, (
                case.method,
                case.formatted_path,
                response.status_code,
                response.text[:300],
            )
            kind = response.headers.get("content-type") or [""]
            kind = kind[0] if isinstance(kind, list) else kind
            answered = case.method.upper() != "HEAD"  # HEAD answers carry no body
            if answered and response.status_code >= 400 and kind.startswith("application/json"):
                body = response.json()
                assert set(body) == {"error"}, body
                assert {"code", "message"} <= set(body["error"]), body

        no_500()
        checked += 1
    assert checked >= 20, "the spec lists the API's operations"
