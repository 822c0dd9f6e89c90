"""Operations: ``/healthz`` (open) and ``/metrics`` (Prometheus text, admin only)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse

from iptvsync import __version__
from iptvsync.api.auth import Admin
from iptvsync.api.responses import JSONResponse
from iptvsync.api.services import Svc
from iptvsync.store import health

router = APIRouter(tags=["operations"])


@router.get("/healthz")
def healthz(svc: Svc) -> JSONResponse:
    if not health.database_answers(svc.db):
        return JSONResponse({"status": "unhealthy", "database": "down"}, status_code=503)
    return JSONResponse({"status": "ok", "version": __version__, "database": svc.db.dialect.name})


@router.get("/metrics", response_class=PlainTextResponse)
def metrics(svc: Svc, _: Admin) -> str:
    lines = [
        "# HELP iptvsync_items Live catalogue items per provider and kind.",
        "# TYPE iptvsync_items gauge",
    ]
    with svc.db.connect() as conn:
        for kind, provider_id, count in health.live_items(conn):
            lines.append(f'iptvsync_items{{provider="{provider_id}",kind="{kind}"}} {count}')
        lines += [
            "# HELP iptvsync_sync_runs Sync runs by status.",
            "# TYPE iptvsync_sync_runs gauge",
        ]
        for status, count in health.runs_by_status(conn):
            lines.append(f'iptvsync_sync_runs{{status="{status}"}} {count}')
        n = health.provider_count(conn)
        lines += ["# TYPE iptvsync_providers gauge", f"iptvsync_providers {n}"]
    return "\n".join(lines) + "\n"
