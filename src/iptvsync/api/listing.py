"""What a list request may ask for: a kind, a sort, a page and a limit. Refused with 422
(``validation_error``) before anything is read (docs/api.md, "Paging")."""

from __future__ import annotations

from iptvsync.errors import ValidationFailed
from iptvsync.store.items import DEFAULT_SORT, MAX_LIMIT, PLURAL_OF, SORTS

_KIND_ALIASES = {
    "movie": "movie",
    "movies": "movie",
    "vod": "movie",
    "series": "series",
    "channel": "channel",
    "channels": "channel",
    "live": "channel",
    "itv": "channel",
}


def parse_kind(value: str) -> str:
    """``movies`` / ``movie`` / ``vod`` → ``movie`` ...; 422 for anything else."""
    kind = _KIND_ALIASES.get(value.strip().lower())
    if kind is None:
        raise ValidationFailed(
            f"unknown kind {value!r}: use movie, series or channel", detail={"kind": value}
        )
    return kind


def check_sort(kind: str, sort: str | None, q_given: bool) -> str:
    if not sort:
        return "relevance" if q_given else DEFAULT_SORT[kind]
    sort = sort.strip().lower()
    if sort not in SORTS[kind]:
        raise ValidationFailed(
            f"unknown sort {sort!r} for {PLURAL_OF[kind]}: use one of {', '.join(SORTS[kind])}",
            detail={"sort": sort, "allowed": list(SORTS[kind])},
        )
    if sort == "relevance" and not q_given:
        return DEFAULT_SORT[kind]
    return sort


def clamp_limit(limit: int) -> int:
    if limit < 1:
        raise ValidationFailed("limit must be at least 1", detail={"limit": limit})
    return min(limit, MAX_LIMIT)


def check_page(page: int, limit: int) -> int:
    """The paging rules of every list (docs/api.md): page ≥ 1 (else 422), limit 1–500,
    larger capped. Returns the limit to use."""
    if page < 1:
        raise ValidationFailed("page must be at least 1", detail={"page": page})
    return clamp_limit(limit)
