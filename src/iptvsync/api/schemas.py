"""Request bodies, validated at the edge (422 ``validation_error`` on anything off)."""

from __future__ import annotations

import re
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

MAC_RE = re.compile(r"^[0-9A-F]{2}(:[0-9A-F]{2}){5}$")


def normalise_mac(value: str) -> str:
    compact = re.sub(r"[^0-9A-Fa-f]", "", value)
    if len(compact) != 12 or re.search(r"[^0-9A-Fa-f:\-\s]", value):
        raise ValueError("must look like 00:1A:79:12:34:56")
    mac = ":".join(compact[i : i + 2] for i in range(0, 12, 2)).upper()
    if not MAC_RE.match(mac):
        raise ValueError("must look like 00:1A:79:12:34:56")
    return mac


def check_options(value: dict[str, Any] | None) -> dict[str, Any] | None:
    """Provider options: a schedule must parse (bad ones would only be logged at each tick)."""
    from iptvsync.relay.modes import check_play_options
    from iptvsync.sync.schedule import parse_schedule

    parse_schedule(value)
    check_play_options(value)
    return value


def check_kind_options(kind: str, options: dict[str, Any] | None) -> None:
    """The options a provider of ``kind`` reads, typed (``providers/options.py``): a bad one is
    a 422 naming it, not a sync that breaks later."""
    from iptvsync.errors import ValidationFailed
    from iptvsync.providers.options import parse_options

    try:
        parse_options(kind, options)
    except ValidationFailed as exc:
        raise ValueError(exc.message) from None


def check_url(value: str) -> str:
    value = value.strip()
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http(s) URL with a host")
    return value


class PoolMac(BaseModel):
    """One MAC of a Stalker pool, with the box identity the portal may check. ``serial`` is
    the contract's name for the box serial; ``sn`` (the portal's own name) is accepted too."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    mac: str
    sn: str | None = Field(
        None, max_length=64, validation_alias=AliasChoices("serial", "sn"), serialization_alias="sn"
    )
    device_id: str | None = Field(None, max_length=128)
    device_id2: str | None = Field(None, max_length=128)
    signature: str | None = Field(None, max_length=128)

    @field_validator("mac")
    @classmethod
    def _mac(cls, value: str) -> str:
        return normalise_mac(value)


class ProviderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    kind: Literal["stalker", "xtream", "m3u"]
    url: str = Field(max_length=4000)
    mac: str | None = Field(default=None, max_length=32)
    username: str | None = Field(default=None, max_length=200)
    password: str | None = Field(default=None, max_length=500)
    epg_url: str | None = Field(default=None, max_length=4000)
    options: dict[str, Any] = Field(default_factory=dict)
    #: A Stalker provider's other MACs (the pool), tried when ``mac`` is refused or busy.
    macs: list[PoolMac] | None = Field(default=None, max_length=100)

    _url = field_validator("url")(classmethod(lambda cls, v: check_url(v)))

    @field_validator("epg_url")
    @classmethod
    def _epg(cls, v: str | None) -> str | None:
        return check_url(v) if v else None

    @field_validator("mac")
    @classmethod
    def _mac(cls, v: str | None) -> str | None:
        return normalise_mac(v) if v else None

    @field_validator("options")
    @classmethod
    def _options(cls, v: dict[str, Any]) -> dict[str, Any]:
        check_options(v)
        return v

    @model_validator(mode="after")
    def _kind_needs(self) -> ProviderIn:
        if self.kind == "stalker" and not self.mac:
            raise ValueError("a stalker provider needs a MAC address")
        if self.kind == "xtream" and not (self.username and self.password):
            raise ValueError("an xtream provider needs a username and a password")
        if self.macs and self.kind != "stalker":
            raise ValueError("only a stalker provider has a MAC pool (macs)")
        check_kind_options(self.kind, self.options)
        return self


class ProviderPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    url: str | None = Field(default=None, max_length=4000)
    mac: str | None = Field(default=None, max_length=32)
    username: str | None = Field(default=None, max_length=200)
    password: str | None = Field(default=None, max_length=500)
    epg_url: str | None = Field(default=None, max_length=4000)
    options: dict[str, Any] | None = None

    @field_validator("url", "epg_url")
    @classmethod
    def _urls(cls, v: str | None) -> str | None:
        return check_url(v) if v else v

    @field_validator("mac")
    @classmethod
    def _mac(cls, v: str | None) -> str | None:
        return normalise_mac(v) if v else None

    _opts = field_validator("options")(classmethod(lambda cls, v: check_options(v)))


class SyncIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scope: Literal["auto", "all", "vod", "channels"] = "auto"
    mode: Literal["auto", "full", "incremental"] = "auto"


class SyncChannelsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mode: Literal["auto", "full", "incremental"] = "auto"
