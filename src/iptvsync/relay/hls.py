"""HLS playlists rewritten so every URL in them goes through iptvsync.

Each URI (a variant or segment line, and ``URI="..."`` in ``EXT-X-KEY``/``EXT-X-MAP``/
``EXT-X-MEDIA``/``EXT-X-I-FRAME-STREAM-INF``) is resolved against the playlist's own URL and
replaced by what ``register`` answers for it: a signed relay URL that names the real one only
on the server.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import urljoin, urlsplit

PLAYLIST_TYPES = frozenset(
    {
        "application/vnd.apple.mpegurl",
        "application/x-mpegurl",
        "audio/mpegurl",
        "audio/x-mpegurl",
    }
)
_URI_ATTR = re.compile(r'URI="([^"]*)"')
MAX_PLAYLIST_BYTES = 4 * 1024 * 1024


def extension(url: str) -> str:
    """The URL path's extension (``ts`` when it has none or an odd one)."""
    path = urlsplit(url).path
    ext = path.rsplit(".", 1)[-1].lower() if "." in path.rsplit("/", 1)[-1] else ""
    return ext if ext.isalnum() and len(ext) <= 5 else "ts"


def is_playlist(content_type: str, url: str) -> bool:
    return content_type in PLAYLIST_TYPES or url.split("?", 1)[0].lower().endswith(".m3u8")


def rewrite(text: str, base_url: str, register: Callable[[str], str]) -> str:
    out: list[str] = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            out.append(
                _URI_ATTR.sub(
                    lambda m: f'URI="{register(urljoin(base_url, m.group(1)))}"', stripped
                )
            )
        else:
            out.append(register(urljoin(base_url, stripped)))
    return "\n".join(out) + "\n"
