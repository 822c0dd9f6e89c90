"""URLs of a portal: origin and base, logos, posters (docs/stalker.md §5.4, §6.3)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from iptvsync.providers.stalker.parse.coerce import to_str

_HTTP_URL = re.compile(r"(?i)^https?://")


@dataclass(frozen=True, slots=True)
class PortalUrls:
    """``origin`` = scheme://host[:port]; ``base`` = origin + the portal path (the directory
    above ``server/load.php`` or holding ``portal.php``), no trailing slash."""

    origin: str
    base: str

    @classmethod
    def from_endpoint(cls, endpoint: str) -> PortalUrls:
        parts = urlsplit(endpoint)
        origin = f"{parts.scheme}://{parts.netloc}"
        path = parts.path
        if path.endswith("/server/load.php"):
            path = path[: -len("/server/load.php")]
        elif path.endswith(".php"):
            path = path.rsplit("/", 1)[0]
        return cls(origin=origin, base=origin + path.rstrip("/"))

    def absolute(self, value: Any, *, bare_prefix: str | None = None) -> str | None:
        """Absolute URLs as they are; ``/path`` on the origin; ``//host/x`` on the scheme;
        a bare name under ``base`` (+ ``bare_prefix``)."""
        text = to_str(value)
        if text is None:
            return None
        if text[0] == "/":  # most posters and logos: a path on the portal (no regex to run)
            if text[:2] == "//":
                return f"{urlsplit(self.origin).scheme}:{text}"
            return self.origin + text
        if text.startswith(("http://", "https://")) or _HTTP_URL.match(text):
            return text
        if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", text):
            return None  # data:, javascript: and friends are not images
        prefix = f"{self.base}/{bare_prefix.strip('/')}/" if bare_prefix else f"{self.base}/"
        return prefix + text

    def logo(self, value: Any) -> str | None:
        # Stock sends a bare file name; the box builds <base>/misc/logos/<size>/<name>.
        return self.absolute(value, bare_prefix="misc/logos/320")
