# The compiled twin's interface (vod_compiled.pyx; iptvsync/speedups.py), for mypy.
from collections.abc import Iterable, Mapping
from typing import Any

from iptvsync.providers.stalker.parse.urls import PortalUrls
from iptvsync.records import MovieRecord, SeriesRecord

def parse_vod_items(
    rows: Iterable[Mapping[str, Any]],
    urls: PortalUrls,
    *,
    force_series: bool = False,
    censored_categories: Iterable[str] = (),
) -> list[MovieRecord | SeriesRecord]: ...
