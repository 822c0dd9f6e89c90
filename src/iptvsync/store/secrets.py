"""Provider secrets at rest: the one place they are encrypted and decrypted (docs/security.md).

What is secret is listed here and nowhere else: the columns in ``SECRET_COLUMNS`` and the keys
of ``providers.options`` in ``SECRET_OPTION_KEYS`` (a new secret field is one more name in a
tuple). Each value is stored as ``enc1:<Fernet token>`` (AES-128-CBC + HMAC-SHA256, from the
``cryptography`` package) under a key derived from the server's secret key
(``iptvsync.secret_key``); SQLite and PostgreSQL hold the same text.

- Written: ``seal`` encrypts a provider row's values on their way into the database
  (``store.providers.create_provider`` / ``update_provider``).
- Read: rows keep the ciphertext; only ``reveal`` turns it back, and only where a provider
  client is built (``store.providers.provider_config``) or an error is scrubbed of secrets.
- The codec belongs to the engine: ``store.open.open_database`` binds one (``bind``) before
  migrating. An engine opened without one (a test or a benchmark seeding a database) writes
  plain values, which the next start of the server encrypts (``seal_plain_rows``, also what
  migration 0005 runs on the rows of before).
"""

from __future__ import annotations

import base64
import threading
import weakref
from typing import Any

import orjson
import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from iptvsync.errors import IptvsyncError
from iptvsync.secret_key import (
    KeyRing,
    finish_file_rotation,
    key_ring,
    start_file_rotation,
)
from iptvsync.settings import Settings
from iptvsync.store.models import provider_macs, providers

PREFIX = "enc1:"
PURPOSE = "provider secrets"
#: Columns of ``providers`` that hold secrets.
SECRET_COLUMNS = ("mac", "username", "password")
#: Keys of ``providers.options`` whose values are secrets (any JSON value).
SECRET_OPTION_KEYS = ("identity", "macs")  # macs: the relay's per-MAC slots (relay.modes)
MASK = "***"


class SecretsUnreadable(IptvsyncError):
    code = "secrets_unreadable"
    status = 500


def is_sealed(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)


class SecretCodec:
    def __init__(self, ring: KeyRing) -> None:
        self.ring = ring
        fernets = [Fernet(base64.urlsafe_b64encode(k)) for k in ring.all_subkeys(PURPOSE)]
        self._fernet = MultiFernet(fernets)

    def encrypt(self, value: str | None) -> str | None:
        if not value or is_sealed(value):
            return value
        return PREFIX + self._fernet.encrypt(value.encode()).decode()

    def try_decrypt(self, value: str) -> str | None:
        try:
            return self._fernet.decrypt(value[len(PREFIX) :].encode()).decode()
        except InvalidToken:
            return None

    def reseal(self, value: str | None) -> str | None:
        """``value`` encrypted with the current key (after a rotation)."""
        if not is_sealed(value):
            return self.encrypt(value)
        assert value is not None
        return PREFIX + self._fernet.rotate(value[len(PREFIX) :].encode()).decode()


_codecs: dict[KeyRing, SecretCodec] = {}
_bound: weakref.WeakKeyDictionary[sa.Engine, SecretCodec] = weakref.WeakKeyDictionary()
_known: list[SecretCodec] = []  # every codec bound in this process, newest first (usually one)
_lock = threading.Lock()


def codec_for(settings: Settings) -> SecretCodec:
    ring = key_ring(settings)
    with _lock:
        codec = _codecs.get(ring)
        if codec is None:
            codec = _codecs[ring] = SecretCodec(ring)
        return codec


def bind(engine: sa.Engine, codec: SecretCodec) -> sa.Engine:
    with _lock:
        _bound[engine] = codec
        if codec in _known:
            _known.remove(codec)
        _known.insert(0, codec)
        del _known[16:]
    return engine


def codec_of(db: sa.Engine | sa.Connection) -> SecretCodec | None:
    engine = db.engine if isinstance(db, sa.Connection) else db
    return _bound.get(engine)


# --- values ------------------------------------------------------------------------------------


def seal(db: sa.Engine | sa.Connection, values: dict[str, Any]) -> dict[str, Any]:
    """``values`` (a provider row or a change to one) with its secrets encrypted."""
    codec = codec_of(db)
    if codec is None:
        return values
    return seal_with(codec, values)


def seal_text(db: sa.Engine | sa.Connection, value: str | None) -> str | None:
    """One secret value encrypted with the engine's codec (plain without one)."""
    codec = codec_of(db)
    return value if codec is None else codec.encrypt(value)


def seal_json(db: sa.Engine | sa.Connection, value: Any) -> Any:
    """A JSON secret (a MAC's device ids) as one encrypted string (as it is without a codec)."""
    codec = codec_of(db)
    if codec is None or not value:
        return value
    return codec.encrypt(orjson.dumps(value).decode())


def reveal_json(value: Any) -> Any:
    return orjson.loads(reveal(value) or "null") if is_sealed(value) else value


def seal_with(codec: SecretCodec, values: dict[str, Any]) -> dict[str, Any]:
    out = dict(values)
    for column in SECRET_COLUMNS:
        if column in out:
            out[column] = codec.encrypt(out[column])
    options = out.get("options")
    if isinstance(options, dict) and any(k in options for k in SECRET_OPTION_KEYS):
        out["options"] = {
            k: (_seal_option(codec, v) if k in SECRET_OPTION_KEYS else v)
            for k, v in options.items()
        }
    return out


def _seal_option(codec: SecretCodec, value: Any) -> Any:
    return value if is_sealed(value) else codec.encrypt(orjson.dumps(value).decode())


def reveal(value: str | None) -> str | None:
    """The plain text of a stored secret (a plain value, from before, is returned as it is)."""
    if value is None or not is_sealed(value):
        return value
    with _lock:
        codecs = list(_known)
    for codec in codecs:
        plain = codec.try_decrypt(value)
        if plain is not None:
            return plain
    raise SecretsUnreadable(
        "a provider secret cannot be decrypted with this server's secret key "
        "(IPTVSYNC_SECRET_KEY or <data dir>/secret.key changed?); see docs/security.md"
    )


def reveal_options(options: dict[str, Any] | None) -> dict[str, Any]:
    out = dict(options or {})
    for key in SECRET_OPTION_KEYS:
        if is_sealed(out.get(key)):
            out[key] = orjson.loads(reveal(out[key]) or "null")
    return out


def public_options(options: dict[str, Any] | None) -> dict[str, Any]:
    """Options as the API shows them: secret ones masked."""
    return {k: (MASK if k in SECRET_OPTION_KEYS else v) for k, v in (options or {}).items()}


def keep_masked(options: dict[str, Any], stored: dict[str, Any] | None) -> dict[str, Any]:
    """New options where a secret one still reads ``***`` (as the API showed it): the stored
    value is kept, so sending back what was read loses nothing."""
    out = dict(options)
    for key in SECRET_OPTION_KEYS:
        if out.get(key) == MASK and stored and key in stored:
            out[key] = stored[key]
    return out


# --- whole tables ------------------------------------------------------------------------------


def secret_rows(conn: sa.Connection) -> list[Any]:
    """Each provider's id and the columns that hold secrets, and only those: a migration runs
    this against the schema of its own revision, which lacks columns added after it."""
    columns = [providers.c.id, *(providers.c[c] for c in SECRET_COLUMNS), providers.c.options]
    return list(conn.execute(sa.select(*columns)).all())


def _needs(row: Any, check: Any) -> bool:
    m = row._mapping
    values = [m[c] for c in SECRET_COLUMNS]
    values += [(m["options"] or {}).get(k) for k in SECRET_OPTION_KEYS]
    return any(check(v) for v in values if v)


def seal_plain_rows(conn: sa.Connection, codec: SecretCodec) -> int:
    """Encrypt every plain secret in ``providers``; the number of rows changed."""
    changed = 0
    for row in secret_rows(conn):
        if not _needs(row, lambda v: not is_sealed(v)):
            continue
        m = row._mapping
        values = {c: m[c] for c in SECRET_COLUMNS}
        values["options"] = m["options"] or {}
        conn.execute(
            providers.update().where(providers.c.id == m["id"]).values(**seal_with(codec, values))
        )
        changed += 1
    _seal_pool_rows(conn, codec, fresh=False)
    return changed


def _seal_pool_rows(conn: sa.Connection, codec: SecretCodec, *, fresh: bool) -> None:
    """The MAC pool's MACs and device ids (``store.macs``): plain ones encrypted; with
    ``fresh``, every one re-encrypted with the current key."""
    for row in conn.execute(sa.select(provider_macs)).all():
        mac, identity = row.mac, row.identity
        if fresh or not is_sealed(mac) or (identity and not is_sealed(identity)):
            plain_identity = reveal_json(identity)
            conn.execute(
                provider_macs.update()
                .where(provider_macs.c.id == row.id)
                .values(
                    mac=codec.reseal(mac) if fresh else codec.encrypt(mac),
                    identity=(
                        codec.encrypt(orjson.dumps(plain_identity).decode())
                        if plain_identity
                        else plain_identity
                    ),
                )
            )


def reseal_rows(conn: sa.Connection, codec: SecretCodec) -> int:
    """Re-encrypt every secret with ``codec``'s current key (``iptvsync rotate-key``)."""
    changed = 0
    for row in secret_rows(conn):
        m = row._mapping
        values: dict[str, Any] = {c: codec.reseal(m[c]) for c in SECRET_COLUMNS if m[c]}
        options = dict(m["options"] or {})
        for key in SECRET_OPTION_KEYS:
            if key in options:
                value = options[key]
                options[key] = codec.reseal(value) if is_sealed(value) else value
        values["options"] = options
        values = seal_with(codec, values)  # plain ones too
        conn.execute(providers.update().where(providers.c.id == m["id"]).values(**values))
        changed += 1
    _seal_pool_rows(conn, codec, fresh=True)
    return changed


def rotate_key(db: sa.Engine, settings: Settings) -> int:
    """``iptvsync rotate-key``: a new key file (or, with ``IPTVSYNC_SECRET_KEY``, the key now
    set there), every provider secret re-encrypted with it in one transaction; the number of
    providers. Play URLs signed before stop working; running servers need a restart."""
    from_file = settings.secret_key is None
    codec = SecretCodec(start_file_rotation(settings)[1]) if from_file else codec_for(settings)
    with db.begin() as conn:
        changed = reseal_rows(conn, codec)
    if from_file:
        finish_file_rotation(settings)
    bind(db, codec_for(settings))
    return changed
