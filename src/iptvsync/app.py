"""The app factory: the one module that assembles the edges (docs/architecture.md).

``create_app`` includes the routers of ``api/``, ``outputs/`` and ``web/`` (siblings: none of
them imports this module or builds the application) and runs the lifespan that builds the
process's ``Services`` (``runtime.py``) and injects them (docs/contributing.md §5); the CLI
builds the same ``Services`` for its own commands."""

from __future__ import annotations

import contextlib
import gc
import logging
import warnings
from collections.abc import AsyncIterator
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware

from iptvsync import __version__
from iptvsync.api import (
    catalogue,
    epg,
    guide,
    health,
    library,
    macs,
    play,
    providers,
    snapshot,
    streams,
    sync,
)
from iptvsync.api.body_limit import BodyLimit
from iptvsync.api.caching import PrivateCaching
from iptvsync.api.errors import install_error_handlers
from iptvsync.api.guard import RequestGuard
from iptvsync.api.responses import JSONResponse
from iptvsync.outputs import hdhomerun, xtream_streams
from iptvsync.outputs import routes as output_routes
from iptvsync.runtime import Services, open_database, open_http
from iptvsync.secret_key import security_problems
from iptvsync.settings import Settings, load_settings
from iptvsync.sync.runner import InlineRunner
from iptvsync.sync.schedule import start_embedded_scheduler
from iptvsync.sync.service import Runner, StaleRunSweeper
from iptvsync.web import routes as web_routes

log = logging.getLogger("iptvsync.api")

#: Every router, in the order their routes are matched (the web page's catch-all comes last).
ROUTERS: tuple[APIRouter, ...] = (
    providers.router,
    macs.router,
    sync.router,
    health.router,
    catalogue.router,
    snapshot.router,
    play.router,
    streams.router,
    hdhomerun.router,
    epg.router,
    library.router,
    guide.router,
    output_routes.router,
    xtream_streams.router,
    web_routes.router,
)


class InsecureSettings(RuntimeError):
    """Settings the server refuses to start with (docs/security.md)."""


def create_app(settings: Settings | None = None, *, runner: Runner | None = None) -> FastAPI:
    settings = settings or load_settings()
    problems = security_problems(settings)
    if problems:
        raise InsecureSettings("; ".join(problems))

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = open_database(settings)
        http = open_http(settings)
        services = Services(settings=settings, db=db, http=http, runner=runner or _NoRunner())
        if runner is None:
            services.runner = InlineRunner(services.sync_context)
        # The inline runner closes what a dead process left running; the Procrastinate runner
        # opens its queue on our database.
        await services.runner.start(db)
        scheduler = start_embedded_scheduler(services)
        sweeper = StaleRunSweeper(db, settings.run_sweep_s).start()
        app.state.services = services
        discovery = await _start_discovery(services)
        try:
            yield
        finally:
            await sweeper.stop()
            if discovery is not None:
                discovery.close()
            if services.relay is not None:
                await services.relay.aclose()
            if scheduler is not None:
                await scheduler.stop()
            await services.runner.stop()
            await services.clients.aclose()
            services.logins.pool.close()
            await http.aclose()
            db.dispose()

    app = FastAPI(
        title="iptvsync",
        version=__version__,
        lifespan=lifespan,
        default_response_class=JSONResponse,
    )
    install_error_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "If-None-Match"],
            expose_headers=["ETag"],
        )
    app.add_middleware(BodyLimit, max_bytes=settings.max_request_bytes)
    app.add_middleware(PrivateCaching, locked=settings.admin_token is not None)
    app.add_middleware(RequestGuard, settings=settings)  # outermost: before anything else
    _document_get_only(app)
    return app


async def _start_discovery(services: Services) -> Any:
    """HDHomeRun discovery on UDP (off by default; docs/outputs.md)."""
    if not services.settings.hdhomerun_discovery:
        return None
    from iptvsync.outputs.hdhomerun_discovery import start_for

    return await start_for(services)


def _document_get_only(app: FastAPI) -> None:
    """Routes that answer GET and HEAD are documented once, as GET: FastAPI would give both
    methods the same operation id, which makes the spec invalid for client generators."""
    default = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message="Duplicate Operation ID")
                spec = default()
            for operations in spec.get("paths", {}).values():
                if "get" in operations:
                    operations.pop("head", None)
            app.openapi_schema = spec
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


class _NoRunner:
    """Stands in until the lifespan has built the real runner."""

    async def start(self, db: sa.Engine) -> None:  # pragma: no cover
        return None

    async def stop(self) -> None:  # pragma: no cover
        return None

    async def enqueue(self, run_id: int, provider_id: int) -> None:  # pragma: no cover
        raise RuntimeError("no runner")

    async def cancel(self, run_id: int) -> None:  # pragma: no cover
        return None


def app_factory() -> Any:
    """For ``uvicorn --factory iptvsync.app:app_factory``."""
    app = create_app()
    freeze_startup_heap()
    return app


def freeze_startup_heap() -> None:
    """In a server process, once the app is built: move everything alive now (modules, the
    app) out of the garbage collector's sight. A full collection otherwise walks those
    ~120,000 objects each time — 100–200 ms with the event loop stopped, which fifty players
    joining a channel at once met as a stall (docs/benchmarks.md, "Relay fan-out"). Not for
    tests, which build many apps in one process."""
    gc.collect()
    gc.freeze()
