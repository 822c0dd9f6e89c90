"""A provider's play settings, read from its ``options`` (docs/outputs.md).

- ``play_mode``: ``redirect`` (a 302 to a fresh provider link) or ``relay`` (iptvsync fetches
  the stream and passes the bytes on). Default per kind: Stalker ``relay`` (portals that gate
  streams answer 403 to a player without the box's headers and MAC cookie), Xtream and M3U
  ``redirect``.
- ``max_connections``: streams at once per provider account (Stalker: per MAC). Default 1 for
  Stalker and Xtream, unlimited for M3U.
- ``remux``: true runs relayed streams through ``ffmpeg -c copy`` into MPEG-TS.
- ``macs``: a Stalker provider's MAC pool (the provider's own ``mac`` when absent).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from iptvsync.errors import ValidationFailed
from iptvsync.store.secrets import reveal, reveal_options


class PlayMode(StrEnum):
    REDIRECT = "redirect"
    RELAY = "relay"


DEFAULT_MODE = {"stalker": PlayMode.RELAY, "xtream": PlayMode.REDIRECT, "m3u": PlayMode.REDIRECT}
DEFAULT_MAX_CONNECTIONS: dict[str, int | None] = {"stalker": 1, "xtream": 1, "m3u": None}
#: The "no limit" of a provider without one: still counted, never refused.
UNLIMITED = 10_000


@dataclass(frozen=True, slots=True)
class PlayOptions:
    mode: PlayMode
    max_connections: int
    remux: bool
    accounts: tuple[str, ...]


def account_keys(
    kind: str, mac: str | None, options: dict[str, Any], pool: list[str] | None = None
) -> tuple[str, ...]:
    """The accounts a provider's slots are counted per: its MACs (Stalker: the MAC pool of the
    store, ``store.macs``, else ``options.macs``, else its one MAC), else ``default``."""
    if kind == "stalker":
        listed = options.get("macs")
        macs = [str(m).upper() for m in pool or []]
        if isinstance(listed, list):
            macs += [str(m).upper() for m in listed]
        if not macs and mac:
            macs = [mac.upper()]
        if macs:
            return tuple(dict.fromkeys(macs))
    return ("default",)


_MAC = re.compile(r"^[0-9A-Fa-f]{2}([:-][0-9A-Fa-f]{2}){5}$")


def check_play_options(options: dict[str, Any] | None) -> None:
    """Refuse bad play options when a provider is saved (``ValueError``: a 422 there)."""
    if not options:
        return
    mode = options.get("play_mode")
    if mode is not None and mode not in [m.value for m in PlayMode]:
        raise ValueError(f"options.play_mode must be one of {[m.value for m in PlayMode]}")
    limit = options.get("max_connections")
    if limit is not None and (
        not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 1000
    ):
        raise ValueError("options.max_connections must be a whole number from 1 to 1000")
    macs = options.get("macs")
    if macs is not None and (
        not isinstance(macs, list) or not all(isinstance(m, str) and _MAC.match(m) for m in macs)
    ):
        raise ValueError("options.macs must be a list of MACs like 00:1A:79:12:34:56")
    if "remux" in options and not isinstance(options["remux"], bool):
        raise ValueError("options.remux must be true or false")


def play_options(provider: Any, pool: list[str] | None = None) -> PlayOptions:
    options = reveal_options(provider.options if isinstance(provider.options, dict) else {})
    kind = str(provider.kind)
    raw_mode = options.get("play_mode") or DEFAULT_MODE.get(kind, PlayMode.REDIRECT)
    try:
        mode = PlayMode(str(raw_mode))
    except ValueError:
        raise ValidationFailed(
            f"play_mode must be one of {[m.value for m in PlayMode]}",
            detail={"field": "options.play_mode"},
        ) from None
    limit = options.get("max_connections", DEFAULT_MAX_CONNECTIONS.get(kind))
    if limit is None or not isinstance(limit, int) or limit <= 0:
        limit = UNLIMITED
    return PlayOptions(
        mode=mode,
        max_connections=limit,
        remux=bool(options.get("remux")),
        accounts=account_keys(kind, reveal(provider.mac), options, pool),
    )
