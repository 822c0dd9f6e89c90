"""The ``{"js": ...}`` envelope of every answer (docs/stalker.md §2, decision tree): decoded, or
the typed error its body means (auth-failure texts, empty bodies, busy pages, HTML).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import orjson

from iptvsync.errors import ProviderAuthFailed, ProviderBadResponse
from iptvsync.providers.stalker.parse.coerce import _text


class PortalBusy(ProviderBadResponse):
    """A 200 answer that is a transient refusal ("Too many connections"): retry later.

    Still a ProviderBadResponse for anyone who gives up, so the error code stays
    ``provider_bad_response``.
    """

    transient = True


@dataclass(frozen=True, slots=True)
class Envelope:
    """A decoded ``{"js": ...}`` answer. ``top`` holds the keys beside ``js`` (XC panels put
    create_link's ``error``/``link_id`` there); ``has_text`` is the stock servers' debug key."""

    js: Any
    top: dict[str, Any]
    has_text: bool


_AUTH_TEXT = re.compile(
    r"(?i)^(?:(?P<token>authori[sz]ation failed\.?(?:\s*\d+)?)"
    r"|(?P<denied>access denied\.?)|(?P<unauth>unauthori[sz]ed request\.?))$"
)
_AUTH_IN_JS = re.compile(r"(?i)authori[sz]ation failed|invalid token|token (?:is )?invalid")
_BUSY = re.compile(
    r"(?i)too many (?:connections|requests|users)|try again later|temporarily unavailable"
    r"|server is busy|rate limit|service unavailable|max_user_connections"
)


def decode_envelope(body: bytes | str) -> Envelope:
    """Decode a 200 answer, or raise the typed error its body means.

    - empty body → ProviderAuthFailed (XC-style "not authorized": bad token or unknown MAC);
    - ``Authorization failed.`` (some builds append digits: ``Authorization failed. 75``),
      ``Access denied.``, ``Unauthorized request.`` → ProviderAuthFailed;
    - an HTML or text "Too many connections"-style page → PortalBusy (transient);
    - other HTML/text, truncated JSON, JSON without ``js`` → ProviderBadResponse;
    - ``js.error``/``js.msg`` saying "Authorization failed"/"Invalid token" → ProviderAuthFailed.
    """
    raw = body.encode("utf-8", "replace") if isinstance(body, str) else bytes(body)
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    stripped = raw.strip()
    if not stripped:
        raise ProviderAuthFailed(
            "the portal answered with an empty body (not authorized: token or MAC refused)",
            detail={"reason": "empty"},
        )
    if stripped[:1] not in (b"{", b"["):
        _raise_for_text(stripped)
    data = _loads(stripped)
    if not isinstance(data, dict) or "js" not in data:
        raise ProviderBadResponse("the portal answered JSON without a 'js' member")
    js = data["js"]
    if isinstance(js, dict):
        for key in ("error", "msg"):
            value = js.get(key)
            if isinstance(value, str) and _AUTH_IN_JS.search(value):
                raise ProviderAuthFailed(
                    f"the portal refused the session: {_text(value, 120)}",
                    detail={"reason": "token"},
                )
    top = {k: v for k, v in data.items() if k != "js"}
    return Envelope(js=js, top=top, has_text="text" in data)


def _raise_for_text(stripped: bytes) -> None:
    text = stripped[:4096].decode("utf-8", "replace").strip()
    match = _AUTH_TEXT.match(text)
    if match:
        reason = "token" if match.group("token") else "access_denied"
        if match.group("unauth"):
            reason = "unauthorized"
        raise ProviderAuthFailed(
            f"the portal refused the request: {text[:60]}", detail={"reason": reason}
        )
    # PHP notices (HTML-formatted) are sometimes printed before the JSON: the envelope
    # behind them is the answer.
    if stripped.find(b'{"js"') > 0:
        return
    if _BUSY.search(text):
        raise PortalBusy("the portal is overloaded (it answered 'too many connections')")
    if text[:1] == "<" or "<html" in text[:512].lower():
        raise ProviderBadResponse("the portal answered an HTML page instead of JSON")
    raise ProviderBadResponse(f"the portal answered text instead of JSON: {_text(text, 80)!r}")


def _loads(stripped: bytes) -> Any:
    try:
        return orjson.loads(stripped)
    except orjson.JSONDecodeError:
        pass
    start = stripped.find(b'{"js"')
    if start > 0:
        try:
            return orjson.loads(stripped[start:])
        except orjson.JSONDecodeError:
            pass
    try:  # invalid UTF-8 inside otherwise valid JSON
        return orjson.loads(stripped.decode("utf-8", "replace"))
    except orjson.JSONDecodeError as exc:
        raise ProviderBadResponse("the portal answered truncated or malformed JSON") from exc
