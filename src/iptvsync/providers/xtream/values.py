"""Xtream scalars → Python values (docs/providers.md §1.10 items 1 and 3).

Two server families answer one API (docs/providers.md §1.0): the original Xtream Codes 2.x and its
reseller clones send almost every number as a string; XUI.one / XC_VM send ints for ids and add
``category_ids``. Every scalar is therefore coerced here (§1.10): ids with ``int(str(x).strip())``,
booleans from ``1``/``"1"``/``true``/``"true"``, floats after a decimal comma becomes a dot, and
``""``/``null`` mean "missing". A PHP empty array ``[]`` can stand where an object is expected.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any


def to_str(value: Any) -> str | None:
    """A trimmed string, or None for null / "" / non-scalars."""
    if value is None or isinstance(value, (dict, list)):
        return None
    if isinstance(value, bool):
        return "1" if value else "0"
    text = str(value).strip()
    return text or None


def to_int(value: Any) -> int | None:
    """``int(str(x).strip())``, tolerating ``"12.0"``; None when missing or not a number."""
    if value is None or isinstance(value, (bool, dict, list)):
        return None
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        try:
            return int(float(text.replace(",", ".")))
        except (ValueError, OverflowError):
            return None
    except OverflowError:
        return None


def to_float(value: Any) -> float | None:
    """A float, with a decimal comma accepted (``"7,5"``, seen on real panels)."""
    if value is None or isinstance(value, (bool, dict, list)):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value).strip().replace(",", ".")
    if not text:
        return None
    try:
        out = float(text)
    except ValueError:
        return None
    return out if out == out else None  # NaN is "missing"


def to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    return False


def as_object(value: Any) -> dict[str, Any]:
    """An object, or ``{}`` when the panel sent PHP's empty array ``[]`` (or anything else)."""
    return value if isinstance(value, dict) else {}


def epoch_to_datetime(value: Any) -> datetime | None:
    seconds = to_int(value)
    if seconds is None or seconds <= 0:
        return None
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return None


_YEAR_IN_NAME = re.compile(r"\((\d{4})\)\s*$")
_YEAR_PREFIX = re.compile(r"^\s*(\d{4})")


def year_of(*candidates: Any) -> int | None:
    """First plausible year among explicit fields (``year``, ``release_date``)."""
    for value in candidates:
        text = to_str(value)
        if not text:
            continue
        match = _YEAR_PREFIX.match(text)
        if match and 1880 <= int(match.group(1)) <= 2200:
            return int(match.group(1))
    return None


def year_from_name(name: str) -> int | None:
    match = _YEAR_IN_NAME.search(name)
    if match and 1880 <= int(match.group(1)) <= 2200:
        return int(match.group(1))
    return None


def minutes_of(value: Any) -> int | None:
    """Duration as minutes from ``"01:42:00"``, ``"102"`` (bare minutes) or seconds fields."""
    text = to_str(value)
    if not text:
        return None
    if ":" in text:
        parsed = [to_int(p) for p in text.split(":")]
        nums = [p for p in parsed if p is not None]
        if len(nums) != len(parsed) or len(nums) > 3:
            return None
        while len(nums) < 3:
            nums.insert(0, 0)
        hours, minutes, seconds = nums
        total = hours * 60 + minutes + (1 if seconds >= 30 else 0)
        return total or None
    bare = to_int(text)
    return bare if bare and bare > 0 else None
