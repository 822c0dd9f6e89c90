"""A provider's ``options``, typed: one pydantic model per provider kind, checked when a provider
is added or edited (API and CLI, 422 ``validation_error``) and read by the clients.

One naming scheme for every kind (docs/providers.md, "Options"):

- ``request_timeout_s``: one read of an answer (no byte for this long);
- ``max_attempts``: attempts per request (1 = no retry);
- ``user_agent``, ``max_concurrency``, ``start_concurrency``, ``max_rps``, ``guide``.

Xtream and M3U providers once read ``timeout_s`` and ``retries`` (retries = attempts - 1):
rows stored with those keys still read the same (``_renamed``), and new writes use the new
names. Keys a model does not name (``schedule``, ``play``, a Stalker identity, ...) pass
through: the schedule and play options have checks of their own (``api/schemas.py``).
Stalker's own knobs keep their validation in ``providers/stalker`` (``StalkerSettings``),
called from here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from iptvsync.errors import ValidationFailed
from iptvsync.numbers import ascii_int

#: Old option names of the Xtream and M3U clients → the common name (and how to convert).
_OLD_NAMES = {"timeout_s": "request_timeout_s", "retries": "max_attempts"}


class CommonOptions(BaseModel):
    """What every kind understands."""

    model_config = ConfigDict(extra="allow", frozen=True)

    request_timeout_s: float | None = Field(default=None, gt=0, le=600)
    max_attempts: int | None = Field(default=None, ge=1, le=50)
    user_agent: str | None = Field(default=None, min_length=1, max_length=500)
    max_concurrency: int | None = Field(default=None, ge=1, le=256)
    start_concurrency: float | None = Field(default=None, ge=1, le=256)
    max_rps: float | None = Field(default=None, gt=0)

    @model_validator(mode="before")
    @classmethod
    def _renamed(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        out = dict(data)
        for old, new in _OLD_NAMES.items():
            if old in out and out.get(new) is None:
                value = out.pop(old)
                retries = ascii_int(str(value)) if isinstance(value, int | str) else None
                if old == "retries" and retries is not None:
                    value = retries + 1
                out[new] = value
        return out


class XtreamOptions(CommonOptions):
    #: Ask the panel's lists once at probe time for counts (``false``: report null counts).
    probe_counts: bool = True
    guide: Literal["xmltv", "none"] = "xmltv"
    #: The extension of live play links when the panel does not say (``ts``, ``m3u8``).
    live_extension: str | None = Field(default=None, pattern=r"^[A-Za-z0-9]{1,8}$")


class M3uOptions(CommonOptions):
    #: Seconds one downloaded playlist serves the steps of a sync.
    playlist_cache_s: float = Field(default=300.0, ge=0)


class StalkerOptions(CommonOptions):
    guide: Literal["portal", "none"] = "portal"

    @model_validator(mode="after")
    def _stalker_knobs(self) -> StalkerOptions:
        # The client's own reader of its knobs is the definition (providers/stalker).
        from iptvsync.providers.budget import BudgetConfig
        from iptvsync.providers.stalker.client import StalkerSettings

        raw = self.model_dump(exclude_none=True)
        StalkerSettings.from_options(raw)
        BudgetConfig.from_options(raw)
        return self


M = TypeVar("M", bound="CommonOptions")

MODELS: dict[str, type[CommonOptions]] = {
    "stalker": StalkerOptions,
    "xtream": XtreamOptions,
    "m3u": M3uOptions,
}


def parse_options(kind: str, options: Mapping[str, Any] | None) -> CommonOptions:
    """The typed options of a provider of ``kind``; ``ValidationFailed`` (422) naming the
    option for anything off."""
    model = MODELS.get(kind)
    if model is None:
        raise ValidationFailed(f"unknown provider kind {kind!r}", detail={"kind": kind})
    return checked(model, options)


def checked(model: type[M], options: Mapping[str, Any] | None) -> M:
    """``options`` read as ``model``; ``ValidationFailed`` naming the first bad option."""
    try:
        return model.model_validate(dict(options or {}))
    except ValidationError as exc:
        first = exc.errors()[0]
        name = ".".join(str(p) for p in first["loc"]) or "options"
        raise ValidationFailed(
            f"bad provider option {name!r}: {first['msg']}",
            detail={"field": f"options.{name}" if first["loc"] else "options"},
        ) from None
