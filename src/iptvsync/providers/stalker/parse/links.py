"""Play links (docs/stalker.md §5.5, §6.4): ``create_link`` answers to playable URLs, and the
helpers that read original ``cmd``s (solution prefixes, base64 JSON, stream ids).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import orjson

from iptvsync.errors import ProviderBadResponse
from iptvsync.providers.stalker.parse.coerce import _text, to_str


def decode_b64_cmd(cmd: str | None) -> dict[str, Any] | None:
    """XC/XUI movie cmds are base64 JSON (``{"type":"movie","stream_id":1234,...}``)."""
    if not cmd or len(cmd) > 4096 or "." in cmd or ":" in cmd or " " in cmd:
        return None
    try:
        padded = cmd + "=" * (-len(cmd) % 4)
        decoded = base64.b64decode(padded, altchars=b"-_" if "-" in cmd or "_" in cmd else None)
        data = orjson.loads(decoded)
    except (binascii.Error, ValueError, orjson.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


_SPACE = re.compile(r"\s")
_POSITION = re.compile(r"\s+position:\d+$")
_SOLUTION = re.compile(r"^(?P<solution>[a-z][a-z0-9_]*)\s+(?P<rest>\S.*)$", re.IGNORECASE)
_LINK_ERRORS = {
    "nothing_to_play": "nothing to play for this item",
    "limit": "too many streams are playing on this account",
    "access_denied": "access to this item is denied",
    "link_fault": "the portal could not build a link",
    "player_file_missing": "the episode file is missing on the portal",
}
_PLAYABLE_SCHEMES = ("http", "https", "rtmp", "rtmps", "rtsp")


def strip_solution(cmd: str) -> str:
    """``"ffrt http://x/ch/1"`` → ``"http://x/ch/1"``: drop the player "solution" prefix
    (ffmpeg, ffrt, ffrt2, auto, rtp...), and a trailing `` position:<sec>`` resume marker."""
    text = cmd.strip()
    if _SPACE.search(text) is None:  # nearly every VOD cmd: neither a solution nor a position
        return text
    match = _SOLUTION.match(text)
    if match and "://" not in match.group("solution"):
        text = match.group("rest").strip()
    return _POSITION.sub("", text)


def needs_create_link(cmd: str | None, *, tmp_link: bool = False) -> bool:
    """Whether a channel cmd must go through ``create_link`` (IPTVnator's rules): the portal
    asks for it (``use_http_tmp_link``/``use_load_balancing``), the URL points at localhost or
    ends with ``_`` (XC ``/ch/<id>_``), or it is not an http(s) URL at all."""
    if tmp_link or not cmd:
        return True
    url = strip_solution(cmd)
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        return True
    host = (parts.hostname or "").lower()
    return host in ("localhost", "127.0.0.1", "0.0.0.0", "") or url.endswith("_")


def stream_id_from_cmd(cmd: str | None) -> str | None:
    """The stream id an original cmd names: base64 ``stream_id``, ``stream=N``, ``/ch/N_``."""
    if not cmd:
        return None
    decoded = decode_b64_cmd(cmd.strip())
    if decoded is not None:
        value = to_str(decoded.get("stream_id"))
        if value:
            return value
    for pattern in (r"[?&]stream=(\d+)", r"/ch/(\d+)", r"/(\d+)_?(?:\.[a-z0-9]{1,5})?(?:\?|$)"):
        match = re.search(pattern, cmd)
        if match:
            return match.group(1)
    return None


def parse_create_link(
    js: Any,
    top: Mapping[str, Any] | None = None,
    *,
    origin: str,
    original_cmd: str | None = None,
    mac: str | None = None,
) -> str:
    """``create_link`` → the playable URL.

    An ad playlist (a list) plays its last element; ``error`` (in ``js`` or, on XC, beside it)
    → ProviderBadResponse with a readable reason; the solution prefix is stripped; ``%mac%`` is
    filled in; relative ``/media/...`` and ``?token=...`` replies are resolved against the
    portal origin; an empty ``stream=`` (the XC bug, IPTVnator #1486) is patched with the id
    from the original cmd.
    """
    if isinstance(js, list):
        candidates = [item for item in js if isinstance(item, dict)]
        if not candidates:
            raise ProviderBadResponse("the portal answered an empty play list")
        js = candidates[-1]
    if not isinstance(js, dict):
        raise ProviderBadResponse("the portal's play-link answer is not an object")
    top = top or {}
    error = to_str(js.get("error")) or to_str(top.get("error"))
    if error:
        reason = _LINK_ERRORS.get(error.lower(), _text(error, 120) or "unknown error")
        raise ProviderBadResponse(
            f"the portal refused to create a play link: {reason}",
            detail={"reason": error.lower()[:40]},
        )
    cmd = to_str(js.get("cmd")) or to_str(js.get("url"))
    if cmd is None:
        raise ProviderBadResponse("the portal's play-link answer has no link")
    url = strip_solution(cmd)
    if mac:
        url = url.replace("%mac%", mac).replace("%MAC%", mac)
    if url.startswith(("/", "?")):
        url = urljoin(origin.rstrip("/") + "/", url)
    url = _patch_empty_stream(url, original_cmd)
    scheme = urlsplit(url).scheme.lower()
    if scheme not in _PLAYABLE_SCHEMES or not urlsplit(url).netloc:
        raise ProviderBadResponse(f"the portal's play link is not playable ({scheme or 'no'} URL)")
    return url


def _patch_empty_stream(url: str, original_cmd: str | None) -> str:
    parts = urlsplit(url)
    if "stream=" not in parts.query:
        return url
    query = parse_qsl(parts.query, keep_blank_values=True)
    if not any(k == "stream" and v == "" for k, v in query):
        return url
    stream_id = stream_id_from_cmd(original_cmd)
    if stream_id is None:
        return url
    patched = [(k, stream_id if k == "stream" and v == "" else v) for k, v in query]
    return urlunsplit(parts._replace(query=urlencode(patched, safe=":/")))
