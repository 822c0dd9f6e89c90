"""Who is asking: the admin (bearer token), an output user (Basic or their token), or anyone
when no admin token is set (local use, loopback only). Password checks, their cache and
throttling live in ``api.logins``; docs/security.md has the whole picture.

Endpoints declare what they need with the ``Admin`` and ``Reader`` dependencies; a reader is
then checked per provider with ``principal.check(provider_id)``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import Depends, Request

from iptvsync.errors import Forbidden, NotFound, Unauthorized
from iptvsync.store.models import user_providers, users

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P)
    return f"scrypt${SCRYPT_N}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        _, n, salt, digest = stored.split("$")
        got = hashlib.scrypt(
            password.encode(), salt=bytes.fromhex(salt), n=int(n), r=SCRYPT_R, p=SCRYPT_P
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got.hex(), digest)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Principal:
    """``admin`` may do everything; a user may read the providers it is allowed to see."""

    admin: bool
    user_id: int | None = None
    username: str | None = None
    all_providers: bool = False
    provider_ids: frozenset[int] = frozenset()

    def can_see(self, provider_id: int) -> bool:
        return self.admin or self.all_providers or provider_id in self.provider_ids

    def check(self, provider_id: int) -> None:
        # 404, not 403: a user must not learn which other providers exist.
        if not self.can_see(provider_id):
            raise NotFound(f"provider {provider_id} not found", detail={"provider_id": provider_id})


OPEN = Principal(admin=True)


def load_user(conn: sa.Connection, row: Any) -> Principal:
    ids = frozenset(
        r[0]
        for r in conn.execute(
            sa.select(user_providers.c.provider_id).where(user_providers.c.user_id == row.id)
        )
    )
    return Principal(
        admin=False,
        user_id=row.id,
        username=row.username,
        all_providers=bool(row.all_providers),
        provider_ids=ids,
    )


def authenticate_token(db: sa.Engine, token: str) -> Principal | None:
    with db.connect() as conn:
        row = conn.execute(sa.select(users).where(users.c.token_hash == hash_token(token))).first()
        return load_user(conn, row) if row is not None else None


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
    """Who is asking; the password check runs in the bounded pool (``api.logins``)."""
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
