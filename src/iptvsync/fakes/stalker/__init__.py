"""A fake Stalker / Ministra "MAC portal" (a Starlette app) over a fake ``Catalogue``.

It speaks both server families of docs/stalker.md §0:

- ``family="stock"`` (Infomir Ministra): ``/stalker_portal/server/load.php`` and
  ``/server/load.php``; plain-text ``Unauthorized request.`` / ``Access denied.`` /
  ``Authorization failed.``; the token is bound to the MAC by ``get_profile`` and a handshake
  that presents the bound token gets it back (§4.1-4.2); numbers as strings (``total_items``
  too) and the ``text`` debug key; bare logo file names served under
  ``/stalker_portal/misc/logos/<size>/``; series are VOD items with ``is_series="1"`` walked by
  ``movie_id``/``season_id``/``episode_id`` (§7.B); relative ``screenshot_uri``; ``cmd``
  ``/media/<id>.mpg`` resolved by ``create_link``.
- ``family="reseller"`` (Xtream-Codes / XUI / XC_VM panels): ``/portal.php`` (also ``/c/`` and
  ``/stalker_portal/`` paths); an EMPTY body on any auth failure; every handshake issues a new
  token and kills the old ones; ints; absolute logo and poster URLs; base64 JSON ``cmd``s; the
  ``type=series`` module (§7.C); ``create_link`` for live channels with keys outside ``js``.

Quirk switches live in ``StalkerFakeConfig`` and can be flipped at run time (tests flip them
between calls) through ``app.state.portal`` or the JSON control API under ``/_control/``.

Everything stays fast: ordered lists are built once per catalogue revision and config and
sliced per page; pages are serialised with orjson. The fake reads the clock only for latency,
rate limits, link expiry and the EPG; ids, tokens and error injection come from seeded RNGs.
"""

from iptvsync.fakes.stalker.app import create_app, placeholder_svg
from iptvsync.fakes.stalker.config import (
    DEFAULT_MAC,
    LINK_OFFSET,
    RESELLER_PATHS,
    STOCK_PATHS,
    StalkerFakeConfig,
)
from iptvsync.fakes.stalker.portal import FakeStalkerPortal, FakeStats

__all__ = [
    "DEFAULT_MAC",
    "LINK_OFFSET",
    "RESELLER_PATHS",
    "STOCK_PATHS",
    "FakeStalkerPortal",
    "FakeStats",
    "StalkerFakeConfig",
    "create_app",
    "placeholder_svg",
]
