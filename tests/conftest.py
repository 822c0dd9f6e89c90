"""Shared fixtures: real databases (a SQLite file and the machine's PostgreSQL), real servers.

Databases. A test that takes ``database_url``, ``settings`` or ``db`` gets a database of its
own, already migrated to head: a copy of a template migrated once per session and per xdist
worker (a file copy on SQLite, ``CREATE DATABASE ... TEMPLATE`` on PostgreSQL).

The backend rule, for every new test too:

- A database test runs on SQLite only, by default: most tests are about the API, the
  providers, the outputs, whose behaviour does not depend on the database.
- A test whose behaviour depends on the database runs on SQLite and on PostgreSQL: our own
  SQL (queries, search, the engine's writes and sweeps, migrations, snapshots), a dialect
  branch. Mark it ``@pytest.mark.both_backends`` (a whole module: ``pytestmark =
  pytest.mark.both_backends``). Every test under a directory of ``BOTH_BACKENDS_DIRS``
  (tests/store, tests/snapshot, tests/scale) is on both without saying so.
- ``@pytest.mark.postgresql_only``: a test of PostgreSQL alone (its restart). Scale-mode tests
  (Procrastinate) take ``pg_url``, an empty database of their own.

``IPTVSYNC_TEST_BACKENDS=sqlite`` runs on SQLite only (``postgresql``: PostgreSQL only);
``IPTVSYNC_TEST_ALL_BACKENDS=1`` runs every database test on each backend.

Parallel runs. ``scripts/test.sh`` runs the suite in three pytest invocations: every test but
the browser and serial ones under pytest-xdist and, at the same time, the browser (``e2e``)
tests under xdist in processes of their own (Playwright's sync API leaves an event loop in the
process, so no asyncio test may follow it there); then the ``serial`` tests alone, in one
process. Mark ``serial`` a
test that disturbs what other tests share (it restarts PostgreSQL) or whose latency or frame
bounds parallel neighbours would break; ``slow`` a long one (it is started first).
Nothing may use a fixed port or path: bind port 0, write under ``tmp_path`` (``own_spool``
for the provider spool folder), name databases and schemas with a uuid.

Hypothesis: the ``ci`` profile (the default) or ``large`` (``HYPOTHESIS_PROFILE=large``);
property tests leave ``max_examples`` to the profile.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import pkgutil
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck
from hypothesis import settings as settings_profiles

import iptvsync.providers.http  # noqa: F401 - installs the log redaction, as the app does
from iptvsync.providers.spool import spool_dir
from iptvsync.settings import Settings
from iptvsync.store import secrets
from iptvsync.store.db import create_db_engine
from iptvsync.store.migrate import upgrade


def _anyio_imported_whole() -> None:
    """Import every part of anyio now, in the main thread. anyio is a pytest plugin, so pytest
    rewrites its modules' asserts (an ``ast.parse``) as each is first imported, and anyio
    imports its parts lazily, on first use: starlette's first ``FileResponse`` imported
    ``anyio._core._fileio`` in a server's thread while another thread parsed, and CPython
    3.11's AST constructor, which keeps one recursion count for the whole interpreter, failed
    the test with "SystemError: AST constructor recursion depth mismatch" (cpython#106905;
    a CI run of session 17)."""
    import anyio

    for package in ("anyio", "anyio._core", "anyio._backends", "anyio.abc", "anyio.streams"):
        path = importlib.import_module(package).__path__
        for found in pkgutil.iter_modules(path, package + "."):
            if "trio" in found.name:  # trio's backend needs trio, which is not installed
                continue
            with contextlib.suppress(ImportError):  # to_interpreter needs Python 3.13
                importlib.import_module(found.name)
    assert anyio.open_file  # the lazy name the failure met, now bound


_anyio_imported_whole()

PG_URL = os.environ.get("IPTVSYNC_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BACKENDS = [
    b.strip() for b in os.environ.get("IPTVSYNC_TEST_BACKENDS", "sqlite,postgresql").split(",")
]
#: The backend of a test whose behaviour does not depend on the database.
DEFAULT_BACKEND = "sqlite" if "sqlite" in BACKENDS else BACKENDS[0]
ALL_BACKENDS = os.environ.get("IPTVSYNC_TEST_ALL_BACKENDS", "") not in ("", "0")
#: Directories (under tests/) whose every test runs on each backend: it is what they test.
BOTH_BACKENDS_DIRS = ("store", "snapshot", "scale")
TESTS = Path(__file__).resolve().parent

settings_profiles.register_profile(
    "ci", max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings_profiles.register_profile(
    "large", max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings_profiles.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def backends_for(item: pytest.Function | pytest.FunctionDefinition) -> list[str]:
    """The backends a database test runs on (the rule in this module's docstring)."""
    if item.get_closest_marker("postgresql_only") is not None:
        return [b for b in BACKENDS if b == "postgresql"]  # none: pytest reports a skip
    if ALL_BACKENDS or item.get_closest_marker("both_backends") is not None:
        return BACKENDS
    path = item.path.resolve()
    parts = path.relative_to(TESTS).parts if path.is_relative_to(TESTS) else ()
    if parts and parts[0] in BOTH_BACKENDS_DIRS:
        return BACKENDS
    return [DEFAULT_BACKEND]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "database_url" in metafunc.fixturenames:
        metafunc.parametrize("database_url", backends_for(metafunc.definition), indirect=True)


@pytest.fixture(scope="session")
def pg_admin() -> Iterator[sa.Engine]:
    engine = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
    with engine.connect() as conn:
        # Extensions live in their own schema, once per database; each test schema finds them.
        # xdist workers start together and ``IF NOT EXISTS`` is no guard against a concurrent
        # twin (a unique violation in the catalogue): one worker at a time.
        conn.exec_driver_sql("SELECT pg_advisory_lock(73190018)")
        try:
            conn.exec_driver_sql("CREATE SCHEMA IF NOT EXISTS extensions")
            conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA extensions")
        finally:
            conn.exec_driver_sql("SELECT pg_advisory_unlock(73190018)")
    yield engine
    engine.dispose()


def _pg_database_url(name: str) -> str:
    base = sa.engine.make_url(PG_URL).set(database=name)
    return f"{base.render_as_string(hide_password=False)}?options=-csearch_path%3Dpublic,extensions"


def _create_database(admin: sa.Engine, name: str) -> str:
    """A new empty database with pg_trgm in its ``extensions`` schema; its URL."""
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    setup = sa.create_engine(_pg_database_url(name), isolation_level="AUTOCOMMIT")
    with setup.connect() as conn:
        conn.exec_driver_sql("CREATE SCHEMA IF NOT EXISTS extensions")
        conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA extensions")
    setup.dispose()
    return _pg_database_url(name)


def _drop_database(admin: sa.Engine, name: str) -> None:
    with admin.connect() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def pg_url(pg_admin: sa.Engine) -> Iterator[str]:
    """An empty PostgreSQL database of its own (scale-mode tests migrate it themselves). A
    database, not a schema: Procrastinate's LISTEN/NOTIFY channels are database-wide, and under
    xdist a cancel in one test's schema aborted another test's job of the same id."""
    name = f"p_{uuid.uuid4().hex[:12]}"
    try:
        yield _create_database(pg_admin, name)
    finally:
        _drop_database(pg_admin, name)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head once per test session; each test gets a copy of it
    (migrating per test was a third of the suite's database time)."""
    path = tmp_path_factory.mktemp("template") / "iptvsync.db"
    engine = create_db_engine(f"sqlite:///{path.as_posix()}")
    upgrade(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def pg_template(pg_admin: sa.Engine) -> Iterator[str]:
    """A PostgreSQL database migrated to head once per test session (per xdist worker); each
    test gets a copy made with ``CREATE DATABASE ... TEMPLATE`` (about 0.1 s, where migrating a
    fresh schema took about 1 s)."""
    name = f"tpl_{uuid.uuid4().hex[:12]}"
    try:
        engine = create_db_engine(_create_database(pg_admin, name))
        upgrade(engine)
        engine.dispose()
        yield name
    finally:
        _drop_database(pg_admin, name)


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database already migrated to head: a copy of the session's template. The backend is
    the test's parameter (``pytest_generate_tests``); a fixture asked for by name at run time
    gets the default one."""
    backend = getattr(request, "param", DEFAULT_BACKEND)
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        target = tmp_path / "iptvsync.db"
        shutil.copyfile(template, target)
        yield f"sqlite:///{target.as_posix()}"
        return
    admin: sa.Engine = request.getfixturevalue("pg_admin")
    source: str = request.getfixturevalue("pg_template")
    name = f"t_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name} TEMPLATE {source} STRATEGY WAL_LOG")
    try:
        yield _pg_database_url(name)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def own_spool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A spool folder (``providers/spool.py``) of this test's own, for it and the processes it
    starts: other xdist workers fill the shared one, and each sweeps it at its first spool."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    monkeypatch.setenv("TMPDIR", str(folder))
    return spool_dir()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        batch_size=200,
        whole_list_batch_size=200,
        # Syncs write in this process: at 200 a batch, most tests' syncs would start a write
        # process each (~0.4 s of CPU) only to finish before it is up. Its own tests turn it
        # on (tests/sync/test_write_process.py).
        write_process=False,
        # Starlette's TestClient sends ``Host: testserver``; open mode answers loopback names
        # and the allowed ones only.
        allowed_hosts=["testserver"],
    )


@pytest.fixture
def db(settings: Settings) -> Iterator[sa.Engine]:
    engine = create_db_engine(settings.resolved_database_url())
    secrets.bind(engine, secrets.codec_for(settings))  # provider secrets encrypted, as the app does
    upgrade(engine)
    yield engine
    engine.dispose()


#: Secrets the test suite's fakes and fixtures use: none may reach a log line, whole or
#: URL-encoded (issue: "a test greps the log output of a full test run").
WATCHED_SECRETS = (
    "00:1A:79:12:34:56",
    "00%3A1A%3A79%3A12%3A34%3A56",
    "t0ken-for-tests",
    "s3cret-token",
)


class _SecretWatch(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.leaks: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
        except (TypeError, ValueError):
            text = str(record.msg)
        for secret in WATCHED_SECRETS:
            if secret in text and len(self.leaks) < 20:
                self.leaks.append(f"{record.name}: {text[:300]}")


@pytest.fixture(scope="session", autouse=True)
def log_secret_watch() -> Iterator[None]:
    """Every log record of the whole run, at INFO and above, is checked for secrets."""
    watch = _SecretWatch()
    root = logging.getLogger()
    previous = root.level
    root.addHandler(watch)
    root.setLevel(min(previous, logging.INFO) if previous else logging.INFO)
    yield
    root.removeHandler(watch)
    root.setLevel(previous)
    assert not watch.leaks, "secrets in log output:\n" + "\n".join(watch.leaks)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests run last: Playwright's sync API keeps an event loop running in the main
    thread for as long as its session-wide browser lives, and asyncio tests collected after
    it could not start their own. Tests marked ``slow`` run first: started late on one xdist
    worker, a long test keeps the whole run waiting while the other workers idle."""
    items.sort(
        key=lambda item: (
            item.get_closest_marker("e2e") is not None,
            item.get_closest_marker("slow") is None,
        )
    )
