"""Who is asking: the admin (bearer token), an output user (Basic or their token), or anyone
when no admin token is set (local use, loopback only).

Endpoints declare what they need with the ``Admin`` and ``Reader`` dependencies; a reader is
then checked per provider with ``principal.check(provider_id)``.
"""

from __future__ import annotations

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


def authenticate_user(db: sa.Engine, username: str, password: str) -> Principal | None:
    with db.connect() as conn:
        row = conn.execute(sa.select(users).where(users.c.username == username)).first()
        if row is None or not verify_password(password, row.password_hash):
            return None
        return load_user(conn, row)


def authenticate_token(db: sa.Engine, token: str) -> Principal | None:
    with db.connect() as conn:
        row = conn.execute(sa.select(users).where(users.c.token_hash == hash_token(token))).first()
        return load_user(conn, row) if row is not None else None


def principal_from_request(request: Request) -> Principal:
    services = request.app.state.services
    admin_token = services.settings.admin_token
    if admin_token is None:
        return OPEN
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    scheme = scheme.lower()
    if scheme == "bearer" and value:
        if hmac.compare_digest(value.encode(), admin_token.get_secret_value().encode()):
            return Principal(admin=True)
        user = authenticate_token(services.db, value)
        if user is None:
            raise Forbidden("that token is not valid")
        return user
    if scheme == "basic" and value:
        try:
            username, _, password = base64.b64decode(value).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise Unauthorized("malformed Basic credentials") from None
        user = authenticate_user(services.db, username, password)
        if user is None:
            raise Forbidden("wrong username or password")
        return user
    raise Unauthorized("credentials required: Authorization: Bearer <token> or Basic")


def require_admin(request: Request) -> Principal:
    principal = principal_from_request(request)
    if not principal.admin:
        raise Forbidden("this needs the admin token")
    return principal


def require_reader(request: Request) -> Principal:
    return principal_from_request(request)


Admin = Annotated[Principal, Depends(require_admin)]
Reader = Annotated[Principal, Depends(require_reader)]
