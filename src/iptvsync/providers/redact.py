"""Keeping secrets out of messages and logs: MAC masking, credential redaction, safe URLs.

Every provider error message and every log line of the HTTP libraries passes through
``redact``; ``safe_url`` is the form of a URL fit for a message.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from urllib.parse import quote, urlsplit, urlunsplit

# A MAC written with ":" or "-" (or URL-encoded colons, as in a ``mac=`` cookie or query).
# No leading \b: a MAC inside URL-encoded JSON follows "%22", a word character.
_MAC_RE = re.compile(
    r"(?i)([0-9a-f]{2})((?::|-|%3a)[0-9a-f]{2})((?::|-|%3a)[0-9a-f]{2})"
    r"((?::|-|%3a))[0-9a-f]{2}((?::|-|%3a))[0-9a-f]{2}((?::|-|%3a)[0-9a-f]{2})(?![0-9a-f])"
)
_BEARER_RE = re.compile(r"(?i)(bearer\s+)[^\s,;\"']+")
_QUERY_SECRET_RE = re.compile(
    r"(?i)([?&](?:token|play_token|password|pass|username|mac)=)[^&#\s\"']*"
)


def mask_mac(mac: str) -> str:
    """``00:1A:79:12:34:56`` → ``00:1A:79:XX:XX:56``: enough to tell accounts apart in a log."""
    parts = re.split(r"[:\-]", mac.strip())
    if len(parts) != 6:
        compact = re.sub(r"[^0-9A-Fa-f]", "", mac)
        if len(compact) != 12:
            return "XX:XX:XX:XX:XX:XX"
        parts = [compact[i : i + 2] for i in range(0, 12, 2)]
    parts = [p.upper() for p in parts]
    return ":".join([*parts[:3], "XX", "XX", parts[5]])


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """``text`` with every MAC masked, bearer tokens and credential query values hidden, and each
    explicit secret (tokens, passwords, URL-encoded forms too) replaced by ``***``."""
    out = text
    for secret in secrets:
        if secret and len(secret) >= 3:
            out = out.replace(secret, "***")
            encoded = quote(secret, safe="")
            if encoded != secret:
                out = out.replace(encoded, "***")
    out = _MAC_RE.sub(
        lambda m: (
            f"{m.group(1).upper()}{m.group(2).upper()}{m.group(3).upper()}"
            f"{m.group(4)}XX{m.group(5)}XX{m.group(6).upper()}"
        ),
        out,
    )
    out = _BEARER_RE.sub(r"\1***", out)
    return _QUERY_SECRET_RE.sub(r"\1***", out)


def safe_url(url: object) -> str:
    """A URL fit for a message: no userinfo, no query values that could carry a secret."""
    parts = urlsplit(str(url))
    netloc = parts.hostname or ""
    if parts.port:
        netloc = f"{netloc}:{parts.port}"
    cleaned = urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
    return redact(cleaned)


class RedactingFilter(logging.Filter):
    """Masks MACs and credential query values in log records.

    HTTP libraries may log request URLs, and a Stalker ``get_profile`` URL carries the MAC
    (in ``metrics``), a play link carries ``mac=``/``play_token=``: the filter rewrites the
    record before any handler sees it.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def install_log_redaction(*names: str) -> None:
    """Attach ``RedactingFilter`` to the HTTP libraries' loggers (idempotent)."""
    for name in names or ("aiohttp.client", "aiohttp.internal", "httpx", "httpcore"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(RedactingFilter())


install_log_redaction()
