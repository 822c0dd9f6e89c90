"""Lists: categories and pages (docs/stalker.md §5.1, §6.1, §8)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from iptvsync.errors import ProviderBadResponse
from iptvsync.providers.stalker.parse.coerce import to_bool, to_int, to_str
from iptvsync.records import CategoryRecord, Kind

_PSEUDO_CATEGORY_IDS = frozenset({"*", "coming_soon", "dvb", "pvr"})


def _rows(value: Any) -> list[dict[str, Any]]:
    """A list of row objects from a list, a ``{"data": [...]}`` wrapper, or a PHP associative
    array serialised as an object of objects. Non-object rows are dropped."""
    if isinstance(value, dict) and "data" in value:
        value = value["data"]
    if isinstance(value, dict) and value and all(isinstance(v, dict) for v in value.values()):
        value = list(value.values())
    if value in ({}, None, False, ""):
        return []  # PHP's empty array, or nothing
    if not isinstance(value, list):
        raise ProviderBadResponse("the portal answered a list of the wrong type")
    return [row for row in value if isinstance(row, dict)]


def parse_categories(js: Any, kind: Kind) -> list[CategoryRecord]:
    """Genres (ITV) or categories (VOD, series); the "All" pseudo-category ``*`` is dropped."""
    out: list[CategoryRecord] = []
    seen: set[str] = set()
    for row in _rows(js):
        cid = to_str(row.get("id"))
        if cid is None or cid.lower() in _PSEUDO_CATEGORY_IDS or cid in seen:
            continue
        seen.add(cid)
        title = (
            to_str(row.get("title"))
            or to_str(row.get("category_name"))
            or to_str(row.get("alias"))
            or f"Category {cid}"
        )
        out.append(
            CategoryRecord(
                kind=kind,
                provider_category_id=cid,
                title=title,
                censored=to_bool(row.get("censored")),
                position=len(out),
            )
        )
    return out


@dataclass(frozen=True, slots=True)
class PagePayload:
    rows: list[dict[str, Any]]
    total_items: int | None
    page_size: int | None

    @property
    def total_pages(self) -> int | None:
        if self.total_items is None or not self.page_size:
            return None
        return max(0, -(-self.total_items // self.page_size))


def parse_page(js: Any) -> PagePayload:
    """``{"total_items": "1234"|1234, "max_page_items": 14, "data": [...]}``."""
    if isinstance(js, list):  # some panels answer the bare list
        return PagePayload(rows=_rows(js), total_items=None, page_size=None)
    if not isinstance(js, dict):
        if js in (None, False, "", 0):
            return PagePayload(rows=[], total_items=None, page_size=None)
        raise ProviderBadResponse("the portal answered a page that is not an object")
    data = js.get("data")
    rows = _rows(data) if data is not None else []
    total = to_int(js.get("total_items"))
    size = to_int(js.get("max_page_items"))
    return PagePayload(
        rows=rows,
        total_items=total if total is not None and total >= 0 else None,
        page_size=size if size is not None and 0 < size <= 10_000 else None,
    )
