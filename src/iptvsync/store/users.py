"""Users of the player outputs: create, list, token, remove; and who a player is.

A user has a scrypt-hashed password (``hash_password``), an optional API token stored as
its SHA-256 (``hash_token``), and access to some providers or to all of them. Players
send the user's name and password: in the query (``player_api.php?username=&password=``), in the
path (``/live/{user}/{pass}/{id}.ts``) or as HTTP Basic.

Names and passwords travel raw in URL paths and unencoded in query strings (pyxtream, and most
Android players, concatenate them into URLs), so both are restricted to characters that survive
that: no ``/ ? # & % :``, no whitespace. Refusing them at ``user add`` beats a player that logs in
and then fails on every stream.

Open mode: when ``IPTVSYNC_ADMIN_TOKEN`` is unset (local use, loopback only; docs/api.md: "asks for
nothing"), every output is open and any user name and password are accepted; such a player sees
every provider. Per-user access applies once an admin token is set.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from iptvsync.access import Principal
from iptvsync.errors import NotFound, ValidationFailed
from iptvsync.store.models import providers, user_providers, users
from iptvsync.store.providers import utcnow

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


USERNAME_RE = re.compile(r"^[A-Za-z0-9._@+-]{1,64}$")
#: Shorter passwords fall to online guessing too soon, even throttled (docs/security.md).
MIN_PASSWORD = 8
_PASSWORD_FORBIDDEN = re.compile(r"[\s/?#&%:]")


def check_username(username: str) -> str:
    if not USERNAME_RE.match(username):
        raise ValidationFailed(
            "a user name is 1-64 letters, digits or . _ @ + - (players put it raw into URLs)",
            detail={"field": "username"},
        )
    return username


def check_password(password: str) -> None:
    # Never echo the password back: say what is wrong, not what was given.
    if not MIN_PASSWORD <= len(password) <= 128:
        raise ValidationFailed(
            f"a password has {MIN_PASSWORD} to 128 characters", detail={"field": "password"}
        )
    if _PASSWORD_FORBIDDEN.search(password) or not password.isprintable():
        raise ValidationFailed(
            "a password may not contain spaces or / ? # & % : (players put it raw into "
            "stream URLs and query strings)",
            detail={"field": "password"},
        )


def create_user(
    conn: sa.Connection,
    username: str,
    password: str,
    *,
    provider_ids: list[int] | None = None,
    all_providers: bool = False,
) -> int:
    """Add a user with access to ``provider_ids`` (or to every provider, present and future)."""
    check_username(username)
    check_password(password)
    if conn.execute(sa.select(users.c.id).where(users.c.username == username)).first():
        raise ValidationFailed(f"user {username!r} already exists", detail={"field": "username"})
    wanted = sorted(set(provider_ids or []))
    known = {
        r[0] for r in conn.execute(sa.select(providers.c.id).where(providers.c.id.in_(wanted)))
    }
    missing = [p for p in wanted if p not in known]
    if missing:
        raise NotFound(f"no provider with id {missing[0]}", detail={"provider_id": missing[0]})
    user_id = conn.execute(
        users.insert()
        .values(
            username=username,
            password_hash=hash_password(password),
            all_providers=all_providers,
            created_at=utcnow(),
        )
        .returning(users.c.id)
    ).scalar_one()
    if wanted and not all_providers:
        conn.execute(
            user_providers.insert(), [{"user_id": user_id, "provider_id": p} for p in wanted]
        )
    return int(user_id)


def list_users(conn: sa.Connection) -> list[dict[str, Any]]:
    """Users with their access; never a hash."""
    access: dict[int, list[int]] = {}
    for user_id, provider_id in conn.execute(
        sa.select(user_providers.c.user_id, user_providers.c.provider_id).order_by(
            user_providers.c.provider_id
        )
    ):
        access.setdefault(user_id, []).append(provider_id)
    return [
        {
            "id": row.id,
            "username": row.username,
            "all_providers": bool(row.all_providers),
            "provider_ids": access.get(row.id, []),
            "has_token": row.token_hash is not None,
            "created_at": row.created_at,
        }
        for row in conn.execute(sa.select(users).order_by(users.c.username))
    ]


def issue_token(conn: sa.Connection, username: str) -> str:
    """A new API token for ``username`` (replacing any previous one); only its hash is stored."""
    token = secrets.token_urlsafe(32)
    updated = conn.execute(
        users.update().where(users.c.username == username).values(token_hash=hash_token(token))
    ).rowcount
    if not updated:
        raise NotFound(f"no user named {username!r}")
    return token


def delete_user(conn: sa.Connection, username: str) -> None:
    row = conn.execute(sa.select(users.c.id).where(users.c.username == username)).first()
    if row is None:
        raise NotFound(f"no user named {username!r}")
    conn.execute(user_providers.delete().where(user_providers.c.user_id == row.id))
    conn.execute(users.delete().where(users.c.id == row.id))


# --- who a user is ------------------------------------------------------------------------------


def load_user(conn: sa.Connection, row: Any) -> Principal:
    """The principal of a ``users`` row: its access read now, so a change applies at once."""
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


def user_by_name(conn: sa.Connection, username: str) -> Any:
    """The ``users`` row of ``username`` (with its password hash), or None."""
    return conn.execute(sa.select(users).where(users.c.username == username)).first()


def user_by_id(conn: sa.Connection, user_id: int) -> Any:
    return conn.execute(sa.select(users).where(users.c.id == user_id)).first()


def username_of(db: sa.Engine, user_id: int) -> str | None:
    with db.connect() as conn:
        name = conn.execute(sa.select(users.c.username).where(users.c.id == user_id)).scalar()
    return None if name is None else str(name)


def created_at_of(conn: sa.Connection, username: str) -> datetime | None:
    created: datetime | None = conn.execute(
        sa.select(users.c.created_at).where(users.c.username == username)
    ).scalar()
    return created


def user_ids(conn: sa.Connection) -> list[int]:
    return [int(r[0]) for r in conn.execute(sa.select(users.c.id).order_by(users.c.id))]
