"""Masking an account's secrets in a message by WHERE they sit, not by their text.

Replacing a secret's text everywhere mangles messages: an Xtream account whose user name is
"expired" turned "provider account expired on 2020-01-01" into "provider account *** on
2020-01-01". Secrets reach a message only in known places, so only those are masked:

- inside URLs: the userinfo, a path segment equal to a secret (Xtream's
  ``/live/<user>/<pass>/1.ts``) and a query value equal to a secret;
- after a credential key: ``password=...``, ``username: ...``, ``token=...``, ``mac=...``;
- ``Bearer <token>``, and any MAC by its shape (``redact`` of the HTTP layer does both).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from iptvsync.providers.http import redact

_URL_RE = re.compile(r"(?i)\b[a-z][a-z0-9+.\-]*://[^\s\"'<>]+")
_KEY_VALUE_RE = re.compile(
    r"(?i)\b(user(?:name)?|login|pass(?:word|wd)?|token|play_token|mac)(\s*[=:]\s*)([^\s&;,\"']+)"
)


def mask_secrets(text: str, secrets: Iterable[str | None] = ()) -> str:
    """``text`` with ``secrets`` masked where secrets sit (see the module doc)."""
    known = {s for s in secrets if s and len(s) >= 3}
    known |= {quote(s, safe="") for s in known}

    def url(match: re.Match[str]) -> str:
        return _mask_url(match.group(0), known)

    out = _URL_RE.sub(url, text)
    out = _KEY_VALUE_RE.sub(lambda m: f"{m.group(1)}{m.group(2)}***", out)
    return redact(out)


def _mask_url(raw: str, known: set[str]) -> str:
    try:
        parts = urlsplit(raw)
    except ValueError:
        return raw
    netloc = parts.netloc
    if "@" in netloc:
        netloc = "***@" + netloc.rsplit("@", 1)[1]
    path = "/".join(
        "***" if seg in known or unquote(seg) in known else seg for seg in parts.path.split("/")
    )
    query = (
        "&".join(_mask_pair(pair, known) for pair in parts.query.split("&")) if parts.query else ""
    )
    return urlunsplit((parts.scheme, netloc, path, query, parts.fragment))


def _mask_pair(pair: str, known: set[str]) -> str:
    key, sep, value = pair.partition("=")
    if sep and (value in known or unquote(value) in known):
        return f"{key}=***"
    return pair
