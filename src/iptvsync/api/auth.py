"""Who is asking: the admin (bearer token), an output user (Basic or their token), or anyone
when no admin token is set (local use, loopback only). Password checks, their cache and
throttling live in ``iptvsync.logins``; docs/security.md has the whole picture.

Endpoints declare what they need with the ``Admin`` and ``Reader`` dependencies; a reader is
then checked per provider with ``principal.check(provider_id)``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from iptvsync.access import OPEN, Principal
from iptvsync.errors import Forbidden, Unauthorized
from iptvsync.store.users import authenticate_token

__all__ = ["OPEN", "Admin", "Principal", "Reader", "principal_from_request"]

def client_address(request: Request) -> str:
    """The caller's address as uvicorn saw it (behind a proxy: ``--proxy-headers`` and
    ``--forwarded-allow-ips`` make this the real client; docs/security.md)."""
    return request.client.host if request.client else "unknown"


@dataclass(frozen=True, slots=True)
class _Credentials:
    """What the Authorization header says, before anything costly is done with it."""

    principal: Principal | None = None  # settled already (open mode, the admin token)
    token: str | None = None  # a user's API token
    username: str = ""
    password: str = ""


def _credentials(request: Request) -> _Credentials:
    admin_token = request.app.state.services.settings.admin_token
    if admin_token is None:
        return _Credentials(principal=OPEN)
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    scheme = scheme.lower()
    if scheme == "bearer" and value:
        if hmac.compare_digest(value.encode(), admin_token.get_secret_value().encode()):
            return _Credentials(principal=Principal(admin=True))
        return _Credentials(token=value)
    if scheme == "basic" and value:
        try:
            username, _, password = base64.b64decode(value).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise Unauthorized("malformed Basic credentials") from None
        return _Credentials(username=username, password=password)
    raise Unauthorized("credentials required: Authorization: Bearer <token> or Basic")


def _checked(user: Principal | None, creds: _Credentials) -> Principal:
    if user is None:
        if creds.token is not None:
            raise Forbidden("that token is not valid")
        raise Forbidden("wrong username or password")
    return user


async def principal_from_request(request: Request) -> Principal:
    """Who is asking; the password check runs in the bounded pool (``iptvsync.logins``)."""
    creds = _credentials(request)
    if creds.principal is not None:
        return creds.principal
    services = request.app.state.services
    if creds.token is not None:
        user = await asyncio.to_thread(authenticate_token, services.db, creds.token)
    else:
        user = await services.logins.login(
            services.db, creds.username, creds.password, client_address(request)
        )
    return _checked(user, creds)


def principal_from_request_blocking(request: Request) -> Principal:
    """``principal_from_request`` for sync routes (already in a worker thread)."""
    creds = _credentials(request)
    if creds.principal is not None:
        return creds.principal
    services = request.app.state.services
    if creds.token is not None:
        user = authenticate_token(services.db, creds.token)
    else:
        user = services.logins.login_blocking(
            services.db, creds.username, creds.password, client_address(request)
        )
    return _checked(user, creds)


async def require_admin(request: Request) -> Principal:
    principal = await principal_from_request(request)
    if not principal.admin:
        raise Forbidden("this needs the admin token")
    return principal


async def require_reader(request: Request) -> Principal:
    return await principal_from_request(request)


Admin = Annotated[Principal, Depends(require_admin)]
Reader = Annotated[Principal, Depends(require_reader)]
