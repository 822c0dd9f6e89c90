"""The one place errors become HTTP responses: ``{"error": {code, message, detail}}``."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from iptvsync.api.messages import clean_message, sentences
from iptvsync.api.responses import JSONResponse
from iptvsync.errors import IptvsyncError, TooManyRequests

log = logging.getLogger("iptvsync.api")

STATUS_CODES = {
    400: "validation_error",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    410: "gone",
    413: "payload_too_large",
    422: "validation_error",
    429: "too_many_requests",
    503: "busy",
}


def envelope(
    status: int,
    code: str,
    message: str,
    detail: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {"code": code, "message": message}
    if detail:
        body["detail"] = detail
    return JSONResponse({"error": body}, status_code=status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(IptvsyncError)
    async def _iptvsync(_: Request, exc: IptvsyncError) -> JSONResponse:
        challenge = 'Bearer, Basic realm="iptvsync"'
        headers = {"WWW-Authenticate": challenge} if exc.status == 401 else {}
        if isinstance(exc, TooManyRequests):
            headers["Retry-After"] = str(exc.retry_after_s)
        return envelope(exc.status, exc.code, exc.message, exc.detail, headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        raw = list(exc.errors())
        errors = [
            {"loc": [str(p) for p in e.get("loc", ())], "msg": clean_message(str(e.get("msg", "")))}
            for e in raw
        ]
        return envelope(422, "validation_error", sentences(raw), {"errors": errors})

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = STATUS_CODES.get(exc.status_code, "error")
        message = exc.detail if isinstance(exc.detail, str) else code
        return envelope(exc.status_code, code, message, None, dict(exc.headers or {}))

    # An id past what the database's integers hold (a path like /providers/9223372036854775808):
    # SQLite raises OverflowError while binding it, PostgreSQL a DataError. Input, not a bug.
    @app.exception_handler(OverflowError)
    async def _overflow(_: Request, exc: OverflowError) -> JSONResponse:
        return envelope(422, "validation_error", "a number in the request is out of range")

    @app.exception_handler(DataError)
    async def _data(_: Request, exc: DataError) -> JSONResponse:
        return envelope(422, "validation_error", "a value in the request is out of range")

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled %s", type(exc).__name__, exc_info=exc)
        return envelope(500, "internal_error", "internal error")
