"""Operations: ``/healthz`` (open) and ``/metrics`` (Prometheus text, admin only)."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import APIRouter
from fastapi.responses import PlainTextResponse

from iptvsync import __version__
from iptvsync.api.auth import Admin
from iptvsync.api.responses import JSONResponse
from iptvsync.api.services import Svc
from iptvsync.store.models import ITEM_TABLES, providers, sync_runs

router = APIRouter(tags=["operations"])


@router.get("/healthz")
def healthz(svc: Svc) -> JSONResponse:
    try:
        with svc.db.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError:
        return JSONResponse({"status": "unhealthy", "database": "down"}, status_code=503)
    return JSONResponse({"status": "ok", "version": __version__, "database": svc.db.dialect.name})


@router.get("/metrics", response_class=PlainTextResponse)
def metrics(svc: Svc, _: Admin) -> str:
    lines = [
        "# HELP iptvsync_items Live catalogue items per provider and kind.",
        "# TYPE iptvsync_items gauge",
    ]
    with svc.db.connect() as conn:
        for kind, table in ITEM_TABLES.items():
            for provider_id, count in conn.execute(
                sa.select(table.c.provider_id, sa.func.count())
                .where(table.c.deleted_at.is_(None))
                .group_by(table.c.provider_id)
            ):
                lines.append(f'iptvsync_items{{provider="{provider_id}",kind="{kind}"}} {count}')
        lines += [
            "# HELP iptvsync_sync_runs Sync runs by status.",
            "# TYPE iptvsync_sync_runs gauge",
        ]
        for status, count in conn.execute(
            sa.select(sync_runs.c.status, sa.func.count()).group_by(sync_runs.c.status)
        ):
            lines.append(f'iptvsync_sync_runs{{status="{status}"}} {count}')
        n = conn.execute(sa.select(sa.func.count()).select_from(providers)).scalar_one()
        lines += ["# TYPE iptvsync_providers gauge", f"iptvsync_providers {n}"]
    return "\n".join(lines) + "\n"
