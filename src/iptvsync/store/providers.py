"""Provider rows: create, read, update, delete, and their public (secret-free) shape."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import sqlalchemy as sa

from iptvsync.errors import NotFound, ProviderNameTaken
from iptvsync.providers.base import ProviderConfig
from iptvsync.store.models import providers
from iptvsync.store.secrets import (
    SecretsUnreadable,
    keep_masked,
    public_options,
    reveal,
    reveal_options,
    seal,
)

SECRET_QUERY_KEYS = {
    "password",
    "pass",
    "pwd",
    "token",
    "key",
    "secret",
    "auth",
    "username",
    "user",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


def mask_mac(mac: str | None) -> str | None:
    """``00:1A:79:12:34:56`` → ``00:1A:79:XX:XX:56`` (docs/api.md, "Errors and access")."""
    if not mac:
        return None
    # Imported here: the HTTP layer (httpx, aiohttp) is not needed to read provider rows.
    from iptvsync.providers.http import mask_mac as _mask_mac

    return _mask_mac(mac)


def mask_url(url: str | None) -> str | None:
    """Hide credentials a URL may carry (userinfo, ``password=`` and friends in the query)."""
    if not url:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<invalid url>"
    netloc = parts.netloc
    if "@" in netloc:
        netloc = "***@" + netloc.rsplit("@", 1)[1]
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode(
            [(k, "***" if k.lower() in SECRET_QUERY_KEYS else v) for k, v in pairs], safe="*"
        )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def public_provider(row: Any) -> dict[str, Any]:
    """The API shape of a provider: never a secret (the MAC masked, secret options ``***``)."""
    m = row._mapping
    return {
        "id": m["id"],
        "name": m["name"],
        "kind": m["kind"],
        "url": mask_url(m["url"]),
        "mac": _masked_mac(m["mac"]),
        "username": "***" if m["username"] else None,
        "has_password": bool(m["password"]),
        "epg_url": mask_url(m["epg_url"]),
        "options": public_options(m["options"]),
        "snapshot_version": m["snapshot_version"],
        "last_channel_sync_at": _iso(m["last_channel_sync_at"]),
        "last_vod_sync_at": _iso(m["last_vod_sync_at"]),
        "created_at": _iso(m["created_at"]),
        "updated_at": _iso(m["updated_at"]),
    }


def _masked_mac(stored: str | None) -> str | None:
    try:
        return mask_mac(reveal(stored))
    except SecretsUnreadable:
        return "XX:XX:XX:XX:XX:XX"


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


iso = _iso


def check_name_free(conn: sa.Connection, name: str, provider_id: int | None = None) -> None:
    """ProviderNameTaken when another provider has ``name`` (commands find providers by name)."""
    query = sa.select(providers.c.id).where(providers.c.name == name)
    if provider_id is not None:
        query = query.where(providers.c.id != provider_id)
    other = conn.execute(query).scalar()
    if other is not None:
        raise ProviderNameTaken(
            f"a provider named {name!r} already exists (id {other}); choose another name",
            detail={"provider_id": other},
        )


def create_provider(conn: sa.Connection, data: dict[str, Any]) -> int:
    check_name_free(conn, data["name"])
    now = utcnow()
    values = {
        "name": data["name"],
        "kind": data["kind"],
        "url": data["url"],
        "mac": data.get("mac"),
        "username": data.get("username"),
        "password": data.get("password"),
        "epg_url": data.get("epg_url"),
        "options": data.get("options") or {},
        "snapshot_version": 0,
        "created_at": now,
        "updated_at": now,
    }
    result = conn.execute(providers.insert().values(**seal(conn, values)))
    pk = result.inserted_primary_key
    assert pk is not None
    return int(pk[0])


def get_provider(conn: sa.Connection, provider_id: int) -> Any:
    row = conn.execute(sa.select(providers).where(providers.c.id == provider_id)).first()
    if row is None:
        raise NotFound(f"provider {provider_id} not found", detail={"provider_id": provider_id})
    return row


def list_providers(conn: sa.Connection) -> list[Any]:
    return list(conn.execute(sa.select(providers).order_by(providers.c.id)))


def update_provider(conn: sa.Connection, provider_id: int, changes: dict[str, Any]) -> int:
    """Apply ``changes``; when the URL moves, stored image URLs follow (``store.rebase``).

    Returns how many catalogue rows had their image URL rebased: when it is not 0 the
    provider's ``snapshot_version`` moved on and the caller builds the snapshot.
    """
    row = get_provider(conn, provider_id)
    if isinstance(changes.get("options"), dict):
        changes = {**changes, "options": keep_masked(changes["options"], row.options)}
    if not changes:
        return 0
    if changes.get("name") is not None:
        check_name_free(conn, changes["name"], provider_id)
    if changes.get("url") and changes["url"] != row.url:
        changes = {**changes, "endpoint": None}  # found at the old URL: found again
    conn.execute(
        providers.update()
        .where(providers.c.id == provider_id)
        .values(**seal(conn, changes), updated_at=utcnow())
    )
    new_url = changes.get("url")
    if new_url and new_url != row.url:
        from iptvsync.store.rebase import rebase_images

        return rebase_images(conn, provider_id, row.url, new_url)
    return 0


def delete_provider(conn: sa.Connection, provider_id: int) -> None:
    get_provider(conn, provider_id)
    # Children first: SQLite enforces foreign keys but a cascade through FTS triggers is slow
    # and PostgreSQL needs no help; explicit deletes keep both fast and obvious.
    from iptvsync.store.catalogue import delete_provider_data

    delete_provider_data(conn, provider_id, include_runs=True)
    conn.execute(providers.delete().where(providers.c.id == provider_id))


def provider_config(row: Any) -> ProviderConfig:
    """What a provider client is built from: the one place secrets are decrypted."""
    m = row._mapping
    return ProviderConfig(
        kind=m["kind"],
        url=m["url"],
        mac=reveal(m["mac"]),
        username=reveal(m["username"]),
        password=reveal(m["password"]),
        epg_url=m["epg_url"],
        options=reveal_options(m["options"]),
        endpoint=m["endpoint"],
    )


def provider_secrets(row: Any) -> list[str]:
    """Every secret a provider row holds, for scrubbing text before it is logged or returned."""
    m = row._mapping
    values = [reveal(m[c]) for c in ("mac", "password", "username")]
    return [s for s in values if s and len(s) >= 3]


# --- what a sync records on its provider ---------------------------------------------------------


def record_endpoint(conn: sa.Connection, provider_id: int, endpoint: dict[str, Any]) -> None:
    """The endpoint a session found (``providers.endpoint``): the next one starts there."""
    conn.execute(
        providers.update().where(providers.c.id == provider_id).values(endpoint=endpoint)
    )


def mark_walked(conn: sa.Connection, provider_id: int, *, channels: bool) -> None:
    """A complete walk of the channels (or of the VOD) ended now: incremental plans count
    from here."""
    column = "last_channel_sync_at" if channels else "last_vod_sync_at"
    conn.execute(providers.update().where(providers.c.id == provider_id).values({column: utcnow()}))


def mark_guide_stored(conn: sa.Connection, provider_id: int) -> None:
    conn.execute(
        providers.update().where(providers.c.id == provider_id).values(last_epg_sync_at=utcnow())
    )


def set_snapshot_version(conn: sa.Connection, provider_id: int, version: int) -> None:
    """The catalogue version the provider's rows and snapshot now stand at."""
    conn.execute(
        providers.update().where(providers.c.id == provider_id).values(snapshot_version=version)
    )
