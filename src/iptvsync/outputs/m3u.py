"""M3U Plus rendering (pure): the ``#EXTM3U`` header and one ``#EXTINF`` entry at a time.

Entries follow the panel template players are built against (reference §1.9, §2.1):
``#EXTINF:-1 tvg-id="…" tvg-name="…" tvg-logo="…" tvg-chno="…" group-title="…",Name`` then the
URL on its own line. M3U has no escaping, so values are made safe instead of escaped:

- a double quote inside an attribute would end it early (ipytv then falls back to its "broken
  row" parser and Kodi drops the rest of the line), so it becomes a single quote;
- a line break would split the entry in two, so CR, LF and other control characters become
  spaces, in attributes and in the name (the name may keep its commas: parsers take the name
  after the comma that ends the attribute list, reference §2.6).

Every line ends in ``\\n`` (no mixed endings as XC panels send).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")


def clean_value(value: object) -> str:
    """An attribute value that cannot end its quotes or its line."""
    if value is None:
        return ""
    return _CONTROL.sub(" ", str(value)).replace('"', "'").strip()


def clean_name(value: object) -> str:
    """A display name that cannot end its line (quotes are fine after the comma)."""
    if value is None:
        return ""
    return _CONTROL.sub(" ", str(value)).strip()


def header(attributes: Iterable[tuple[str, str | None]] = ()) -> str:
    """``#EXTM3U`` with header attributes (``x-tvg-url`` and its older spelling ``url-tvg``)."""
    attrs = "".join(f' {k}="{clean_value(v)}"' for k, v in attributes if v)
    return f"#EXTM3U{attrs}\n"


def entry(name: str, url: str, attributes: Iterable[tuple[str, object]]) -> str:
    """One playlist entry. Attributes whose value is None are left out; "" is written as ""."""
    attrs = "".join(f' {k}="{clean_value(v)}"' for k, v in attributes if v is not None)
    return f"#EXTINF:-1{attrs},{clean_name(name)}\n{clean_name(url)}\n"
