"""How the fake portal writes and reads single values: ints from query parameters, stock
timestamps, XC's spelled-out expiry date, category aliases, VOD path slugs, and the
base64 JSON ``cmd``s of reseller panels.
"""

from __future__ import annotations

import base64
import re
from datetime import datetime
from typing import Any

import orjson


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _stamp(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S")


def _xc_date(value: datetime) -> str:
    # "March 5, 2027, 12:00 am", the way XC writes the expiry into `phone` (docs/stalker.md §4.2)
    hour = value.strftime("%I").lstrip("0") or "12"
    return f"{value.strftime('%B')} {value.day}, {value.year}, {hour}:{value.strftime('%M')} " + (
        "am" if value.hour < 12 else "pm"
    )


def _alias(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", title.lower()).strip("_")


def _path_slug(name: str, year: int) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_") + f"_{year}"


def _b64(value: dict[str, Any]) -> str:
    return base64.b64encode(orjson.dumps(value)).decode()


def _unb64(value: str) -> dict[str, Any] | None:
    try:
        decoded = orjson.loads(base64.b64decode(value, validate=True))
    except (ValueError, orjson.JSONDecodeError):
        return None
    return decoded if isinstance(decoded, dict) else None
