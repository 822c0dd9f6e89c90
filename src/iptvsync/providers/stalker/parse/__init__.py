"""Stalker / Ministra payloads → typed records. Pure: no I/O, no clock (``now`` is passed in).

Two server families answer the same protocol (docs/stalker.md §0): stock Ministra (string ids,
``total_items`` as a string, plain-text auth failures, a ``text`` debug key) and reseller panels
(XC / XUI / XC_VM: ints, empty-body auth failures, base64 ``cmd``s, ``"N/A"`` values, a
``type=series`` module). Every function here accepts both shapes, coerces every scalar, and
raises only ``ProviderError`` subclasses on bad input — never KeyError or TypeError.

Modules: ``coerce`` (scalars), ``envelope`` (the ``js`` envelope and its errors), ``session``
(handshake, profile, account), ``urls`` (portal origin, logos, posters), ``lists`` (categories
and pages), ``channels``, ``vod`` (movies and shows), ``series`` (seasons and episodes),
``links`` (``create_link`` and cmd helpers).
"""

from __future__ import annotations

from iptvsync.providers.stalker.parse.channels import (
    RADIO_PREFIX,
    channel_stream_steps,
    parse_channel,
    parse_channel_stream,
    parse_channels,
    radio_channels,
)
from iptvsync.providers.stalker.parse.coerce import parse_when, to_bool, to_float, to_int, to_str
from iptvsync.providers.stalker.parse.envelope import Envelope, PortalBusy, decode_envelope
from iptvsync.providers.stalker.parse.links import (
    decode_b64_cmd,
    needs_create_link,
    parse_create_link,
    stream_id_from_cmd,
    strip_solution,
)
from iptvsync.providers.stalker.parse.lists import PagePayload, parse_categories, parse_page

# client.py reads list payloads of unknown shape through the private row helper.
from iptvsync.providers.stalker.parse.lists import _rows as _rows
from iptvsync.providers.stalker.parse.series import (
    StockSeason,
    parse_reseller_seasons,
    parse_season_rows,
    parse_stock_episodes,
    parse_stock_files,
    parse_stock_seasons,
    season_number,
)
from iptvsync.providers.stalker.parse.session import (
    Handshake,
    Profile,
    parse_account_info,
    parse_do_auth,
    parse_handshake,
    parse_profile,
)
from iptvsync.providers.stalker.parse.urls import PortalUrls
from iptvsync.providers.stalker.parse.vod import is_series_row, parse_vod_item, parse_vod_items

__all__ = [
    "RADIO_PREFIX",
    "Envelope",
    "Handshake",
    "PagePayload",
    "PortalBusy",
    "PortalUrls",
    "Profile",
    "StockSeason",
    "channel_stream_steps",
    "decode_b64_cmd",
    "decode_envelope",
    "is_series_row",
    "needs_create_link",
    "parse_account_info",
    "parse_categories",
    "parse_channel",
    "parse_channel_stream",
    "parse_channels",
    "parse_create_link",
    "parse_do_auth",
    "parse_handshake",
    "parse_page",
    "parse_profile",
    "parse_reseller_seasons",
    "parse_season_rows",
    "parse_stock_episodes",
    "parse_stock_files",
    "parse_stock_seasons",
    "parse_vod_item",
    "parse_vod_items",
    "parse_when",
    "radio_channels",
    "season_number",
    "stream_id_from_cmd",
    "strip_solution",
    "to_bool",
    "to_float",
    "to_int",
    "to_str",
]
