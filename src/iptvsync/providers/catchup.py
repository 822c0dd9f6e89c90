"""Catch-up: the URL of a past programme from a channel's archive, derived from the channel's
live URL (just resolved by the provider's client) and what the provider said about its archive.

- M3U: the entry's ``catchup`` mode and ``catchup-source`` template (the de-facto attributes
  Kodi's IPTV Simple and TiviMate read): ``default`` (the source is the whole URL), ``append``
  (added to the live URL), ``shift`` (``?utc=&lutc=`` added; also when no mode or source is
  named but the channel has an archive). Placeholders: ``{utc}`` /
  ``{start}`` / ``${start}`` (Unix start), ``{utcend}`` / ``{end}`` / ``${end}``, ``{lutc}`` /
  ``{now}`` / ``${now}`` / ``${timestamp}``, ``{duration}`` (seconds) and ``{duration:60}``
  (minutes), ``{offset}`` / ``${offset}`` (seconds ago), and ``{Y} {m} {d} {H} {M} {S}`` (start,
  UTC).
- Xtream: ``/timeshift/<user>/<password>/<minutes>/<YYYY-MM-DD:HH-MM>/<stream id>.ts`` on the
  live URL's host.
- Stalker: the portal's own ``tv_archive`` link, asked for at play time
  (``providers/stalker/archive.py``): nothing is derived from the live URL.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

from iptvsync.errors import ValidationFailed

_PLACEHOLDER = re.compile(r"\$?\{([A-Za-z]+)(?::(\d{1,9}))?\}")  # int() refuses 4,300 digits


class CatchupUnsupported(ValidationFailed):
    """The channel or its provider offers no catch-up we can build a URL for."""


class Playable(Protocol):
    async def resolve_play(self, target: Any) -> str: ...


async def resolve_catchup(
    client: Playable, provider_kind: str, target: Any, start: datetime, duration_s: int
) -> str:
    """The archive URL of a past programme: asked of the portal for Stalker (its
    ``tv_archive``), else built from a fresh live URL (M3U, Xtream). An empty string when the
    provider gave no live link."""
    if provider_kind == "stalker":
        # Imported here: the Stalker package imports this module (CatchupUnsupported).
        from iptvsync.providers.stalker.archive import resolve_catchup as stalker_archive

        return await stalker_archive(client, target, start)  # type: ignore[arg-type]
    live = await client.resolve_play(target)
    if not live or not isinstance(live, str):
        return ""
    return catchup_url(provider_kind, live, target.extra, start, duration_s)


def catchup_url(
    provider_kind: str,
    live_url: str,
    extra: dict[str, Any],
    start: datetime,
    duration_s: int,
    *,
    now: datetime | None = None,
) -> str:
    """The archive URL of [start, start + duration) on this channel."""
    now = now or datetime.now(UTC)
    if provider_kind == "m3u":
        return _m3u(live_url, extra, start, duration_s, now)
    if provider_kind == "xtream":
        return _xtream(live_url, start, duration_s)
    raise CatchupUnsupported(f"catch-up is not supported for {provider_kind} providers yet")


def _values(start: datetime, duration_s: int, now: datetime) -> dict[str, int]:
    begin = int(start.timestamp())
    return {
        "utc": begin,
        "start": begin,
        "utcend": begin + duration_s,
        "end": begin + duration_s,
        "lutc": int(now.timestamp()),
        "now": int(now.timestamp()),
        "timestamp": int(now.timestamp()),
        "duration": duration_s,
        "offset": max(0, int(now.timestamp()) - begin),
    }


def fill_template(template: str, start: datetime, duration_s: int, now: datetime) -> str:
    values = _values(start, duration_s, now)
    utc = start.astimezone(UTC)
    dates = {"Y": f"{utc:%Y}", "m": f"{utc:%m}", "d": f"{utc:%d}", "H": f"{utc:%H}",
             "M": f"{utc:%M}", "S": f"{utc:%S}"}  # fmt: skip

    def replace(match: re.Match[str]) -> str:
        name, divisor = match.group(1), match.group(2)
        if name in dates:
            return dates[name]
        if name not in values:
            return match.group(0)
        value = values[name]
        return str(value // int(divisor)) if divisor and int(divisor) > 0 else str(value)

    return _PLACEHOLDER.sub(replace, template)


def _m3u(
    live_url: str, extra: dict[str, Any], start: datetime, duration_s: int, now: datetime
) -> str:
    mode = str(extra.get("catchup") or "").lower()
    source = str(extra.get("catchup-source") or "")
    if mode in ("", "none"):
        # An archive with no source named: the live URL with ?utc=&lutc= (the shift form).
        mode = "default" if source else "shift"
    if mode == "shift" or (mode == "append" and not source):
        sep = "&" if "?" in live_url else "?"
        return f"{live_url}{sep}utc={int(start.timestamp())}&lutc={int(now.timestamp())}"
    if mode == "append":
        return live_url + fill_template(source, start, duration_s, now)
    if mode == "default" and source:
        return fill_template(source, start, duration_s, now)
    raise CatchupUnsupported("this channel's playlist entry names no catch-up source")


def _xtream(live_url: str, start: datetime, duration_s: int) -> str:
    parts = urlsplit(live_url)
    segments = [s for s in parts.path.split("/") if s]
    if len(segments) >= 4 and segments[-4] == "live":
        segments = segments[:-4] + segments[-3:]
    if len(segments) < 3:
        raise CatchupUnsupported("the live URL does not have the Xtream shape")
    user, password, file = segments[-3:]
    stream_id = file.split(".", 1)[0]
    prefix = segments[:-3]
    minutes = max(1, -(-duration_s // 60))
    when = start.astimezone(UTC).strftime("%Y-%m-%d:%H-%M")
    path = "/" + "/".join(
        [*prefix, "timeshift", user, password, str(minutes), when, f"{stream_id}.ts"]
    )
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))
